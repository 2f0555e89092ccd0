"""The application form, step by step; every step saves, so leaving and coming back resumes."""
from __future__ import annotations

import datetime as dt

from flask import abort, current_app, flash, g, redirect, render_template, request, url_for
from flask_babel import lazy_gettext as _l
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import bindparam, select

from app.extensions import db
from app.models import Attachment, EnrollmentPeriod
from app.services import applications as apps
from app.services import categories, child_lookup, registry, submission
from app.services import eligibility, uploads
from app.services import forms
from app.services.sections import GUARDIAN_SLOTS, SectionError
from app.storage import UploadError
from app.errors import UserError
from app.views.public import bp, current_parent, flash_error, now, parent_required, storage, unread_count
from app.services.consent import needs_consent
from app.views.files import private_file


# A page also needs the parent's unread count for its header: one more column, not one more query.
_OWN_PAGE = apps.OWN_APPLICATION.add_columns(unread_count(bindparam("account_id")))


def _own(application_id: int):
    """The parent's own application (404 for anyone else's)."""
    ids = {"application_id": application_id, "account_id": g.parent_id}
    if request.method == "GET":
        row = db.session.execute(_OWN_PAGE, ids).one_or_none()
        if row is None:
            abort(404)
        g.unread = row[1]
        return row[0]
    application = db.session.scalars(apps.OWN_APPLICATION, ids).one_or_none()
    if application is None:
        abort(404)
    return application


def _next_step(application, step: str) -> str:
    names = apps.steps(db.session, application)
    index = names.index(step) if step in names else -1
    return names[min(index + 1, len(names) - 1)]


def _go(application, step: str):
    return redirect(url_for("public.step", application_id=application.id, step=step))


@bp.route("/my/apply", methods=["POST"])
@parent_required
def start():
    from app.services.children import own_child

    child = own_child(db.session, g.parent_id, request.form.get("child_id", type=int) or 0)
    period = db.session.get(EnrollmentPeriod, request.form.get("period_id", type=int) or 0)
    if child is None or period is None:
        flash_error(_l("Choose a child and an enrollment period."))
        return redirect(url_for("public.my"))
    if needs_consent(db.session, child.account):
        return redirect(url_for("public.consent", next=url_for("public.my")))
    return open_application(child, period)


def open_application(child, period):
    """The child's application in the period, opened or resumed; a period that looks children up
    sends the family to the lookup until it is settled."""
    try:
        application = apps.start(db.session, child, period, now())
    except child_lookup.LookupNeeded:
        db.session.rollback()
        return redirect(url_for("public.child_lookup", child_id=child.id, period_id=period.id))
    except apps.ApplicationError as error:
        db.session.rollback()
        flash_error(error.message)
        return redirect(url_for("public.my"))
    return _go(application, "channel" if application.channel is None else "preview")


@bp.route("/my/a/<int:application_id>/<step>", methods=["GET", "POST"])
@parent_required
def step(application_id, step):
    application = _own(application_id)
    if step not in apps.steps(db.session, application):
        return _go(application, apps.steps(db.session, application)[-1])
    if not submission.can_edit(application, now()):
        return redirect(url_for("public.detail", application_id=application.id))
    errors, error = {}, None
    if request.method == "POST":
        try:
            _save_step(application, step)
            if "keep" in request.form:
                flash(str(_l("Kept unfinished. Continue any time from My applications; it is checked when you save it.")), "ok")
                return redirect(url_for("public.step", application_id=application.id, step=step))
            return _go(application, _next_step(application, step))
        except SectionError as problem:
            db.session.rollback()
            errors = problem.errors
            error = _l("Please correct the marked fields.")
        except UserError as problem:
            db.session.rollback()
            error = problem.message
            if not submission.can_edit(application, now()):
                # submitted or taken into review meanwhile (another tab, a reviewer)
                flash_error(error)
                return redirect(url_for("public.detail", application_id=application.id))
    context = _step_context(application, step)
    status = 400 if error else 200
    return render_template(f"public/step_{_template(step)}.html", application=application, step=step,
                           steps=apps.steps(db.session, application), errors=errors, error=error, form=request.form,
                           materials=apps.asked_materials(db.session, application), **context), status


def _template(step: str) -> str:
    if step in ("channel", "community", "choices", "materials", "preview"):
        return step
    section = forms.current(db.session, step)
    return "guardians" if section is not None and section.kind == "guardians" else "section"


