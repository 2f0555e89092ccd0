"""Pages anyone can read before logging in: notices, periods, categories, catchment lookup."""
from __future__ import annotations

from urllib.parse import urlparse

from flask import abort, current_app, g, redirect, render_template, request, session
from flask_babel import get_locale
from sqlalchemy import select

from app.extensions import cache, db
from app.models import Catchment, Community, District, EnrollmentPeriod, Notice, School, Street
from app.services import eligibility
from app.services.applications import open_periods
from app.views.public import bp, now


def _personal() -> bool:
    """A logged-in parent's page (header, unread count) or one with a message to flash is drawn
    for them alone, never cached."""
    return bool(g.get("parent_id")) or "_flashes" in session


def _page_key(*_args, **_kwargs) -> str:
    from app.services.setup_changes import generation

    return f"page:{generation()}:{get_locale()}:{request.full_path}"


# The same page for every anonymous visitor, kept whole for CACHE_DEFAULT_TIMEOUT seconds.
shared_page = cache.cached(unless=_personal, make_cache_key=_page_key,
                           response_filter=lambda rv: isinstance(rv, str))


@bp.route("/")
@shared_page
def home():
    notices = db.session.scalars(
        select(Notice).where(Notice.published.is_(True), Notice.kind != "agreement").order_by(Notice.position)
    ).all()
    current = now()
    periods = [(p, eligibility.period_state(p, current)) for p in open_periods(db.session, current)]
    # the manuals' 招生专干联系电话: every school's enquiry phones, one statement
    phones = db.session.execute(select(School.name, School.phones).where(School.phones != "").order_by(School.stage, School.code)).all()
    return render_template("public/home.html", notices=notices, periods=periods, phones=phones)


@bp.route("/notice/<int:notice_id>")
@shared_page
def notice(notice_id):
    item = db.session.get(Notice, notice_id)
    if item is None or not item.published:
        abort(404)
    return render_template("public/notice.html", notice=item)


@bp.route("/period/<int:period_id>")
@shared_page
def period(period_id):
    item = db.session.get(EnrollmentPeriod, period_id)
    if item is None:
        abort(404)
    from app.services.allocation_report import public_rounds

    return render_template("public/period.html", period=item, state=eligibility.period_state(item, now()),
                           rounds=public_rounds(db.session, item))


@bp.route("/period/<int:period_id>/results")
@shared_page
def period_results(period_id):
    """Each published round: its seed, commitment, inputs digest and per-school cut-offs."""
    from app.services.allocation_report import COLUMNS, public_rounds

    item = db.session.get(EnrollmentPeriod, period_id)
    if item is None:
        abort(404)
    return render_template("public/period_results.html", period=item, rounds=public_rounds(db.session, item), columns=COLUMNS)


@bp.route("/lookup")
@shared_page
def lookup():
    """District → street → community → the schools whose zone includes it, step by step without JS."""
    districts = db.session.scalars(select(District).order_by(District.code)).all()
    district = db.session.get(District, request.args.get("district", type=int) or 0)
    if district is None and len(districts) == 1:
        district = districts[0]
    streets = db.session.scalars(select(Street).where(Street.district_id == district.id).order_by(Street.code)).all() if district else []
    street = db.session.get(Street, request.args.get("street", type=int) or 0)
    if street is not None and (district is None or street.district_id != district.id):
        street = None
    communities = db.session.scalars(select(Community).where(Community.street_id == street.id).order_by(Community.code)).all() if street else []
    community = db.session.get(Community, request.args.get("community", type=int) or 0)
    if community is not None and (street is None or community.street_id != street.id):
        community = None
    zones = []
    if community is not None:
        zones = db.session.execute(
            select(School, Catchment.kind).join(Catchment, Catchment.school_id == School.id)
            .where(Catchment.community_id == community.id).order_by(School.code)
        ).all()
    return render_template(
        "public/lookup.html", districts=districts, district=district, streets=streets, street=street,
        communities=communities, community=community, zones=zones,
    )


@bp.route("/language/<code>")
def language(code):
    if code in current_app.config["LANGUAGES"]:
        session["locale"] = code
    return redirect(same_site_path(request.referrer))


def same_site_path(url: str | None) -> str:
    """Only the path of a URL, and only one that stays on this site: "//evil.example/x" or
    "/\\evil.example" would send the browser to another host."""
    path = urlparse(url or "/").path or "/"
    if not path.startswith("/") or path.startswith(("//", "/\\")) or "\\" in path:
        return "/"
    return path
