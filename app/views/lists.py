"""Admin lists that never fail on their URL and keep nothing between requests.

FAB parses a list's filters into one ``Filters`` object shared by every request of the view
(``self._filters``), so two users at once can see or export each other's filters, and it turns a
page number, page size or order column that does not parse into a 500. Here every request gets
its own filters, the paging and ordering arguments are checked and clamped, and a filter value
the database refuses shows the list unfiltered with a message instead of an error page.
"""
from __future__ import annotations

import re

from flask import abort, flash, request
from flask_babel import lazy_gettext as _l
from sqlalchemy import Integer
from sqlalchemy.exc import DataError, ProgrammingError, StatementError

from app.extensions import db
from app.services.input_limits import INT_MAX

MAX_PAGE_SIZE = 100
MAX_PAGE = 100_000
FILTER_ARG = re.compile(r"_flt_(\d+)_(.*)")


def _bounded_int(raw, low: int, high: int):
    """The argument as an int within [low, high], or None when it is missing or does not parse."""
    if raw is None or raw == "":
        return None
    text = str(raw).strip()
    if not text.isdigit() or len(text) > 9:
        raise ValueError(text)
    return min(max(int(text), low), high)


def page_args_problem(args) -> str | None:
    """FAB reads page_<view> and psize_<view> with int(): anything else is refused before it does."""
    for key, value in args.items(multi=True):
        if key.startswith(("page_", "psize_")):
            try:
                _bounded_int(value, 0, MAX_PAGE)
            except ValueError:
                return key
    return None


def row_id(datamodel, pk):
    """An id from a URL as the integer key it names, or None when no row could have it."""
    if datamodel.is_pk_composite():
        return pk
    column = datamodel.list_properties[datamodel.get_pk_name()].columns[0]
    if not isinstance(column.type, Integer):
        return pk
    try:
        number = int(pk)
    except (TypeError, ValueError):
        return None
    return number if 0 < number <= INT_MAX else None


class SafeListMixin:
    """``_list`` for RuxueModelView: per-request filters, checked arguments, no 500; a show, edit
    or delete URL whose id no row could have (20 digits, "-1", "1 OR 1=1") is a 404."""

    search_filters: dict = {}  # extra filters per column (RuxueModelView's views set their own)

    def _show(self, pk):
        return super()._show(self._row_id_or_404(pk))

    def _edit(self, pk):
        return super()._edit(self._row_id_or_404(pk))

    def _delete(self, pk):
        return super()._delete(self._row_id_or_404(pk))

    def _row_id_or_404(self, pk):
        number = row_id(self.datamodel, pk)
        if number is None:
            abort(404)
        return number

    def _new_filters(self):
        """A fresh Filters object with this view's search columns and extra filters."""
        filters = self.datamodel.get_filters(self.search_columns)
        extra = {col: [f(col, self.datamodel) for f in classes] for col, classes in (self.search_filters or {}).items()}
        for col, instances in extra.items():
            if col in self.search_columns:
                # FAB reads ?_flt_<index>_<col> against all filters of the column
                filters._all_filters[col] = filters._all_filters.get(col, []) + instances
            else:
                filters._search_filters[col] = instances
                filters._all_filters[col] = instances
                filters.search_columns = [*filters.search_columns, col]
        return filters

    def _read_filters(self, filters, problems: list, args=None) -> None:
        args = request.args if args is None else args
        allowed = filters.get_search_filters()
        for arg in args:
            match = FILTER_ARG.fullmatch(arg)
            if not match:
                continue
            index, column = int(match.group(1)), match.group(2)
            if column not in allowed or index >= len(filters._all_filters.get(column, [])):
                problems.append(_l("An unknown filter was ignored."))
                continue
            values = args.getlist(arg)
            if not all(self._readable(column, filters._all_filters[column][index], v) for v in values):
                problems.append(_l("A filter value could not be read and was ignored: %(v)s", v="、".join(values)[:40]))
                continue
            filters.add_filter_index(column, index, values)

    def _readable(self, column: str, flt, value: str) -> bool:
        """A filter value the column can hold: a number for ids and numbers, a date for dates.
        Filters that ignore their value (such as "has any flag") take anything."""
        if getattr(flt, "arg_name", "") == "flagged":
            return True
        model = self.datamodel
        text = (value or "").strip()
        if model.is_relation_many_to_one(column) or model.is_integer(column):
            return text.isdigit() and len(text) <= 9
        if model.is_date(column) or model.is_datetime(column):
            import datetime as dt

            try:
                dt.datetime.fromisoformat(text.replace(" ", "T")) if "-" in text else int("x")
            except ValueError:
                return False
        return len(text) <= 200

    def _list(self, **kwargs):
        name = self.__class__.__name__
        problems: list = []
        try:
            page = _bounded_int(request.args.get(f"page_{name}"), 0, MAX_PAGE)
        except ValueError:
            page, _ = None, problems.append(_l("The page number was not a number; the first page is shown."))
        try:
            page_size = _bounded_int(request.args.get(f"psize_{name}"), 1, MAX_PAGE_SIZE) or self.page_size
        except ValueError:
            page_size, _ = self.page_size, problems.append(_l("The page size was not a number; the usual size is used."))
        order_column, order_direction = request.args.get(f"_oc_{name}", ""), request.args.get(f"_od_{name}", "")
        if order_column and (order_column not in self.order_columns or order_direction not in ("asc", "desc")):
            problems.append(_l("The list cannot be sorted that way; the usual order is used."))
            order_column = order_direction = ""
        filters = self._new_filters()
        self._read_filters(filters, problems)
        try:
            widgets = self._get_list_widget(filters=filters, order_column=order_column, order_direction=order_direction,
                                            page=page, page_size=page_size, **kwargs)
        except (ValueError, TypeError, ArithmeticError, DataError, ProgrammingError, StatementError) as error:
            if getattr(error, "connection_invalidated", False):
                raise
            db.session.rollback()
            problems.append(_l("A filter value could not be read, so the filters were not applied."))
            filters = self._new_filters()
            widgets = self._get_list_widget(filters=filters, order_column="", order_direction="", page=None,
                                            page_size=page_size, **kwargs)
        for problem in dict.fromkeys(str(p) for p in problems):
            flash(problem, "warning")
        form = self.search_form.refresh()
        self.update_redirect()
        widgets["search"] = self.search_widget(route_base=self.route_base, form=form, include_cols=self.search_columns,
                                               exclude_cols=[], filters=filters)
        return widgets

    def request_filters(self):
        """This request's filters joined with the view's scope (exports use it)."""
        filters = self._new_filters()
        self._read_filters(filters, [])
        return filters.get_joined_filters(self._base_filters)
