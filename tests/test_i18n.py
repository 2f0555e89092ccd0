"""Chinese everywhere: a complete, freshly compiled zh catalogue and no English UI words."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
PO = ROOT / "translations/zh/LC_MESSAGES/messages.po"


def test_every_msgid_the_app_uses_is_in_the_zh_catalogue():
    import sys

    sys.path.insert(0, str(ROOT / "scripts"))
    from i18n import refresh

    assert refresh(check_only=True) == []


def test_zh_catalogue_has_no_empty_or_fuzzy_entry():
    catalog = read_po(PO.open("rb"))
    bad = [m.id for m in catalog if m.id and (not m.string or m.fuzzy)]
    assert bad == []


@pytest.mark.parametrize("locale", ["zh", "en"])
def test_compiled_catalogue_matches_the_po(locale):
    po = read_po((ROOT / f"translations/{locale}/LC_MESSAGES/messages.po").open("rb"))
    mo = read_mo((ROOT / f"translations/{locale}/LC_MESSAGES/messages.mo").open("rb"))
    assert {m.id: m.string for m in po if m.id and m.string} == {m.id: m.string for m in mo if m.id}


# English words FAB's widgets show; none may appear as visible text on a zh page.
ENGLISH_UI = re.compile(
    r">\s*(Add|Edit|Delete|Show|List|Search|Actions|Save|Back|Record Count|Filter|Refresh|Login|Logout|"
    r"Security|Applications|Schools|Page size|No records found|Yes|No)\s*<"
)

ADMIN_PAGES = [
    "/",
    "/schoolmodelview/list/",
    "/schoolmodelview/add",
    "/schoolmodelview/show/1",
    "/communitymodelview/show/1",
    "/enrollmentperiodmodelview/list/",
    "/channelmodelview/list/",
    "/noticemodelview/list/",
    "/applicationmodelview/list/",
    "/applicationmodelview/show/1",
    "/childmodelview/list/",
    "/reviewerschoolmodelview/list/",
    "/county/",
    "/users/list/",
    "/dashboard/",
    "/reasontemplatemodelview/list/",
    "/messagetemplatemodelview/add",
    "/auditlogmodelview/list/",
    "/applicationmodelview/reason/return?ids=1",
    "/applicationmodelview/full_id/1",
    "/allocation/",
]


# Visible ASCII words allowed on a zh page: the product name, file formats, the English switch.
ALLOWED_ASCII = {"Ruxue", "JSON", "json", "Excel", "xlsx", "English", "SHA", "CSV", "admin"}  # admin: a user name
# Data, not UI: codes, user names, e-mail addresses and role names contain these characters.
DATA_NODE = re.compile(r"[0-9_@\-\[\]]")
CODE = re.compile(r"(?!OK$)[A-Z]{2,3}")  # a short upper-case code such as a channel's "LL"


def _english_text(html: str) -> list[str]:
    from html import unescape

    html = re.sub(r"<(script|style)\b.*?</\1>", "", html, flags=re.S)
    words = []
    for node in re.findall(r">([^<>]+)<", html):
        node = unescape(node).strip()
        # placeholders such as {child} and file names such as scan.pdf are data, not UI words
        node = re.sub(r"\{\w+\}|\b[\w-]+\.(?:pdf|png|jpe?g|json|xlsx|csv)\b", "", node)
        if DATA_NODE.search(node):
            continue
        if any(w not in ALLOWED_ASCII and not CODE.fullmatch(w) for w in re.findall(r"[A-Za-z]{2,}", node)):
            words.append(node)
    return words


@pytest.mark.parametrize("path", ADMIN_PAGES)
def test_zh_admin_pages_show_no_english_ui_words(admin_client, path):
    admin_client.get("/lang/zh")
    response = admin_client.get(path)
    assert response.status_code == 200, path
    html = response.get_data(as_text=True)
    assert not ENGLISH_UI.findall(html), ENGLISH_UI.findall(html)
    assert _english_text(html) == []


def test_language_switch_to_english_and_back(county_it_client):
    county_it_client.get("/lang/en")
    html = county_it_client.get("/schoolmodelview/list/").get_data(as_text=True)
    assert "Seats" in html and "Consultation phones" in html
    county_it_client.get("/lang/zh")
    html = county_it_client.get("/schoolmodelview/list/").get_data(as_text=True)
    assert "学位数" in html and "咨询电话" in html


def test_form_validation_message_in_chinese(county_it_client, db_session):
    from app.models import School
    from tests.conftest import csrf_token

    county_it_client.get("/lang/zh")
    response = county_it_client.post(
        "/schoolmodelview/add",
        data={"district": "1", "code": "NEG-1", "name": "负数小学", "stage": "primary", "ownership": "public",
              "seats": "-3", "csrf_token": csrf_token(county_it_client)},
    )
    assert response.status_code == 200
    assert "不能小于 0。" in response.get_data(as_text=True)
    assert db_session.query(School).filter_by(code="NEG-1").count() == 0


def test_zh_public_pages_show_no_english_words(app, db_session):
    from sqlalchemy import select

    from app.models import Child, EnrollmentPeriod
    from tests.conftest import parent_login
    from tests.public_helpers import add_child, consent, start

    parent = parent_login(app)
    _, number = add_child(parent)
    consent(parent)
    child = db_session.scalar(select(Child).where(Child.id_number == number))
    period = db_session.scalar(select(EnrollmentPeriod).where(EnrollmentPeriod.code == "SM-P1"))
    location = start(parent, child.id, period.id).headers["Location"]
    application_id = location.split("/")[3]
    from tests.public_helpers import post

    post(parent, f"/my/a/{application_id}/channel", {"channel_id": period.channels[0].id})
    pages = ["/", "/lookup?district=1&street=1&community=1", "/period/1", "/notice/1", "/my", "/my/messages",
             "/my/children/add", "/my/consent", f"/my/a/{application_id}"]
    pages += [f"/my/a/{application_id}/{step}" for step in
              ("channel", "community", "choices", "basic", "guardians", "household", "property", "materials", "preview")]
    for path in pages:
        response = parent.get(path)
        assert response.status_code == 200, path
        assert _english_text(response.get_data(as_text=True)) == [], path
    anonymous = app.test_client()
    assert _english_text(anonymous.get("/signin").get_data(as_text=True)) == []
