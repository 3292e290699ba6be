"""Unified social credit codes (统一社会信用代码, GB 32100-2015).

18 characters from ``0123456789ABCDEFGHJKLMNPQRTUWXY`` (no I O S V Z):
1 registering authority, 2 kind of organisation, 3-8 division code,
9-17 organisation code, 18 check character.

We do not use python-stdnum's ``stdnum.cn.uscc.validate``: it requires the first
eight characters to be digits and so rejects valid codes whose authority is a
letter (N agriculture, e.g. rural collective economic organisations; A the
military establishment office; Y other). Its ``calc_check_digit`` also raises a bare
ValueError on characters outside the charset. The formula itself is simple enough
to own here, next to the authority table.
"""

from __future__ import annotations

import unicodedata

from common.identifiers.errors import IdentifierError

CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)

# Registering authority (登记管理部门) codes.
AUTHORITIES: dict[str, str] = {
    "1": "机构编制",
    "2": "外交",
    "3": "司法行政",
    "4": "文化",
    "5": "民政",
    "6": "旅游",
    "7": "宗教",
    "8": "工会",
    "9": "市场监督管理（工商）",
    "A": "中央军委改革和编制办公室",
    "N": "农业",
    "Y": "其他",
}


def uscc_check_char(first17: str) -> str:
    """Check character for the first 17 characters (upper-case, from CHARSET)."""
    if len(first17) != 17 or any(c not in CHARSET for c in first17):
        raise IdentifierError("uscc.charset", "统一社会信用代码前17位应由数字和规定的大写字母组成")
    total = sum(CHARSET.index(c) * w for c, w in zip(first17, _WEIGHTS, strict=False))
    return CHARSET[(31 - total % 31) % 31]


def validate_uscc(value: str) -> str:
    """Return the normalised code or raise IdentifierError."""
    if not isinstance(value, str) or not value.strip():
        raise IdentifierError("uscc.required", "请填写统一社会信用代码")
    code = unicodedata.normalize("NFKC", value).strip().upper()
    if len(code) != 18:
        raise IdentifierError("uscc.length", f"统一社会信用代码应为18位，实际为{len(code)}位")
    for position, char in enumerate(code, start=1):
        if char not in CHARSET:
            # Name the position, not the value: people find the typo faster.
            raise IdentifierError(
                "uscc.charset",
                f"统一社会信用代码第{position}位含有不允许的字符（不使用I、O、S、V、Z）",
            )
    if code[0] not in AUTHORITIES:
        raise IdentifierError("uscc.authority", "统一社会信用代码第1位（登记管理部门代码）无效")
    if not code[2:8].isdigit():
        raise IdentifierError("uscc.division", "统一社会信用代码第3至8位应为行政区划代码（数字）")
    if code[17] != uscc_check_char(code[:17]):
        raise IdentifierError("uscc.checksum", "统一社会信用代码校验位错误，请核对是否输错")
    return code


def uscc_authority(value: str) -> str:
    """Chinese name of the registering authority of a valid code."""
    return AUTHORITIES[validate_uscc(value)[0]]


def uscc_division_code(value: str) -> str:
    """The six-digit division code (characters 3-8) of a valid code."""
    return validate_uscc(value)[2:8]
