"""Chinese public identifiers: parsing, validation and masking.

Owns resident identity numbers (GB 11643-1999), unified social credit codes
(GB 32100-2015), electronic licence identifiers (GB/T 36904-2018) and how any of
them is masked for display and logs. Every validator returns the normalised value
or raises ``IdentifierError`` carrying a stable machine code and a Chinese message.
"""

from common.identifiers.errors import IdentifierError
from common.identifiers.licence_id import (
    LicenceIdParts,
    make_licence_id,
    parse_licence_id,
    validate_licence_id,
)
from common.identifiers.masking import (
    PersonalDataFilter,
    mask_identifier,
    mask_resident_id,
    mask_text,
    mask_uscc,
)
from common.identifiers.resident import (
    Sex,
    resident_id_birth_date,
    resident_id_sex,
    validate_resident_id,
)
from common.identifiers.uscc import (
    uscc_authority,
    uscc_check_char,
    uscc_division_code,
    validate_uscc,
)

__all__ = [
    "IdentifierError",
    "LicenceIdParts",
    "PersonalDataFilter",
    "Sex",
    "make_licence_id",
    "mask_identifier",
    "mask_resident_id",
    "mask_text",
    "mask_uscc",
    "parse_licence_id",
    "resident_id_birth_date",
    "resident_id_sex",
    "uscc_authority",
    "uscc_check_char",
    "uscc_division_code",
    "validate_licence_id",
    "validate_resident_id",
    "validate_uscc",
]
