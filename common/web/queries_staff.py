"""Shaping for the township and county case screens: deadline colours and urgency
order, the windows in the hall's order, and the case lists' search fields and page links. Nothing here reads the database: the
lists are ``common.cases.queries``' (the node's area, the acceptance queue), the
clocks ``common.cases.review.service.clocks_of`` and the read policy
``common.authority.reading``.
"""

from __future__ import annotations

from urllib.parse import urlencode

from common.cases.clock import ClockView
from common.cases.models import Case
from common.cases.queries import CaseSearch, urgency_key, urgency_status

# The five integrated windows (一窗受理), in the order the hall shows them.
WINDOWS: list[tuple[str, str]] = [
    ("investment", "投资项目"),
    ("real_estate", "不动产登记"),
    ("business", "商事登记"),
    ("social", "社会事务"),
    ("convenience", "综合便民"),
]
WINDOW_LABELS = dict(WINDOWS)
# Deadline colour (onetrip.css); the order of /staff/cases is the domain's URGENCY.
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


def status_of(case: Case, clock: ClockView) -> str:
    return urgency_status(case, clock.status)


def by_urgency(cases: list[Case], clocks: dict[str, ClockView]) -> list[Case]:
    """Overdue first, then near the deadline, then by days left and deadline."""

    def key(case: Case) -> tuple[int, int, str, str]:
        clock = clocks[case.case_no]
        return urgency_key(case, clock.status, clock.days_left)

    return sorted(cases, key=key)


# -- the case lists' search (the staff's and the agent's) ---------------------------------


def search_fields(search: CaseSearch) -> dict[str, str]:
    """What the search form shows again: everything but the identity number, which the
    page names only masked (``mask_identifier``)."""
    return {
        "name": search.name or "",
        "number": search.number or "",
        "filed_from": search.filed_from.isoformat() if search.filed_from else "",
        "filed_to": search.filed_to.isoformat() if search.filed_to else "",
    }


def pager_base(
    path: str, filters: dict[str, str], search: CaseSearch, *, with_id: bool = True
) -> str:
    """The list's address with its filters and search, ready for ``page=`` (the pager);
    ``with_id=False``: without the identity number (the link that drops that condition)."""
    id_number = search.id_number if with_id else None
    params = {**filters, **search_fields(search), "id_number": id_number or ""}
    query = urlencode([(k, v) for k, v in params.items() if v])
    return f"{path}?{query}&" if query else f"{path}?"
