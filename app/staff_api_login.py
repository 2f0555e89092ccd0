"""The REST API's sign-in (POST /api/v1/security/login, a JWT for scripts): the same lockout as
the web sign-in, every success and failure audited, and for the roles the county marks
(STAFF_TOTP_ROLES) the second factor too: the body carries the current code as "totp". A
marked user who has not set up the second factor yet does so on the web first."""
from __future__ import annotations

import datetime as dt

from flask import current_app, request
from flask_appbuilder.api import safe
from flask_appbuilder.const import API_SECURITY_ACCESS_TOKEN_KEY, API_SECURITY_REFRESH_TOKEN_KEY
from flask_appbuilder.security.api import SecurityApi
from flask_appbuilder.security.schemas import LoginPost
from flask_appbuilder.views import expose
from flask_babel import lazy_gettext as _l
from flask_jwt_extended import create_access_token, create_refresh_token
from marshmallow import ValidationError, fields

from app.extensions import db
from app.services import audit, totp
from app.staff_auth import failed, locked


class LoginWithCode(LoginPost):
    totp = fields.String(required=False, load_default="")


login_with_code = LoginWithCode()


class RuxueSecurityApi(SecurityApi):
    """FAB's JWT sign-in (same resource name and route) with lockout and the second factor."""

    def _refused(self, username: str, detail: str, message, user_id: int | None = None):
        failed(username)
        audit.log(db.session, "login", username, "refused", f"api: {detail}", user_id=user_id, who=username, commit=True)
        return self.response_401() if message is None else self.response(401, message=str(message))

    @expose("/login", methods=["POST"])
    @safe
    def login(self):
        if not request.is_json:
            return self.response_400(message="Request payload is not JSON")
        try:
            payload = login_with_code.load(request.json)
        except ValidationError as error:
            return self.response_400(message=error.messages)
        username = payload["username"]
        if locked(username):
            audit.log(db.session, "login", username, "refused", "api: locked", who=username, commit=True)
            return self.response(429, message=str(_l("Too many failed sign-ins. Wait and try again, or ask an administrator.")))
        user = self.appbuilder.sm.auth_user_db(username, payload["password"])
        if not user:
            return self._refused(username, "password", None)
        if totp.required([role.name for role in user.roles], current_app.config["STAFF_TOTP_ROLES"]):
            if not totp.enrolled(db.session, user.id):
                audit.log(db.session, "login", username, "refused", "api: second factor not set up", user_id=user.id,
                          who=username, commit=True)
                return self.response(401, message=str(_l("Set up your second factor by signing in on the web first.")))
            result = totp.verify(db.session, user.id, payload["totp"], totp.key(current_app.config["SECRET_KEY"]),
                                 dt.datetime.now(dt.timezone.utc))
            if result is not totp.Check.OK:
                return self._refused(username, f"second factor: {result.value}",
                                     _l("Your role needs the current code of your authenticator app (\"totp\")."), user.id)
        audit.log(db.session, "login", username, "ok", "api: token", user_id=user.id, who=username, commit=True)
        answer = {API_SECURITY_ACCESS_TOKEN_KEY: create_access_token(identity=str(user.id), fresh=True)}
        if payload.get("refresh"):
            answer[API_SECURITY_REFRESH_TOKEN_KEY] = create_refresh_token(identity=str(user.id))
        return self.response(200, **answer)
