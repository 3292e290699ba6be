"""Reading cases: the case view, lists, the integrated-window queues, the public
progress answer, and what the case screens read of one case (its materials, its trail
of events, its clock, whether its handoff offer has gone up the link yet), the village
agent's case list, and how long each work list is (the menus' work counters). Identity
numbers leave here masked only; where a list is filtered by who may read it, the rule is
the read policy's (``common.authority.reading``).

Reads never write; the clocks are worked out at read time from ``today``.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, func, literal, select
from sqlalchemy.orm import Mapped
from sqlmodel import Session, col

from common.authority.reading import department_cases, node_area
from common.calendar.service import working_calendar
from common.calendar.workdays import WorkingCalendar
from common.cases.access import CASE_SUBJECT_PREFIX, case_subject, load_case
from common.cases.clock import clock_status
from common.cases.models import (
    Case,
    CaseMaterial,
    CaseNotice,
    CaseTask,
    CaseVisit,
    SpecialProcedure,
)
from common.cases.review.service import case_procedures
from common.cases.states import CLOSED, STATE_LABELS, CaseState
from common.errors import DomainError, NotFound
from common.identity.divisions import significant_digits
from common.identity.models import RegistryNode
from common.labels import APPLICANT_KIND_LABELS, CASE_TYPE_LABELS
from common.ledger.models import Event
from common.node import ThisNode
from common.users.roles import Actor

QUEUE_STATES = (CaseState.FILED.value, CaseState.SUPPLEMENT.value)
ENDED_EARLY = (CaseState.REFUSED.value, CaseState.WITHDRAWN.value)
MAX_LISTED = 500  # the REST list's longest page
MAX_AGENT_CASES = 300  # agent_todo's default length (the screens page instead)
PER_PAGE = 50  # the case screens' page
# What each event of a case's trail was, as the agent reads it.
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
# A case's own rows, each table read the same way (by case number, in its order).
_PartRow = TypeVar("_PartRow", CaseMaterial, CaseNotice, CaseVisit, CaseTask)


def state_label(state: str) -> str:
    try:
        return STATE_LABELS[CaseState(state)]
    except ValueError:  # a state written by a newer node: show it as is
        return state


def _rows(
    session: Session, model: type[_PartRow], case_no: str, order: Mapped[Any]
) -> list[_PartRow]:
    query = select(model).where(col(model.case_no) == case_no).order_by(order)
    return list(session.execute(query).scalars())


def clock_view(
    session: Session, case: Case, today: date, calendar: WorkingCalendar | None = None
) -> dict[str, Any]:
    """The case's statutory clock as a dict; a list passes one ``calendar`` for all."""
    calendar = calendar or working_calendar(session)
    procedures = case_procedures(session, case.case_no)
    clock = clock_status(case, calendar, today, procedures).as_dict()
    if case.state in ENDED_EARLY:  # no decision will come: the clock no longer runs
        clock.update(status="stopped", status_label="已终止", days_left=None)
    return clock


def case_summary(case: Case) -> dict[str, Any]:
    """One line of a list: no unmasked identifiers."""
    return {
        "case_no": case.case_no,
        "state": case.state,
        "state_label": state_label(case.state),
        "matter_code": case.matter_code,
        "matter_name": case.matter_name,
        "case_type": case.case_type,
        "handling_level": case.handling_level,
        "window": case.window,
        "applicant_kind": case.applicant_kind,
        "applicant_name": case.applicant_name,
        "applicant_id_masked": case.applicant_id_masked,
        "agent": case.agent,
        "origin_node": case.origin_node,
        "custodian": case.custodian,
        "filed_on": case.filed_on,
        "accepted_on": case.accepted_on,
        "deadline": case.deadline,
        "notices": case.notices,
        "notice_breaches": case.notice_breaches,
        "visits": case.visits,
        "over_visit_limit": case.over_visit_limit,
    }


