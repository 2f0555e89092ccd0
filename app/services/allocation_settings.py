"""The allocation settings of a period, checked where they are saved (admin form, county file,
API) and again where they are used: one rule, one message."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l

from app.errors import UserError
from app.services.allocation import KEYS, MECHANISMS


class SettingError(UserError):
    """An allocation setting is not one Ruxue knows; ``message`` says which and what is allowed."""


def priority_keys(text: str | None) -> tuple[str, ...]:
    """``"channel, birth,lottery"`` → ``("channel", "birth", "lottery")``, or SettingError."""
    keys = tuple(k.strip() for k in (text or "").split(",") if k.strip())
    if not keys:
        raise SettingError(_l("Give at least one priority key: %(allowed)s.", allowed=", ".join(KEYS)))
    unknown = [k for k in keys if k not in KEYS]
    if unknown:
        raise SettingError(_l("Unknown priority keys: %(keys)s. Allowed: %(allowed)s.", keys=", ".join(unknown), allowed=", ".join(KEYS)))
    if len(set(keys)) != len(keys):
        raise SettingError(_l("Each priority key may appear once."))
    return keys


def normalized_keys(text: str | None) -> str:
    return ",".join(priority_keys(text))


def mechanism(value: str | None) -> str:
    if value not in MECHANISMS:
        raise SettingError(_l("Unknown allocation mechanism %(m)s. Allowed: %(allowed)s.", m=value or "—", allowed=", ".join(MECHANISMS)))
    return value
