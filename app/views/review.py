"""The reviewers' application screen: filters, flags, detail, actions with reasons, exports."""
from __future__ import annotations

from flask import Response, abort, current_app, flash, g, redirect, request, stream_with_context, url_for
from flask_appbuilder.actions import action
from flask_appbuilder.models.sqla.filters import FilterNotEqual, FilterRelation
from flask_appbuilder.security.decorators import has_access
from flask_appbuilder.views import expose
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import joinedload, selectinload

from app import security
from app.errors import UserError
from app.extensions import appbuilder, db
from app.models import Application, ApplicationChoice, ApplicationEvent, Attachment, ReasonTemplate
from app.services import audit, export_jobs, exports, review
from app.services.clock import local_now
from app.services.allocation_words import explain as explain_allocation
from app.services.flags import compute as compute_flags
from app.services.flags import words as flag_words
from app.services import forms
from app.views.applications import ApplicationChoiceModelView, ApplicationEventModelView, AttachmentModelView
from app.views.base import ReadOnlyModelView, RuxueInterface, scoped_filters, user_sees_all_schools
from app.views.filters import FilterFlagged


class FilterListsSchool(FilterRelation):
    """Applications that list the school among their choices."""

    name = _l("Lists the school")

    def apply(self, query, value):
        chose = select(ApplicationChoice.application_id).where(ApplicationChoice.school_id == int(value))
        return query.filter(Application.id.in_(chose))


def _full_ids() -> bool:
    return appbuilder.sm.has_access("can_" + security.FULL_ID, security.APPLICATION)


