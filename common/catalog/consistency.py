"""Rules that tie a matter's fields to each other, beyond each field's own shape.

A matter can be well formed field by field and still say two contradictory things: 零上门
with two required visits, 窗口受理快递送达 without courier, 网上预审 without online
handling, an implementing body code that is no valid unified social credit code, a basic
code whose region digits are neither ``00`` nor the implementing body's province.

Each rule is one function ``(Matter) -> Inconsistency | None`` naming the schema field at
fault and what is wrong, in Chinese. The file import (``io_validate.build_matters``)
reports them by sheet, row and column; ``service.import_drafts`` and
``service.publish_batch`` by matter and column. They are deliberately not validators of
``Matter`` itself: matters published before these rules are signed history and must keep
reading on every node.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from common.catalog.io_columns import MATTER_COLUMNS
from common.catalog.schema import DeliveryMethod, Matter
from common.errors import DomainError
from common.identifiers import IdentifierError, validate_uscc
from common.labels import DELIVERY_METHOD_LABELS

NATIONAL_REGION = "00"  # GB/T 39046: region digits of a matter set by national law
COLUMN_HEADERS = {col.field: col.header for col in MATTER_COLUMNS}
LISTED = 10  # how many problems the message spells out (the answer lists them all)


@dataclass(frozen=True)
class Inconsistency:
    """One broken rule: its stable name, the field at fault, the Chinese message."""

    rule: str
    field: str
    message: str


def _method(method: DeliveryMethod) -> str:
    return DELIVERY_METHOD_LABELS[method.value]


def zero_visit_needs_no_visit(matter: Matter) -> Inconsistency | None:
    """零上门 means the applicant never comes: required visits must be 0."""
    if matter.delivery_method != DeliveryMethod.ZERO_VISIT or matter.required_visits == 0:
        return None
    return Inconsistency(
        "zero_visit_visits",
        "required_visits",
        f"办理方式为“{_method(DeliveryMethod.ZERO_VISIT)}”，到现场次数应为0，"
        f"填写的是{matter.required_visits}",
    )


def window_courier_needs_courier(matter: Matter) -> Inconsistency | None:
    """窗口受理快递送达 sends the result by courier: courier must be offered."""
    if matter.delivery_method != DeliveryMethod.WINDOW_COURIER or matter.courier:
        return None
    return Inconsistency(
        "window_courier_courier",
        "courier",
        f"办理方式为“{_method(DeliveryMethod.WINDOW_COURIER)}”，快递送达应为“是”",
    )


def online_precheck_needs_online(matter: Matter) -> Inconsistency | None:
    """网上预审 checks the application online: online handling must be offered."""
    if matter.delivery_method != DeliveryMethod.ONLINE_PRECHECK or matter.online:
        return None
    return Inconsistency(
        "online_precheck_online",
        "online",
        f"办理方式为“{_method(DeliveryMethod.ONLINE_PRECHECK)}”，网上办理应为“是”",
    )


def implementing_body_code_is_uscc(matter: Matter) -> Inconsistency | None:
    """The implementing body's code is a valid unified social credit code (GB 32100)."""
    try:
        validate_uscc(matter.implementing_body_code)
    except IdentifierError as exc:
        return Inconsistency(
            "body_code_uscc",
            "implementing_body_code",
            f"不是有效的统一社会信用代码：{exc.message}",
        )
    return None


def basic_code_region_matches(matter: Matter) -> Inconsistency | None:
    """Region digits (1-2) of the basic code: 00 for a national matter, else the province
    of the implementing body (its credit code's division code, characters 3-4)."""
    region = matter.basic_code[:2]
    try:
        province = validate_uscc(matter.implementing_body_code)[2:4]
    except IdentifierError:
        return None  # the body code's own rule reports it
    if region in (NATIONAL_REGION, province):
        return None
    return Inconsistency(
        "basic_code_region",
        "basic_code",
        f"基本编码第1-2位（区划代码）应为{NATIONAL_REGION}（国家设定的事项）或实施主体"
        f"所在省的代码{province}，填写的是{region}",
    )


Rule = Callable[[Matter], Inconsistency | None]
RULES: tuple[Rule, ...] = (
    basic_code_region_matches,
    implementing_body_code_is_uscc,
    online_precheck_needs_online,
    window_courier_needs_courier,
    zero_visit_needs_no_visit,
)


def inconsistencies(matter: Matter) -> list[Inconsistency]:
    """Every rule the matter breaks, in column order."""
    return [found for rule in RULES if (found := rule(matter)) is not None]


class CatalogueInconsistentError(DomainError):
    """Matters that break a rule: nothing was imported or published.

    The message names each matter (code and name) and column; ``problems`` lists every
    one with the schema field, for the API answer."""

    status_code = 422

    def __init__(self, found: list[tuple[Matter, Inconsistency]], *, action: str, field: str):
        lines = [
            f"事项{m.implementation_code}（{m.name}）的“{COLUMN_HEADERS[i.field]}”：{i.message}"
            for m, i in found
        ]
        more = f"；等共{len(lines)}处" if len(lines) > LISTED else ""
        super().__init__(
            "catalogue.matter_inconsistent",
            f"事项内容前后矛盾，未{action}任何事项：" + "；".join(lines[:LISTED]) + more,
            field=field,
        )
        self.problems = [
            {
                "implementation_code": m.implementation_code,
                "name": m.name,
                "field": i.field,
                "column": COLUMN_HEADERS[i.field],
                "rule": i.rule,
                "message": i.message,
            }
            for m, i in found
        ]

    def as_dict(self) -> dict[str, Any]:
        return {**super().as_dict(), "problems": self.problems}


def refuse_inconsistent(matters: Iterable[Matter], *, action: str, field: str) -> None:
    """Raise ``CatalogueInconsistentError`` naming every broken rule of ``matters``."""
    found = [(matter, issue) for matter in matters for issue in inconsistencies(matter)]
    if found:
        raise CatalogueInconsistentError(found, action=action, field=field)