def notice_view(notice: CaseNotice) -> dict[str, Any]:
    """A one-time notice: the materials in order, each with its reason (None where the
    notice gave none, as every notice written before reasons existed), and the note."""
    missing: list[str] = json.loads(notice.missing)
    reasons: dict[str, str] = json.loads(notice.reasons) if notice.reasons else {}
    return {
        "notice_no": notice.notice_no,
        "missing": missing,
        "items": [{"name": name, "reason": reasons.get(name)} for name in missing],
        "note": notice.note,
        "issued_on": notice.issued_on,
        "breach": notice.breach,
        "issued_by": notice.issued_by,
    }


def get_case_view(session: Session, case_no: str, today: date | str) -> dict[str, Any]:
    """Everything a window shows about one case, identity number masked."""
    case = load_case(session, case_no)
    day = today if isinstance(today, date) else date.fromisoformat(today)
    materials = _rows(session, CaseMaterial, case_no, col(CaseMaterial.position))
    notices = _rows(session, CaseNotice, case_no, col(CaseNotice.notice_no))
    visits = _rows(session, CaseVisit, case_no, col(CaseVisit.seq))
    tasks = _rows(session, CaseTask, case_no, col(CaseTask.task_id))
    return {
        **case_summary(case),
        "version": case.version,
        "matter": {
            "code": case.matter_code,
            "name": case.matter_name,
            "catalogue_version": case.catalogue_version,
            "case_type": case.case_type,
            "case_type_label": CASE_TYPE_LABELS.get(case.case_type, case.case_type),
            "handling_level": case.handling_level,
            "window": case.window,
            "lead_department": case.lead_department,
            "required_visits": case.required_visits,
        },
        "applicant": {
            "kind": case.applicant_kind,
            "kind_label": APPLICANT_KIND_LABELS.get(case.applicant_kind, ""),
            "name": case.applicant_name,
            "id_masked": case.applicant_id_masked,
            "phone": case.applicant_phone,
        },
        "commitment": case.commitment,
        "dates": {
            "filed_at": case.filed_at,
            "filed_on": case.filed_on,
            "accepted_on": case.accepted_on,
            "deadline": case.deadline,
            "decided_on": case.decided_on,
            "delivered_on": case.delivered_on,
        },
        "limit_days": case.limit_days,
        "extension_days": case.extension_days,
        "closed_reason": case.closed_reason,
        "materials": [
            {
                "position": m.position,
                "name": m.name,
                "mandatory": m.mandatory,
                "provided": m.provided,
                "blob_sha256": m.blob_sha256,
                "licence_ref": m.licence_ref,
                "promised": m.promised,
            }
            for m in materials
        ],
        "materials_required": case.materials_required,
        "materials_saved": case.materials_saved,
        "notice_list": [notice_view(n) for n in notices],
        "visit_list": [
            {
                "seq": v.seq,
                "who": v.who,
                "place": v.place,
                "purpose": v.purpose,
                "visited_on": v.visited_on,
                "counts": v.counts,
            }
            for v in visits
        ],
        "trips": {
            "count": case.visits,
            "limit": case.required_visits,
            "over_limit": case.over_visit_limit,
            "reason": case.over_limit_reason,
        },
        "tasks": [
            {
                "task_id": t.task_id,
                "kind": t.kind,
                "department": t.department,
                "lead": t.lead,
                "state": t.state,
                "opinion": t.opinion,
                "comment": t.comment,
                "done_by": t.done_by,
                "opened_on": t.opened_on,
                "due_on": t.due_on,
                "done_on": t.done_on,
            }
            for t in tasks
        ],
        "decision": {
            "decision": case.decision,
            "reason": case.decision_reason,
            "decided_on": case.decided_on,
            "licence_id": case.licence_id,
            "result_revoked": case.result_revoked,
        },
        "delivery": {
            "method": case.delivery_method,
            "tracking_no": case.tracking_no,
            "delivered_on": case.delivered_on,
        },
        "rating": case.rating,
        "clock": clock_view(session, case, day),
    }