def _save_step(application, step: str) -> None:
    form = request.form
    if step == "channel":
        apps.set_channel(db.session, application, form.get("channel_id", type=int) or 0, form.get("grade", type=int))
    elif step == "community":
        apps.set_community(db.session, application, form.get("community_id", type=int))
    elif step == "choices":
        ids = [form.get(f"choice_{i}", type=int) for i in range(1, application.period.choice_count + 1)]
        apps.set_choices(db.session, application, [i for i in ids if i])
    elif step == "materials":
        missing = apps.missing_materials(db.session, application)
        if missing:
            raise apps.ApplicationError(missing[0])
    elif step != "preview" and "keep" in form:
        apps.keep_draft(db.session, application, step, form)
    elif step != "preview":
        apps.save_section(db.session, application, step, form, skip="skip" in form, today=now().date())
        apps.check_for_waivers(db.session, application, step, registry.source_for(current_app, db.session))


def _step_context(application, step: str) -> dict:
    if step == "channel":
        return {"grades": apps.grades(application.period), "channels": apps.period_channels(db.session, application.period_id)}
    if step == "community":
        return {"streets": apps.communities_by_street(db.session)}
    if step == "choices":
        offers = apps.offered_schools(db.session, application)
        return {"offers": offers, "chosen": [c.school_id for c in application.choices],
                "needed": apps.choices_needed(application.period, len(offers)), "catchments": apps.catchment_names(db.session)}
    if step == "materials":
        return {"uploaded": apps.attachments_by_material(db.session, application)}
    if step == "preview":
        from app.services.forecast import forecast

        uploaded = apps.attachments_by_material(db.session, application)
        token = URLSafeSerializer(current_app.config["SECRET_KEY"], salt="preview").dumps(
            [application.id, now().isoformat(), submission.fingerprint(application, uploaded)])
        return {"missing": apps.missing(db.session, application, uploaded), "token": token,
                "forecast": forecast(db.session, application), "uploaded": uploaded,
                "sections": forms.answered(db.session, application), "category": categories.shown(db.session, application)}
    section = forms.current(db.session, step)
    fields = section.fields if section else ()
    if section is not None and section.kind == "guardians":
        saved = (application.section_data or {}).get(step, {}).get("guardians", [])
        offered, offered_from = ([], "") if saved else apps.offered_guardians(
            db.session, application, registry.source_for(current_app, db.session), GUARDIAN_SLOTS)
        return {"fields": fields, "slots": range(GUARDIAN_SLOTS), "saved": saved or offered, "offered": offered_from,
                "configured": _configured(application, step), "section": section}
    kept = (application.draft_answers or {}).get(step)
    saved = (application.section_data or {}).get(step) or kept or {}
    return {"fields": fields, "saved": saved, "kept": bool(kept) and step not in (application.section_data or {}), "section": section,
            "configured": _configured(application, step), "section_label": section.title if section else step,
            "streets": apps.communities_by_street(db.session) if any(f.kind == "address" for f in fields) else ()}


def _configured(application, step):
    return apps.form_layout(db.session, application).section(step)


def _locked(application):
    """A form posted from a page left open after the application was submitted or taken into review."""
    flash_error(_l("This application can no longer be changed."))
    return redirect(url_for("public.detail", application_id=application.id)), 303


@bp.route("/my/a/<int:application_id>/upload", methods=["POST"])
@parent_required
def upload(application_id):
    application = _own(application_id)
    if not submission.can_edit(application, now()):
        return _locked(application)
    file = request.files.get("file")
    try:
        if file is None:
            raise UploadError(_l("Choose a file first."))
        uploads.add_attachment(db.session, storage(), application, request.form.get("material_type_id", type=int) or 0,
                               file.filename or "", file.read())
        flash(str(_l("The file was uploaded.")), "ok")
    except UploadError as error:
        flash_error(error.message)
        return redirect(url_for("public.step", application_id=application.id, step="materials")), 303
    return redirect(url_for("public.step", application_id=application.id, step="materials"))


@bp.route("/my/a/<int:application_id>/file/<int:attachment_id>/delete", methods=["POST"])
@parent_required
def delete_file(application_id, attachment_id):
    application = _own(application_id)
    if not submission.can_edit(application, now()):
        return _locked(application)
    try:
        uploads.remove_attachment(db.session, storage(), application, attachment_id)
    except UploadError:
        abort(404)
    return redirect(url_for("public.step", application_id=application.id, step="materials"))


@bp.route("/my/a/<int:application_id>/file/<int:attachment_id>")
@parent_required
def own_file(application_id, attachment_id):
    application = _own(application_id)
    attachment = db.session.scalar(select(Attachment).where(Attachment.id == attachment_id, Attachment.application_id == application.id))
    if attachment is None:
        abort(404)
    return private_file(attachment.storage_key, attachment.content_type)


