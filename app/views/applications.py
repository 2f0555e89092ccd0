"""Applications and what hangs off them, scoped to the schools a reviewer may see."""
from __future__ import annotations

from flask import current_app, g, redirect, request
from flask_appbuilder.security.decorators import has_access
from flask_appbuilder.views import expose
from flask_babel import lazy_gettext as _l

from app import security
from app.extensions import db
from app.models import Application, ApplicationChoice, ApplicationEvent, Attachment, AuditLog
from app.services.spreadsheet import safe_cell
from app.services import audit
from app.views.base import ReadOnlyModelView, RuxueInterface, RuxueModelRestApi, scoped_filters
from app.views.files import private_file

FILE_KINDS = {"image/png": _l("PNG image"), "image/jpeg": _l("JPG image"), "application/pdf": _l("PDF document")}


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
    formatters_columns = {"content_type": lambda t: str(FILE_KINDS.get(t, t))}

    @expose("/file/<int:pk>")
    @has_access
    def file(self, pk):
        """The file itself, only within the reviewer's scope; S3 answers with a 60-second link."""
        attachment = self.scoped_or_404(pk)
        audit.record(db.session, g.user.id, "attachment", attachment.application_id, attachment.file_name)
        store = current_app.extensions["ruxue_storage"]
        if store.presigns:
            return redirect(store.presigned_url(attachment.storage_key, seconds=60))
        return private_file(attachment.storage_key, attachment.content_type, inline=True)


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


class AuditLogModelView(ReadOnlyModelView):
    """The audit trail (审计日志): read and exported, never edited or deleted, by anyone."""

    entity = _l("Audit record")
    list_title = _l("Audit log")
    datamodel = RuxueInterface(AuditLog)
    class_permission_name = "AuditLog"
    method_permission_name = {**ReadOnlyModelView.method_permission_name, "export_csv": security.READ}
    list_columns = show_columns = ["at", "actor", "address", "action", "object", "result", "detail"]
    label_columns = {"at": _l("Time"), "actor": _l("Who"), "address": _l("Address"), "action": _l("Action"),
                     "object": _l("Object"), "result": _l("Result"), "detail": _l("Detail")}
    formatters_columns = {"action": audit.action_words, "result": audit.result_words, "actor": audit.actor_words,
                          "detail": audit.detail_words, "object": audit.object_words}
    search_columns = ["at", "actor", "address", "action", "object", "result"]
    order_columns = ["at", "actor", "action"]
    base_order = ("at", "desc")
    list_template = "staff/audit_list.html"

    @expose("/export.csv")
    @has_access
    def export_csv(self):
        """The filtered trail as CSV, streamed; the export itself is recorded."""
        import csv
        import io

        from flask import Response, stream_with_context

        filters = self.request_filters()
        audit.log(db.session, "export:audit_log", "audit log", detail=request.query_string.decode()[:200], commit=True)

        def lines():
            # built inside the stream, on the stream's session (the view's is closed when it returns)
            query = filters.apply_all(db.session.query(AuditLog)).order_by(AuditLog.at, AuditLog.id)
            out = io.StringIO()
            writer = csv.writer(out)
            out.write("\ufeff")
            writer.writerow([str(self.label_columns[c]) for c in self.list_columns])
            for n, row in enumerate(query.yield_per(2000), start=1):
                writer.writerow([safe_cell(str(getattr(row, c) or "")) for c in self.list_columns])
                if n % 2000 == 0:
                    yield out.getvalue()
                    out.seek(0)
                    out.truncate()
            yield out.getvalue()

        return Response(stream_with_context(lines()), mimetype="text/csv; charset=utf-8",
                        headers={"Content-Disposition": "attachment; filename=audit-log.csv", "Cache-Control": "private, no-store"})
