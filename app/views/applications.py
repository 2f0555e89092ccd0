"""Applications and what hangs off them, scoped to the schools a reviewer may see."""
from __future__ import annotations

import csv
import io

from flask import Response, abort, current_app, flash, g, redirect
from flask_appbuilder.actions import action
from flask_appbuilder.security.decorators import has_access
from flask_appbuilder.views import expose
from flask_babel import lazy_gettext as _l

from app import security
from app.extensions import db
from app.labels import CHOICES, COLUMNS
from app.models import Application, ApplicationChoice, ApplicationEvent, Attachment
from app.services import workflow
from app.views.base import ReadOnlyModelView, RuxueInterface, RuxueModelRestApi, format_section_data, scoped_filters

_STATUS = {"status": "status", "from_status": "status", "to_status": "status"}


class ApplicationChoiceModelView(ReadOnlyModelView):
    """The ordered school choices of an application."""

    entity = _l("School choice")
    list_title = _l("School choices")
    datamodel = RuxueInterface(ApplicationChoice)
    class_permission_name = "ApplicationChoice"
    base_filters = scoped_filters()
    list_columns = show_columns = ["application", "rank", "school"]
    search_columns = ["school"]
    order_columns = ["rank"]
    base_order = ("rank", "asc")


class ApplicationEventModelView(ReadOnlyModelView):
    """Every status change: who, when, from, to, why."""

    entity = _l("Application event")
    list_title = _l("Application events")
    datamodel = RuxueInterface(ApplicationEvent)
    class_permission_name = "ApplicationEvent"
    base_filters = scoped_filters()
    enum_columns = {"from_status": "status", "to_status": "status"}
    list_columns = ["at", "application", "from_status", "to_status", "actor_user", "reason"]
    show_columns = list_columns + ["actor_account"]
    search_columns = ["at", "to_status"]
    order_columns = ["at"]
    base_order = ("at", "desc")


class AttachmentModelView(ReadOnlyModelView):
    """Uploaded proof documents; files are fetched through a permission-checked route."""

    entity = _l("Attachment")
    list_title = _l("Attachments")
    datamodel = RuxueInterface(Attachment)
    class_permission_name = "Attachment"
    base_filters = scoped_filters()
    list_columns = ["application", "material_type", "file_name", "content_type", "size", "uploaded_at"]
    show_columns = list_columns + ["sha256"]
    search_columns = ["material_type", "content_type", "uploaded_at"]
    order_columns = ["uploaded_at", "size"]
    base_order = ("uploaded_at", "desc")
    method_permission_name = {**ReadOnlyModelView.method_permission_name, "file": security.READ}

    @expose("/file/<int:pk>")
    @has_access
    def file(self, pk):
        """The file itself, only within the reviewer's scope; S3 answers with a 60-second link."""
        attachment = self.datamodel.get(pk, self._base_filters)
        if attachment is None:
            abort(404)
        store = current_app.extensions["ruxue_storage"]
        if store.presigns:
            return redirect(store.presigned_url(attachment.storage_key, seconds=60))
        return Response(
            store.read(attachment.storage_key),
            mimetype=attachment.content_type,
            headers={"Cache-Control": "private, no-store", "X-Content-Type-Options": "nosniff",
                     "Content-Disposition": "inline"},
        )


class ApplicationModelView(ReadOnlyModelView):
    """Applications (报名), visible to a school reviewer only for their own schools."""

    entity = _l("Application")
    list_title = _l("Applications")
    datamodel = RuxueInterface(Application)
    class_permission_name = "Application"
    method_permission_name = {
        **ReadOnlyModelView.method_permission_name,
        "start_review": security.REVIEW,
        "export_csv": security.READ,
    }
    base_filters = scoped_filters("id")
    related_views = [ApplicationChoiceModelView, ApplicationEventModelView, AttachmentModelView]
    enum_columns = {"status": "status"}
    list_columns = [
        "number",
        "child.name",
        "child_id_masked",
        "period",
        "channel",
        "choices_text",
        "status",
        "submitted_at",
    ]
    show_columns = [
        "number",
        "child.name",
        "child_id_masked",
        "period",
        "channel",
        "community",
        "choices_text",
        "status",
        "withdrawal_count",
        "return_reason",
        "submitted_at",
        "reviewed_at",
        "reviewed_by",
        "allocated_school",
        "section_data",
    ]
    label_columns = {"child.name": _l("Child")}
    formatters_columns = {"section_data": format_section_data}
    search_columns = ["number", "status", "period", "channel", "submitted_at"]
    order_columns = ["number", "status", "submitted_at"]
    base_order = ("submitted_at", "desc")

    @action("start_review", _l("Start review"), _l("Start reviewing the selected applications?"), "fa-play")
    def start_review(self, items):
        items = items if isinstance(items, list) else [items]
        try:
            for item in items:
                workflow.transition(db.session, item, "start_review", user_id=g.user.id)
        except workflow.TransitionError as error:
            db.session.rollback()
            flash(str(error.message), "danger")
            return redirect(self.get_redirect())
        db.session.commit()
        flash(str(_l("%(n)d applications moved to review.", n=len(items))), "success")
        return redirect(self.get_redirect())

    @expose("/export.csv")
    @has_access
    def export_csv(self):
        """Exactly the rows of the current list (filters and scope), ID numbers masked."""
        filters = self._filters.get_joined_filters(self._base_filters)
        _, rows = self.datamodel.query(filters, "submitted_at", "desc")
        columns = ["number", "child.name", "child_id_masked", "period", "channel", "choices_text", "status", "submitted_at"]
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow([str(self.label_columns.get(c, COLUMNS.get(c, c))) for c in columns])
        statuses = CHOICES["status"]
        for row in rows:
            writer.writerow(
                [
                    row.number,
                    row.child.name,
                    row.child_id_masked,
                    row.period,
                    row.channel or "",
                    row.choices_text,
                    str(statuses.get(row.status, row.status)),
                    row.submitted_at or "",
                ]
            )
        return Response(
            "\ufeff" + out.getvalue(),
            mimetype="text/csv",
            headers={"Content-Disposition": "attachment; filename=applications.csv"},
        )


class ApplicationApi(RuxueModelRestApi):
    resource_name = "applications"
    class_permission_name = "Application"
    datamodel = RuxueInterface(Application)
    base_filters = scoped_filters("id")
    include_route_methods = {"get", "get_list", "info"}
    list_columns = show_columns = [
        "id",
        "number",
        "period_id",
        "channel_id",
        "community_id",
        "status",
        "withdrawal_count",
        "submitted_at",
        "allocated_school_id",
        "child_id_masked",
        "choices.school_id",
        "choices.rank",
    ]
    order_columns = ["number", "submitted_at", "status"]
