"""Commands for seat allocation and the parents' messages: `flask --app run allocate|send-messages|retry-sms`."""
from __future__ import annotations

import sys
import time

import click
from flask import Flask


def register_allocation_commands(app: Flask) -> None:
    @app.cli.command("allocate")
    @click.argument("period_code")
    @click.option("--seed", default=None, help="The lottery seed whose hash was published.")
    @click.option("--mechanism", default=None, help="first_choice_first or deferred_acceptance (default: the period's).")
    @click.option("--exclude-reason", default="", help="Allocate although applications are still in review, and why.")
    @click.option("--publish", is_flag=True, help="Publish the run (writes every result).")
    @click.option("--replay", "replay_seed", default=None, help="Re-run the published run of that SEED from the database and compare.")
    def allocate(period_code, seed, mechanism, exclude_reason, publish, replay_seed):
        """Simulate, publish or replay the seat allocation of a period's open round."""
        from sqlalchemy import select

        from app.extensions import db
        from app.models import AllocationRun, EnrollmentPeriod
        from app.services import allocation_publish, allocation_runs
        from app.services.clock import local_now

        period = db.session.scalar(select(EnrollmentPeriod).where(EnrollmentPeriod.code == period_code))
        if period is None:
            click.echo(f"allocate: no period {period_code!r}", err=True)
            sys.exit(1)
        if replay_seed:
            stored = db.session.scalar(
                select(AllocationRun).where(AllocationRun.period_id == period.id, AllocationRun.seed == replay_seed)
                .order_by(AllocationRun.state.desc(), AllocationRun.id.desc()).limit(1))
            if stored is None:
                click.echo("allocate: no stored run with that seed", err=True)
                sys.exit(1)
            same_inputs, same_results = allocation_runs.replay(db.session, stored)
            click.echo(f"run #{stored.id} ({stored.state}) seed hash {stored.seed_hash}, inputs digest {stored.inputs_digest}: "
                       f"inputs {'identical' if same_inputs else 'DIFFERENT'}, results {'identical' if same_results else 'DIFFERENT'}")
            sys.exit(0 if same_inputs and same_results else 1)
        if not seed:
            click.echo("allocate: --seed or --replay is required", err=True)
            sys.exit(2)
        now = local_now(app.config["BABEL_DEFAULT_TIMEZONE"])
        try:
            run = allocation_runs.simulate(db.session, period, seed, None, mechanism, exclude_reason, now)
            moved = allocation_publish.publish(db.session, run, None, now) if publish else 0
        except allocation_runs.RunError as error:
            click.echo(f"allocate: {error}", err=True)
            sys.exit(1)
        unplaced = len(run.summary.get("unplaced", []))
        click.echo(f"run #{run.id} {run.mechanism} seed hash {run.seed_hash}, inputs digest {run.inputs_digest}: "
                   f"{len(run.results)} applications, {unplaced} unplaced{f', published {moved}' if publish else ''}")

    @app.cli.command("send-messages")
    @click.option("--once", is_flag=True, help="One pass over what is due, then exit.")
    @click.option("--rate", default=None, type=float, help="SMS per second at most (default SMS_RATE_PER_SECOND).")
    def send_messages(once, rate):
        """Send the parents' SMS from the outbox: retries with growing waits, a rate limit. Run it as a service."""
        from app.extensions import db
        from app.services import notifications

        rate = rate or app.config["SMS_RATE_PER_SECOND"]
        pause = (lambda: time.sleep(1.0 / rate)) if rate > 0 else None
        while True:
            try:
                sent, failed = notifications.send_pending(db.session, pause=pause)
            except Exception as error:  # the database or the gateway is away: wait and try again
                db.session.rollback()
                click.echo(f"send-messages: {type(error).__name__}; retrying", err=True)
                sent = failed = 0
                if once:
                    sys.exit(1)
            if sent or failed:
                click.echo(f"sent {sent}, failed {failed}")
            if once:
                return
            if not sent and not failed:
                time.sleep(2)

    @app.cli.command("retry-sms")
    def retry_sms():
        """Give the SMS that gave up a new round of attempts, and send what is due."""
        from app.extensions import db
        from app.services.notifications import retry_failed

        sent, failing = retry_failed(db.session)
        click.echo(f"sent {sent}, still failing {failing}")
