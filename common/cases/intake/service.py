"""Intake actions at a window: one-time notice, supplement, acceptance, refusal,
withdrawal, trips and delivery (filing itself is in ``intake.filing``).

Every function is ``(session, node, actor, ...)``, asks the authority policy
(``check_case_action``: the role on this tier, custody, the state, the handling level,
the department, the filing agent) before it reads its input, appends one
event (delivery at a window may append the applicant's visit first) and never commits.
Dates (acceptance, deadline) are computed here with today's calendar and travel in the
event body, so the projection never needs the calendar.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlmodel import Session, col

from common.authority.actions import check_case_action
from common.calendar.service import working_calendar
from common.cases.access import append_case_event, load_case, today_on
from common.cases.intake.filing import (
    MaterialSpec,
    file_case,
    filed_body,
    resolve_materials,
    text,
    visit_record,
)
from common.cases.models import Case, CaseMaterial, CaseNotice, CaseVisit
from common.cases.queries import get_case_view, list_cases, outstanding_materials, window_queue
from common.catalog.schema import CaseType
from common.errors import DomainError
from common.node import ThisNode
from common.users.roles import Actor

__all__ = [
    "accept_case",
    "deliver_case",
    "file_case",
    "get_case_view",
    "list_cases",
    "receive_supplement",
    "record_visit",
    "refuse_case",
    "request_supplement",
    "window_queue",
    "withdraw_case",
]

TOWNSHIP_TASK_DEPARTMENT = "乡镇审批"
DELIVERY_METHODS = ("window", "courier", "electronic", "agent")
WINDOW_PLACES = {
    "village": "村（社区）代办点",
    "township": "乡镇便民服务中心窗口",
    "county": "县政务服务中心综合窗口",
}
MAX_REASON = 500
MAX_ITEM_REASON = 200  # what is wrong with one material of a one-time notice
MAX_NOTE = 500


def _case_for(
    session: Session, node: ThisNode, actor: Actor, case_no: str, action: str, **details: Any
) -> Case:
    """The case, once the policy lets ``actor`` take ``action`` on it: a refused actor
    or an illegal move is answered as such before any rule about the input."""
    check_case_action(session, node, actor, case_no, action, **details)
    return load_case(session, case_no)


def _missing_mandatory(session: Session, case_no: str) -> list[str]:
    return [material.name for material in outstanding_materials(session, case_no)]


def _notice_items(session: Session, case_no: str, missing: Any) -> tuple[list[str], dict[str, str]]:
    """The listed material names in order, and the reason given for each (if any).

    An item is a material name, or ``{"name": ..., "reason": ...}`` saying what is
    wrong with it ("身份证复印件不清晰，请提供原件扫描件"); a name listed twice keeps
    the first reason given."""
    if not isinstance(missing, list) or not missing:
        raise DomainError("case.notice_empty", "请列出需要补齐补正的全部材料", field="missing")
    names = {
        m.name
        for m in session.execute(
            select(CaseMaterial).where(col(CaseMaterial.case_no) == case_no)
        ).scalars()
    }
    listed: list[str] = []
    reasons: dict[str, str] = {}
    for index, item in enumerate(missing):
        where = f"missing[{index}]"
        raw_reason: Any = None
        if isinstance(item, dict):
            if extra := sorted(set(item) - {"name", "reason"}):
                raise DomainError(
                    "case.field_unknown",
                    f"告知事项只能包含材料名称和补正要求，不能有“{extra[0]}”",
                    field=f"{where}.{extra[0]}",
                )
            raw_reason = item.get("reason")
            name = text(item.get("name"), f"{where}.name", label="材料名称")
        else:
            name = text(item, where, label="材料名称")
        assert name is not None  # required text
        reason = text(
            raw_reason, f"{where}.reason", required=False, max_len=MAX_ITEM_REASON, label="补正要求"
        )
        if name not in names:
            raise DomainError("case.material_unknown", f"本案没有材料“{name}”", field=where)
        if name not in listed:
            listed.append(name)
        if reason and name not in reasons:
            reasons[name] = reason
    return listed, reasons


def request_supplement(
    session: Session,
    node: ThisNode,
    actor: Actor,
    case_no: str,
    missing: list[str | dict[str, Any]],
    note: str | None = None,
) -> CaseNotice:
    """一次性告知: one notice listing everything missing, each item with what is wrong
    with it if the window says so, and a general note. A later notice on the same case
    is allowed but recorded as a breach of 一次性告知."""
    case = _case_for(session, node, actor, case_no, "request_supplement")
    listed, reasons = _notice_items(session, case_no, missing)
    note_text = text(note, "note", required=False, max_len=MAX_NOTE, label="告知说明")
    # One notice must list everything: a mandatory material still missing cannot be left out.
    if omitted := [n for n in _missing_mandatory(session, case_no) if n not in listed]:
        raise DomainError(
            "case.notice_incomplete",
            f"一次性告知须列全所缺材料，还缺：{'、'.join(omitted)}",
            field="missing",
        )
    notice_no = case.notices + 1
    body: dict[str, Any] = {
        "notice_no": notice_no,
        "missing": listed,
        "issued_on": today_on(node),
        "breach": notice_no > 1,
        "issued_by": actor.username,
    }
    # Only when given: a notice without them keeps the first shape of the event, which
    # nodes running older software still apply.
    if reasons:
        body["reasons"] = reasons
    if note_text:
        body["note"] = note_text
    append_case_event(session, node, case, "case.supplement_requested", body)
    notice = session.get(CaseNotice, (case_no, notice_no))
    assert notice is not None
    return notice


def receive_supplement(
    session: Session, node: ThisNode, actor: Actor, case_no: str, materials: list[dict[str, Any]]
) -> Case:
    """补齐补正: the listed materials are handed in; the case is back to 已申请."""
    case = _case_for(session, node, actor, case_no, "receive_supplement")
    if not isinstance(materials, list) or not materials:
        raise DomainError("case.field_required", "请提交补正的材料", field="materials")
    specs = [
        MaterialSpec(m["position"], m["name"], m["mandatory"], m.get("licence_type") or "")
        for m in filed_body(session, node, case_no)["materials"]
    ]
    given = resolve_materials(session, specs, materials, case.applicant_id)
    append_case_event(
        session,
        node,
        case,
        "case.supplement_received",
        {
            "materials": [
                {"position": p, "blob_sha256": s.blob_sha256, "licence_ref": s.licence_ref}
                for p, s in sorted(given.items())
            ],
            "received_on": today_on(node),
            "received_by": actor.username,
        },
    )
    return load_case(session, case_no)


def accept_case(session: Session, node: ThisNode, actor: Actor, case_no: str) -> Case:
    """受理: starts the clock and opens the review tasks (none for 即办件)."""
    case = _case_for(session, node, actor, case_no, "accept_case")
    if missing := _missing_mandatory(session, case_no):
        raise DomainError(
            "case.materials_missing",
            f"必要材料不齐，不能受理：{'、'.join(missing)}",
            field="materials",
        )
    accepted_on = today_on(node)
    deadline = working_calendar(session).add_working_days(
        date.fromisoformat(accepted_on), case.limit_days
    )
    matter = filed_body(session, node, case_no)["matter"]
    tasks: list[dict[str, Any]] = []
    if case.case_type != CaseType.IMMEDIATE.value:
        if case.handling_level == "township":
            departments = [(TOWNSHIP_TASK_DEPARTMENT, True)]
        else:
            departments = [(d, d == matter["lead_department"]) for d in matter["departments"]]
        tasks = [
            {"task_id": f"{case_no}/review/{n}", "department": d, "lead": lead}
            for n, (d, lead) in enumerate(departments, start=1)
        ]
    append_case_event(
        session,
        node,
        case,
        "case.accepted",
        {
            "accepted_on": accepted_on,
            "window": case.window,
            "limit_days": case.limit_days,
            "deadline": deadline.isoformat(),
            "accepted_by": actor.username,
            "tasks": tasks,
        },
    )
    return load_case(session, case_no)


# Closing a case before a decision, by action: its event, what was done (the event
# names the day and the person after it), and what the reason is called on screen.
_ENDED_EARLY = {
    "refuse_case": ("case.refused", "refused", "不予受理理由"),
    "withdraw_case": ("case.withdrawn", "withdrawn", "撤回原因"),
}


def _end_early(
    session: Session, node: ThisNode, actor: Actor, case_no: str, action: str, reason: str
) -> Case:
    kind, done, label = _ENDED_EARLY[action]
    case = _case_for(session, node, actor, case_no, action)
    reason_text = text(reason, "reason", max_len=MAX_REASON, label=label)
    append_case_event(
        session,
        node,
        case,
        kind,
        {
            "reason": reason_text,
            f"{done}_on": today_on(node),
            f"{done}_by": actor.username,
        },
    )
    return load_case(session, case_no)


def refuse_case(session: Session, node: ThisNode, actor: Actor, case_no: str, reason: str) -> Case:
    """不予受理, with the reason the refusal notice states; closes the case."""
    return _end_early(session, node, actor, case_no, "refuse_case", reason)


def withdraw_case(
    session: Session, node: ThisNode, actor: Actor, case_no: str, reason: str
) -> Case:
    """撤回 at the applicant's request, recorded by the window holding the case; at a
    village only the agent who filed it may do so."""
    return _end_early(session, node, actor, case_no, "withdraw_case", reason)


def _next_visit_seq(session: Session, case_no: str) -> int:
    last = session.execute(
        select(func.max(col(CaseVisit.seq))).where(col(CaseVisit.case_no) == case_no)
    ).scalar()
    return (last or 0) + 1


def _append_visit(
    session: Session, node: ThisNode, case: Case, visit: dict[str, Any], field: str
) -> CaseVisit:
    record = visit_record(
        visit, field, prior_trips=case.visits, required_visits=case.required_visits
    )
    seq = _next_visit_seq(session, case.case_no)
    case_no = case.case_no
    append_case_event(
        session,
        node,
        case,
        "case.visit_recorded",
        {
            "seq": seq,
            "who": record["who"],
            "place": record["place"],
            "purpose": record["purpose"],
            "visited_on": today_on(node),
            "counts": record["counts"],
            "over_limit": record["over_limit"],
            "over_limit_reason": record["over_limit_reason"],
        },
    )
    row = session.get(CaseVisit, (case_no, seq))
    assert row is not None
    return row


def record_visit(
    session: Session,
    node: ThisNode,
    actor: Actor,
    case_no: str,
    *,
    who: str,
    place: str,
    purpose: str,
) -> CaseVisit:
    """跑动: one in-person journey. Only the applicant's own visits are trips; one over
    the matter's promised visits flags the case with the reason."""
    case = _case_for(session, node, actor, case_no, "record_visit")
    return _append_visit(
        session, node, case, {"who": who, "place": place, "purpose": purpose}, "visit"
    )