def _filters(
    *, state: str | None, window: str | None, origin: str | None, department: str | None
) -> list[ColumnElement[bool]]:
    """The filters both case lists offer. ``department`` keeps the cases a reviewer of it
    may read (``common.authority.reading``: it leads the case or has a task on it)."""
    where: list[ColumnElement[bool]] = []
    if state:
        where.append(col(Case.state) == state)
    if window:
        where.append(col(Case.window) == window)
    if origin:
        where.append(col(Case.origin_node) == origin)
    if department is not None:
        where.append(col(Case.case_no).in_(department_cases(department)))
    return where


def list_cases(
    session: Session,
    *,
    origin: str | None = None,
    state: str | None = None,
    window: str | None = None,
    custodian: str | None = None,
    department: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> list[Case]:
    """Cases, newest first (``department``: see ``_filters``)."""
    if state:
        try:
            CaseState(state)
        except ValueError:
            raise DomainError(
                "case.state_unknown", f"未知的案件状态“{state}”", field="state"
            ) from None
    query = select(Case).where(
        *_filters(state=state, window=window, origin=origin, department=department)
    )
    if custodian:
        query = query.where(col(Case.custodian) == custodian)
    query = query.order_by(col(Case.filed_at).desc(), col(Case.case_no).desc())
    return list(session.execute(query.limit(min(limit, MAX_LISTED)).offset(offset)).scalars())


def window_queue(session: Session, node: ThisNode, window: str) -> list[Case]:
    """The integrated window's queue (一窗受理): cases this node holds that wait for
    acceptance or for materials, oldest first."""
    query = (
        select(Case)
        .where(
            col(Case.custodian) == node.node_id,
            col(Case.window) == window,
            col(Case.state).in_(QUEUE_STATES),
        )
        .order_by(col(Case.filed_at), col(Case.case_no))
    )
    return list(session.execute(query).scalars())


def public_progress(session: Session, case_no: str, id_last4: str, today: date) -> dict[str, Any]:
    """办件进度 for the resident: no personal data, and the same 404 for an unknown case
    and for wrong digits so the answer does not tell which case numbers exist."""
    case = session.get(Case, case_no)
    expected = case.applicant_id[-4:].upper() if case else "\0\0\0\0"
    if (
        not hmac.compare_digest(expected.encode(), id_last4.strip().upper().encode())
        or case is None
    ):
        raise NotFound(
            "case.not_found", "没有找到该办件，请核对办件编号和证件号码后四位", field="case_no"
        )
    clock = clock_view(session, case, today)
    return {
        "case_no": case.case_no,
        "state_label": state_label(case.state),
        "matter_name": case.matter_name,
        "filed_on": case.filed_on,
        "accepted_on": case.accepted_on,
        "deadline": case.deadline,
        "decided_on": case.decided_on,
        "delivered_on": case.delivered_on,
        "deadline_status": clock["status"],
        "deadline_status_label": clock["status_label"],
        "days_left": clock["days_left"] if case.accepted_on and not case.decided_on else None,
        "result_revoked": bool(case.result_revoked),
    }


# -- the staff's lists (a node's area, its acceptance queue) ---------------------------------


def area_cases(
    session: Session,
    node: ThisNode,
    *,
    state: str | None = None,
    window: str | None = None,
    origin: str | None = None,
    number: str | None = None,
    department: str | None = None,
    limit: int = MAX_LISTED,
) -> list[Case]:
    """Cases of this node's area (``reading.node_area``) matching the filters (see
    ``_filters``), open ones first."""
    query = select(Case).where(
        *_filters(state=state, window=window, origin=origin, department=department)
    )
    area = node_area(session, node)
    if area is not None:
        query = query.where(area)
    if number:
        query = query.where(col(Case.case_no).contains(number.strip()))
    closed = col(Case.state).in_([s.value for s in CLOSED])
    query = query.order_by(closed, col(Case.deadline), col(Case.filed_at).desc(), col(Case.case_no))
    return list(session.execute(query.limit(limit)).scalars())


# -- the case screens' lists, a page at a time, searched -----------------------------------


@dataclass(frozen=True)
class CaseSearch:
    """What a case list is searched by, besides its filters: the applicant's name and the
    case number (parts of them), the applicant's whole identity number (exactly: a masked
    one finds nothing, and lists show it masked) and the filing dates (both included)."""

    name: str | None = None
    id_number: str | None = None
    number: str | None = None
    filed_from: date | None = None
    filed_to: date | None = None

    @classmethod
    def from_text(
        cls,
        *,
        name: str | None = None,
        id_number: str | None = None,
        number: str | None = None,
        filed_from: str | None = None,
        filed_to: str | None = None,
    ) -> CaseSearch:
        """From a search form: blanks are no condition, a date that is not YYYY-MM-DD too."""

        def day(text: str | None) -> date | None:
            try:
                return date.fromisoformat((text or "").strip()) if text and text.strip() else None
            except ValueError:
                return None

        return cls(
            name=(name or "").strip() or None,
            id_number=(id_number or "").strip().upper() or None,
            number=(number or "").strip() or None,
            filed_from=day(filed_from),
            filed_to=day(filed_to),
        )

    def where(self) -> list[ColumnElement[bool]]:
        where: list[ColumnElement[bool]] = []
        if self.name:
            where.append(col(Case.applicant_name).contains(self.name, autoescape=True))
        if self.id_number:
            where.append(col(Case.applicant_id) == self.id_number.strip().upper())
        if self.number:
            where.append(col(Case.case_no).contains(self.number, autoescape=True))
        if self.filed_from:
            where.append(col(Case.filed_on) >= self.filed_from.isoformat())
        if self.filed_to:
            where.append(col(Case.filed_on) <= self.filed_to.isoformat())
        return where


@dataclass(frozen=True)
class CasePage:
    """One page of a case list: its cases in the list's order, how many match in all."""

    cases: list[Case]
    total: int
    page: int
    pages: int
    per_page: int


def _page_bounds(total: int, page: int, per_page: int) -> tuple[int, int]:
    """(page, pages): a page past the end is the last one."""
    pages = max(1, -(-total // per_page))
    return min(max(1, page), pages), pages


def _count(session: Session, where: Sequence[ColumnElement[bool]]) -> int:
    query = select(func.count()).select_from(Case).where(*where)
    return int(session.execute(query).scalar_one())


# The staff's order: overdue first, then near the deadline, then by days left and deadline;
# cases that no longer run a clock last (decided and delivered, then refused or withdrawn).
URGENCY = {
    "red": 0,
    "yellow": 1,
    "normal": 2,
    "delivering": 2,
    "paused": 3,
    "not_started": 4,
    "stopped": 5,
    "ended": 6,
}
# What the clock needs of a case row (``clock.clock_input``): the open cases are ranked
# from these columns, not from whole rows.
_CLOCK_COLUMNS = (
    col(Case.case_no),
    col(Case.state),
    col(Case.filed_on),
    col(Case.accepted_on),
    col(Case.limit_days),
    col(Case.extension_days),
    col(Case.deadline),
    col(Case.decided_on),
    col(Case.delivered_on),
    col(Case.notified_on),
)


def urgency_status(case: Any, status: str) -> str:
    """The clock's status, or ``ended`` for a case refused or withdrawn."""
    return "ended" if case.state in ENDED_EARLY else status


def urgency_key(case: Any, status: str, days_left: int) -> tuple[int, int, str, str]:
    """Where a case (a row or anything with its columns) sorts in the staff's order."""
    status = urgency_status(case, status)
    left = days_left if status in ("red", "yellow", "normal", "paused") else 10**6
    return URGENCY.get(status, 9), left, case.deadline or "9999", case.case_no


def _ranked_open(session: Session, where: Sequence[ColumnElement[bool]], today: date) -> list[str]:
    """The numbers of the open cases matching ``where``, most urgent first. Every open
    case is ranked (its clock needs the working calendar, so not in SQL); closed ones
    always sort after them and are paged in SQL."""
    opened = [*where, col(Case.state).not_in([s.value for s in CLOSED])]
    rows = session.execute(select(*_CLOCK_COLUMNS).where(*opened)).all()
    if not rows:
        return []
    pauses: dict[str, list[SpecialProcedure]] = {}
    procedures = session.execute(
        select(SpecialProcedure)
        .where(col(SpecialProcedure.case_no).in_(select(col(Case.case_no)).where(*opened)))
        .order_by(col(SpecialProcedure.case_no), col(SpecialProcedure.seq))
    ).scalars()
    for procedure in procedures:
        pauses.setdefault(procedure.case_no, []).append(procedure)
    calendar = working_calendar(session)

    def key(row: Any) -> tuple[int, int, str, str]:
        clock = clock_status(row, calendar, today, pauses.get(row.case_no, ()))
        return urgency_key(row, clock.status, clock.days_left)

    return [row.case_no for row in sorted(rows, key=key)]


def area_case_page(
    session: Session,
    node: ThisNode,
    *,
    today: date,
    state: str | None = None,
    window: str | None = None,
    origin: str | None = None,
    department: str | None = None,
    search: CaseSearch | None = None,
    page: int = 1,
    per_page: int = PER_PAGE,
) -> CasePage:
    """One page of the cases of this node's area (``reading.node_area``; ``department``:
    see ``_filters``) matching the filters and ``search``, in the staff's order
    (``URGENCY``): the open cases ranked by their clocks on ``today``, then the closed."""
    where = _filters(state=state, window=window, origin=origin, department=department)
    area = node_area(session, node)
    if area is not None:
        where.append(area)
    where.extend((search or CaseSearch()).where())
    open_nos = _ranked_open(session, where, today)
    closed = col(Case.state).in_([s.value for s in CLOSED])
    total = len(open_nos) + _count(session, [*where, closed])
    page, pages = _page_bounds(total, page, per_page)
    start, end = (page - 1) * per_page, page * per_page
    chosen = open_nos[start:end]
    rows = {
        c.case_no: c
        for c in session.execute(select(Case).where(col(Case.case_no).in_(chosen))).scalars()
    }
    cases = [rows[no] for no in chosen if no in rows]
    if end > len(open_nos):
        skip = max(0, start - len(open_nos))
        ended_early = col(Case.state).in_(ENDED_EARLY)
        query = (
            select(Case)
            .where(*where, closed)
            .order_by(ended_early, func.coalesce(col(Case.deadline), "9999"), col(Case.case_no))
            .offset(skip)
            .limit(end - max(start, len(open_nos)))
        )
        cases.extend(session.execute(query).scalars())
    return CasePage(cases, total, page, pages, per_page)


def _waiting_here(node: ThisNode) -> tuple[ColumnElement[bool], ...]:
    """Held by this node, not being offered on, waiting for acceptance or materials."""
    return (
        col(Case.custodian) == node.node_id,
        col(Case.pending_offer_to).is_(None),
        col(Case.state).in_(QUEUE_STATES),
    )


def acceptance_queue(session: Session, node: ThisNode, window: str | None = None) -> list[Case]:
    """Cases this node holds that wait for acceptance or materials, oldest first
    (a township's queue has every window; the county's is one window at a time)."""
    query = select(Case).where(*_waiting_here(node))
    if window:
        query = query.where(col(Case.window) == window)
    return list(session.execute(query.order_by(col(Case.filed_at), col(Case.case_no))).scalars())


def queue_counts(session: Session, node: ThisNode) -> dict[str, int]:
    rows = session.execute(
        select(col(Case.window), func.count())
        .where(*_waiting_here(node))
        .group_by(col(Case.window))
    ).all()
    return {window: int(count) for window, count in rows}


def area_origins(session: Session, node: ThisNode) -> list[tuple[str, str]]:
    """(node id, name) of the villages (and townships) under this node, for the filter."""
    prefix = node.node_id[: significant_digits(node.node_id)]
    rows = session.execute(
        select(RegistryNode)
        .where(
            col(RegistryNode.node_id).startswith(prefix),
            col(RegistryNode.node_id) != node.node_id,
            col(RegistryNode.revoked_version).is_(None),
        )
        .order_by(col(RegistryNode.node_id))
    ).scalars()
    return [(row.node_id, row.name) for row in rows]


# -- one case on the case screens (its materials, its trail), the agent's list ------------


def agent_cases(
    session: Session, node: ThisNode, username: str, *, mine: bool, limit: int = MAX_AGENT_CASES
) -> list[Case]:
    """The cases filed at this village (or only ``username``'s), newest first."""
    query = select(Case).where(col(Case.origin_node) == node.node_id)
    if mine:
        query = query.where(col(Case.agent) == username)
    query = query.order_by(col(Case.filed_at).desc(), col(Case.case_no).desc())
    return list(session.execute(query.limit(limit)).scalars())


def agent_case_page(
    session: Session,
    node: ThisNode,
    username: str,
    *,
    scope: str,
    search: CaseSearch | None = None,
    page: int = 1,
    per_page: int = PER_PAGE,
) -> CasePage:
    """One page of the village's cases (``all``) or the agent's own (``mine``), newest
    first, or of those waiting for an agent here (``todo``, ``agent_todo``), oldest first."""
    where: list[ColumnElement[bool]]
    order: tuple[Any, ...]
    if scope == "todo":
        where = list(_agent_todo_where(node))
        order = (col(Case.filed_at), col(Case.case_no))
    else:
        where = [col(Case.origin_node) == node.node_id]
        if scope == "mine":
            where.append(col(Case.agent) == username)
        order = (col(Case.filed_at).desc(), col(Case.case_no).desc())
    where.extend((search or CaseSearch()).where())
    total = _count(session, where)
    page, pages = _page_bounds(total, page, per_page)
    query = select(Case).where(*where).order_by(*order)
    cases = list(session.execute(query.offset((page - 1) * per_page).limit(per_page)).scalars())
    return CasePage(cases, total, page, pages, per_page)


def outstanding_materials(session: Session, case_no: str) -> list[CaseMaterial]:
    """Mandatory materials neither handed in, held as a licence nor promised (告知承诺)."""
    query = (
        select(CaseMaterial)
        .where(
            col(CaseMaterial.case_no) == case_no,
            col(CaseMaterial.mandatory).is_(True),
            col(CaseMaterial.provided).is_(False),
            col(CaseMaterial.promised).is_(False),
        )
        .order_by(col(CaseMaterial.position))
    )
    return list(session.execute(query).scalars())


def unprovided_materials(session: Session, case_no: str) -> list[CaseMaterial]:
    query = (
        select(CaseMaterial)
        .where(col(CaseMaterial.case_no) == case_no, col(CaseMaterial.provided).is_(False))
        .order_by(col(CaseMaterial.position))
    )
    return list(session.execute(query).scalars())


def material_positions(session: Session, case_no: str) -> dict[str, int]:
    rows = session.execute(
        select(col(CaseMaterial.name), col(CaseMaterial.position)).where(
            col(CaseMaterial.case_no) == case_no
        )
    )
    return {name: position for name, position in rows}


def case_trail(session: Session, case_no: str, names: dict[str, str]) -> list[dict[str, Any]]:
    """Every event of the case in order: what happened, where, when (UTC ``at``)."""
    rows = session.execute(
        select(col(Event.sseq), col(Event.kind), col(Event.author), col(Event.at))
        .where(col(Event.subject) == case_subject(case_no))
        .order_by(col(Event.sseq))
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


# -- work counters: how long each work list is (the menus and the empty lists say it) ------
# Each count asks the same conditions as the list it counts, so the number in a menu is
# the number of rows its page shows.

# What waits for the village agent at the village: a case held here that is not on its
# way elsewhere and is still to be handed up, accepted, completed or delivered.
AGENT_TODO_STATES = (
    CaseState.FILED.value,
    CaseState.SUPPLEMENT.value,
    CaseState.APPROVED.value,
    CaseState.REJECTED.value,
)


def _agent_todo_where(node: ThisNode) -> tuple[ColumnElement[bool], ...]:
    return (
        col(Case.origin_node) == node.node_id,
        col(Case.custodian) == node.node_id,
        col(Case.pending_offer_to).is_(None),
        col(Case.state).in_(AGENT_TODO_STATES),
    )


def agent_todo(session: Session, node: ThisNode, limit: int = MAX_AGENT_CASES) -> list[Case]:
    """The village's cases waiting for an agent here (to hand up, accept, or deliver the
    result that came home), oldest first."""
    query = (
        select(Case)
        .where(*_agent_todo_where(node))
        .order_by(col(Case.filed_at), col(Case.case_no))
        .limit(limit)
    )
    return list(session.execute(query).scalars())


def agent_todo_count(session: Session, node: ThisNode) -> int:
    count = session.execute(
        select(func.count()).select_from(Case).where(*_agent_todo_where(node))
    ).scalar_one()
    return int(count)  # the list is paged, so every case counts


def inbox_count(session: Session, node: ThisNode) -> int:
    """How many open offers wait for this node (``handoff.service.handoff_inbox``'s rows)."""
    offer = (col(Event.subject) == literal(CASE_SUBJECT_PREFIX) + col(Case.case_no)) & (
        col(Event.sseq) == col(Case.pending_offer_seq)
    )
    query = (
        select(func.count())
        .select_from(Case)
        .join(Event, offer)
        .where(col(Case.pending_offer_to) == node.node_id)
    )
    return int(session.execute(query).scalar_one())


def window_queue_count(session: Session, node: ThisNode, windows: list[str]) -> int:
    """How many cases the window queues of ``windows`` list together (``window_queue``)."""
    query = (
        select(func.count())
        .select_from(Case)
        .where(
            col(Case.custodian) == node.node_id,
            col(Case.window).in_(windows),
            col(Case.state).in_(QUEUE_STATES),
        )
    )
    return int(session.execute(query).scalar_one())


def acceptance_queue_count(session: Session, node: ThisNode) -> int:
    """How many cases ``acceptance_queue`` lists (every window)."""
    query = select(func.count()).select_from(Case).where(*_waiting_here(node))
    return int(session.execute(query).scalar_one())


def open_task_count(session: Session, actor: Actor) -> int:
    """How many open tasks the actor's task list shows (``review.service.tasks_for``)."""
    from common.cases.review.service import tasks_for

    return len(tasks_for(session, actor, state="open"))


# -- whether a case's last handoff has gone up the link ------------------------------------


def offers_waiting_upload(session: Session, node: ThisNode, cases: list[Case]) -> set[str]:
    """The numbers of ``cases`` whose open offer, written here to a node up the tree, is
    still in the outbox for this node's parent (not yet acknowledged). An offer that went
    up, or one down to this node's own subtree (the child pulls it), is not among them."""
    from common.sync.models import OutboxEntry, SyncCursor
    from common.sync.routing import in_subtree, parent_of

    parent = parent_of(session, node.node_id)
    offered = {
        case_subject(c.case_no): c
        for c in cases
        if c.pending_offer_to is not None
        and c.pending_offer_seq is not None
        and not in_subtree(session, node.node_id, c.pending_offer_to)
    }
    if parent is None or not offered:
        return set()
    cursor = session.get(SyncCursor, parent)
    acked = cursor.sent_acked if cursor else 0
    rows = session.execute(
        select(col(Event.subject), col(Event.sseq))
        .join(OutboxEntry, col(OutboxEntry.lseq) == col(Event.lseq))
        .where(
            col(Event.subject).in_(list(offered)),
            col(Event.author) == node.node_id,
            col(OutboxEntry.peer) == parent,
            col(OutboxEntry.seq) > acked,
        )
    ).all()
    return {
        offered[subject].case_no
        for subject, sseq in rows
        if sseq == offered[subject].pending_offer_seq
    }


def offer_waiting_upload(session: Session, node: ThisNode, case_no: str) -> bool:
    """Is this case's open offer still waiting to go up (``offers_waiting_upload``)?"""
    case = session.get(Case, case_no)
    return case is not None and bool(offers_waiting_upload(session, node, [case]))
