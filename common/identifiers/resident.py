"""Resident identity numbers (居民身份号码, GB 11643-1999).

18 characters: 6 address code + 8 birth date (YYYYMMDD) + 3 serial (odd for men,
even for women) + 1 check character (ISO 7064 MOD 11-2, "X" stands for 10).

python-stdnum's ``stdnum.cn.ric`` computes the check character correctly and we use
it for that. We do not use ``ric.validate`` because it is wrong for this county:
it looks the address code up in its bundled division table *against the birth
year*, but the address code is that of the household registration when the number
was issued, not at birth. Hengdong's 430424 dates from 1983, so stdnum rejects every
Hengdong resident born before 1983 (and any division newer than its table). It also
accepts birth dates in the future, which we reject.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date
from enum import StrEnum

from stdnum.cn import ric

from common.identifiers.errors import IdentifierError
from common.timeutil import local_today

_SHAPE = re.compile(r"[0-9]{17}[0-9X]")
# Nobody alive or recently deceased was born earlier; anything older is a typo.
_EARLIEST_BIRTH_YEAR = 1850


class Sex(StrEnum):
    MALE = "male"
    FEMALE = "female"

    @property
    def label_zh(self) -> str:
        return "男" if self is Sex.MALE else "女"


def normalise(value: str) -> str:
    """NFKC (full-width digits from Chinese input methods), trim, upper-case x."""
    return unicodedata.normalize("NFKC", value).strip().upper()


def validate_resident_id(value: str, *, today: date | None = None) -> str:
    """Return the normalised number or raise IdentifierError.

    ``today`` (Asia/Shanghai) bounds the birth date; tests pass it to stay stable.
    """
    if not isinstance(value, str) or not value.strip():
        raise IdentifierError("id.required", "请填写身份证号码")
    number = normalise(value)
    if len(number) == 15 and number.isdigit():
        # First-generation cards expired in 2013; a 15-digit number is no longer valid.
        raise IdentifierError("id.length", "身份证号码应为18位，15位的一代身份证号码已停止使用")
    if len(number) != 18:
        raise IdentifierError("id.length", f"身份证号码应为18位，实际为{len(number)}位")
    if not _SHAPE.fullmatch(number):
        raise IdentifierError("id.format", "身份证号码前17位应为数字，最后一位应为数字或X")
    _check_birth_date(number, today or local_today())
    if number[-1] != ric.calc_check_digit(number):
        raise IdentifierError("id.checksum", "身份证号码校验位错误，请核对是否输错")
    return number


def _check_birth_date(number: str, today: date) -> date:
    try:
        born = date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        raise IdentifierError("id.birth_date", "身份证号码中的出生日期不是有效日期") from None
    if born.year < _EARLIEST_BIRTH_YEAR:
        raise IdentifierError("id.birth_date", "身份证号码中的出生年份过早，请核对")
    if born > today:
        raise IdentifierError("id.birth_date", "身份证号码中的出生日期晚于今天")
    return born


def resident_id_birth_date(value: str) -> date:
    """Birth date encoded in a valid number."""
    number = validate_resident_id(value)
    return date(int(number[6:10]), int(number[10:12]), int(number[12:14]))


def resident_id_sex(value: str) -> Sex:
    """Sex encoded by the serial's last digit: odd male, even female."""
    number = validate_resident_id(value)
    return Sex.MALE if int(number[16]) % 2 else Sex.FEMALE
