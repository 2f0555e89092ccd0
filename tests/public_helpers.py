"""Fill in an application over HTTP, step by step, as the form posts it."""
from __future__ import annotations

import datetime as dt
import io
import re
from itertools import count

from app.services.ids import make_resident_id
from app.services.forms import seed_documents
from app.services.sections import from_definition
from tests.conftest import csrf_token
from tests.parent_flow import tiny_png

_sequence = count(500)
_BUILT_IN = {d["code"]: from_definition(d) for d in seed_documents()}  # the sections as migrated


def next_id(birth: dt.date, area: str = "430726") -> str:
    return make_resident_id(area, birth, next(_sequence))


def post(client, url, data=None, **kwargs):
    return client.post(url, data={**(data or {}), "csrf_token": csrf_token(client)}, **kwargs)


def add_child(client, birth=dt.date(2020, 3, 1), name="张小花", number=None):
    number = number or next_id(birth)
    response = post(client, "/my/children/add", {"name": name, "id_type": "resident_id", "id_number": number})
    return response, number


def consent(client):
    return post(client, "/my/consent", {"agree": "1"})


def start(client, child_id, period_id):
    """Apply for the child, as the 报名 button does. A period that looks children up (安义) sends
    the family to 学生信息查询 first: the child is put in the household extract with a parent, and
    the family looks the child up and confirms 与实际情况相符, so the answer is the application."""
    response = post(client, "/my/apply", {"child_id": child_id, "period_id": period_id})
    lookup = response.headers.get("Location", "")
    if response.status_code != 302 or "/my/lookup/" not in lookup:
        return response
    number = in_household_register(child_id)
    post(client, lookup, {"id_number": number})
    return post(client, lookup + "/confirm")


def in_household_register(child_id: int, year: int = 2026) -> str:
    """Put the child and a parent in the household extract (one small batch); the child's ID."""
    from app.extensions import db
    from app.models import Child
    from app.services import registry

    child = db.session.get(Child, child_id)
    parent = make_resident_id(child.id_number[:6], dt.date(1988, 5, 1), next(_sequence))
    text = (f"身份证号,姓名,户号,迁入日期,与户主关系\n{parent},王建国,H{child_id},2016-01-01,户主\n"
            f"{child.id_number},{child.name},H{child_id},2020-03-05,子\n")
    registry.import_extract(db.session, "household", year, f"户籍-{child_id}.csv", text.encode("utf-8"))
    return child.id_number


def _definition(section: str):
    """The section as the database now defines it (a county file may change it), else as migrated."""
    from flask import has_app_context

    if has_app_context():
        from app.extensions import db
        from app.services import forms

        found = forms.current(db.session, section)
        if found is not None:
            return found
    return _BUILT_IN[section]


def _a_community() -> int:
    from app.extensions import db
    from app.models import Community
    from sqlalchemy import select

    return db.session.scalar(select(Community.id).order_by(Community.id).limit(1))


def section_values(section: str) -> dict:
    values = {}
    for field in _definition(section).fields:
        if any(r.kind == "matches_guardian" for r in field.rules):
            values[field.key] = GUARDIAN["g0_name"]
        elif field.kind == "date":
            values[field.key] = "2030-01-01" if field.key == "valid_until" else "2019-05-01"
        elif field.kind == "int":
            values[field.key] = "12"
        elif field.kind == "address":
            values[field.key] = "测试路1号"
            values[field.key + "_community"] = str(_a_community())
        elif field.kind in ("choice", "yes_no"):
            values[field.key] = field.options[0][0]
        elif field.kind == "id":
            values[field.key] = next_id(dt.date(2015, 1, 1))
        elif field.key == "certificate_no":
            values[field.key] = f"测试不动产权第{next(_sequence):07d}号"  # one family, one property
        else:
            values[field.key] = "测试"
    return values


GUARDIAN = {"g0_relation": "mother", "g0_name": "刘芳", "g0_phone": "13912340000"}


def fill(client, application, school_ids: list[int], community_id: int, channel_id: int | None = None):
    """Every step up to the preview; returns the preview page's submit token."""
    base = f"/my/a/{application.id}"
    channel = next(c for c in application.period.channels if c.id == channel_id) if channel_id else application.period.channels[0]
    assert post(client, f"{base}/channel", {"channel_id": channel.id}).status_code == 302
    assert post(client, f"{base}/community", {"community_id": community_id}).status_code == 302
    choices = {f"choice_{i + 1}": s for i, s in enumerate(school_ids)}
    response = post(client, f"{base}/choices", choices)
    assert response.status_code == 302, response.get_data(as_text=True)[-1500:]
    for section in [s.section for s in channel.sections]:
        data = {**GUARDIAN, "g0_id_number": next_id(dt.date(1990, 2, 2))} if section == "guardians" else section_values(section)
        response = post(client, f"{base}/{section}", data)
        assert response.status_code == 302, (section, response.get_data(as_text=True)[-1500:])
    for material in channel.materials:
        upload(client, application, material.material_type_id)
    html = client.get(f"{base}/preview").get_data(as_text=True)
    match = re.search(r'name="token" value="([^"]+)"', html)
    assert match, html[-2000:]
    return match.group(1)


def upload(client, application, material_type_id, data=None, name="proof.png"):
    return post(
        client,
        f"/my/a/{application.id}/upload",
        {"material_type_id": material_type_id, "file": (io.BytesIO(tiny_png() if data is None else data), name)},
        content_type="multipart/form-data",
    )


def submit(client, application, token):
    return post(client, f"/my/a/{application.id}/submit", {"token": token})
