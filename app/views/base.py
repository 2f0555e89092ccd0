"""The shared base for every admin view and REST API, and the row-scope filter."""
from __future__ import annotations

from contextvars import ContextVar
from flask import abort, flash, g, redirect, request
from flask_appbuilder import ModelView
from flask_appbuilder.api import ModelRestApi
from flask_appbuilder.fieldwidgets import Select2Widget
from flask_appbuilder.models.filters import BaseFilter
from flask_appbuilder.models.sqla.interface import SQLAInterface
from flask_appbuilder.urltools import get_order_args, get_page_args, get_page_size_args
from flask_appbuilder.views import expose
from flask_babel import lazy_gettext as _l
from marshmallow import ValidationError as MarshmallowValidationError
from marshmallow.validate import Range
from sqlalchemy import Date, DateTime
from wtforms import DateField, DateTimeField, SelectField
from wtforms.widgets import DateInput, DateTimeLocalInput
from wtforms.validators import DataRequired, NumberRange, Optional, ValidationError

from app import security
from app.errors import UserError
from app.labels import CHOICES, COLUMNS
from app.services import input_limits, scope
from app.models import Application
from app.services.county_schema import column_minimums
from app.views.lists import SafeListMixin, row_id


class ListCount(int):
    """A list's row count that stopped at its limit: FAB's pagination does its sums with the
    number, and the page shows "1000+" (``__html__`` is what Jinja prints)."""

    def __new__(cls, value: int, capped: bool = False):
        count = super().__new__(cls, value)
        count.capped = capped
        return count

    def __str__(self) -> str:
        return f"{int(self)}+" if self.capped else str(int(self))

    __html__ = __str__


# Set while RuxueInterface counts a list: the scope filter then lets PostgreSQL hash the school's
# choices (many rows read) instead of probing row by row (one page read). Per request, not per view.
COUNTING: ContextVar[bool] = ContextVar("ruxue_counting", default=False)


class RuxueInterface(SQLAInterface):
    """FAB makes every NOT NULL column required in forms; a text or yes/no column with a
    default is optional to the person filling the form (an unticked box means False).
    ``list_loads``: loader options for the rows of a list page, so its columns come in a fixed
    number of statements instead of one per row. ``count_limit``: the list counts at most this
    many rows (a config key or a number), so a page costs the same at 10,000 rows and 200,000."""

    def __init__(self, obj, session=None, list_loads=(), count_limit: str | int | None = None):
        super().__init__(obj, session)
        self.list_loads = tuple(list_loads)
        self.count_limit = count_limit

    def get(self, id, filters=None, *args, **kwargs):
        number = row_id(self, id)  # an id no integer key holds names no row (and is no 500)
        return None if number is None else super().get(number, filters, *args, **kwargs)

    def query_count(self, query, filters=None, select_columns=None) -> int:
        limit = self.count_limit
        if isinstance(limit, str):
            from flask import current_app

            limit = current_app.config.get(limit)
        if not limit:
            return super().query_count(query, filters, select_columns)
        token = COUNTING.set(True)
        try:
            found = self._apply_inner_all(query, filters, select_columns=select_columns, aliases_mapping={}).limit(limit + 1).count()
        finally:
            COUNTING.reset(token)
        return ListCount(min(found, limit), capped=found > limit)

    def apply_all(self, query, *args, **kwargs):
        query = super().apply_all(query, *args, **kwargs)
        return query.options(*self.list_loads) if self.list_loads else query

    def query(self, filters=None, order_column="", order_direction="", page=None, page_size=None, **kwargs):
        if filters is None and page is None and page_size is None and not order_column and not kwargs:
            # a related drop-down of a form: FAB counts the rows and throws the count away
            rows = self.session.query(self.obj).all()
            return len(rows), rows
        return super().query(filters, order_column, order_direction, page, page_size, **kwargs)

    def is_nullable(self, col_name: str) -> bool:
        column = self.list_columns.get(col_name)
        if column is not None and column.default is not None and (self.is_string(col_name) or self.is_text(col_name) or self.is_boolean(col_name)):
            return True
        return super().is_nullable(col_name)


