"""Identity numbers: GB 11643 resident IDs, masking, and numbers for demo data."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from stdnum.cn import ric

from app.errors import UserError
from app.services.input_limits import normalized
from app.model_base import mask_id  # noqa: F401  (re-exported: services mask through here)

# First two digits of a mainland resident ID: the province-level division (GB/T 2260).
PROVINCE_CODES = frozenset(
    "11 12 13 14 15 21 22 23 31 32 33 34 35 36 37 41 42 43 44 45 46 "
    "50 51 52 53 54 61 62 63 64 65 71 81 82".split()
)


class IdNumberError(UserError):
    """A resident ID is wrong; ``message`` says which part, in the user's language."""


@dataclass(frozen=True)
class ResidentId:
    number: str
    birth_date: dt.date
    sex: str  # "M" or "F"
    area_code: str


def parse_resident_id(raw: str, today: dt.date | None = None) -> ResidentId:
    """Check a resident ID and return what it tells; raise IdNumberError naming the wrong part."""
    # full-width digits and Ｘ (typed on a Chinese keyboard) are the digits the person means
    number = normalized(raw).strip().upper().replace(" ", "")
    if len(number) != 18:
        raise IdNumberError(
            _l("A resident ID has 18 characters; this one has %(n)d.", n=len(number))
        )
    if not number[:17].isascii() or not number[:17].isdigit() or number[17] not in "0123456789X":
        raise IdNumberError(_l("Only digits are allowed, and X only as the last character."))
    if number[:2] not in PROVINCE_CODES or number[2:6] == "0000":
        raise IdNumberError(_l("The area code (first 6 digits) is not a valid area code."))
    try:
        birth = dt.date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        raise IdNumberError(_l("Digits 7 to 14 are not a real birth date.")) from None
    if birth.year < 1900 or birth > (today or dt.date.today()):
        raise IdNumberError(_l("Digits 7 to 14 are not a real birth date."))
    if ric.calc_check_digit(number) != number[17]:
        raise IdNumberError(
            _l("The check character (last character) does not match; please check each digit.")
        )
    return ResidentId(number=number, birth_date=birth, sex=sex_of(number), area_code=number[:6])


def sex_of(number: str) -> str | None:
    """M or F from a resident ID's 17th digit (odd for a man); None for any other document."""
    if len(number) != 18 or not number[16].isdigit():
        return None
    return "M" if int(number[16]) % 2 else "F"


def make_resident_id(area_code: str, birth: dt.date, sequence: int) -> str:
    """A well-formed number (valid check character) for synthetic and test data."""
    body = f"{area_code}{birth:%Y%m%d}{sequence % 1000:03d}"
    return body + ric.calc_check_digit(body + "0")
