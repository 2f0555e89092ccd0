"""The admin home page."""
from flask_appbuilder import IndexView


class RuxueIndexView(IndexView):
    """Admin landing page with a short orientation for staff."""

    route_base = "/admin"
    index_template = "staff/index.html"
