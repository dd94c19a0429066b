"""居民身份证号码: validation of the 18-digit resident ID (GB 11643-1999) of any province.

python-stdnum does the arithmetic (`calc_check_digit`, the ISO 7064 MOD 11-2 check, and the date
split), but `stdnum.cn.ric.validate` is NOT used as the gate: its `get_birth_place` refuses a number
whose address code was not in force in the holder's birth year, and that refuses real people. The
address code is the place of household registration when the card was first issued, not at birth:
a Wanzhou resident born in 1960 who got a card after 1997 holds 500101…, which stdnum rejects because
万州区 dates from 1997/1998. It also refuses the residence-permit codes of Hong Kong, Macao and
Taiwan residents (810000/820000/830000) and any code newer than its table. So the address code is
checked only for a valid province-level prefix; the county name is looked up for display, never to
refuse a number.
"""

from __future__ import annotations

import datetime
import re
import unicodedata
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from stdnum.cn import ric

from doudi.registry.models import Sex

# GB/T 2260 province-level codes, plus 81/82/83 used by residence permits for Hong Kong, Macao and
# Taiwan residents (港澳台居民居住证, 2018) and 71 (台湾省) kept in the standard.
PROVINCE_CODES = frozenset(
    {
        "11", "12", "13", "14", "15",
        "21", "22", "23",
        "31", "32", "33", "34", "35", "36", "37",
        "41", "42", "43", "44", "45", "46",
        "50", "51", "52", "53", "54",
        "61", "62", "63", "64", "65",
        "71", "81", "82", "83",
    }
)  # fmt: skip

# The oldest birth year accepted: nobody alive was born earlier; an earlier year is a typo.
EARLIEST_BIRTH = datetime.date(1900, 1, 1)

_FORMAT = re.compile(r"^\d{17}[\dX]$")


@dataclass(frozen=True)
class ResidentId:
    """A validated resident ID with what it says about its holder."""

    number: str
    birth_date: datetime.date
    sex: str  # Sex.MALE / Sex.FEMALE
    address_code: str

    @property
    def birth_place(self) -> str:
        return birth_place_name(self.number)


def normalise(raw: object) -> str:
    """Full-width digits and 'Ｘ' (common from Chinese input methods) to ASCII, spaces and dashes
    removed, a lower-case 'x' upper-cased."""
    text = unicodedata.normalize("NFKC", "" if raw is None else str(raw))
    return re.sub(r"[\s\-]", "", text).upper()


def parse(raw: object, *, today: datetime.date | None = None) -> ResidentId:
    """Validate a resident ID and derive the birth date and sex (17th digit odd = male).

    Raises ValidationError naming every problem found (length, characters, province, birth date,
    check digit) so the officer knows which part to re-read.
    """
    number = normalise(raw)
    if not number:
        raise ValidationError(_("请填写身份证号"), code="required")
    if len(number) != 18:
        raise ValidationError(
            _("身份证号应为18位，现为%(length)d位"), code="length", params={"length": len(number)}
        )
    if not _FORMAT.match(number):
        raise ValidationError(_("身份证号前17位应为数字，最后一位应为数字或X"), code="format")
    errors: list[ValidationError] = []
    if number[:2] not in PROVINCE_CODES:
        errors.append(
            ValidationError(
                _("身份证号前6位地址码无效：%(code)s 不是省级行政区代码"),
                code="address",
                params={"code": number[:2]},
            )
        )
    birth = _birth_date(number, today or timezone.localdate(), errors)
    if number[-1] != ric.calc_check_digit(number):
        errors.append(ValidationError(_("身份证号校验位不符，请逐位核对号码"), code="checksum"))
    if errors:
        raise ValidationError(errors)
    assert birth is not None
    sex = Sex.MALE if int(number[16]) % 2 else Sex.FEMALE
    return ResidentId(number=number, birth_date=birth, sex=sex, address_code=number[:6])


def validate(raw: object) -> str:
    """The normalised number, or ValidationError."""
    return parse(raw).number


def _birth_date(number: str, today: datetime.date, errors: list[ValidationError]) -> datetime.date | None:
    digits = number[6:14]
    try:
        birth = datetime.date(int(digits[:4]), int(digits[4:6]), int(digits[6:8]))
    except ValueError:
        errors.append(
            ValidationError(
                _("身份证号中的出生日期 %(digits)s 不是有效日期"),
                code="birth_date",
                params={"digits": digits},
            )
        )
        return None
    if birth > today:
        errors.append(
            ValidationError(
                _("身份证号中的出生日期 %(date)s 晚于今天"),
                code="birth_date",
                params={"date": birth.isoformat()},
            )
        )
        return None
    if birth < EARLIEST_BIRTH:
        errors.append(
            ValidationError(
                _("身份证号中的出生日期 %(date)s 早于1900年"),
                code="birth_date",
                params={"date": birth.isoformat()},
            )
        )
        return None
    return birth


def birth_place_name(number: str) -> str:
    """省 + 区县 of the address code for display, '' when the code is not in stdnum's table.

    Where a code was reused, the name in force in the birth year is preferred, else the latest."""
    from stdnum import numdb

    info: dict[str, str] = {}
    for _part, props in numdb.get("cn/loc").info(number[:6]):
        info.update(props)
    if "province" not in info:
        return ""
    county = info.get("county", "")
    names = []
    for item in county.split(","):
        m = re.match(r"^\[(\d*)-(\d*)\](.*)$", item)
        if m:
            names.append((int(m[1] or 0), int(m[2] or 9999), m[3]))
        elif item:
            names.append((0, 9999, item))
    year = int(number[6:10]) if number[6:10].isdigit() else 0
    chosen = next((n for lo, hi, n in names if lo <= year <= hi), names[-1][2] if names else "")
    province = info["province"]
    return province if chosen in ("", province) else f"{province}{chosen}"
