"""What the village agent's screens read: the catalogue as a finder and a service guide,
the agent's cases with their clocks and whereabouts, and one case's trail.

Reads only; every change goes through the action functions in ``pages_agent``.
Identity numbers leave here masked (the Case row's ``applicant_id_masked``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlmodel import Session

from common.calendar.service import working_calendar
from common.cases.access import case_subject
from common.cases.clock import clock_status
from common.cases.models import Case, CaseMaterial, SpecialProcedure
from common.cases.queries import CASE_TYPE_LABELS, ENDED_EARLY
from common.catalog.models import PublishedMatter
from common.catalog.schema import Matter
from common.catalog.service import list_published
from common.identity.registry import node_names
from common.labels import (
    DELIVERY_METHOD_LABELS,
    HANDLING_LEVEL_LABELS,
    MATTER_TYPE_LABELS,
    SERVICE_OBJECT_LABELS,
    WINDOW_LABELS,
)
from common.ledger.models import Event
from common.node import ThisNode

MAX_RESULTS = 200
MAX_CASES = 300
# Service objects as the finder groups them: residents, or businesses and organisations.
OBJECT_GROUPS = {
    "person": ("自然人（个人）", {"1"}),
    "organisation": ("企业和组织", {"2", "3", "4", "5", "6"}),
}
# The clock's status -> the CSS class of the deadline cell (onetrip.css).
DEADLINE_CLASSES = {
    "normal": "deadline-ok",
    "yellow": "deadline-near",
    "red": "deadline-over",
    "paused": "deadline-paused",
    "stopped": "muted",
    "not_started": "muted",
}
EVENT_LABELS = {
    "case.filed": "代办申请",
    "case.supplement_requested": "一次性告知（补齐补正）",
    "case.supplement_received": "收到补正材料",
    "case.accepted": "受理",
    "case.refused": "不予受理",
    "case.opinion_recorded": "部门审查意见",
    "case.decided": "作出决定",
    "case.special_started": "特别程序开始",
    "case.special_ended": "特别程序结束",
    "case.extension_approved": "批准延期",
    "case.visit_recorded": "到场记录",
    "case.delivered": "送达",
    "case.withdrawn": "撤回",
    "case.verification_recorded": "告知承诺核查",
    "case.rated": "评价",
    "case.rectification_opened": "差评整改",
    "case.callback_recorded": "回访",
    "case.rectification_closed": "整改完成",
    "handoff.offered": "移交（待接收）",
    "handoff.accepted": "接收移交",
    "handoff.declined": "拒收移交",
}


# -- the catalogue ----------------------------------------------------------------------


@dataclass(frozen=True)
class MatterHit:
    code: str
    name: str
    window_label: str
    level_label: str
    case_type_label: str
    required_visits: int


def find_matters(
    session: Session, *, q: str | None, window: str | None, objects: str | None
) -> list[MatterHit]:
    """Published matters by name or code, integrated window and service object."""
    rows = list_published(session, window=window or None, q=q or None)
    wanted = OBJECT_GROUPS[objects][1] if objects in OBJECT_GROUPS else None
    hits = []
    for row in rows:
        if wanted is not None and not wanted & set(json.loads(row.data).get("service_objects", [])):
            continue
        hits.append(
            MatterHit(
                row.implementation_code,
                row.name,
                WINDOW_LABELS.get(row.window, row.window),
                HANDLING_LEVEL_LABELS.get(row.handling_level, row.handling_level),
                CASE_TYPE_LABELS.get(row.case_type, row.case_type),
                row.required_visits,
            )
        )
        if len(hits) >= MAX_RESULTS:
            break
    return hits


def guide_of(matter: Matter) -> dict[str, Any]:
    """The matter's elements as labels people read (the service guide)."""
    return {
        "matter_type": MATTER_TYPE_LABELS.get(matter.matter_type.value, matter.matter_type.value),
        "service_objects": "、".join(
            SERVICE_OBJECT_LABELS.get(o.value, o.value) for o in matter.service_objects
        ),
        "case_type": CASE_TYPE_LABELS.get(matter.case_type.value, matter.case_type.value),
        "handling_level": HANDLING_LEVEL_LABELS.get(
            matter.handling_level.value, matter.handling_level.value
        ),
        "delivery_method": DELIVERY_METHOD_LABELS.get(
            matter.delivery_method.value, matter.delivery_method.value
        ),
        "window": WINDOW_LABELS.get(matter.window.value, matter.window.value),
        "fees_free": not any(float(fee.amount) > 0 for fee in matter.fees),
    }


