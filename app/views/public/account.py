"""Logging in with a phone code, the family's children, consent and messages."""
from __future__ import annotations

import datetime as dt

from flask import abort, current_app, flash, g, redirect, render_template, request, session, url_for
from flask_babel import lazy_gettext as _l
from flask_limiter.util import get_remote_address
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import select, update

from app.extensions import db, limiter
from app.labels import CHOICES
from app.models import Message
from app.services import applications, children, otp, submission
from app.services import consent as consent_service
from app.views.public import SESSION_KEY, bp, current_parent, flash_error, now, parent_required, unread_count


def _phone_key() -> str:
    try:
        return "otp-phone:" + otp.normalize_phone(request.form.get("phone", ""))
    except otp.OtpError:
        return "otp-phone:invalid"


def _limit_exceeded():
    return render_template("public/signin.html", phone=request.form.get("phone", ""), step="phone",
                           error=_l("Too many requests; please try again later.")), 429


@bp.route("/signin", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["OTP_LIMIT_PER_PHONE"], key_func=_phone_key, methods=["POST"], on_breach=lambda _: _limit_exceeded())
@limiter.limit(lambda: current_app.config["OTP_LIMIT_PER_ADDRESS"], key_func=get_remote_address, methods=["POST"], on_breach=lambda _: _limit_exceeded())
def signin():
    """Step 1: the phone number; a code is sent through the configured sender."""
    if request.method == "GET":
        return render_template("public/signin.html", phone="", step="phone", error=None)
    try:
        phone = otp.normalize_phone(request.form.get("phone", ""))
        issued = otp.issue(db.session, current_app.config["SECRET_KEY"], phone, get_remote_address() or "", now())
    except otp.OtpError as error:
        return render_template("public/signin.html", phone=request.form.get("phone", ""), step="phone", error=error.message), 400
    text = str(_l("Your Ruxue login code is %(code)s, valid for 5 minutes. Do not tell anyone.", code=issued.code))
    current_app.extensions["ruxue_sms"].send(phone, text)
    shown = issued.code if current_app.config.get("SHOW_OTP_ON_PAGE") else None
    return render_template("public/signin.html", phone=phone, step="code", error=None, shown_code=shown,
                           next=request.args.get("next", ""))


@bp.route("/signin/code", methods=["POST"])
def signin_code():
    """Step 2: the code; the account is created on first login."""
    phone = request.form.get("phone", "")
    try:
        phone = otp.normalize_phone(phone)
        account = otp.verify(db.session, current_app.config["SECRET_KEY"], phone, request.form.get("code", ""), now())
    except otp.OtpError as error:
        # the place the parent was going survives a wrong or expired code
        return render_template("public/signin.html", phone=phone, step="code", error=error.message,
                               next=request.form.get("next", "")), 400
    session.clear()
    session[SESSION_KEY] = account.id
    target = request.form.get("next") or ""
    target = target if target.startswith("/my") else url_for("public.my")
    if consent_service.needs_consent(db.session, account):
        # the manuals: the agreement comes at the first login, then the parent goes on where they were going
        return redirect(url_for("public.consent", next=target))
    return redirect(target)


@bp.route("/signout", methods=["POST"])
def signout():
    session.pop(SESSION_KEY, None)
    return redirect(url_for("public.home"))


@bp.route("/my")
@parent_required
def my():
    from app.services import eligibility

    items = applications.account_applications(db.session, g.parent_id)
    current = now()
    open_now = [p for p in applications.open_periods(db.session, current) if eligibility.period_state(p, current) == "open"]
    rows = db.session.execute(children.account_children_statement(g.parent_id).add_columns(unread_count(g.parent_id))).all()
    kids = [r[0] for r in rows]
    if rows:
        g.unread = rows[0][1]
    # each child is offered only the periods its age fits
    offers = {c.id: [p for p in open_now if not eligibility.age_problems(p, c)] for c in kids}
    return render_template("public/my.html", children=kids, applications=items, offers=offers,
                           now=current, can_edit=submission.can_edit, can_withdraw=submission.can_withdraw,
                           can_delete=submission.can_delete)


@bp.route("/my/children/add", methods=["GET", "POST"])
@parent_required
def add_child():
    form = request.form
    if request.method == "POST":
        birth = None
        if form.get("birth_date"):
            try:
                birth = dt.date.fromisoformat(form["birth_date"])
            except ValueError:
                birth = None
        try:
            children.add_child(db.session, current_parent(), form.get("name", ""), form.get("id_type", ""),
                               form.get("id_number", ""), birth, form.get("sex") or None, now().date(),
                               applications.open_periods(db.session, now()))
        except children.ChildError as error:
            db.session.rollback()
            return render_template("public/child_add.html", form=form, error=error.message, id_types=CHOICES["id_type"]), 400
        flash(str(_l("The child was added.")), "ok")
        return redirect(url_for("public.my"))
    return render_template("public/child_add.html", form={}, error=None, id_types=CHOICES["id_type"])


