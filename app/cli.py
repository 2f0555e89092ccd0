"""Command-line interface: `flask --app run county|demo|sync-roles …`."""
from __future__ import annotations

import sys

import click
from flask import Flask
from flask.cli import AppGroup


def register_commands(app: Flask) -> None:
    from app.cli_allocation import register_allocation_commands

    register_allocation_commands(app)
    county = AppGroup("county", help="Import or export a whole county set-up.")

    @county.command("import")
    @click.argument("path", type=click.Path(exists=True, dir_okay=False))
    def county_import(path):
        """Import PATH (.json or .xlsx); nothing changes if the file has any error."""
        from app.extensions import db
        from app.services import county_io

        try:
            report = county_io.import_file(db.session, path)
        except county_io.CountyImportError as error:
            for line in error.errors:
                click.echo(str(line), err=True)
            sys.exit(1)
        for name, created in report.created.items():
            click.echo(f"{name}: +{created} ~{report.updated[name]}")

    @county.command("export")
    @click.argument("path", type=click.Path(dir_okay=False))
    def county_export(path):
        """Export the county set-up to PATH (.json or .xlsx)."""
        from app.extensions import db
        from app.services import county_io

        try:
            county_io.export_file(db.session, path)
        except county_io.CountyImportError as error:
            click.echo(str(error), err=True)
            sys.exit(1)
        click.echo(path)

    app.cli.add_command(county)
    _audit_commands(app)
    _registry_commands(app)

    @app.cli.command("totp-reset")
    @click.argument("username")
    def totp_reset(username):
        """Remove USERNAME's second factor (a lost phone, a new SECRET_KEY, no administrator left
        to do it in the accounts list): they set it up again at their next sign-in. Audited."""
        from app.extensions import appbuilder, db
        from app.services.staff import reset_second_factor

        user = appbuilder.sm.find_user(username=username)
        if user is None:
            click.echo(f"no staff user {username!r}", err=True)
            sys.exit(1)
        done = reset_second_factor(db.session, user.id)
        click.echo(f"{username}: second factor {'reset' if done else 'was not set up'}")

    @app.cli.command("sync-roles")
    def sync_roles():
        """Create the role rows declared in config (permissions stay in config)."""
        from app.extensions import appbuilder
        from app.services.staff import ensure_roles

        ensure_roles(appbuilder.sm)
        click.echo("roles: " + ", ".join(app.config["FAB_ROLES"]))
        roleless = [u.username for u in appbuilder.sm.get_all_users() if not u.roles]
        if roleless:
            # e.g. an administrator created before the role rows existed (older versions)
            click.echo("users without a role (they can do nothing): " + ", ".join(roleless)
                       + " — give them a role under 安全 → 用户列表, or: flask --app run fab reset-password / create-admin", err=True)

    @app.cli.command("refresh-flags")
    def refresh_flags():
        """Recompute every application's conflict flags."""
        from app.extensions import db
        from app.services.flags import refresh_all

        click.echo(f"checked {refresh_all(db.session)} applications")

    @app.cli.command("backup")
    @click.argument("into", type=click.Path(file_okay=False))
    def backup_command(into):
        """Back up the database, local uploads and secret key into a new folder under INTO."""
        from pathlib import Path

        from app.extensions import db
        from app.services import backup

        root = Path(app.config["STORAGE_LOCAL_DIR"])
        total = sum(1 for p in root.rglob("*") if p.is_file()) if app.config["STORAGE_BACKEND"] == "local" and root.exists() else 0
        try:
            with click.progressbar(length=total, label="uploads") as bar:
                folder = backup.create(db.session, app.config, Path(into), _revision(), progress=bar.update)
        except backup.BackupError as error:
            click.echo(f"backup: {error}", err=True)
            sys.exit(1)
        click.echo(str(folder))

    @app.cli.command("restore")
    @click.argument("folder", type=click.Path(exists=True, file_okay=False))
    @click.option("--yes", is_flag=True, help="Replace the configured database without asking.")
    def restore_command(folder, yes):
        """Restore a backup folder into the configured database and upload folder (replaces them)."""
        import os
        from pathlib import Path

        from app.extensions import db
        from app.services import backup

        if not yes:
            click.confirm(f"Replace everything in {db.engine.url.render_as_string(hide_password=True)} with {folder}?", abort=True)
        try:
            with click.progressbar(length=backup.upload_count(Path(folder)), label="uploads") as bar:
                manifest = backup.restore(db.session, app.config, Path(folder), progress=bar.update)
        except backup.BackupError as error:
            click.echo(f"restore: {error}", err=True)
            sys.exit(1)
        click.echo(f"restored: {manifest.applications} applications, {manifest.attachments} attachments "
                   f"(backup of {manifest.created_at}, schema {manifest.revision})")
        if os.environ.get("SECRET_KEY"):
            click.echo("SECRET_KEY comes from the environment: set it to the backup's secret_key file if it differs")
        elif backup.restored_key(Path(folder), Path(app.config.get("RUXUE_INSTANCE_DIR", "instance"))):
            click.echo("secret key restored into the instance folder")
        if manifest.revision != _revision():
            click.echo("the backup is of another schema version: run `flask --app run db upgrade` next")

    @app.cli.command("forecast")
    @click.argument("period_codes", nargs=-1, metavar="[PERIOD]...")
    def forecast_command(period_codes):
        """Refresh the seat forecast's cut-offs (periods that show one; or the PERIODs named)."""
        from sqlalchemy import select

        from app.extensions import db
        from app.models import EnrollmentPeriod
        from app.services import forecast

        if not period_codes:
            for code, n in forecast.refresh_all(db.session).items():
                click.echo(f"{code}: {n} approved applications")
            return
        for code in period_codes:
            period = db.session.scalar(select(EnrollmentPeriod).where(EnrollmentPeriod.code == code))
            if period is None:
                click.echo(f"forecast: no period {code!r}", err=True)
                sys.exit(1)
            click.echo(f"{code}: {forecast.refresh(db.session, period)} approved applications")

    @app.cli.command("worker")
    @click.option("--once", is_flag=True, help="One pass, then exit (for cron).")
    def worker(once):
        """Recompute stale conflict flags, refresh seat forecasts and retry failed SMS, in a loop."""
        from app.extensions import db
        from app.services import worker as jobs

        schedule = jobs.Schedule(forecast_every=app.config["FORECAST_EVERY_SECONDS"])
        if once:
            click.echo(", ".join(f"{k} {v}" for k, v in jobs.run_once(db.session, schedule).items()))
            return
        click.echo("worker: running (Ctrl-C stops)")
        try:
            jobs.run_forever(db.session, schedule)
        except KeyboardInterrupt:
            click.echo("worker: stopped")

    @app.cli.command("demo")
    @click.argument("county_name", metavar="COUNTY")
    @click.option("--password", default=None, help="One password for every demo user (default: random each).")
    @click.option("--applications", "n", default=0, type=int, help="Synthetic applications to create.")
    @click.option("--open-now", is_flag=True, help="Move the periods so that they are open today.")
    def demo(county_name, password, n, open_now):
        """Load a seed county (shimen, taojiang, dengfeng, anyi) into an empty database."""
        from sqlalchemy import func, select

        from app.extensions import appbuilder, db
        from app.services import county_io
        from app.services import demo as demo_service

        try:
            demo_service.load_county(db.session, county_name)
        except (demo_service.DemoError, county_io.CountyImportError) as error:
            click.echo(f"demo: {error}", err=True)
            sys.exit(1)
        if open_now:
            from app.services.clock import local_now

            demo_service.open_periods_now(db.session, local_now(app.config["BABEL_DEFAULT_TIMEZONE"]))
        users = demo_service.create_staff(appbuilder.sm, db.session, password)
        reviewer = appbuilder.sm.find_user(username="bureau_reviewer")
        import logging

        # synthetic families get no SMS in the log: hundreds of lines would bury the passwords
        sms_log = logging.getLogger("ruxue.sms")
        level = sms_log.level
        sms_log.setLevel(logging.WARNING)
        try:
            made = demo_service.make_applications(db.session, n, reviewer.id if reviewer else None,
                                                  storage=app.extensions["ruxue_storage"])
        finally:
            sms_log.setLevel(level)
        records = lookups = 0
        if made:
            from app.models import EnrollmentPeriod
            from app.services import demo_registry

            year = db.session.scalar(select(func.max(EnrollmentPeriod.year))) or 2026
            records = demo_registry.load(db.session, county_name, year)
            lookups = _demo_lookups(app, reviewer)
        click.echo(f"{county_name}: loaded; {made} synthetic applications; {records} department records (examples/registry)"
                   + (f"; {lookups} child lookups" if lookups else ""))
        for username, role, pw in users:
            click.echo(f"  {username:<24} {role:<16} {pw}")


