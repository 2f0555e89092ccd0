"""What every hostile-input probe shares: the probe, and the check that it was refused with a
message and that nothing was stored."""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.orm import Session
from stdnum.cn import ric

# written by a refusal on purpose: the audit records it, the staff session notes the request
NOT_STATE = {"audit_log", "staff_session"}


@dataclass(frozen=True)
class Probe:
    kind: str  # id, date, name, file, path, formula, script, sql, oversized
    what: str
    payload: object
    words: str  # in the answer: the message the person is shown

    def __str__(self):
        return f"{self.kind}-{self.what}"


def fingerprint(engine) -> dict:
    """A digest of every table's rows (set-up, applications, files, accounts)."""
    digests = {}
    with Session(engine) as session:
        names = session.execute(text(
            "SELECT name FROM sqlite_master WHERE type='table'" if engine.dialect.name == "sqlite"
            else "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")).scalars().all()
        for name in sorted(set(names) - NOT_STATE - {"alembic_version", "sqlite_sequence"}):
            rows = session.execute(text(f'SELECT * FROM "{name}"')).all()
            digests[name] = hashlib.sha256(repr(sorted(map(repr, rows))).encode()).hexdigest()
    return digests


def stored_files(app) -> int:
    root = app.config.get("STORAGE_FOLDER")
    return sum(1 for path in Path(root).rglob("*") if path.is_file()) if root else 0


def alerts(html: str) -> list[str]:
    """The messages a page shows (for a failing probe's report)."""
    shown = re.findall(r'(?s)<(?:p|div|li|span)[^>]*(?:error|alert|danger)[^>]*>(.*?)</(?:p|div|li|span)>', html)
    shown += re.findall(r'(?s)<table class="[^"]*ruxue-errors.*?</table>', html)
    return [re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", m)).strip() for m in shown]


def refused(app, engine, send, probe: Probe, statuses=(400,)):
    before, files = fingerprint(engine), stored_files(app)
    assert len(before) > 25 and "application" in before and "ab_user" in before  # the check reads every table
    response = send(probe)
    html = response.get_data(as_text=True)
    assert response.status_code in statuses, (response.status_code, html[-1500:])
    assert probe.words in html, alerts(html) or html[-2500:]
    for raw in ("Traceback", "IntegrityError", "INSERT INTO", "sqlalchemy", "<script>alert"):
        assert raw not in html
    after = fingerprint(engine)
    assert [t for t in before if before[t] != after.get(t)] == [], "something was stored"
    assert stored_files(app) == files


def resident_id(body17: str) -> str:
    return body17 + ric.calc_check_digit(body17)


def wrong_check(number: str) -> str:
    return number[:17] + ("0" if number[17] != "0" else "1")


NOT_NAME = "只能包含文字、空格和间隔号"
MARKUP = "不能包含网页或模板代码"
FORMULA = "不能以 = + - 或 @ 开头"
CONTROL = "含有不可见的控制字符"
