"""Reads for the township and county case screens that the case modules do not offer:
the cases a node can see (its own area), the township's acceptance queue across all
windows, queue counts per window, deadline colours and node names.

Reads only; every action goes through the action functions in common/cases/.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import func, or_, select
from sqlmodel import Session

from common.cases.clock import ClockView
from common.cases.models import Case
from common.cases.queries import QUEUE_STATES
from common.cases.review.service import clocks_of
from common.cases.states import CLOSED, CaseState
from common.identity.divisions import significant_digits
from common.identity.models import RegistryNode
from common.node import ThisNode

MAX_LISTED = 500
# The five integrated windows (一窗受理), in the order the hall shows them.
WINDOWS: list[tuple[str, str]] = [
    ("investment", "投资项目"), ("real_estate", "不动产登记"), ("business", "商事登记"),
    ("social", "社会事务"), ("convenience", "综合便民"),
]
WINDOW_LABELS = dict(WINDOWS)
ENDED_EARLY = frozenset({CaseState.REFUSED.value, CaseState.WITHDRAWN.value})
# Deadline colour (onetrip.css) and the order of /staff/cases: overdue first.
DEADLINE_CLASS = {"red": "deadline-over", "yellow": "deadline-near", "paused": "deadline-paused",
                  "normal": "deadline-ok", "stopped": "muted", "not_started": "muted", "ended": "muted"}
URGENCY = {"red": 0, "yellow": 1, "normal": 2, "paused": 3, "not_started": 4, "stopped": 5, "ended": 6}


def _area(node: ThisNode, session: Session) -> Any:
    """The cases this node can see: the root sees everything; any other node the cases
    filed in its own area (its division code prefix) and those it holds or is offered."""
    entry = session.get(RegistryNode, node.node_id)
    if entry is not None and entry.parent_id is None:
        return None
    prefix = node.node_id[:significant_digits(node.node_id)]
    return or_(Case.origin_node.startswith(prefix), Case.custodian == node.node_id,
               Case.pending_offer_to == node.node_id)


def area_cases(session: Session, node: ThisNode, *, state: str | None = None, window: str | None = None,
               origin: str | None = None, number: str | None = None,
               department: str | None = None) -> list[Case]:
    """Cases of this node's area matching the filters, open ones first, at most 500."""
    from common.cases.models import CaseTask

    query = select(Case)
    area = _area(node, session)
    if area is not None:
        query = query.where(area)
    if state:
        query = query.where(Case.state == state)
    if window:
        query = query.where(Case.window == window)
    if origin:
        query = query.where(Case.origin_node == origin)
    if number:
        query = query.where(Case.case_no.contains(number.strip()))
    if department is not None:
        query = query.where(Case.case_no.in_(select(CaseTask.case_no).where(CaseTask.department == department)))
    closed = Case.state.in_([s.value for s in CLOSED])
    query = query.order_by(closed, Case.deadline, Case.filed_at.desc(), Case.case_no)
    return list(session.execute(query.limit(MAX_LISTED)).scalars())


def status_of(case: Case, clock: ClockView) -> str:
    return "ended" if case.state in ENDED_EARLY else clock.status


def by_urgency(cases: list[Case], clocks: dict[str, ClockView]) -> list[Case]:
    """Overdue first, then near the deadline, then by days left and deadline."""
    def key(case: Case) -> tuple[int, int, str, str]:
        clock = clocks[case.case_no]
        status = status_of(case, clock)
        left = clock.days_left if status in ("red", "yellow", "normal", "paused") else 10**6
        return URGENCY.get(status, 9), left, case.deadline or "9999", case.case_no
    return sorted(cases, key=key)


def with_clocks(session: Session, cases: list[Case], today: date) -> dict[str, ClockView]:
    return clocks_of(session, cases, today)


def acceptance_queue(session: Session, node: ThisNode, window: str | None = None) -> list[Case]:
    """Cases this node holds that wait for acceptance or materials, oldest first
    (a township's queue has every window; the county's is one window at a time)."""
    query = select(Case).where(Case.custodian == node.node_id, Case.pending_offer_to.is_(None),
                               Case.state.in_(QUEUE_STATES))
    if window:
        query = query.where(Case.window == window)
    return list(session.execute(query.order_by(Case.filed_at, Case.case_no)).scalars())


def queue_counts(session: Session, node: ThisNode) -> dict[str, int]:
    rows = session.execute(
        select(Case.window, func.count()).where(
            Case.custodian == node.node_id, Case.pending_offer_to.is_(None), Case.state.in_(QUEUE_STATES))
        .group_by(Case.window)).all()
    return {window: int(count) for window, count in rows}


def node_names(session: Session) -> dict[str, str]:
    return {row.node_id: row.name for row in session.execute(select(RegistryNode)).scalars()}


def area_origins(session: Session, node: ThisNode) -> list[tuple[str, str]]:
    """(node id, name) of the villages (and townships) under this node, for the filter."""
    prefix = node.node_id[:significant_digits(node.node_id)]
    rows = session.execute(select(RegistryNode).where(
        RegistryNode.node_id.startswith(prefix), RegistryNode.node_id != node.node_id,
        RegistryNode.revoked_version.is_(None)).order_by(RegistryNode.node_id)).scalars()
    return [(row.node_id, row.name) for row in rows]


def in_area(session: Session, node: ThisNode, case_no: str) -> bool:
    area = _area(node, session)
    if area is None:
        return True
    return session.execute(select(Case.case_no).where(Case.case_no == case_no, area)).first() is not None
