"""The county's wall-clock time; periods and every stored time are local time without a zone."""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo


def local_now(timezone: str = "Asia/Shanghai") -> dt.datetime:
    return dt.datetime.now(ZoneInfo(timezone)).replace(tzinfo=None, microsecond=0)