def _own_child_or_404(child_id):
    child = children.own_child(db.session, g.parent_id, child_id)
    if child is None:
        abort(404)
    return child


@bp.route("/my/children/<int:child_id>/unbind", methods=["GET", "POST"])
@parent_required
def unbind_child(child_id):
    """Asks first; refused, with the reason, while the child has an application in progress."""
    child = _own_child_or_404(child_id)
    problem = children.unbind_problem(db.session, child)
    if request.method == "POST" and request.form.get("confirm") and problem is None:
        try:
            children.unbind(db.session, current_parent(), child)
        except children.ChildError as error:
            db.session.rollback()
            flash_error(error.message)
            return redirect(url_for("public.my"))
        flash(str(_l("The child was unbound from this account.")), "ok")
        return redirect(url_for("public.my"))
    lines = [problem] if problem else [
        _l("Another family member's account can then bind %(name)s and apply.", name=child.name),
        _l("Drafts not yet submitted stay with the child and are seen by the account that binds it next."),
    ]
    return render_template("public/confirm.html", title=_l("Unbind %(name)s from this account?", name=child.name),
                           lines=lines, refused=problem is not None, action=url_for("public.unbind_child", child_id=child.id),
                           button=_l("Unbind"), back=url_for("public.my")), 409 if problem and request.method == "POST" else 200


@bp.route("/my/children/<int:child_id>/edit", methods=["GET", "POST"])
@parent_required
def edit_child(child_id):
    """Correct the child's name (个人中心—我的孩子—修改) while nothing is with the reviewers."""
    child = _own_child_or_404(child_id)
    error = children.rename_problem(db.session, child)
    status = 409 if error is not None and request.method == "POST" else 200
    if request.method == "POST" and error is None:
        try:
            children.rename(db.session, current_parent(), child, request.form.get("name", ""))
            flash(str(_l("The child's name was changed.")), "ok")
            return redirect(url_for("public.my"))
        except children.ChildError as problem:
            db.session.rollback()
            error, status = problem.message, 400
    return render_template("public/child_edit.html", child=child, error=error,
                           locked=children.rename_problem(db.session, child) is not None,
                           name=request.form.get("name", child.name)), status


@bp.route("/my/consent", methods=["GET", "POST"])
@parent_required
def consent():
    """The county's agreement: read for its wait (a signed time on the page; the button counts down
    where JavaScript runs), agreed with its own wording, then on to where the parent was going."""
    notice = consent_service.agreement(db.session)
    target = request.values.get("next", "")
    target = target if target.startswith("/my") else url_for("public.my")
    signer = URLSafeSerializer(current_app.config["SECRET_KEY"], salt="consent")
    if request.method == "POST":
        try:
            shown_at = dt.datetime.fromisoformat(signer.loads(request.form.get("shown", "")))
        except (BadSignature, ValueError, TypeError):
            shown_at = None
        try:
            if not request.form.get("agree"):
                raise consent_service.ConsentError(_l("Tick the box to agree before you continue."))
            consent_service.give(db.session, current_parent(), now(), notice, shown_at)
        except consent_service.ConsentError as error:
            flash_error(error.message)
            # the reading time counts from the first showing, not from this refusal
            shown = request.form["shown"] if shown_at else signer.dumps(now().isoformat())
            return render_template("public/consent.html", notice=notice, next=target, shown=shown), 400
        return redirect(target)
    return render_template("public/consent.html", notice=notice, next=target, shown=signer.dumps(now().isoformat()))


@bp.route("/my/messages")
@parent_required
def messages():
    items = db.session.scalars(
        select(Message).where(Message.account_id == g.parent_id).order_by(Message.created_at.desc(), Message.id.desc())
    ).all()
    unread_ids = {m.id for m in items if m.read_at is None}
    page = render_template("public/messages.html", messages=items, unread_ids=unread_ids)
    if unread_ids:
        # what this page showed is now read; a message that arrived meanwhile stays unread
        db.session.execute(update(Message).where(Message.account_id == g.parent_id, Message.read_at.is_(None),
                                                 Message.id <= max(unread_ids)).values(read_at=now()))
        db.session.commit()
    return page
