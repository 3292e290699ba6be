"""Contact phone numbers of applicants: a mainland mobile number or a landline with
its area code. The one rule behind the filing form, the intake API's schema and
``file_case``.

Google's numbering plan (the ``phonenumbers`` package, libphonenumber's Python port)
decides what is a valid Chinese mobile or landline number, area code by area code (a
衡阳 landline has 7 digits after 0734, a 北京 one 8 after 010). Accepted as people type
them: full-width digits, spaces, hyphens, a leading +86, the area code in brackets. The
normalised form is ``13800000000`` or ``0734-5221234``.
"""

from __future__ import annotations

import re
import unicodedata

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberFormat, PhoneNumberType

from common.identifiers.errors import IdentifierError

PHONE_HINT = "11位手机号码（如13800000000）或带区号的固定电话（如0734-5221234）"
_KINDS = {
    PhoneNumberType.MOBILE,
    PhoneNumberType.FIXED_LINE,
    PhoneNumberType.FIXED_LINE_OR_MOBILE,
}


def validate_phone(value: str) -> str:
    """The normalised number, or IdentifierError saying what a phone number looks like."""
    if not isinstance(value, str) or not value.strip():
        raise IdentifierError("phone.required", "请填写联系电话")
    text = unicodedata.normalize("NFKC", value).strip()
    digits = re.sub(r"\D", "", text.removeprefix("+86"))
    try:
        number = phonenumbers.parse(text, "CN")
    except NumberParseException:
        number = None
    if (
        number is not None
        and number.country_code == 86
        and phonenumbers.is_valid_number(number)
        and phonenumbers.number_type(number) in _KINDS
    ):
        national = phonenumbers.format_number(number, PhoneNumberFormat.NATIONAL)
        if phonenumbers.number_type(number) == PhoneNumberType.MOBILE:
            return national.replace(" ", "")
        area, _, local = national.partition(" ")
        return f"{area}-{local.replace(' ', '')}"
    if digits.startswith("1") and len(digits) != 11:
        raise IdentifierError(
            "phone.mobile_length", f"联系电话：手机号码应为11位，现在是{len(digits)}位"
        )
    raise IdentifierError("phone.format", f"联系电话应为{PHONE_HINT}")
