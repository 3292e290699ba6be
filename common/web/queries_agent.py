"""Shaping for the village agent's screens: a matter's service guide as labels, the
applicant kinds it serves, what to bring for a material, where a case is now in the
agent's words, and the deadline colour of a case's clock.

The reads are the domains' (``common.catalog.queries``: the finder;
``common.cases.queries``: the agent's cases, a case's clock, materials and trail);
``clock_of``, ``my_cases``, ``my_case_page`` and ``missing_materials`` take the session
only to hand it to those reads and shape what they return. Identity numbers stay masked (the Case
row's ``applicant_id_masked``).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlmodel import Session

from common.calendar.service import working_calendar
from common.calendar.workdays import WorkingCalendar
from common.cases import queries as case_queries
from common.cases.models import Case
from common.catalog.schema import Material, Matter
from common.documents.guide import guide_labels
from common.identity.registry import node_names
from common.node import ThisNode

# The case lists search and page alike: the same fields and links as the staff's.
from common.web.queries_staff import pager_base as pager_base
from common.web.queries_staff import search_fields as search_fields

# The clock's status -> the CSS class of the deadline cell (onetrip.css).
DEADLINE_CLASSES = {
    "normal": "deadline-ok",
    "yellow": "deadline-near",
    "red": "deadline-over",
    "paused": "deadline-paused",
    "delivering": "deadline-ok",
    "stopped": "muted",
    "not_started": "muted",
}


# -- the catalogue ----------------------------------------------------------------------


def guide_of(matter: Matter) -> dict[str, Any]:
    """The matter's elements as labels people read (the printed service guide's words)."""
    return {
        **guide_labels(matter),
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


def material_hint(item: Material) -> str:
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


def clock_of(
    session: Session, case: Case, today: date, calendar: WorkingCalendar | None = None
) -> dict[str, Any]:
    """The case clock with the CSS class of its deadline."""
    clock = case_queries.clock_view(session, case, today, calendar)
    clock["css"] = DEADLINE_CLASSES.get(clock["status"], "")
    return clock


def whereabouts(case: Case, names: dict[str, str], here: str, *, queued: bool = False) -> str:
    """Where the case is now, as the agent says it to the resident (``queued``: the offer
    is still in the outbox, waiting for the link to the parent)."""
    if case.pending_offer_to:
        target = names.get(case.pending_offer_to, case.pending_offer_to)
        if queued:
            return f"转交{target}已排队，尚未上传（连通上级节点后自动上传）"
        return f"转交中（待{target}接收）"
    if case.custodian == here:
        return "本代办点"
    return names.get(case.custodian, case.custodian)


def my_cases(
    session: Session, node: ThisNode, username: str, *, scope: str, today: date
) -> list[dict[str, Any]]:
    """The village's cases (``all``), the agent's own (``mine``), newest first, or those
    waiting for an agent here (``todo``), oldest first; with clock and whereabouts."""
    if scope == "todo":
        cases = case_queries.agent_todo(session, node)
    else:
        cases = case_queries.agent_cases(session, node, username, mine=scope == "mine")
    return case_rows(session, node, cases, today)


def case_rows(
    session: Session, node: ThisNode, cases: list[Case], today: date
) -> list[dict[str, Any]]:
    """Each case with its clock and whereabouts, as the agent's list shows it."""
    calendar = working_calendar(session)
    names = node_names(session)
    queued = case_queries.offers_waiting_upload(session, node, cases)
    return [
        {
            "case": case,
            "clock": clock_of(session, case, today, calendar),
            "where": whereabouts(case, names, node.node_id, queued=case.case_no in queued),
        }
        for case in cases
    ]


def my_case_page(
    session: Session,
    node: ThisNode,
    username: str,
    *,
    scope: str,
    today: date,
    search: case_queries.CaseSearch | None = None,
    page: int = 1,
) -> tuple[case_queries.CasePage, list[dict[str, Any]]]:
    """One page of ``my_cases``' list (``case_queries.agent_case_page``), searched, with
    each case's clock and whereabouts."""
    found = case_queries.agent_case_page(
        session, node, username, scope=scope, search=search, page=page
    )
    return found, case_rows(session, node, found.cases, today)


def missing_materials(
    session: Session, case_no: str, matter: Matter | None
) -> list[dict[str, Any]]:
    """Mandatory materials neither handed in, held as a licence nor promised (告知承诺),
    each with what to bring, for the plain-words one-time notice."""
    specs = {m.name: m for m in matter.materials} if matter else {}
    return [
        {
            "position": row.position,
            "name": row.name,
            "bring": material_hint(specs[row.name]) if row.name in specs else "按办事指南要求提供",
        }
        for row in case_queries.outstanding_materials(session, case_no)
    ]