def _demo_lookups(app: Flask, reviewer) -> int:
    """学生信息查询 for the demo's applicants, and a few families waiting for district review."""
    from app.extensions import db
    from app.services import demo_lookups
    from app.services.clock import local_now

    now, storage = local_now(app.config["BABEL_DEFAULT_TIMEZONE"]), app.extensions["ruxue_storage"]
    settled = demo_lookups.settle(db.session, reviewer.id if reviewer else None, now, storage)
    return settled + (demo_lookups.waiting(db.session, now, storage=storage) if settled else 0)


def _revision() -> str:
    """The schema revision the database is at (Alembic)."""
    from alembic.migration import MigrationContext

    from app.extensions import db

    with db.engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision() or ""


def _audit_commands(app: Flask) -> None:
    audit_group = AppGroup("audit", help="The audit trail: purge records past the retention.")

    @audit_group.command("purge")
    @click.option("--days", type=int, default=180, show_default=True,
                  help="delete records older than this many days (never fewer than 180)")
    def audit_purge(days):
        """Delete audit records older than --days, in batches, with a progress bar (run it from cron)."""
        from flask import current_app

        from app.errors import UserError
        from app.extensions import db
        from app.services import audit
        from app.services.clock import local_now

        now = local_now(current_app.config["BABEL_DEFAULT_TIMEZONE"])
        try:
            total = audit.purgeable(db.session, now, days)
            with click.progressbar(length=total, label="audit records deleted") as bar:
                for done in audit.purge(db.session, now, days):
                    bar.update(done)
        except UserError as error:
            click.echo(str(error.message), err=True)
            sys.exit(1)
        click.echo(f"{total} audit records older than {days} days deleted")

    app.cli.add_command(audit_group)


