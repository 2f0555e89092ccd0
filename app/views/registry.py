"""免证明: the departments' extracts — import, list, compare and withdraw (county IT)."""
from __future__ import annotations

from flask import flash, g, redirect, request, url_for
from flask_appbuilder import BaseView, expose
from flask_appbuilder.security.decorators import has_access
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from app import security
from app.errors import UserError
from app.extensions import db
from app.models import REGISTRY_SOURCES, RegistryBatch
from app.services import registry
from app.services.clock import local_now

PAGE = 50  # batches per page: a county has a few per year


class RegistryView(BaseView):
    """The extracts the records checks read: import one, compare two, withdraw one."""

    route_base = "/registry"
    class_permission_name = security.REGISTRY
    method_permission_name = {"index": security.READ, "compare": security.READ,
                              "import_file": security.IMPORT, "withdraw": security.IMPORT}
    default_view = "index"

    @expose("/")
    @has_access
    def index(self):
        return self._page()

    @expose("/import", methods=["POST"])
    @has_access
    def import_file(self):
        upload = request.files.get("file")
        source = request.form.get("source", "")
        year = request.form.get("year", type=int) or 0
        if upload is None or not upload.filename:
            flash(str(_l("Choose a .csv or .xlsx file first.")), "warning")
            return redirect(url_for(".index"))
        try:
            batch = registry.import_extract(db.session, source, year, upload.filename, upload.read(), user_id=g.user.id)
        except registry.RegistryImportError as error:
            db.session.rollback()
            flash(str(_l("Nothing was imported: the file has errors.")), "danger")
            return self._page(errors=error.errors), 400
        flash(str(_l("%(n)d records of %(s)s for %(y)d were imported.", n=batch.row_count,
                     s=registry.source_label(batch.source), y=batch.year)), "success")
        return redirect(url_for(".index"))

    @expose("/withdraw/<int:batch_id>", methods=["GET", "POST"])
    @has_access
    def withdraw(self, batch_id):
        """Asked first: the checks stop reading the batch at once (a post without the confirmation only asks)."""
        batch = db.session.get(RegistryBatch, batch_id)
        if batch is None:
            flash(str(_l("No such extract.")), "warning")
            return redirect(url_for(".index"))
        if request.method == "GET" or not request.form.get("confirm"):
            if batch.withdrawn_at is not None:
                flash(str(_l("This extract was already withdrawn.")), "warning")
                return redirect(url_for(".index"))
            return self.render_template("staff/registry_withdraw.html", batch=batch, source_label=registry.source_label)
        try:
            registry.withdraw(db.session, batch, user_id=g.user.id)
            flash(str(_l("The extract was withdrawn; the checks no longer read it.")), "success")
        except UserError as error:
            db.session.rollback()
            flash(str(error.message), "warning")
        return redirect(url_for(".index"))

    @expose("/compare")
    @has_access
    def compare(self):
        older = db.session.get(RegistryBatch, request.args.get("older", type=int) or 0)
        newer = db.session.get(RegistryBatch, request.args.get("newer", type=int) or 0)
        if older is None or newer is None:
            flash(str(_l("Choose two extracts to compare.")), "warning")
            return redirect(url_for(".index"))
        try:
            difference = registry.compare(db.session, older, newer)
        except UserError as error:
            flash(str(error.message), "warning")
            return redirect(url_for(".index"))
        return self._page(difference=difference, older=older, newer=newer)

    def _page(self, errors=None, difference=None, older=None, newer=None):
        batches = db.session.scalars(select(RegistryBatch).order_by(RegistryBatch.year.desc(), RegistryBatch.id.desc())
                                     .limit(PAGE)).all()
        return self.render_template("staff/registry.html", batches=batches, errors=errors, difference=difference,
                                    older=older, newer=newer, sources=[(s, registry.source_label(s)) for s in REGISTRY_SOURCES],
                                    source_label=registry.source_label, this_year=local_now().year)