def user_sees_all_schools() -> bool:
    from app.extensions import appbuilder

    return appbuilder.sm.has_access("can_" + security.ALL_SCHOOLS, security.APPLICATION)


class ApplicationScopeFilter(BaseFilter):
    """Keeps only rows of applications the current user may see.

    ``column_name`` is the attribute holding the application id ("id" on Application,
    "application_id" on its children), so one filter scopes every application table.
    """

    name = "application scope"

    def apply(self, query, value):
        if user_sees_all_schools():
            return query
        user_id = getattr(g.user, "id", None)
        if self.model is Application and self.column_name == "id":
            return query.filter(scope.visible_condition(user_id, probe_each_row=not COUNTING.get()))
        column = getattr(self.model, self.column_name)
        return query.filter(column.in_(scope.visible_application_ids(user_id)))


def scoped_filters(column: str = "application_id") -> list:
    return [[column, ApplicationScopeFilter, None]]


# FAB's date pickers (bootstrap-datepicker on data-provide) empty a date typed by hand when the
# field loses focus, so the form came back with "required": the browser's own date inputs keep it,
# and the "2026-06-01 08:00:00" a script or a spreadsheet copy gives is still read.
_DATETIME_FORMATS = ["%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M"]


def _date_field(column, label, description, validators):
    needed = [Optional()] if column.nullable or column.default is not None else [DataRequired()]
    if isinstance(column.type, DateTime):
        return DateTimeField(label, format=_DATETIME_FORMATS, description=description, validators=needed + list(validators),
                             widget=DateTimeLocalInput(), render_kw={"step": "1"})
    return DateField(label, format="%Y-%m-%d", description=description, validators=needed + list(validators), widget=DateInput())


def _choice_field(label, choices: dict, required: bool) -> SelectField:
    return SelectField(
        label,
        choices=list(choices.items()),
        validators=[DataRequired()] if required else [Optional()],
        widget=Select2Widget(),
    )