def _registry_commands(app: Flask) -> None:
    from app.models_registry import REGISTRY_SOURCES

    group = AppGroup("registry", help="免证明: the departments' extracts the checks compare with.")

    @group.command("import")
    @click.argument("source", type=click.Choice(REGISTRY_SOURCES))
    @click.argument("year", type=int)
    @click.argument("path", type=click.Path(exists=True, dir_okay=False))
    def registry_import(source, year, path):
        """Import PATH (.csv or .xlsx) as one batch of SOURCE for YEAR; nothing is kept if any row is wrong."""
        from pathlib import Path

        from app.extensions import db
        from app.services import registry

        data, name = Path(path).read_bytes(), Path(path).name
        try:
            records = registry.read_extract(source, name, data)
            with click.progressbar(length=len(records), label="records stored") as bar:
                batch = registry.store_records(db.session, source, year, name, data, records, progress=bar.update)
        except registry.RegistryImportError as error:
            for line in error.errors:
                click.echo(str(line), err=True)
            sys.exit(1)
        click.echo(f"batch {batch.id}: {batch.row_count} {source} records for {year}")

    @group.command("withdraw")
    @click.argument("batch_id", type=int)
    def registry_withdraw(batch_id):
        """Withdraw batch BATCH_ID: the checks stop reading its records."""
        from app.errors import UserError
        from app.extensions import db
        from app.models import RegistryBatch
        from app.services import registry

        batch = db.session.get(RegistryBatch, batch_id)
        if batch is None:
            click.echo(f"no batch {batch_id}", err=True)
            sys.exit(1)
        try:
            registry.withdraw(db.session, batch)
        except UserError as error:
            click.echo(str(error.message), err=True)
            sys.exit(1)
        click.echo(f"batch {batch_id} withdrawn")

    @group.command("purge")
    @click.argument("before_year", type=int)
    def registry_purge(before_year):
        """Delete every extract, and every child lookup (学生信息查询) with its materials, of a year
        before BEFORE_YEAR: they go with the cycle."""
        from flask import current_app

        from app.extensions import db
        from app.services import child_lookup, registry

        batches = registry.purge(db.session, before_year)
        lookups = child_lookup.purge(db.session, current_app.extensions["ruxue_storage"], before_year)
        click.echo(f"{batches} batches purged; {lookups} child lookups purged")

    app.cli.add_command(group)
