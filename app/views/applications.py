"""Applications and what hangs off them, scoped to the schools a reviewer may see."""
from __future__ import annotations

from flask import Response, current_app, g, redirect
from flask_appbuilder.security.decorators import has_access
from flask_appbuilder.views import expose
from flask_babel import lazy_gettext as _l

from app import security
from app.extensions import db
from app.models import Application, ApplicationChoice, ApplicationEvent, Attachment, SensitiveRead
from app.services import audit
from app.views.base import ReadOnlyModelView, RuxueInterface, RuxueModelRestApi, scoped_filters

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
        return Response(
            store.read(attachment.storage_key),
            mimetype=attachment.content_type,
            headers={"Cache-Control": "private, no-store", "X-Content-Type-Options": "nosniff",
                     "Content-Disposition": "inline"},
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


class SensitiveReadModelView(ReadOnlyModelView):
    """Who viewed a full ID number or opened an attachment; for administrators."""

    entity = _l("Sensitive read")
    list_title = _l("Sensitive reads")
    datamodel = RuxueInterface(SensitiveRead)
    class_permission_name = "SensitiveRead"
    list_columns = show_columns = ["at", "user", "kind", "application", "detail"]
    label_columns = {"kind": _l("What was read"), "detail": _l("Detail")}
    formatters_columns = {"kind": lambda k: str({"full_id": _l("Full ID number"), "attachment": _l("Attachment")}.get(k, k))}
    search_columns = ["at", "user", "kind"]
    order_columns = ["at"]
    base_order = ("at", "desc")
