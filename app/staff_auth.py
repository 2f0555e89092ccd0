"""Staff sign-in: lockout after repeated failures (per account and per address, counted in the
rate-limit store, so shared across workers and nodes), a server-side session per sign-in
(idle timeout, absolute lifetime, revoked at logout and on a password change), logout by POST,
and every sign-in, failure and logout in the audit trail."""
from __future__ import annotations

import datetime as dt

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
from app.services import audit, staff_sessions
from app.services.clock import local_now

TOKEN = "staff_session"


def _now() -> dt.datetime:
    return local_now(current_app.config["BABEL_DEFAULT_TIMEZONE"])


def _limits():
    config = current_app.config
    return ((parse(config["STAFF_LOGIN_FAILURES_PER_ACCOUNT"]), "staff-login-account"),
            (parse(config["STAFF_LOGIN_FAILURES_PER_ADDRESS"]), "staff-login-address"))


def _keys(username: str) -> tuple[str, str]:
    return (username or "").strip().lower()[:64], (request.remote_addr or "")[:45]


def locked(username: str) -> bool:
    """True once the account or the address has used up its failures for the window."""
    return any(not limiter.limiter.test(item, scope, key) for (item, scope), key in zip(_limits(), _keys(username)))


def failed(username: str) -> None:
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
                audit.log(db.session, "login", username, "refused", "locked: too many failures", who=username, commit=True)
                flash(str(_l("Too many failed sign-ins. Wait %(m)s and try again, or ask an administrator.",
                             m=current_app.config["STAFF_LOGIN_FAILURES_PER_ACCOUNT"].split(" per ")[-1])), "danger")
                return redirect(self.appbuilder.get_url_for_login_with(next_url))
            user = self.appbuilder.sm.auth_user_db(username, form.password.data)
            if not user:
                failed(username)
                audit.log(db.session, "login", username, "refused", who=username, commit=True)
                flash(str(self.invalid_login_message), "warning")
                return redirect(self.appbuilder.get_url_for_login_with(next_url))
            login_user(user, remember=False)
            session.permanent = True
            session[TOKEN] = staff_sessions.start(db.session, user.id, request.remote_addr or "", _now())
            audit.log(db.session, "login", user.username, "ok", user_id=user.id, who=user.username, commit=True)
            return redirect(next_url)
        return self.render_template(self.login_template, title=self.title, form=form, appbuilder=self.appbuilder)

    @expose("/logout/", methods=["GET", "POST"])
    def logout(self):
        """GET asks (a link or a prefetch must not sign anyone out); POST signs out."""
        if request.method == "GET":
            if not current_user.is_authenticated:
                return redirect(self.appbuilder.get_url_for_login)
            return self.render_template("staff/logout.html", appbuilder=self.appbuilder)
        if current_user.is_authenticated:
            audit.log(db.session, "logout", current_user.username, "ok", commit=True)
        staff_sessions.revoke(db.session, session.pop(TOKEN, None), _now())
        logout_user()
        return redirect(self.appbuilder.get_url_for_login)


def check_staff_session():
    """Every request of a signed-in staff member: the server-side sign-in must still be valid."""
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
