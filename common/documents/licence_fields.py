"""What the face of each type of printed licence shows, as the real certificate does.

``FACES`` is the one table: per GB/T 36904 licence type code, the rows in the order the
real certificate prints them, each a label and where on the licence record its value
comes from; ``DEFAULT_FACE`` serves every type not listed. A real field that the licence
record does not hold is left off the face and named in the type's ``not_held`` (listed
in docs/architecture.md), never filled in or guessed.

The holder's identifier is printed in full only when it is the unified social credit
code of an enterprise holder: a USCC is a public identifier (GB 32100-2015), a resident
identity number is personal data and stays masked wherever shown. The holder's kind is
checked as well as the code, because a resident identity number can pass the USCC
checksum too (43042419850612123X does).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from common.documents.layout import chinese_date
from common.identifiers import IdentifierError, mask_identifier, validate_uscc
from common.labels import APPLICANT_KIND_LABELS
from common.licences.models import Licence

USCC_LABEL = "统一社会信用代码"
MASKED_ID_LABEL = "证件号码"

# A row's value from the licence row and its ``data`` object (decided_on, matter_name...).
Source = Callable[[Licence, Mapping[str, Any]], str]


@dataclass(frozen=True)
class PrintedField:
    label: str
    value: Source


@dataclass(frozen=True)
class Face:
    fields: tuple[PrintedField, ...]
    not_held: tuple[str, ...] = ()  # the real certificate's fields with no source here


def issued_on(licence: Licence, data: Mapping[str, Any]) -> str:
    return chinese_date(data.get("decided_on") or licence.valid_from)


def validity(licence: Licence, data: Mapping[str, Any]) -> str:
    return f"{chinese_date(licence.valid_from)} 至 {valid_until(licence, data)}"


def valid_until(licence: Licence, data: Mapping[str, Any]) -> str:
    return chinese_date(licence.valid_to) if licence.valid_to else "长期"


def holder_kind(licence: Licence, data: Mapping[str, Any]) -> str:
    return APPLICANT_KIND_LABELS.get(licence.holder_kind, licence.holder_kind)


def holder_identifier(licence: Licence) -> tuple[str, str]:
    """The identifier row as printed: an enterprise's USCC in full, anything else masked."""
    if licence.holder_kind == "enterprise":
        try:
            return USCC_LABEL, validate_uscc(licence.holder_id)
        except IdentifierError:
            pass  # not a USCC after all: treated as any other number
    return MASKED_ID_LABEL, mask_identifier(licence.holder_id)


def _constant(text: str) -> Source:
    """A value the licence type itself fixes (a 个体工商户营业执照's 类型 is 个体工商户)."""
    return lambda licence, data: text


# The identifier row; its label and value are ``holder_identifier``'s.
HOLDER_IDENTIFIER = PrintedField(USCC_LABEL, lambda licence, data: holder_identifier(licence)[1])


def _holder_name(label: str) -> PrintedField:
    return PrintedField(label, lambda licence, data: licence.holder_name)


def _issuer(label: str) -> PrintedField:
    return PrintedField(label, lambda licence, data: licence.issuer_body)


DEFAULT_FACE = Face(
    fields=(
        _holder_name("持证主体"),
        PrintedField("主体类型", holder_kind),
        HOLDER_IDENTIFIER,
        _issuer("发证机关"),
        PrintedField("发证日期", issued_on),
        PrintedField("有效期限", validity),
    )
)

# The date under the seal is printed by the document for every type.
FACES: dict[str, Face] = {
    "YYZZ": Face(  # 营业执照 (市场监管总局 2019 format)
        fields=(HOLDER_IDENTIFIER, _holder_name("名称"), _issuer("登记机关")),
        not_held=(
            "类型",
            "法定代表人（负责人、执行事务合伙人）",
            "注册资本（出资额）",
            "成立日期",
            "营业期限",
            "经营范围",
            "住所（主要经营场所）",
        ),
    ),
    "GTGSHYYZZ": Face(  # 个体工商户营业执照
        fields=(
            HOLDER_IDENTIFIER,
            PrintedField("类型", _constant("个体工商户")),
            _holder_name("经营者"),
            _issuer("登记机关"),
        ),
        not_held=(
            "个体工商户的统一社会信用代码（记录只有经营者的证件号码，脱敏打印）",
            "名称",
            "经营场所",
            "组成形式",
            "注册日期",
            "经营范围",
        ),
    ),
    "SPJYXKZ": Face(  # 食品经营许可证
        fields=(
            _holder_name("经营者名称"),
            HOLDER_IDENTIFIER,
            PrintedField("有效期至", valid_until),
            _issuer("发证机关"),
        ),
        not_held=(
            "法定代表人（负责人）",
            "住所",
            "经营场所",
            "主体业态",
            "经营项目",
            "许可证编号（JY开头）",
            "日常监督管理机构",
            "日常监督管理人员",
            "投诉举报电话",
            "签发人",
        ),
    ),
}


def face_for(type_code: str) -> Face:
    return FACES.get(type_code, DEFAULT_FACE)


def printed_face(licence: Licence, data: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The (label, value) rows of the licence's face, in the real certificate's order."""
    rows = []
    for field in face_for(licence.type_code).fields:
        if field is HOLDER_IDENTIFIER:
            rows.append(holder_identifier(licence))
        else:
            rows.append((field.label, field.value(licence, data)))
    return rows