class RuxueModelView(SafeListMixin, ModelView):
    """Common options: permissions by resource, Chinese labels, enum pickers, scoped actions."""

    method_permission_name = security.MODEL_VIEW_METHODS
    # FAB's file download route serves from UPLOAD_FOLDER without any scope: Ruxue has its own
    exclude_route_methods = {"download"}
    page_size = 25
    # column -> key in app.labels.CHOICES; rendered as a select in forms and a word in lists
    enum_columns: dict[str, str] = {}
    entity = None  # the translated name of one row; FAB's own titles are English

    def __init__(self, *args, **kwargs):
        if self.entity is not None:
            self.show_title = _l("%(entity)s details", entity=self.entity)
            self.add_title = _l("Add %(entity)s", entity=self.entity)
            self.edit_title = _l("Edit %(entity)s", entity=self.entity)
        self.label_columns = {**COLUMNS, **(self.label_columns or {})}
        self.formatters_columns = dict(getattr(self, "formatters_columns", {}) or {})
        extra = {}
        for column, key in self.enum_columns.items():
            choices = CHOICES[key]
            self.formatters_columns.setdefault(column, _label_of(choices))
            extra[column] = _choice_field(self.label_columns[column], choices, True)
        validators = {k: list(v) for k, v in (self.validators_columns or {}).items()}
        for column, minimum in column_minimums(self.datamodel.obj).items():
            validators.setdefault(column, []).append(NumberRange(min=minimum, message=_l("Must be at least %(min)s.")))
        for column in self.datamodel.obj.__table__.columns:
            # the shared limits beside the field, so the form keeps what was typed
            validators.setdefault(column.key, []).append(form_check(lambda value, c=column: input_limits.check_value(c, value)))
        self.validators_columns = validators
        for column in {*(self.list_columns or []), *(self.show_columns or [])}:
            self.formatters_columns.setdefault(column, format_plain)
        for column in self.datamodel.obj.__table__.columns:
            if column.key not in extra and isinstance(column.type, (Date, DateTime)):
                extra[column.key] = _date_field(column, self.label_columns.get(column.key, column.key),
                                                (self.description_columns or {}).get(column.key, ""), validators.get(column.key, []))
        self.add_form_extra_fields = {**extra, **(self.add_form_extra_fields or {})}
        self.edit_form_extra_fields = {**extra, **(self.edit_form_extra_fields or {})}
        super().__init__(*args, **kwargs)

    # column -> extra filter classes (FAB's ModelView ignores search_filters, its REST API does not);
    # a column listed here but not in search_columns gets only these filters
    search_filters: dict = {}

    def _init_properties(self):
        super()._init_properties()
        # FAB still reads self._filters outside the list (its search form); lists build their own
        self._filters = self._new_filters()

    def scoped_or_404(self, pk):
        """A row only if the user's scope (base_filters) includes it: actions and extra routes too."""
        item = self.datamodel.get(self._deserialize_pk_if_composite(pk), self._base_filters)
        if item is None:
            abort(404)
        return item

    def pre_add(self, item):
        refused_before_write(self.datamodel.session, item)

    def pre_update(self, item):
        refused_before_write(self.datamodel.session, item)

    # FAB answers a refusal in pre_add/pre_update with a redirect to an empty form; the person
    # gets the form back as typed, with the message (Flask-WTF reads the posted values again)
    def _add(self):
        widget = super()._add()
        if widget is None and g.pop("ruxue_refused", False):
            exclude_cols = self._filters.get_relation_cols()
            form = self.add_form.refresh()
            self._fill_form_exclude_cols(exclude_cols, form)
            return self._get_add_widget(form=form, exclude_cols=exclude_cols)
        return widget

    def _edit(self, pk):
        widget = super()._edit(pk)
        if widget is None and g.pop("ruxue_refused", False):
            exclude_cols = self._filters.get_relation_cols()
            item = self.datamodel.get(pk, self._base_filters)
            form = self.edit_form.refresh(request.form)
            self._fill_form_exclude_cols(exclude_cols, form)
            form._id = self.datamodel.get_pk_value(item)
            widgets = self._get_edit_widget(form=form, exclude_cols=exclude_cols)
            return self._get_related_views_widgets(item, filters={}, orders=get_order_args(), pages=get_page_args(),
                                                   page_sizes=get_page_size_args(), widgets=widgets)
        return widget

    @expose("/action_post", methods=["POST"])
    def action_post(self):
        """FAB fetches action rows without base_filters; refuse the whole action if any is out of scope."""
        name = request.form.get("action", "")
        action = self.actions.get(name)
        if action is None:
            abort(404)
        permission = self.get_action_permission_name(name)
        if not self.appbuilder.sm.has_access(permission, self.class_permission_name):
            flash(str(_l("You are not allowed to do this.")), "danger")
            return redirect(self.get_redirect())
        items = []
        for pk in request.form.getlist("rowid"):
            item = self.datamodel.get(self._deserialize_pk_if_composite(pk), self._base_filters)
            if item is None:
                flash(str(_l("Some selected rows are outside your scope; nothing was changed.")), "danger")
                return redirect(self.get_redirect())
            items.append(item)
        return action.func(items)

    @expose("/action/<string:name>/<pk>", methods=["GET", "POST"])
    def action(self, name, pk):
        if request.method != "POST":
            abort(405)
        action = self.actions.get(name)
        if action is None:
            abort(404)
        permission = self.get_action_permission_name(name)
        if not self.appbuilder.sm.has_access(permission, self.class_permission_name):
            flash(str(_l("You are not allowed to do this.")), "danger")
            return redirect(self.get_redirect())
        return action.func(self.scoped_or_404(pk))


class ReadOnlyModelView(RuxueModelView):
    """A view whose rows are written by the workflow, never typed in the admin."""

    base_permissions = ["can_read"]


