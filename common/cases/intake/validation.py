"""The rules of a filing's own input, each defined once.

The agent's filing form asks every rule at once, so that the agent sees all that is
wrong in one answer; ``file_case`` asks the same rules again and stops at the first
(the action function has the last word, whoever calls it). A problem is a
``DomainError`` naming the field as the API knows it (``applicant.name``,
``applicant.id_number``, ``applicant.phone``, ``commitment``); a screen maps those to
its own inputs.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from datetime import date
from typing import Any, TypeVar

from common.catalog.schema import Matter
from common.errors import DomainError
from common.identifiers import IdentifierError, validate_resident_id, validate_uscc
from common.identifiers.phone import validate_phone
from common.labels import APPLICANT_KIND_LABELS

MAX_NAME = 100
MAX_PHONE = 20

T = TypeVar("T")


def text(
    value: Any, field: str, *, required: bool = True, max_len: int = 200, label: str = ""
) -> str | None:
    """NFC and stripped text, or a DomainError naming ``field``."""
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise DomainError("case.field_required", f"请填写{label or field}", field=field)
        return None
    if not isinstance(value, str):
        raise DomainError("case.field_type", f"{label or field}应为文字", field=field)
    normalised = unicodedata.normalize("NFC", value).strip()
    if len(normalised) > max_len:
        raise DomainError(
            "case.field_too_long", f"{label or field}不得超过{max_len}个字", field=field
        )
    return normalised


def checked_phone(value: Any, field: str = "applicant.phone") -> str | None:
    """The normalised contact phone (optional), or a DomainError naming ``field``."""
    given = text(value, field, required=False, max_len=MAX_PHONE, label="联系电话")
    if given is None:
        return None
    try:
        return validate_phone(given)
    except IdentifierError as exc:
        # One stable code for the API, as before the rule was tightened.
        raise DomainError("case.phone_invalid", exc.message, field=field) from None


def _id_number(kind: str, value: Any, today: date) -> str:
    # Not text: the validators answer a missing or non-text number as "required".
    given = value if isinstance(value, str) else ""
    try:
        if kind == "person":
            return validate_resident_id(given, today=today)
        return validate_uscc(given)
    except IdentifierError as exc:
        raise DomainError(exc.code, exc.message, field="applicant.id_number") from None


def _collect(problems: list[DomainError], check: Callable[[], T]) -> T | None:
    try:
        return check()
    except DomainError as problem:
        problems.append(problem)
        return None


def checked_applicant(data: Any, *, today: date) -> tuple[dict[str, Any], list[DomainError]]:
    """The applicant as filed (kind, name, id_number, phone) and every problem with it,
    in the order of the form; the applicant counts only when there are none.

    ``today`` (the node's local date) bounds the birth date of an identity number."""
    if not isinstance(data, dict):
        return {}, [DomainError("case.field_required", "请填写申请人信息", field="applicant")]
    problems: list[DomainError] = []
    kind = data.get("kind")
    if kind not in APPLICANT_KIND_LABELS:
        problems.append(
            DomainError(
                "case.applicant_kind",
                "申请人类型应为 person（自然人）或 enterprise（法人或其他组织）",
                field="applicant.kind",
            )
        )
    name = _collect(
        problems,
        lambda: text(data.get("name"), "applicant.name", max_len=MAX_NAME, label="申请人名称"),
    )
    # Which number it must be depends on the kind: without a kind there is nothing to check.
    id_number = (
        _collect(problems, lambda: _id_number(kind, data.get("id_number"), today))
        if kind in APPLICANT_KIND_LABELS
        else None
    )
    phone = _collect(problems, lambda: checked_phone(data.get("phone")))
    return {"kind": kind, "name": name, "id_number": id_number, "phone": phone}, problems


def commitment_problems(matter: Matter, commitment: bool) -> list[DomainError]:
    """告知承诺 chosen for a matter that does not allow it."""
    if commitment and not matter.commitment_allowed:
        return [
            DomainError(
                "case.commitment_not_allowed",
                f"“{matter.name}”不适用告知承诺制",
                field="commitment",
            )
        ]
    return []


def filing_problems(
    matter: Matter, *, applicant: Any, commitment: bool, today: date
) -> list[DomainError]:
    """Every problem of a filing's applicant and 告知承诺 choice, in the order of the form
    (the materials are checked against the blobs held: ``resolve_materials``)."""
    return checked_applicant(applicant, today=today)[1] + commitment_problems(matter, commitment)
