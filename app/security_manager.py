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