def applicant_kinds(matter: Matter) -> list[tuple[str, str]]:
    """The applicant kinds the matter serves, as (value, label) for the form."""
    codes = {o.value for o in matter.service_objects}
    kinds = []
    if "1" in codes:
        kinds.append(("person", "自然人（居民身份证）"))
    if codes - {"1"}:
        kinds.append(("enterprise", "法人或其他组织（统一社会信用代码）"))
    return kinds or [("person", "自然人（居民身份证）")]


def material_hint(item: Any) -> str:
    """原件1份、复印件1份（由…出具） for one catalogue material."""
    parts = []
    if item.originals:
        parts.append(f"原件{item.originals}份")
    if item.copies:
        parts.append(f"复印件{item.copies}份")
    text = "、".join(parts) or "按要求提供"
    if item.issuer and item.issuer != "申请人自备":
        text += f"（由{item.issuer}出具）"
    return text


# -- cases ------------------------------------------------------------------------------


def _procedures(session: Session, case_no: str) -> list[SpecialProcedure]:
    return list(
        session.execute(
            select(SpecialProcedure)
            .where(SpecialProcedure.case_no == case_no)
            .order_by(SpecialProcedure.seq)
        ).scalars()
    )


def clock_of(session: Session, case: Case, today: date, calendar: Any = None) -> dict[str, Any]:
    """The case clock with the CSS class of its deadline."""
    clock = clock_status(
        case, calendar or working_calendar(session), today, _procedures(session, case.case_no)
    ).as_dict()
    if case.state in ENDED_EARLY:
        clock.update(status="stopped", status_label="已终止", days_left=None)
    clock["css"] = DEADLINE_CLASSES.get(clock["status"], "")
    return clock


def whereabouts(case: Case, names: dict[str, str], here: str) -> str:
    """Where the case is now, as the agent says it to the resident."""
    if case.pending_offer_to:
        return f"转交中（待{names.get(case.pending_offer_to, case.pending_offer_to)}接收）"
    if case.custodian == here:
        return "本代办点"
    return names.get(case.custodian, case.custodian)


def my_cases(
    session: Session, node: ThisNode, username: str, *, mine: bool, today: date
) -> list[dict[str, Any]]:
    """The village's cases (or the agent's own), newest first, with clock and whereabouts."""
    query = select(Case).where(Case.origin_node == node.node_id)
    if mine:
        query = query.where(Case.agent == username)
    cases = list(
        session.execute(
            query.order_by(Case.filed_at.desc(), Case.case_no.desc()).limit(MAX_CASES)
        ).scalars()
    )
    calendar = working_calendar(session)
    names = node_names(session)
    return [
        {
            "case": case,
            "clock": clock_of(session, case, today, calendar),
            "where": whereabouts(case, names, node.node_id),
        }
        for case in cases
    ]


def missing_materials(
    session: Session, case_no: str, matter: Matter | None
) -> list[dict[str, Any]]:
    """Mandatory materials neither handed in, held as a licence nor promised (告知承诺),
    each with what to bring, for the plain-words one-time notice."""
    specs = {m.name: m for m in matter.materials} if matter else {}
    rows = session.execute(
        select(CaseMaterial)
        .where(
            CaseMaterial.case_no == case_no,
            CaseMaterial.mandatory.is_(True),
            CaseMaterial.provided.is_(False),
            CaseMaterial.promised.is_(False),
        )
        .order_by(CaseMaterial.position)
    ).scalars()
    return [
        {
            "position": row.position,
            "name": row.name,
            "bring": material_hint(specs[row.name]) if row.name in specs else "按办事指南要求提供",
        }
        for row in rows
    ]


def unprovided_materials(session: Session, case_no: str) -> list[CaseMaterial]:
    return list(
        session.execute(
            select(CaseMaterial)
            .where(CaseMaterial.case_no == case_no, CaseMaterial.provided.is_(False))
            .order_by(CaseMaterial.position)
        ).scalars()
    )


def material_positions(session: Session, case_no: str) -> dict[str, int]:
    rows = session.execute(
        select(CaseMaterial.name, CaseMaterial.position).where(CaseMaterial.case_no == case_no)
    )
    return {name: position for name, position in rows}


def case_trail(session: Session, case_no: str, names: dict[str, str]) -> list[dict[str, Any]]:
    """Every event of the case in order: what happened, where, when (UTC ``at``)."""
    rows = session.execute(
        select(Event.sseq, Event.kind, Event.author, Event.at)
        .where(Event.subject == case_subject(case_no))
        .order_by(Event.sseq)
    ).all()
    return [
        {
            "sseq": sseq,
            "label": EVENT_LABELS.get(kind, kind),
            "kind": kind,
            "node": names.get(author, author),
            "at": at,
        }
        for sseq, kind, author, at in rows
    ]


def published_row(session: Session, code: str) -> PublishedMatter | None:
    return session.get(PublishedMatter, code)
