"""Electronic licence identifiers (电子证照标识, GB/T 36904-2018).

``1.2.156.3005.2.{licence type code}.{issuer USCC}.{serial}.{version}.{check}``

* ``1.2.156.3005.2`` is the root OID of electronic licences;
* the licence type code is alphanumeric (in practice the defining department's
  USCC plus three digits, e.g. ``11100000000013338W011``; not enforced here);
* the issuer is the issuing body's unified social credit code;
* the serial is alphanumeric, chosen by the issuer;
* the version is three digits (``001`` for the first issue);
* the check character is ISO/IEC 7064 MOD 37,36 (alphabet 0-9A-Z) over
  type code + issuer + serial + version concatenated without dots. The root OID is
  NOT part of the checked string: identifiers published by national and provincial
  licence platforms only verify that way.

python-stdnum's ``stdnum.iso7064.mod_37_36`` implements the check correctly.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from stdnum.iso7064 import mod_37_36

from common.identifiers.errors import IdentifierError
from common.identifiers.uscc import validate_uscc

ROOT_OID = "1.2.156.3005.2"
_ALNUM = re.compile(r"[0-9A-Z]+")
_VERSION = re.compile(r"[0-9]{3}")


@dataclass(frozen=True)
class LicenceIdParts:
    type_code: str
    issuer_uscc: str
    serial: str
    version: int
    check: str

    def __str__(self) -> str:
        return ".".join(
            (
                ROOT_OID,
                self.type_code,
                self.issuer_uscc,
                self.serial,
                f"{self.version:03d}",
                self.check,
            )
        )


def _check_char(type_code: str, issuer: str, serial: str, version: str) -> str:
    return mod_37_36.calc_check_digit(type_code + issuer + serial + version)


def _normalise(value: str) -> str:
    return unicodedata.normalize("NFKC", value).strip().upper()


def _alnum_field(value: str, code: str, label: str) -> str:
    if not isinstance(value, str) or not _ALNUM.fullmatch(_normalise(value)):
        raise IdentifierError(code, f"电子证照标识中的{label}应由数字和大写字母组成，不能为空")
    return _normalise(value)


def _issuer(value: str) -> str:
    try:
        return validate_uscc(value)
    except IdentifierError as exc:
        raise IdentifierError(
            "licence.issuer", f"电子证照标识中的颁发机构代码无效：{exc.message}"
        ) from exc


def make_licence_id(type_code: str, issuer_uscc: str, serial: str, version: int = 1) -> str:
    """Build a complete identifier, computing its check character."""
    type_code = _alnum_field(type_code, "licence.type_code", "证照类型代码")
    issuer = _issuer(issuer_uscc)
    serial = _alnum_field(serial, "licence.serial", "流水号")
    if isinstance(version, bool) or not isinstance(version, int) or not 1 <= version <= 999:
        raise IdentifierError("licence.version", "电子证照标识中的版本号应为1至999")
    version_text = f"{version:03d}"
    check = _check_char(type_code, issuer, serial, version_text)
    return f"{ROOT_OID}.{type_code}.{issuer}.{serial}.{version_text}.{check}"


def parse_licence_id(value: str) -> LicenceIdParts:
    """Split and verify an identifier; raise IdentifierError naming the bad part."""
    if not isinstance(value, str) or not value.strip():
        raise IdentifierError("licence.required", "请填写电子证照标识")
    text = _normalise(value)
    if not text.startswith(ROOT_OID + "."):
        raise IdentifierError("licence.root", f"电子证照标识应以{ROOT_OID}开头")
    fields = text[len(ROOT_OID) + 1 :].split(".")
    if len(fields) != 5:
        raise IdentifierError(
            "licence.format",
            "电子证照标识应为：根代码.证照类型代码.颁发机构代码.流水号.版本号.校验位",
        )
    type_code, issuer, serial, version, check = fields
    type_code = _alnum_field(type_code, "licence.type_code", "证照类型代码")
    issuer = _issuer(issuer)
    serial = _alnum_field(serial, "licence.serial", "流水号")
    if not _VERSION.fullmatch(version):
        raise IdentifierError("licence.version", "电子证照标识中的版本号应为3位数字")
    if len(check) != 1 or check != _check_char(type_code, issuer, serial, version):
        raise IdentifierError("licence.checksum", "电子证照标识校验位错误，请核对是否输错")
    return LicenceIdParts(type_code, issuer, serial, int(version), check)


def validate_licence_id(value: str) -> str:
    """Return the normalised identifier or raise IdentifierError."""
    return str(parse_licence_id(value))
