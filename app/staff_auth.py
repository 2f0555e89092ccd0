"""Staff sign-in: lockout after repeated failures (per account and per address, counted in the
rate-limit store, so shared across workers and nodes), a server-side session per sign-in
(idle timeout, absolute lifetime, revoked at logout and on a password change), logout by POST,
and every sign-in, failure and logout in the audit trail. Roles in STAFF_TOTP_ROLES stop after
the password at a second step (app/staff_totp.py) and are signed in only after its code."""
from __future__ import annotations

import datetime as dt
import time

from flask import current_app, flash, g, redirect, request, session, url_for
from flask_appbuilder import expose
from flask_appbuilder.security.decorators import no_cache
from flask_appbuilder.security.forms import LoginForm_db
from flask_appbuilder.security.views import AuthDBView as FabAuthDBView
from flask_appbuilder.utils.base import get_safe_redirect
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_user, logout_user
from limits import parse

from app.extensions import db, limiter
from app.services import audit, staff_sessions, totp
from app.services.clock import local_now

TOKEN = "staff_session"
PENDING = "staff_password_done"  # the password step of a sign-in that still needs its code
PENDING_SECONDS = 300


def _now() -> dt.datetime:
    return local_now(current_app.config["BABEL_DEFAULT_TIMEZONE"])


def _limits():
    config = current_app.config
    return ((parse(config["STAFF_LOGIN_FAILURES_PER_ACCOUNT"]), "staff-login-account"),
            (parse(config["STAFF_LOGIN_FAILURES_PER_ADDRESS"]), "staff-login-address"))


def _keys(username: str) -> tuple[str, str]:
    return (username or "").strip().lower()[:64], (request.remote_addr or "")[:45]


def refuse_locked(username: str, next_url: str = ""):
    """The lockout's answer (password step and code step alike): audited, a message, the login page."""
    from app.extensions import appbuilder

    session.pop(PENDING, None)
    audit.log(db.session, "login", username, "refused", "locked: too many failures", who=username, commit=True)
    flash(str(_l("Too many failed sign-ins. Wait %(m)s and try again, or ask an administrator.",
                 m=current_app.config["STAFF_LOGIN_FAILURES_PER_ACCOUNT"].split(" per ")[-1])), "danger")
    return redirect(appbuilder.get_url_for_login_with(next_url))


def sign_in(user, next_url: str, detail: str = ""):
    """The staff member is signed in: a server-side session, the audit row, on to the page."""
    session.pop(PENDING, None)
    login_user(user, remember=False)
    session.permanent = True
    session[TOKEN] = staff_sessions.start(db.session, user.id, request.remote_addr or "", _now())
    audit.log(db.session, "login", user.username, "ok", detail, user_id=user.id, who=user.username, commit=True)
    return redirect(next_url)


def second_factor(user, next_url: str):
    """The password was right and the role needs a code: the session holds only "password done
    for this user, at this time" (not a sign-in), and the code page or the enrolment comes next."""
    session.pop(TOKEN, None)
    session[PENDING] = {"user": user.id, "next": next_url, "at": int(time.time())}
    endpoint = "StaffTotpView.code" if totp.enrolled(db.session, user.id) else "StaffTotpView.enrol"
    return redirect(url_for(endpoint))


def pending_user():
    """The user whose password was right on this session in the last PENDING_SECONDS, or None."""
    from app.extensions import appbuilder

    pending = session.get(PENDING)
    if not isinstance(pending, dict) or time.time() - pending.get("at", 0) > PENDING_SECONDS:
        session.pop(PENDING, None)
        return None, ""
    user = appbuilder.sm.get_user_by_id(pending.get("user"))
    if user is None or not user.is_active:
        session.pop(PENDING, None)
        return None, ""
    return user, get_safe_redirect(pending.get("next") or "")


def locked(username: str) -> bool:
    """True once the account or the address has used up its failures for the window (never
    when the county switched rate limits off: Flask-Limiter then has no storage to ask)."""
    if not limiter.enabled:
        return False
    return any(not limiter.limiter.test(item, scope, key) for (item, scope), key in zip(_limits(), _keys(username)))


def failed(username: str) -> None:
    if not limiter.enabled:
        return
    for (item, scope), key in zip(_limits(), _keys(username)):
        limiter.limiter.hit(item, scope, key)


class AuthDBView(FabAuthDBView):
    """FAB's database sign-in with lockout, server-side sessions and a POST logout (FAB's class
    name, so its endpoints stay AuthDBView.login and AuthDBView.logout)."""

    @expose("/login/", methods=["GET", "POST"])
    @no_cache
    def login(self):
        if g.user is not None and g.user.is_authenticated:
            return redirect(self._get_safe_next_url())
        form = LoginForm_db()
        if form.validate_on_submit():
            next_url = get_safe_redirect(request.args.get("next", ""))
            username = form.username.data or ""
            if locked(username):
                return refuse_locked(username, next_url)
            user = self.appbuilder.sm.auth_user_db(username, form.password.data)
            if not user:
                failed(username)
                audit.log(db.session, "login", username, "refused", who=username, commit=True)
                flash(str(self.invalid_login_message), "warning")
                return redirect(self.appbuilder.get_url_for_login_with(next_url))
            if totp.required([role.name for role in user.roles], current_app.config["STAFF_TOTP_ROLES"]):
                return second_factor(user, next_url)
            return sign_in(user, next_url)
        return self.render_template(self.login_template, title=self.title, form=form, appbuilder=self.appbuilder)

    @expose("/logout/", methods=["GET", "POST"])
    def logout(self):
        """GET asks (a link or a prefetch must not sign anyone out); POST signs out."""
        if request.method == "GET":
            if not current_user.is_authenticated:
                return redirect(self.appbuilder.get_url_for_login)
            return self.render_template("staff/logout.html", appbuilder=self.appbuilder)
        session.pop(PENDING, None)
        if current_user.is_authenticated:
            audit.log(db.session, "logout", current_user.username, "ok", commit=True)
        staff_sessions.revoke(db.session, session.pop(TOKEN, None), _now())
        logout_user()
        return redirect(self.appbuilder.get_url_for_login)


def check_staff_session():
    """Every request of a signed-in staff member: the server-side sign-in must still be valid."""
    if "_user_id" not in session and current_app.config.get("REMEMBER_COOKIE_NAME", "remember_token") not in request.cookies:
        return None  # nobody signed in as staff (a family, a visitor): nothing for Flask-Login to load
    if not getattr(current_user, "is_authenticated", False):
        return None
    config = current_app.config
    valid = current_user.is_active and staff_sessions.check(
        db.session, session.get(TOKEN), current_user.id, _now(),
        dt.timedelta(minutes=config["STAFF_IDLE_MINUTES"]), dt.timedelta(hours=config["STAFF_SESSION_HOURS"]))
    if valid:
        return None
    logout_user()
    session.pop(TOKEN, None)
    g.user = None
    if request.path.startswith("/api/"):
        from flask import jsonify

        return jsonify(message=str(_l("Your sign-in has ended; sign in again."))), 401
    flash(str(_l("Your sign-in has ended; sign in again.")), "warning")
    return redirect(url_for("AuthDBView.login", next=request.full_path if request.method == "GET" else None))
