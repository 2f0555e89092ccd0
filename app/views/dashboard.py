"""The bureau dashboard: seats, demand and progress, drawn as SVG on the server."""
from __future__ import annotations

from flask import current_app, request
from flask_appbuilder import BaseView, expose
from flask_appbuilder.security.decorators import has_access
from sqlalchemy import select

from app import security
from app.extensions import db
from app.models import STATUSES, EnrollmentPeriod
from app.services import charts, dashboard
from app.services.clock import local_now


class DashboardView(BaseView):
    """Per school, per channel and per day, for the bureau and county IT."""

    route_base = "/dashboard"
    class_permission_name = security.DASHBOARD
    method_permission_name = {"index": security.READ}
    default_view = "index"

    @expose("/")
    @has_access
    def index(self):
        periods = db.session.scalars(select(EnrollmentPeriod).order_by(EnrollmentPeriod.opens_at)).all()
        period_id = request.args.get("period", type=int)
        figures = dashboard.cached_figures(db.session, period_id, local_now(current_app.config["BABEL_DEFAULT_TIMEZONE"]),
                                           current_app.config["DASHBOARD_CACHE_SECONDS"])
        demand = charts.hbars([(r.school.name, r.first_choice, r.school.seats) for r in figures.schools])
        per_day = charts.columns([(d.strftime("%m-%d"), n) for d, n in figures.per_day])
        statuses = [s for s in STATUSES if s != "draft"]
        return self.render_template("staff/dashboard.html", periods=periods, period_id=period_id,
                                    figures=figures, demand=demand, per_day=per_day, statuses=statuses,
                                    every=current_app.config["DASHBOARD_CACHE_SECONDS"])
