"""The bureau's allocation page: rounds, the binding seed commitment, runs, publish, results files."""
from __future__ import annotations

from flask import Response, abort, flash, g, redirect, request, url_for
from flask_appbuilder import BaseView, expose
from flask_appbuilder.security.decorators import has_access
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from app import security
from app.errors import UserError
from app.extensions import db
from app.models import AllocationRun, Application, EnrollmentPeriod
from app.services import allocation_publish, allocation_report, allocation_rounds, allocation_runs
from app.services.allocation_words import pool_namer
from app.services.clock import local_now

UNPLACED_SHOWN = 200


class AllocationView(BaseView):
    """Seat allocation (派位) of a period: commit, simulate, compare, publish, round by round."""

    route_base = "/allocation"
    class_permission_name = security.ALLOCATION
    method_permission_name = {"index": security.READ, "results": security.READ, "commit": security.ALLOCATE,
                              "simulate": security.ALLOCATE, "publish": security.ALLOCATE, "next_round": security.ALLOCATE}
    default_view = "index"

    @expose("/")
    @has_access
    def index(self):
        periods = db.session.scalars(select(EnrollmentPeriod).order_by(EnrollmentPeriod.opens_at)).all()
        period = db.session.get(EnrollmentPeriod, request.args.get("period", type=int) or 0) or (periods[0] if periods else None)
        runs, rounds, problems, unplaced, open_round, commitment = [], [], {}, [], None, None
        if period is not None:
            runs = db.session.scalars(select(AllocationRun).where(AllocationRun.period_id == period.id)
                                      .order_by(AllocationRun.id.desc())).all()
            rounds = allocation_rounds.rounds(db.session, period)
            open_round = allocation_rounds.open_round(db.session, period)
            commitment = allocation_rounds.current_commitment(db.session, open_round)
            now = local_now()
            problems = {r.id: allocation_publish.problem(db.session, r, now) for r in runs if r.state != "published"}
        compare = [r for r in runs if str(r.id) in request.args.getlist("compare")][:2]
        shown = compare or runs[:1]
        unplaced_ids = (shown[0].summary.get("unplaced", []) if shown else [])[:UNPLACED_SHOWN]
        if unplaced_ids:
            unplaced = db.session.scalars(select(Application).where(Application.id.in_(unplaced_ids)).order_by(Application.number)).all()
        return self.render_template("staff/allocation.html", periods=periods, period=period, runs=runs, rounds=rounds,
                                    open_round=open_round, commitment=commitment, problems=problems, compare=compare,
                                    shown=shown, pool_name=pool_namer(db.session), unplaced=unplaced,
                                    unplaced_total=len(shown[0].summary.get("unplaced", [])) if shown else 0)

    def _period(self):
        period = db.session.get(EnrollmentPeriod, request.form.get("period", type=int) or 0)
        if period is None:
            abort(404)
        return period

    def _done(self, period, message=None, error=None):
        if error is not None:
            db.session.rollback()
            flash(str(error), "danger")
        elif message is not None:
            flash(str(message), "success")
        return redirect(url_for(".index", period=period.id))

    @expose("/commit", methods=["POST"])
    @has_access
    def commit(self):
        period = self._period()
        try:
            commitment = allocation_rounds.commit_seed(db.session, period, request.form.get("seed", ""), local_now(), g.user.id,
                                                       request.form.get("reason", ""))
        except UserError as error:
            return self._done(period, error=error.message)
        return self._done(period, _l("Seed hash published: %(h)s", h=commitment.seed_hash))

    @expose("/simulate", methods=["POST"])
    @has_access
    def simulate(self):
        period = self._period()
        try:
            run = allocation_runs.simulate(db.session, period, request.form.get("seed", ""), g.user.id,
                                           request.form.get("mechanism") or None, request.form.get("exclude_reason", ""), local_now())
        except UserError as error:
            return self._done(period, error=error.message)
        return self._done(period, _l("Run #%(id)d simulated.", id=run.id))

    @expose("/publish/<int:run_id>", methods=["POST"])
    @has_access
    def publish(self, run_id):
        run = db.session.get(AllocationRun, run_id)
        if run is None:
            abort(404)
        period = run.period
        try:
            moved = allocation_publish.publish(db.session, run, g.user.id, local_now())
        except UserError as error:
            return self._done(period, error=error.message)
        return self._done(period, _l("Run #%(id)d published: %(n)d applications placed.", id=run.id, n=moved))

    @expose("/round", methods=["POST"])
    @has_access
    def next_round(self):
        period = self._period()
        try:
            round_ = allocation_publish.open_next_round(db.session, period, local_now())
        except UserError as error:
            return self._done(period, error=error.message)
        return self._done(period, _l("Round %(n)d opened: publish its seed hash, then simulate.", n=round_.number))

    @expose("/run/<int:run_id>/results.<kind>")
    @has_access
    def results(self, run_id, kind):
        run = db.session.get(AllocationRun, run_id)
        if run is None or kind not in ("csv", "xlsx"):
            abort(404)
        name = f"allocation-{run.period.code}-round{run.round.number if run.round else 0}-run{run.id}.{kind}"
        if kind == "csv":
            return Response(allocation_report.csv_bytes(db.session, run), mimetype="text/csv; charset=utf-8",
                            headers={"Content-Disposition": f"attachment; filename={name}"})
        return Response(allocation_report.xlsx_bytes(db.session, run),
                        mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                        headers={"Content-Disposition": f"attachment; filename={name}"})
