"""FAB's security manager with Ruxue's user list: yes/no words instead of True/False."""
from flask_appbuilder.security.sqla.manager import SecurityManager
from flask_appbuilder.security.views import UserDBModelView


class RuxueUserDBModelView(UserDBModelView):
    """Staff accounts (FAB's user view with readable yes/no)."""

    # FAB's own name: the self-service grants (user info, own password) are written for it
    class_permission_name = "UserDBModelView"

    def __init__(self, *args, **kwargs):
        from app.views.base import format_plain

        self.formatters_columns = {**(self.formatters_columns or {}), "active": format_plain}
        super().__init__(*args, **kwargs)


class RuxueSecurityManager(SecurityManager):
    userdbmodelview = RuxueUserDBModelView

    @property
    def authdbview(self):
        from app.staff_auth import AuthDBView

        return AuthDBView

    def load_user(self, pk):
        """The signed-in staff member with their roles and groups in one statement (FAB's
        lazy loads make it three on every request)."""
        from sqlalchemy import select
        from sqlalchemy.orm import joinedload

        try:
            user_id = int(pk)
        except (TypeError, ValueError):
            return None
        user = self.session.scalars(select(self.user_model).where(self.user_model.id == user_id)
                                    .options(joinedload(self.user_model.roles), joinedload(self.user_model.groups))).unique().first()
        return user if user is not None and user.is_active else None

    def reset_password(self, userid, password):
        """A new password ends every sign-in of the account (a stolen cookie with it)."""
        from app.extensions import db
        from app.services import audit, staff_sessions
        from app.services.clock import local_now

        done = super().reset_password(userid, password)
        staff_sessions.revoke_all(db.session, userid, local_now())
        audit.log(db.session, "password", f"user {userid}", "ok", commit=True)
        return done
