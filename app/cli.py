"""Command-line interface: `flask --app run county|demo|sync-roles …`."""
from __future__ import annotations

import sys

import click
from flask import Flask
from flask.cli import AppGroup


def register_commands(app: Flask) -> None:
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

    @app.cli.command("sync-roles")
    def sync_roles():
        """Create the role rows declared in config (permissions stay in config)."""
        from app.extensions import appbuilder
        from app.services.staff import ensure_roles

        ensure_roles(appbuilder.sm)
        click.echo("roles: " + ", ".join(app.config["FAB_ROLES"]))

    @app.cli.command("retry-sms")
    def retry_sms():
        """Send again the parents' SMS that failed (run it from cron every few minutes)."""
        from app.extensions import db
        from app.services.notifications import retry_failed

        sent, failing = retry_failed(db.session)
        click.echo(f"sent {sent}, still failing {failing}")

    @app.cli.command("refresh-flags")
    def refresh_flags():
        """Recompute every application's conflict flags."""
        from app.extensions import db
        from app.services.flags import refresh_all

        click.echo(f"checked {refresh_all(db.session)} applications")

    @app.cli.command("demo")
    @click.argument("county_name", metavar="COUNTY")
    @click.option("--password", default=None, help="One password for every demo user (default: random each).")
    @click.option("--applications", "n", default=0, type=int, help="Synthetic applications to create.")
    @click.option("--open-now", is_flag=True, help="Move the periods so that they are open today.")
    def demo(county_name, password, n, open_now):
        """Load a seed county (shimen, taojiang, dengfeng, anyi) into an empty database."""
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
        click.echo(f"{county_name}: loaded; {made} synthetic applications")
        for username, role, pw in users:
            click.echo(f"  {username:<24} {role:<16} {pw}")
