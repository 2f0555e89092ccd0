"""The county set-up import and export page for county IT."""
from __future__ import annotations

from flask import Response, flash, redirect, request, url_for
from flask_appbuilder import BaseView, expose
from flask_appbuilder.security.decorators import has_access
from flask_babel import lazy_gettext as _l

from app import security
from app.extensions import db
from app.services import county_io, county_schema


class CountySetupView(BaseView):
    """Import or export a whole county set-up (JSON or Excel)."""

    route_base = "/county"
    class_permission_name = security.COUNTY_SETUP
    method_permission_name = {
        "index": security.EXPORT,
        "export_json": security.EXPORT,
        "export_xlsx": security.EXPORT,
        "import_file": security.IMPORT,
    }
    default_view = "index"

    @expose("/")
    @has_access
    def index(self):
        return self._page()

    @expose("/export.json")
    @has_access
    def export_json(self):
        body = county_io.to_json(county_io.export_rows(db.session))
        return Response(body, mimetype="application/json", headers=_attachment("county.json"))

    @expose("/export.xlsx")
    @has_access
    def export_xlsx(self):
        body = county_io.to_excel(county_io.export_rows(db.session))
        mimetype = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        return Response(body, mimetype=mimetype, headers=_attachment("county.xlsx"))

    @expose("/import", methods=["POST"])
    @has_access
    def import_file(self):
        upload = request.files.get("file")
        if upload is None or not upload.filename:
            flash(str(_l("Choose a .json or .xlsx file first.")), "warning")
            return redirect(url_for(".index"))
        try:
            rows = county_io.read_any(upload.filename, upload.read())
            report = county_io.import_rows(db.session, rows)
        except county_io.CountyImportError as error:
            flash(str(_l("Nothing was imported: the file has errors.")), "danger")
            return self._page(errors=error.errors), 400
        flash(str(_l("The county set-up was imported.")), "success")
        return self._page(report=report)

    def _page(self, errors=None, report=None):
        return self.render_template(
            "staff/county.html",
            errors=errors,
            report=report,
            table_label=lambda name: county_schema.TABLE_BY_NAME[name].label,
        )


def _attachment(name: str) -> dict:
    return {"Content-Disposition": f"attachment; filename={name}"}