@bp.route("/my/a/<int:application_id>/submit", methods=["POST"])
@parent_required
def submit(application_id):
    application = _own(application_id)
    previewed_at, previewed = None, ""  # a submit from no preview (or a forged one) matches nothing
    try:
        shown_id, shown_at, previewed = URLSafeSerializer(current_app.config["SECRET_KEY"], salt="preview").loads(
            request.form.get("token", ""))
        if shown_id == application.id:
            previewed_at = dt.datetime.fromisoformat(shown_at)
        else:
            previewed = ""
    except (BadSignature, ValueError, TypeError):
        previewed_at, previewed = None, ""
    try:
        submission.submit(db.session, application, g.parent_id, now(), previewed_at, previewed)
    except UserError as error:
        db.session.rollback()
        flash_error(error.message)
        if application.status not in ("draft", "returned"):
            return redirect(url_for("public.detail", application_id=application.id))
        return redirect(url_for("public.step", application_id=application.id, step="preview"))
    return redirect(url_for("public.detail", application_id=application.id, receipt=1))


@bp.route("/my/a/<int:application_id>")
@parent_required
def detail(application_id):
    from app.models import ApplicationEvent

    application = _own(application_id)
    events = db.session.scalars(
        select(ApplicationEvent).where(ApplicationEvent.application_id == application.id).order_by(ApplicationEvent.at, ApplicationEvent.id)
    ).all()
    current = now()
    from app.services.allocation_words import explain

    uploaded = apps.attachments_by_material(db.session, application)
    withdraw_problem = submission.withdraw_problem(application, current)
    return render_template("public/detail.html", application=application, events=events,
                           explanation=explain(db.session, application.allocation_note, application.period_id),
                           receipt=request.args.get("receipt"), can_edit=submission.can_edit(application, current),
                           can_withdraw=withdraw_problem is None, withdraw_problem=withdraw_problem,
                           problems=eligibility.period_problems(application.period, current),
                           sections=forms.answered(db.session, application), uploaded=uploaded,
                           materials=apps.asked_materials(db.session, application),
                           category=categories.shown(db.session, application))


@bp.route("/my/a/<int:application_id>/withdraw", methods=["GET", "POST"])
@parent_required
def withdraw(application_id):
    """Asks first (withdrawals are counted); a post without the confirmation only asks."""
    application = _own(application_id)
    problem = submission.withdraw_problem(application, now())
    if request.method == "POST" and request.form.get("confirm"):
        try:
            submission.withdraw(db.session, application, g.parent_id, now())
            flash(str(_l("The application was withdrawn to a draft; submit it again before the deadline.")), "ok")
        except UserError as error:
            db.session.rollback()
            flash_error(error.message)
        return redirect(url_for("public.detail", application_id=application.id))
    if problem is not None:
        flash_error(problem)
        return redirect(url_for("public.detail", application_id=application.id))
    period = application.period
    left = period.withdrawal_limit - application.withdrawal_count
    lines = [_l("The application goes back to a draft: change it, then submit it again before %(d)s, or it does not count.",
                d=period.closes_at.strftime("%Y-%m-%d %H:%M")),
             _l("After this one, %(n)d of %(m)d withdrawals are left.", n=left - 1, m=period.withdrawal_limit)]
    return render_template("public/confirm.html", title=_l("Withdraw application %(n)s?", n=application.number), lines=lines,
                           refused=False, action=url_for("public.withdraw", application_id=application.id),
                           button=_l("Withdraw to change it"), back=url_for("public.detail", application_id=application.id))


@bp.route("/my/a/<int:application_id>/delete", methods=["GET", "POST"])
@parent_required
def delete(application_id):
    """删除, asked first: the application stops holding the child's place; the child may start again."""
    application = _own(application_id)
    if request.method == "POST" and request.form.get("confirm"):
        try:
            submission.delete(db.session, application, g.parent_id, now())
            flash(str(_l("Application %(n)s was deleted.", n=application.number)), "ok")
            return redirect(url_for("public.my"))
        except UserError as error:
            db.session.rollback()
            flash_error(error.message)
            return redirect(url_for("public.detail", application_id=application.id))
    problem = submission.delete_problem(application, now())
    if problem is not None:
        flash_error(problem)
        return redirect(url_for("public.detail", application_id=application.id))
    lines = [_l("The application no longer counts, and the school will not review it."),
             _l("You can apply again for %(name)s while the period is open.", name=application.child.name)]
    return render_template("public/confirm.html", title=_l("Delete application %(n)s?", n=application.number), lines=lines,
                           refused=False, action=url_for("public.delete", application_id=application.id),
                           button=_l("Delete"), back=url_for("public.my"))