class RuxueModelRestApi(ModelRestApi):
    """REST API base: same resources and permissions as the admin views."""

    method_permission_name = security.REST_API_METHODS
    # only the verbs the permissions name: no related/distinct routes nobody uses
    include_route_methods = set(security.REST_API_METHODS)
    allow_browser_login = True
    page_size = 25
    max_page_size = 100

    def __init__(self):
        # FAB's API takes one marshmallow validator per column.
        self.validators_columns = {
            **{c: Range(min=m) for c, m in column_minimums(self.datamodel.obj).items()},
            **(self.validators_columns or {}),
        }
        super().__init__()

    def pre_add(self, item):
        check_before_write(self.datamodel.session, item)

    def pre_update(self, item):
        check_before_write(self.datamodel.session, item)

    def post_headless(self):
        return self._refused_as_422(super().post_headless)

    def put_headless(self, pk):
        return self._refused_as_422(lambda: super(RuxueModelRestApi, self).put_headless(pk))

    def delete_headless(self, pk):
        return self._refused_as_422(lambda: super(RuxueModelRestApi, self).delete_headless(pk))

    def get_headless(self, pk, **kwargs):
        return self._refused_as_422(lambda: super(RuxueModelRestApi, self).get_headless(pk, **kwargs))

    def get_list_headless(self, **kwargs):
        return self._refused_as_422(lambda: super(RuxueModelRestApi, self).get_list_headless(**kwargs))

    def _refused_as_422(self, call):
        """FAB answers an id the database cannot hold (past 64 bits), a related id that names no
        row or a value of the wrong type with a 500; here they are the caller's mistake, with
        nothing stored. An unreachable database is not: it goes on to the 503 handler."""
        from sqlalchemy.exc import OperationalError, SQLAlchemyError

        try:
            return call()
        except UserError as error:
            return self.response_422(message=str(error.message))
        except OperationalError:
            raise
        except (SQLAlchemyError, OverflowError, ValueError, TypeError, LookupError, AttributeError):
            self.datamodel.session.rollback()
            return self.response_422(message=str(_l("The values could not be stored or read: check each value "
                                                    "and that the ids it names exist.")))


def check_before_write(session, item) -> None:
    """The shared input limits and the database's constraints, before FAB writes the row: a
    refusal leaves the session as it was (an edited row's changes are rolled back)."""
    input_limits.fill_defaults(item)
    try:
        input_limits.check_row(session, item)
    except UserError:
        session.rollback()
        raise


def refused_by(session, rule, *args) -> None:
    """A service rule run before an admin write: its refusal leaves nothing of the row in the
    session, and the form comes back as typed with the message (RuxueModelView._add/_edit)."""
    try:
        rule(*args)
    except UserError:
        session.rollback()
        g.ruxue_refused = True
        raise


def refused_before_write(session, item) -> None:
    """check_before_write for the admin's forms: a refusal is remembered for the form's redisplay."""
    try:
        check_before_write(session, item)
    except UserError:
        g.ruxue_refused = True
        raise


def format_plain(value):
    """FAB prints Python's True / False / None; people read 是 / 否 and an empty cell."""
    if value is None:
        return ""
    if value is True:
        return str(_l("Yes"))
    if value is False:
        return str(_l("No"))
    return value


def _label_of(choices: dict):
    def format_value(value):
        label = choices.get(value)
        return str(label) if label is not None else (value or "")

    return format_value


def form_check(rule):
    """A WTForms validator from a service rule that raises UserError: one rule, one message."""
    def validate(_form, field):
        try:
            rule(field.data)
        except UserError as error:
            raise ValidationError(str(error.message)) from None

    return validate


def api_check(rule):
    """The same rule as a marshmallow validator for the REST API."""
    def validate(value):
        try:
            rule(value)
        except UserError as error:
            raise MarshmallowValidationError(str(error.message)) from None

    return validate
