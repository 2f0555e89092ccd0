"""FAB's security manager with Ruxue's user list: yes/no words instead of True/False, and the
Admin's action that resets a user's second factor."""
from flask import flash, redirect
from flask_appbuilder import expose, has_access
from flask_appbuilder.actions import action
from flask_appbuilder.security.sqla.manager import SecurityManager
from flask_appbuilder.security.views import (
    PermissionModelView,
    PermissionViewModelView,
    RoleModelView,
    UserDBModelView,
    UserGroupModelView,
    ViewMenuModelView,
)
from flask_babel import lazy_gettext as _l

from app.views.lists import SafeListMixin


class RuxueUserDBModelView(SafeListMixin, UserDBModelView):
    """Staff accounts (FAB's user view with readable yes/no, and a list that never fails on its URL)."""

    # FAB's own name: the self-service grants (user info, own password) are written for it
    class_permission_name = "UserDBModelView"

    def __init__(self, *args, **kwargs):
        from app.views.base import format_plain

        self.formatters_columns = {**(self.formatters_columns or {}), "active": format_plain}
        super().__init__(*args, **kwargs)

    @expose("/show/<pk>", methods=["GET"])
    @has_access
    def show(self, pk):
        """FAB's user page reads the row itself, past ``_show``: the same id check first."""
        return super().show(self._row_id_or_404(pk))

    @action("reset_totp", _l("Reset second factor"),
            _l("Reset the second factor of the selected users? They are signed out and set up a new one at their next sign-in."),
            "fa-key")
    def reset_totp(self, items):
        """Only Admin holds this action (it is on the accounts view, which no other role opens)."""
        from app.extensions import db
        from app.services.staff import reset_second_factor

        items = items if isinstance(items, list) else [items]
        done = sum(reset_second_factor(db.session, user.id) for user in items)
        flash(str(_l("Second factor reset for %(n)d users; they set it up again at their next sign-in.", n=done)), "success")
        return redirect(self.get_redirect())


def _safe_list(view: type) -> type:
    """FAB's own security view with a list that never fails on its URL (same permission name)."""
    return type(f"Ruxue{view.__name__}", (SafeListMixin, view), {
        "class_permission_name": view.class_permission_name or view.__name__,
        "__doc__": f"{view.__doc__ or view.__name__} (a list that never fails on its URL)"})


class RuxueSecurityManager(SecurityManager):
    userdbmodelview = RuxueUserDBModelView
    rolemodelview = _safe_list(RoleModelView)
    groupmodelview = _safe_list(UserGroupModelView)
    permissionmodelview = _safe_list(PermissionModelView)
    viewmenumodelview = _safe_list(ViewMenuModelView)
    permissionviewmodelview = _safe_list(PermissionViewModelView)

    @property
    def security_api(self):
        from app.staff_api_login import RuxueSecurityApi

        return RuxueSecurityApi

    @property
    def authdbview(self):
        from app.staff_auth import AuthDBView

        return AuthDBView

    def create_limiter(self, app):
        """Ruxue's own limiter (already on the app), not a second one: FAB's would run its own
        check before every request, parents' pages included, with no limit of its own to apply."""
        from app.extensions import limiter

        return limiter

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
