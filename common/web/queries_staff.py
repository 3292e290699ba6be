"""What the township and county case screens show, shaped for their templates: deadline
colours and urgency order, and the windows in the hall's order. The reads themselves are
the domains' (``common.cases.queries``: the node's area, the acceptance queue; the read
policy: ``common.authority.reading``); they are re-exported here for the screens.
"""

from __future__ import annotations

from datetime import date

from sqlmodel import Session

from common.authority.reading import in_area
from common.cases.clock import ClockView
from common.cases.models import Case
from common.cases.queries import (
    MAX_LISTED,
    acceptance_queue,
    area_cases,
    area_origins,
    queue_counts,
)
from common.cases.review.service import clocks_of
from common.cases.states import CaseState
from common.identity.registry import node_names

# The five integrated windows (一窗受理), in the order the hall shows them.
__all__ = [
    "MAX_LISTED",
    "acceptance_queue",
    "area_cases",
    "area_origins",
    "by_urgency",
    "in_area",
    "node_names",
    "queue_counts",
    "status_of",
    "with_clocks",
]
WINDOWS: list[tuple[str, str]] = [
    ("investment", "投资项目"),
    ("real_estate", "不动产登记"),
    ("business", "商事登记"),
    ("social", "社会事务"),
    ("convenience", "综合便民"),
]
WINDOW_LABELS = dict(WINDOWS)
ENDED_EARLY = frozenset({CaseState.REFUSED.value, CaseState.WITHDRAWN.value})
# Deadline colour (onetrip.css) and the order of /staff/cases: overdue first.
DEADLINE_CLASS = {
    "red": "deadline-over",
    "yellow": "deadline-near",
    "paused": "deadline-paused",
    "normal": "deadline-ok",
    "stopped": "muted",
    "not_started": "muted",
    "ended": "muted",
}
URGENCY = {
    "red": 0,
    "yellow": 1,
    "normal": 2,
    "paused": 3,
    "not_started": 4,
    "stopped": 5,
    "ended": 6,
}


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
