"""学生信息查询 (periods that turn it on): look the child up, confirm, or appeal / register with materials."""
from __future__ import annotations

from flask import abort, current_app, flash, g, redirect, render_template, request, url_for
from flask_babel import lazy_gettext as _l

from app.extensions import db
from app.models import EnrollmentPeriod
from app.services import child_lookup as lookups
from app.services import registry
from app.services.children import own_child
from app.views.public import bp, flash_error, now, parent_required, storage
from app.views.public.apply import open_application
from app.views.files import private_file


def _own(child_id: int, period_id: int):
    """The family's own child and a period that looks children up (404 otherwise)."""
    child = own_child(db.session, g.parent_id, child_id)
    period = db.session.get(EnrollmentPeriod, period_id)
    if child is None or period is None or not period.child_lookup:
        abort(404)
    return child, period


def _page(child, period):
    return redirect(url_for("public.child_lookup", child_id=child.id, period_id=period.id))


@bp.route("/my/lookup/<int:child_id>/<int:period_id>", methods=["GET", "POST"])
@parent_required
def child_lookup(child_id, period_id):
    """The lookup page: the ID number to look up, then what the household register shows."""
    child, period = _own(child_id, period_id)
    error, status = None, 200
    if request.method == "POST":
        try:
            lookups.look_up(db.session, registry.source_for(current_app, db.session), child, period,
                            request.form.get("id_number", ""), now())
            return _page(child, period)
        except registry.RegistryUnavailable:
            db.session.rollback()
            error, status = _l("The household register could not be reached just now. Please try again in a few minutes."), 503
        except lookups.LookupRefused as refused:
            db.session.rollback()
            error, status = refused.message, 400
    lookup = lookups.find(db.session, child.id, period.id)
    return render_template("public/child_lookup.html", child=child, period=period, lookup=lookup, error=error,
                           materials=lookups.MATERIALS, words=lookups), status


@bp.route("/my/lookup/<int:child_id>/<int:period_id>/confirm", methods=["POST"])
@parent_required
def child_lookup_confirm(child_id, period_id):
    """与实际情况相符: the lookup is settled and the application opens."""
    child, period = _own(child_id, period_id)
    lookup = lookups.find(db.session, child.id, period.id)
    if lookup is None:
        return _page(child, period)
    try:
        lookups.confirm(db.session, lookup, now())
    except lookups.LookupRefused as refused:
        db.session.rollback()
        flash_error(refused.message)
        return _page(child, period)
    return open_application(child, period)


@bp.route("/my/lookup/<int:child_id>/<int:period_id>/request", methods=["GET", "POST"])
@parent_required
def child_lookup_request(child_id, period_id):
    """与实际情况不符 (an appeal) or 入学登记 (not found): an explanation and the materials."""
    child, period = _own(child_id, period_id)
    lookup = lookups.find(db.session, child.id, period.id)
    if lookup is None or lookup.status not in lookups.ANSWERABLE:
        return _page(child, period)  # not looked up yet, or sent or settled meanwhile: the page says which
    kind = "appeal" if lookup.outcome == "matched" else "registration"
    error = None
    if request.method == "POST":
        uploads = {m.code: [(f.filename or "", f.read()) for f in request.files.getlist(m.code) if f.filename]
                   for m in lookups.MATERIALS[kind]}
        kept = {int(i) for i in request.form.getlist("kept") if i.isdigit()}
        try:
            lookups.send_request(db.session, storage(), lookup, request.form.get("statement", ""), kept, uploads, now())
            flash(str(_l("Sent. District staff will review it; you will get a message when they have.")), "ok")
            return _page(child, period)
        except lookups.LookupRefused as refused:
            db.session.rollback()
            error = refused.message
            lookup = lookups.find(db.session, child.id, period.id)
    return render_template("public/child_lookup_request.html", child=child, period=period, lookup=lookup, kind=kind,
                           materials=lookups.MATERIALS[kind], error=error, form=request.form, words=lookups), 400 if error else 200


@bp.route("/my/lookup/<int:child_id>/<int:period_id>/file/<int:file_id>")
@parent_required
def child_lookup_file(child_id, period_id, file_id):
    child, period = _own(child_id, period_id)
    lookup = lookups.find(db.session, child.id, period.id)
    file = lookups.file_of(db.session, lookup.id, file_id) if lookup else None
    if file is None:
        abort(404)
    return private_file(file.storage_key, file.content_type)
