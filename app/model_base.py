"""Small helpers shared by the model modules."""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from flask import current_app, has_app_context


def county_now() -> dt.datetime:
    """Every stored time is the county's wall-clock time without a zone, like period times."""
    zone = current_app.config.get("BABEL_DEFAULT_TIMEZONE", "Asia/Shanghai") if has_app_context() else "Asia/Shanghai"
    return dt.datetime.now(ZoneInfo(zone)).replace(tzinfo=None, microsecond=0)


def one_of(column: str, values: tuple[str, ...]) -> str:
    """A CHECK constraint text: both SQLite and PostgreSQL refuse values the code does not know."""
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def mask_id(number: str | None) -> str:
    """430281201606257215 → 430281********7215: enough to tell children apart, no more."""
    if not number:
        return ""
    if len(number) <= 8:
        return "*" * len(number)
    return number[:6] + "*" * (len(number) - 10) + number[-4:]


def mask_name(name: str | None) -> str:
    """张小三 → 张*三, 张三 → 张*: a record shown to a family names people only this far."""
    name = (name or "").strip()
    if len(name) <= 1:
        return name
    if len(name) == 2:
        return name[0] + "*"
    return name[0] + "*" * (len(name) - 2) + name[-1]
