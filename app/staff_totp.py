"""The second step of a staff sign-in for the roles the county marks (STAFF_TOTP_ROLES): the
code page, and the enrolment page (QR code and manual key, confirmed with one code). Only after
the code is the session signed in; a wrong or replayed code counts toward the lockout. The
rules are in app/services/totp.py; these views only carry them."""
from __future__ import annotations

import datetime as dt

from flask import current_app, flash, redirect, request, url_for
from flask_appbuilder import BaseView, expose
from flask_appbuilder.security.decorators import no_cache
from flask_babel import lazy_gettext as _l
from markupsafe import Markup

from app.extensions import db
from app.services import audit, totp
from app.staff_auth import failed, locked, pending_user, refuse_locked, sign_in

MESSAGES = {
    totp.Check.WRONG: _l("The code is not right. Enter the 6 digits your authenticator app shows now."),
    totp.Check.REPLAYED: _l("This code has been used already. Wait for the next code and enter that one."),
}


def _key() -> bytes:
    return totp.key(current_app.config["SECRET_KEY"])


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def _issuer() -> str:
    return current_app.config.get("APP_NAME") or totp.ISSUER


class StaffTotpView(BaseView):
    """/login/code/ and /login/enrol/: open to a session whose password step is done, not signed in."""

    route_base = "/login"
    default_view = "code"

    def _start_again(self):
        flash(str(_l("Sign in with your password first.")), "warning")
        return redirect(self.appbuilder.get_url_for_login)

    def _refuse(self, user, result: totp.Check) -> None:
        failed(user.username)
        audit.log(db.session, "login", user.username, "refused", f"second factor: {result.value}",
                  user_id=user.id, who=user.username, commit=True)
        flash(str(MESSAGES[result]), "danger")

    def _answer(self, user, next_url: str, check, signed_in):
        """A posted code: None to show the page again (with the refusal), else the redirect."""
        if locked(user.username):
            return refuse_locked(user.username, next_url)
        result = check(db.session, user.id, request.form.get("code", ""), _key(), _utc_now())
        if result is totp.Check.OK:
            return signed_in()
        if result is totp.Check.MISSING:  # not set up (any more), or set up meanwhile in another tab
            return redirect(url_for(".enrol"))
        self._refuse(user, result)
        return refuse_locked(user.username, next_url) if locked(user.username) else None

    @expose("/code/", methods=["GET", "POST"])
    @no_cache
    def code(self):
        user, next_url = pending_user()
        if user is None:
            return self._start_again()
        if not totp.enrolled(db.session, user.id):
            return redirect(url_for(".enrol"))
        if request.method == "POST":
            answer = self._answer(user, next_url, totp.verify, lambda: sign_in(user, next_url, "second factor"))
            if answer is not None:
                return answer
        return self.render_template("staff/totp_code.html", user=user, appbuilder=self.appbuilder)

    @expose("/enrol/", methods=["GET", "POST"])
    @no_cache
    def enrol(self):
        user, next_url = pending_user()
        if user is None:
            return self._start_again()
        if totp.enrolled(db.session, user.id):
            return redirect(url_for(".code"))

        def enrolled():
            audit.log(db.session, "totp:enrol", f"user {user.id}", "ok", user_id=user.id, who=user.username)
            flash(str(_l("Your second factor is set up. From now on, sign in with your password and a code.")), "success")
            return sign_in(user, next_url, "second factor set up")

        if request.method == "POST":
            answer = self._answer(user, next_url, totp.confirm_enrolment, enrolled)
            if answer is not None:
                return answer
        secret = totp.begin_enrolment(db.session, user.id, _key())
        uri = totp.provisioning_uri(secret, user.username, _issuer())
        return self.render_template("staff/totp_enrol.html", user=user, qr=Markup(totp.qr_svg(uri)),
                                    manual_key=totp.grouped(secret), appbuilder=self.appbuilder)