def deliver_case(
    session: Session,
    node: ThisNode,
    actor: Actor,
    case_no: str,
    method: str,
    tracking_no: str | None = None,
    receiver: str | None = None,
    *,
    pickup_visit: bool | None = None,
    place: str | None = None,
) -> Case:
    """送达: the receipt closes the case.

    Collecting the result at a window is an in-person visit of the applicant, so it is
    recorded first as its own ``case.visit_recorded`` event: trips are counted and
    flagged in one place and the pickup shows in the visit list like any other journey.
    ``pickup_visit`` says whether the applicant came for it; left out, it is a new trip
    unless the applicant's visit is already recorded today (a 即办件 decided and handed
    over during the filing visit is one trip, not two). Courier, electronic and
    village-agent delivery make no trip.
    """
    # Agent delivery is the origin village's alone (a check of the policy, given the method).
    case = _case_for(session, node, actor, case_no, "deliver_case", method=method)
    if method not in DELIVERY_METHODS:
        raise DomainError(
            "case.delivery_method",
            "送达方式应为 window、courier、electronic 或 agent",
            field="method",
        )
    tracking = text(
        tracking_no, "tracking_no", required=method == "courier", max_len=40, label="快递单号"
    )
    if method != "courier":
        tracking = None
    receiver_text = (
        text(receiver, "receiver", required=False, max_len=100, label="签收人")
        or case.applicant_name
    )
    today = today_on(node)
    if method == "window" and pickup_visit is None:
        pickup_visit = not _applicant_came_on(session, case_no, today)
    if method == "window" and pickup_visit:
        _append_visit(
            session,
            node,
            case,
            {
                "who": "applicant",
                "place": place or WINDOW_PLACES.get(node.tier, "窗口"),
                "purpose": "领取办理结果",
            },
            "visit",
        )
        case = load_case(session, case_no)
    append_case_event(
        session,
        node,
        case,
        "case.delivered",
        {
            "method": method,
            "tracking_no": tracking,
            "receiver": receiver_text,
            "delivered_on": today,
            "delivered_by": actor.username,
        },
    )
    return load_case(session, case_no)


def _applicant_came_on(session: Session, case_no: str, day: str) -> bool:
    return (
        session.execute(
            select(col(CaseVisit.seq))
            .where(
                col(CaseVisit.case_no) == case_no,
                col(CaseVisit.counts).is_(True),
                col(CaseVisit.visited_on) == day,
            )
            .limit(1)
        ).first()
        is not None
    )
