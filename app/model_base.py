"""Small helpers shared by the model modules."""
from __future__ import annotations

import datetime as dt


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


def one_of(column: str, values: tuple[str, ...]) -> str:
    """A CHECK constraint text: both SQLite and PostgreSQL refuse values the code does not know."""
    return f"{column} IN ({', '.join(repr(v) for v in values)})"