class ApplicationModelView(ReadOnlyModelView):
    """Applications (报名), visible to a school reviewer only for their own schools."""

    entity = _l("Application")
    list_title = _l("Applications")
    datamodel = RuxueInterface(Application, list_loads=(
        joinedload(Application.child), joinedload(Application.period), joinedload(Application.channel),
        selectinload(Application.choices),  # with their schools (joined on the choice)
    ), count_limit="LIST_COUNT_LIMIT")
    class_permission_name = "Application"
    method_permission_name = {
        **ReadOnlyModelView.method_permission_name,
        "start_review": security.REVIEW,
        "approve": security.REVIEW,
        "approve_verified": security.REVIEW,
        "return_": security.REVIEW,
        "reject": security.REVIEW,
        "reason": security.REVIEW,
        "export_csv": security.READ,
        "export_xlsx": security.READ,
        "export_job": security.READ,
        "export_file": security.READ,
        "full_id": security.FULL_ID,
    }
    # reading, reviewing and full IDs are separate grants (see app/security.py)
    base_permissions = ["can_" + security.READ, "can_" + security.REVIEW, "can_" + security.FULL_ID]
    # drafts are the families' unfinished work: not in the reviewers' list (nor its exports)
    base_filters = [*scoped_filters("id"), ["status", FilterNotEqual, "draft"]]
    related_views = [ApplicationChoiceModelView, ApplicationEventModelView, AttachmentModelView]
    show_template = "staff/application_show.html"
    list_template = "staff/application_list.html"
    enum_columns = {"status": "status", "checks_outcome": "checks_outcome"}
    list_columns = ["number", "child.name", "child_id_masked", "period", "channel", "channel.priority",
                    "choices_text", "status", "submitted_at", "flags", "checks_outcome"]
    show_columns = ["number", "child.name", "child_id_masked", "period", "channel", "category", "community", "choices_text",
                    "status", "withdrawal_count", "return_reason", "submitted_at", "reviewed_at", "reviewed_by",
                    "allocated_school"]
    label_columns = {"child.name": _l("Child"), "channel.priority": _l("Priority"), "flags": _l("Conflict flags")}
    formatters_columns = {"flags": flag_words}
    search_columns = ["number", "status", "period", "channel", "category", "checks_outcome", "allocated_school", "submitted_at"]
    search_filters = {"allocated_school": [FilterListsSchool], "flags": [FilterFlagged]}
    order_columns = ["number", "status", "submitted_at", "channel.priority"]
    base_order = ("submitted_at", "desc")

    def _act(self, items, name: str, reason: str = ""):
        items = items if isinstance(items, list) else [items]
        who = review.reviewer(db.session, g.user.id, user_sees_all_schools())
        try:
            done = review.act(db.session, [i.id for i in items], name, who, reason, local_now())
        except UserError as error:
            flash(str(error.message), "danger")
        else:
            flash(str(_l("%(n)d applications updated.", n=done)), "success")
        return redirect(self.get_redirect())

    @action("start_review", _l("Start review"), _l("Start reviewing the selected applications?"), "fa-play")
    def start_review(self, items):
        return self._act(items, "start_review")

    @action("approve", _l("Approve"), _l("Approve the selected applications?"), "fa-check")
    def approve(self, items):
        return self._act(items, "approve")

    @action("approve_verified", _l("Approve those the records confirm"),
            _l("Approve the selected applications in review whose every section matches the department's records?"), "fa-check-circle")
    def approve_verified(self, items):
        items = items if isinstance(items, list) else [items]
        who = review.reviewer(db.session, g.user.id, user_sees_all_schools())
        try:
            done, left = review.approve_verified(db.session, [i.id for i in items], who, local_now())
        except UserError as error:
            flash(str(error.message), "danger")
        else:
            flash(str(_l("%(n)d applications approved; %(m)d left for review (not in review, or not every section "
                         "matches the records).", n=done, m=left)), "success")
        return redirect(self.get_redirect())

    @action("return", _l("Return with a reason"), None, "fa-undo")
    def return_(self, items):
        return self._ask_reason(items, "return")

    @action("reject", _l("Reject with a reason"), None, "fa-times")
    def reject(self, items):
        return self._ask_reason(items, "reject")

    def _ask_reason(self, items, kind):
        items = items if isinstance(items, list) else [items]
        return redirect(url_for(".reason", kind=kind, ids=",".join(str(i.id) for i in items)))

    @expose("/reason/<kind>", methods=["GET", "POST"])
    @has_access
    def reason(self, kind):
        """Return or reject: the reason comes from the county's templates or is typed."""
        if kind not in ("return", "reject"):
            abort(404)
        ids = [int(i) for i in request.values.get("ids", "").split(",") if i.isdigit()]
        items = [self.datamodel.get(i, self._base_filters) for i in ids]
        if not items or any(i is None for i in items):
            abort(404)
        templates = db.session.scalars(select(ReasonTemplate).where(ReasonTemplate.kind == kind).order_by(ReasonTemplate.position)).all()
        if request.method == "POST":
            text = (request.form.get("reason") or request.form.get("template") or "").strip()
            if not text:
                flash(str(_l("A reason is required.")), "danger")
            else:
                return self._act(items, kind, text)
        return self.render_template("staff/reason.html", kind=kind, items=items, ids=",".join(map(str, ids)),
                                    templates=templates)

    @expose("/show/<pk>", methods=["GET"])
    @has_access
    def show(self, pk):
        pk = self._deserialize_pk_if_composite(pk)
        widgets = self._show(pk)  # 404 outside the scope
        item = self.datamodel.get(pk, self._base_filters)
        attachments = db.session.scalars(select(Attachment).where(Attachment.application_id == item.id).order_by(Attachment.id)).all()
        events = db.session.scalars(select(ApplicationEvent).where(ApplicationEvent.application_id == item.id).order_by(ApplicationEvent.at, ApplicationEvent.id)).all()
        return self.render_template(
            self.show_template, pk=pk, title=self.show_title, widgets=widgets, related_views=self._related_views,
            item=item, attachments=attachments, events=events, flags=compute_flags(db.session, item),
            explanation=explain_allocation(db.session, item.allocation_note, item.period_id),
            sections=forms.answered(db.session, item), full_ids=_full_ids(),
            templates={k: db.session.scalars(select(ReasonTemplate).where(ReasonTemplate.kind == k).order_by(ReasonTemplate.position)).all() for k in ("return", "reject")},
        )

    @expose("/full_id/<int:pk>")
    @has_access
    def full_id(self, pk):
        """The unmasked ID number, for roles that need it; every look is recorded."""
        item = self.scoped_or_404(pk)
        audit.record(db.session, g.user.id, "full_id", item.id, item.number)
        return self.render_template("staff/full_id.html", item=item)

    def export_query(self, session, args, scope_user_id):
        """The list's rows for these query-string filters and this scope (the worker calls it too)."""
        filters = self._new_filters()
        self._read_filters(filters, [], args)
        return filters.apply_all(exports.scoped(session, scope_user_id))

    def _export(self, kind: str):
        """Exactly the rows of the list's own URL; a file too large for one request becomes a job."""
        scope_user = None if user_sees_all_schools() else g.user.id
        query = self.export_query(db.session, request.args, scope_user)
        limit = current_app.config["EXPORT_INLINE_ROWS"][kind]
        rows = exports.count(query)
        filters = request.query_string.decode(errors="replace")[:200]
        if rows > limit:
            job = export_jobs.create(db.session, g.user.id, kind, request.args, scope_user is None, _full_ids())
            audit.log(db.session, "export:job", f"export job {job.id}", detail=f"{kind}, {rows} rows; {filters}", commit=True)
            return redirect(url_for(".export_job", job_id=job.id))
        audit.log(db.session, f"export:{kind}", "applications",
                  detail=f"{rows} rows{', full IDs' if _full_ids() else ''}; {filters}", commit=True)
        name = f"applications.{kind}"
        headers = {"Content-Disposition": f"attachment; filename={name}", "Cache-Control": "private, no-store"}
        if kind == "csv":
            args, full_ids = request.args.copy(), _full_ids()

            def chunks():
                # the query is built again inside the stream: the view's session is closed when the
                # view returns, and one used after that would hold its connection until collected
                yield from exports.csv_chunks(db.session, self.export_query(db.session, args, scope_user), full_ids)

            return Response(stream_with_context(chunks()), mimetype=export_jobs.CONTENT_TYPES["csv"], headers=headers)
        return Response(exports.xlsx_bytes(db.session, query, _full_ids()), mimetype=export_jobs.CONTENT_TYPES["xlsx"],
                        headers=headers)

    @expose("/export.csv")
    @has_access
    def export_csv(self):
        """Exactly the rows of the current list (filters and scope); IDs masked unless allowed."""
        return self._export("csv")

    @expose("/export.xlsx")
    @has_access
    def export_xlsx(self):
        return self._export("xlsx")

    @expose("/exports/<int:job_id>")
    @has_access
    def export_job(self, job_id):
        """A large export's progress; its file when ready. Only the one who asked sees it."""
        job = export_jobs.own(db.session, job_id, g.user.id)
        if job is None:
            abort(404)
        return self.render_template("staff/export_job.html", job=job)

    @expose("/exports/<int:job_id>/file")
    @has_access
    def export_file(self, job_id):
        job = export_jobs.own(db.session, job_id, g.user.id)
        if job is None or job.state != "done":
            abort(404)
        body = current_app.extensions["ruxue_storage"].read(job.storage_key)
        audit.log(db.session, "export:file", f"export job {job.id}", detail=f"{job.kind}, {job.total} rows", commit=True)
        return Response(body, mimetype=export_jobs.CONTENT_TYPES[job.kind],
                        headers={"Content-Disposition": f"attachment; filename=applications.{job.kind}",
                                 "Cache-Control": "private, no-store"})
