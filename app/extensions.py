"""Extensions, created once and bound to an app in create_app()."""
from flask_appbuilder import AppBuilder
from flask_appbuilder.models.sqla.base import SQLA
from flask_caching import Cache
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_migrate import Migrate
from flask_talisman import Talisman
from flask_wtf.csrf import CSRFProtect


class RuxueAppBuilder(AppBuilder):
    """AppBuilder keeps views and the menu on itself; start clean for each app so that
    create_app() can build several apps in one process (tests, scripts)."""

    def init_app(self, app, session):
        self.baseviews = []
        self.menu = None
        self.addon_managers = {}
        super().init_app(app, session)


db = SQLA()
appbuilder = RuxueAppBuilder(update_perms=False)
migrate = Migrate()
csrf = CSRFProtect()
limiter = Limiter(key_func=get_remote_address)
talisman = Talisman()  # security headers (app/web_security.py)
cache = Cache()  # whole anonymous pages of the parents' site (app/views/public/pages.py)
