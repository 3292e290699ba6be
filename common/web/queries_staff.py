"""Shaping for the township and county case screens: deadline colours and urgency
order, and the windows in the hall's order. Nothing here reads the database: the
lists are ``common.cases.queries``' (the node's area, the acceptance queue), the
clocks ``common.cases.review.service.clocks_of`` and the read policy
``common.authority.reading``.
"""

from __future__ import annotations

from common.cases.clock import ClockView
from common.cases.models import Case
from common.cases.queries import ENDED_EARLY

# The five integrated windows (一窗受理), in the order the hall shows them.
WINDOWS: list[tuple[str, str]] = [
    ("investment", "投资项目"),
    ("real_estate", "不动产登记"),
    ("business", "商事登记"),
    ("social", "社会事务"),
    ("convenience", "综合便民"),
]
WINDOW_LABELS = dict(WINDOWS)
# Deadline colour (onetrip.css) and the order of /staff/cases: overdue first.
DEADLINE_CLASS = {
    "red": "deadline-over",
    "yellow": "deadline-near",
    "paused": "deadline-paused",
    "normal": "deadline-ok",
    "delivering": "deadline-ok",
    "stopped": "muted",
    "not_started": "muted",
    "ended": "muted",
}
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
