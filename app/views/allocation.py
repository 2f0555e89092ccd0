"""The bureau's allocation page: commit the seed, simulate, compare runs, publish."""
from __future__ import annotations

from flask import abort, flash, g, redirect, request, url_for
from flask_appbuilder import BaseView, expose
from flask_appbuilder.security.decorators import has_access
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from app import security
from app.errors import UserError
from app.extensions import db
from app.models import AllocationRun, EnrollmentPeriod, School
from app.services import allocation_runs
from app.services.clock import local_now


class AllocationView(BaseView):
    """Seat allocation (派位) of a period: dry runs until the bureau publishes one."""

    route_base = "/allocation"
    class_permission_name = security.ALLOCATION
    method_permission_name = {"index": security.READ, "commit": security.ALLOCATE,
                              "simulate": security.ALLOCATE, "publish": security.ALLOCATE}
    default_view = "index"

    @expose("/")
    @has_access
    def index(self):
        periods = db.session.scalars(select(EnrollmentPeriod).order_by(EnrollmentPeriod.opens_at)).all()
        period = db.session.get(EnrollmentPeriod, request.args.get("period", type=int) or 0) or (periods[0] if periods else None)
        runs = db.session.scalars(select(AllocationRun).where(AllocationRun.period_id == (period.id if period else 0))
                                  .order_by(AllocationRun.id.desc())).all()
        compare = [r for r in runs if str(r.id) in request.args.getlist("compare")][:2]
        schools = {str(s.id): s for s in db.session.scalars(select(School).order_by(School.code))}
        from app.models import Application
        from app.services.allocation_words import pool_namer

        shown = compare or runs[:1]
        unplaced_ids = shown[0].summary.get("unplaced", []) if shown else []
        unplaced = db.session.scalars(select(Application).where(Application.id.in_(unplaced_ids)).order_by(Application.number)).all()
        return self.render_template("staff/allocation.html", periods=periods, period=period, runs=runs,
                                    compare=compare, schools=schools, pool_name=pool_namer(db.session),
                                    unplaced=unplaced)

    def _period(self):
        period = db.session.get(EnrollmentPeriod, request.form.get("period", type=int) or 0)
        if period is None:
            abort(404)
        return period

    def _done(self, period, message=None, error=None):
        if error is not None:
            flash(str(error), "danger")
        elif message is not None:
            flash(str(message), "success")
        return redirect(url_for(".index", period=period.id))

    @expose("/commit", methods=["POST"])
    @has_access
    def commit(self):
        period = self._period()
        try:
            digest = allocation_runs.commit_seed(db.session, period, request.form.get("seed", ""), local_now())
        except UserError as error:
            return self._done(period, error=error.message)
        return self._done(period, _l("Seed hash published: %(h)s", h=digest))

    @expose("/simulate", methods=["POST"])
    @has_access
    def simulate(self):
        period = self._period()
        try:
            run = allocation_runs.simulate(db.session, period, request.form.get("seed", ""), g.user.id,
                                           request.form.get("mechanism") or None)
        except UserError as error:
            return self._done(period, error=error.message)
        return self._done(period, _l("Run #%(id)d simulated.", id=run.id))

    @expose("/publish/<int:run_id>", methods=["POST"])
    @has_access
    def publish(self, run_id):
        run = db.session.get(AllocationRun, run_id)
        if run is None:
            abort(404)
        try:
            moved = allocation_runs.publish(db.session, run, g.user.id, local_now())
        except UserError as error:
            return self._done(run.period, error=error.message)
        return self._done(run.period, _l("Run #%(id)d published: %(n)d applications placed.", id=run.id, n=moved))
