"""学生信息查询: the families' appeals and 入学登记, decided by district staff (the bureau)."""
from __future__ import annotations

from flask import abort, flash, g, redirect, request, url_for
from flask_appbuilder.models.sqla.filters import FilterNotEqual
from flask_appbuilder.security.decorators import has_access
from flask_appbuilder.views import expose
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import joinedload

from app import security
from app.extensions import db
from app.models import ChildLookup
from app.services import audit
from app.services import child_lookup as lookups
from app.services.clock import local_now
from app.views.base import ReadOnlyModelView, RuxueInterface
from app.views.files import private_file


def _words(table):
    return lambda value: str(table.get(value, value))


class ChildLookupModelView(ReadOnlyModelView):
    """Appeals (与实际情况不符) and 入学登记 of the child lookup, with their materials."""

    entity = _l("Child lookup request")
    list_title = _l("Child lookup requests")
    datamodel = RuxueInterface(ChildLookup, list_loads=(joinedload(ChildLookup.child), joinedload(ChildLookup.period)),
                               count_limit="LIST_COUNT_LIMIT")
    class_permission_name = security.CHILD_LOOKUP
    method_permission_name = {**ReadOnlyModelView.method_permission_name, "decide": security.REVIEW, "file": security.READ}
    base_permissions = ["can_" + security.READ, "can_" + security.REVIEW]
    base_filters = [["request", FilterNotEqual, ""]]  # what the family only looked up is not staff's work
    list_columns = ["child", "period", "request", "outcome", "status", "updated_at"]
    search_columns = ["status", "request", "period", "updated_at"]
    order_columns = ["status", "updated_at"]
    base_order = ("updated_at", "asc")  # the longest waiting first
    label_columns = {"child": _l("Child"), "request": _l("Request"), "outcome": _l("Lookup outcome"),
                     "updated_at": _l("Sent or changed")}
    formatters_columns = {"status": _words(lookups.STATUS_WORDS), "request": _words(lookups.REQUEST_WORDS),
                          "outcome": _words(lookups.OUTCOME_WORDS)}
    show_template = "staff/child_lookup_show.html"

    @expose("/show/<pk>", methods=["GET"])
    @has_access
    def show(self, pk):
        item = self.scoped_or_404(pk)
        return self.render_template(self.show_template, item=item, words=lookups, title=self.show_title,
                                    can_decide=self.appbuilder.sm.has_access("can_" + security.REVIEW, security.CHILD_LOOKUP))

    @expose("/decide/<int:pk>", methods=["POST"])
    @has_access
    def decide(self, pk):
        """Approve, or return with the reason the family reads; a second decision is refused."""
        item = self.scoped_or_404(pk)
        try:
            lookups.decide(db.session, item.id, request.form.get("decision") == "approve", request.form.get("note", ""),
                           g.user.id, local_now())
            flash(str(_l("Decided; the family has a message.")), "success")
        except lookups.LookupRefused as refused:
            db.session.rollback()
            flash(str(refused.message), "danger")
        return redirect(url_for(".show", pk=pk))

    @expose("/file/<int:pk>/<int:file_id>")
    @has_access
    def file(self, pk, file_id):
        """A material of the request; every look is recorded."""
        item = self.scoped_or_404(pk)
        found = lookups.file_of(db.session, item.id, file_id)
        if found is None:
            abort(404)
        audit.log(db.session, "read:lookup_file", f"lookup {item.id}", detail=found.kind, commit=True)
        return private_file(found.storage_key, found.content_type)
