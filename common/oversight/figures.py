"""The reform's figures, each defined once: ``FIGURES`` says what each one counts (the
docs print these formulas), ``dashboard`` computes them.

A dashboard is for a scope and a period. The scope is a node's area: the county (every
case the county holds), a township (its own cases and its villages'), or one village;
a case belongs to the area of the node that filed it (``origin_node``). The period is
two dates, inclusive, where people are (Asia/Shanghai): filings count by the day they
were filed, outcomes (one trip, on time, working days) by the day the case was decided,
and the clocks ("now") are today's, whatever the period.

Read from the case tables on every request; the rollups issue 12 asks for (maintained
by projections, so that a dashboard over a million cases never scans them) are not
built yet (docs/architecture.md).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal, get_args

from sqlalchemy import or_, select
from sqlmodel import Session, col

from common.calendar.service import working_calendar
from common.cases.clock import ClockView, clock_status
from common.cases.models import Case, SpecialProcedure
from common.cases.states import STATE_LABELS, CaseState
from common.errors import NotFound
from common.identity.models import RegistryNode
from common.ratings.models import Rating, Rectification
from common.ratings.projection import BAD_LEVELS

# A decided case is still open until its result is delivered (§44's clock runs).
CLOSED = frozenset({CaseState.DELIVERED, CaseState.REFUSED, CaseState.WITHDRAWN})
CHANNEL_LABELS = {"village_proxy": "村级代办", "window": "窗口申请"}
LEVEL_LABELS = {"village": "村级", "township": "乡镇级", "county": "县级"}
IN_CHUNK = 500  # case numbers per IN list


@dataclass(frozen=True)
class Figure:
    key: str
    label: str
    formula: str  # what it counts, in the docs' words
    share: bool = False  # a ratio, shown as a percentage


FIGURES: dict[str, Figure] = {
    f.key: f
    for f in (
        Figure("filed", "申请件数", "cases filed in the period"),
        Figure("proxied", "村级代办件数", "cases filed in the period by a village agent"),
        Figure(
            "immediate_share",
            "即办件占比",
            "of the cases filed in the period, the share of 即办件 (case type 1)",
            share=True,
        ),
        Figure(
            "materials_saved",
            "免交材料份数",
            "materials of the cases filed in the period satisfied by a licence the node "
            "already held (无证明) instead of a paper the applicant brought",
        ),
        Figure("decided", "办结件数", "cases decided (approved or rejected) in the period"),
        Figure(
            "one_trip_rate",
            "最多跑一次率",
            "of the cases decided in the period, the share whose applicant came in person "
            "no more often than the matter promised, and at most once",
            share=True,
        ),
        Figure(
            "on_time_rate",
            "按时办结率",
            "of the cases decided in the period, the share decided within the promised "
            "working days plus approved extensions, days of §45 special procedures not "
            "counted",
            share=True,
        ),
        Figure(
            "avg_days",
            "平均用时（工作日）",
            "mean working days from acceptance to decision of the cases decided in the "
            "period, paused days not counted",
        ),
        Figure(
            "p90_days",
            "九成办结用时（工作日）",
            "the 90th percentile (nearest rank) of the same working days",
        ),
        Figure(
            "open_now",
            "在办件数",
            "cases of the area not yet delivered, refused or withdrawn today, whenever filed",
        ),
        Figure(
            "yellow_now",
            "黄灯",
            "open cases whose running clock (acceptance §32, decision §42 or delivery "
            "§44) has used 80% or more of its working days today",
        ),
        Figure(
            "red_now",
            "红灯（已超期）",
            "open cases past the working days of their running clock today (a case not "
            "accepted or notified within 5 days counts as accepted on filing, §32)",
        ),
        Figure("rated", "评价件数", "ratings given in the period"),
        Figure(
            "bad_share",
            "差评率",
            "of the ratings given in the period, the share of 不满意 and 非常不满意",
            share=True,
        ),
        Figure(
            "rectified_on_time",
            "整改按时率",
            "of the rectifications due in the period, the share closed by their due date",
            share=True,
        ),
    )
}


@dataclass(frozen=True)
class Period:
    start: date
    end: date  # inclusive

    def __contains__(self, day: str | None) -> bool:
        return day is not None and self.start.isoformat() <= day <= self.end.isoformat()


@dataclass(frozen=True)
class Area:
    """A node's area: the nodes whose filings count (None: every node, the root's)."""

    node_id: str
    name: str
    tier: str
    nodes: frozenset[str] | None


@dataclass
class Tally:
    """The figures of one area, added up case by case."""

    filed: int = 0
    proxied: int = 0
    immediate: int = 0
    materials_saved: int = 0
    decided: int = 0
    one_trip: int = 0
    on_time: int = 0
    days: list[int] = field(default_factory=list)
    open_now: int = 0
    yellow_now: int = 0
    red_now: int = 0
    rated: int = 0
    bad: int = 0
    rectifications_due: int = 0
    rectified_on_time: int = 0

    def values(self) -> dict[str, float | int | None]:
        days = sorted(self.days)
        return {
            "filed": self.filed,
            "proxied": self.proxied,
            "immediate_share": _share(self.immediate, self.filed),
            "materials_saved": self.materials_saved,
            "decided": self.decided,
            "one_trip_rate": _share(self.one_trip, self.decided),
            "on_time_rate": _share(self.on_time, self.decided),
            "avg_days": round(sum(days) / len(days), 1) if days else None,
            "p90_days": days[math.ceil(0.9 * len(days)) - 1] if days else None,
            "open_now": self.open_now,
            "yellow_now": self.yellow_now,
            "red_now": self.red_now,
            "rated": self.rated,
            "bad_share": _share(self.bad, self.rated),
            "rectified_on_time": _share(self.rectified_on_time, self.rectifications_due),
        }


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


@dataclass
class Dashboard:
    area: Area
    period: Period
    today: date
    figures: dict[str, float | int | None]
    children: list[tuple[Area, dict[str, float | int | None]]]
    breakdowns: dict[str, list[tuple[str, str, int]]]  # name -> (key, label, cases filed)

    def as_dict(self) -> dict[str, Any]:
        return {
            "scope": {"node_id": self.area.node_id, "name": self.area.name, "tier": self.area.tier},
            "period": {"from": self.period.start.isoformat(), "to": self.period.end.isoformat()},
            "today": self.today.isoformat(),
            "figures": self.figures,
            "children": [
                {"node_id": a.node_id, "name": a.name, "tier": a.tier, "figures": values}
                for a, values in self.children
            ],
            "breakdowns": {
                name: [{"key": k, "label": label, "cases": n} for k, label, n in rows]
                for name, rows in self.breakdowns.items()
            },
        }


# -- areas ----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Node:
    name: str
    tier: str
    parent_id: str | None


_REGISTRY_KEY = "onetrip.oversight.registry"  # session.info: this transaction's registry


def _registry(session: Session) -> tuple[dict[str, _Node], dict[str, list[str]]]:
    """The registry (nodes, and children by parent, in node order), read once per
    transaction: a county's dashboard asks for the areas of 17 townships and 178 villages."""
    held: tuple[dict[str, _Node], dict[str, list[str]]] | None = session.info.get(_REGISTRY_KEY)
    if held is None:
        nodes: dict[str, _Node] = {}
        children: dict[str, list[str]] = {}
        rows = session.execute(
            select(
                col(RegistryNode.node_id),
                col(RegistryNode.name),
                col(RegistryNode.tier),
                col(RegistryNode.parent_id),
            ).order_by(col(RegistryNode.node_id))
        )
        for node_id, name, tier, parent_id in rows:
            nodes[node_id] = _Node(name, tier, parent_id)
            if parent_id is not None:
                children.setdefault(parent_id, []).append(node_id)
        held = session.info[_REGISTRY_KEY] = (nodes, children)
    return held


def area_of(session: Session, node_id: str) -> Area:
    """The area of ``node_id`` (the root's is everything it holds)."""
    nodes, _ = _registry(session)
    node = nodes.get(node_id)
    if node is None:
        raise NotFound("oversight.unknown_node", f"节点 {node_id} 未登记", field="scope")
    if node.parent_id is None:
        return Area(node_id, node.name, node.tier, None)
    return Area(node_id, node.name, node.tier, frozenset(_subtree(session, node_id)))


def _subtree(session: Session, node_id: str) -> Iterator[str]:
    """``node_id`` and every node below it, each before its children (node order)."""
    yield node_id
    for child in _registry(session)[1].get(node_id, []):
        yield from _subtree(session, child)


def nodes_from(session: Session, node_id: str) -> list[tuple[str, str]]:
    """(id, name) of ``node_id`` and every node below it, each before its children."""
    nodes = _registry(session)[0]
    return [(n, nodes[n].name if n in nodes else n) for n in _subtree(session, node_id)]


def child_areas(session: Session, area: Area) -> list[Area]:
    """The areas one level down, and the node's own filings as an area of its own."""
    own = Area(area.node_id, f"{area.name}（本级）", area.tier, frozenset({area.node_id}))
    children = [area_of(session, child) for child in _registry(session)[1].get(area.node_id, [])]
    return [own, *children] if children else []


def areas_below(session: Session, area: Area) -> list[Area]:
    """Every area below ``area``, each node's before its children's: ``area``'s own
    filings ("本级"), then each node below as its whole area (a township with its
    villages, then each village)."""
    found: list[Area] = []
    for child in child_areas(session, area):
        found.append(child)
        if child.node_id != area.node_id:
            found.extend(a for a in areas_below(session, child) if a.node_id != child.node_id)
    return found


# -- the figures ----------------------------------------------------------------------


def dashboard(
    session: Session, area: Area, period: Period, today: date, *, every_area: bool = False
) -> Dashboard:
    """The figures of ``area`` for ``period``, its children's (with ``every_area``: every
    area below it, as the monthly report lists them), and the breakdowns of its filings."""
    children = areas_below(session, area) if every_area else child_areas(session, area)
    cases = list(_cases(session, area, period))
    # Clocks only where a figure reads one: cases decided in the period, or open now.
    timed = [c for c in cases if c.state not in CLOSED or (c.decided_on in period and c.decision)]
    clocks = _clocks(session, timed, today)
    whole, parts = Tally(), {child.node_id: Tally() for child in children}
    # A node's filings count for every listed area that holds the node (a township's
    # area and its own "本级" row both hold the township).
    owners: dict[str, list[Tally]] = {}
    for child in children:
        for node in child.nodes or ():
            owners.setdefault(node, []).append(parts[child.node_id])
    breakdowns: dict[str, Counter[str]] = {name: Counter() for name in BREAKDOWNS}
    for case in cases:
        for tally in [whole, *owners.get(case.origin_node, [])]:
            _add_case(tally, case, clocks.get(case.case_no), period)
        if case.filed_on in period:
            for name, of in BREAKDOWNS.items():
                breakdowns[name][of(case)] += 1
    for rating_origin, level in _ratings(session, area, period):
        for tally in [whole, *owners.get(rating_origin, [])]:
            tally.rated += 1
            tally.bad += level in BAD_LEVELS
    for origin, on_time in _rectifications(session, area, period):
        for tally in [whole, *owners.get(origin, [])]:
            tally.rectifications_due += 1
            tally.rectified_on_time += on_time
    return Dashboard(
        area=area,
        period=period,
        today=today,
        figures=whole.values(),
        children=[(child, parts[child.node_id].values()) for child in children],
        breakdowns={
            name: [
                (key, _label(session, name, key), n)
                for key, n in counter.most_common(TOP.get(name))
            ]
            for name, counter in breakdowns.items()
        },
    )


def _add_case(tally: Tally, case: Case, clock: ClockView | None, period: Period) -> None:
    if case.filed_on in period:
        tally.filed += 1
        tally.proxied += case.agent is not None
        tally.immediate += case.case_type == "1"
        tally.materials_saved += case.materials_saved
    if clock is None:  # neither decided in the period nor open: no clock figure
        return
    if _decided(case, clock, period):
        tally.decided += 1
        tally.one_trip += one_trip(case)
        tally.on_time += not _late(clock)
        tally.days.append(clock.days_used)
    if _open(case, clock, period):
        tally.open_now += 1
        tally.yellow_now += clock.status == "yellow"
        tally.red_now += clock.status == "red"


def one_trip(case: Case) -> bool:
    """最多跑一次: the applicant came no more often than promised, and at most once."""
    return case.visits <= min(case.required_visits, 1)


def channel(case: Case) -> str:
    """How the application came in: through a village agent, or at a window (online
    and mail applications are not built yet)."""
    return "village_proxy" if case.agent is not None else "window"


def _filed(case: Case, clock: ClockView, period: Period) -> bool:
    return case.filed_on in period


def _decided(case: Case, clock: ClockView, period: Period) -> bool:
    return case.decided_on in period and case.decision is not None


def _open(case: Case, clock: ClockView, period: Period) -> bool:
    return case.state not in CLOSED


def _late(clock: ClockView) -> bool:
    """Decided after the promised working days (plus extensions, less pauses)."""
    return clock.days_used > clock.limit_days


Predicate = Callable[[Case, ClockView, Period], bool]
DrillName = Literal[
    "filed", "proxied", "decided", "not_one_trip", "late", "open_now", "yellow_now", "red_now"
]
# The case lists behind the numbers: each the cases one figure counts (or fails).
DRILLS: dict[str, tuple[str, Predicate]] = {
    "filed": ("申请件", _filed),
    "proxied": ("村级代办件", lambda c, k, p: _filed(c, k, p) and c.agent is not None),
    "decided": ("办结件", _decided),
    "not_one_trip": ("未做到最多跑一次", lambda c, k, p: _decided(c, k, p) and not one_trip(c)),
    "late": ("超期办结", lambda c, k, p: _decided(c, k, p) and _late(k)),
    "open_now": ("在办件", _open),
    "yellow_now": ("黄灯件", lambda c, k, p: _open(c, k, p) and k.status == "yellow"),
    "red_now": ("红灯件", lambda c, k, p: _open(c, k, p) and k.status == "red"),
}


assert set(get_args(DrillName)) == set(DRILLS), "DrillName names the DRILLS"


def cases_behind(
    session: Session, area: Area, period: Period, today: date, drill: str
) -> list[tuple[Case, ClockView]]:
    """The cases behind one number of the dashboard, newest first."""
    _, holds = DRILLS[drill]
    cases = list(_cases(session, area, period, whole=True))
    clocks = _clocks(session, cases, today)
    chosen = [(case, clocks[case.case_no]) for case in cases]
    chosen = [(case, clock) for case, clock in chosen if holds(case, clock, period)]
    return sorted(chosen, key=lambda pair: pair[0].filed_at, reverse=True)


BREAKDOWNS: dict[str, Callable[[Case], str]] = {
    "state": lambda case: case.state,
    "channel": channel,
    "window": lambda case: case.window,
    "level": lambda case: case.handling_level,
    "department": lambda case: case.lead_department,
    "matter": lambda case: case.matter_code,
}
BREAKDOWN_LABELS = {
    "state": "按状态",
    "channel": "按渠道",
    "window": "按综合窗口",
    "level": "按办理层级",
    "department": "按牵头部门",
    "matter": "按事项（前十）",
}
TOP = {"matter": 10, "department": 20}  # rows shown (others: all)


def _label(session: Session, breakdown: str, key: str) -> str:
    if breakdown == "state":
        known = {state.value: state for state in CaseState}
        return STATE_LABELS[known[key]] if key in known else key
    if breakdown == "channel":
        return CHANNEL_LABELS.get(key, key)
    if breakdown == "level":
        return LEVEL_LABELS.get(key, key)
    if breakdown == "matter":
        name = session.execute(
            select(col(Case.matter_name)).where(col(Case.matter_code) == key).limit(1)
        ).scalar_one_or_none()
        return name or key
    return key


# -- reads ----------------------------------------------------------------------------


def _in_area(area: Area, column: Any) -> list[Any]:
    return [] if area.nodes is None else [col(column).in_(sorted(area.nodes))]


# The columns the figures, the breakdowns and the clocks read: rows, not ORM objects (a
# county's month is tens of thousands of cases).
FIGURE_COLUMNS = [
    col(getattr(Case, name))
    for name in (
        "case_no", "origin_node", "state", "filed_on", "accepted_on", "decided_on",
        "delivered_on", "notified_on", "deadline", "limit_days", "extension_days", "decision",
        "agent", "case_type", "materials_saved", "visits", "required_visits", "window",
        "handling_level", "lead_department", "matter_code",
    )
]  # fmt: skip


def _cases(session: Session, area: Area, period: Period, *, whole: bool = False) -> Iterable[Any]:
    """The cases any figure counts: filed or decided in the period, or open now (rows of
    ``FIGURE_COLUMNS``, or with ``whole`` the ``Case`` objects)."""
    start, end = period.start.isoformat(), period.end.isoformat()
    query = (select(Case) if whole else select(*FIGURE_COLUMNS)).where(
        *_in_area(area, Case.origin_node),
        or_(
            col(Case.filed_on).between(start, end),
            col(Case.decided_on).between(start, end),
            col(Case.state).not_in([s.value for s in CLOSED]),
        ),
    )
    return session.execute(query).scalars() if whole else session.execute(query).all()


def _clocks(session: Session, cases: list[Case], today: date) -> dict[str, ClockView]:
    calendar = working_calendar(session)
    procedures: dict[str, list[SpecialProcedure]] = {}
    numbers = [case.case_no for case in cases]
    for at in range(0, len(numbers), IN_CHUNK):
        rows = session.execute(
            select(SpecialProcedure)
            .where(col(SpecialProcedure.case_no).in_(numbers[at : at + IN_CHUNK]))
            .order_by(col(SpecialProcedure.seq))
        ).scalars()
        for row in rows:
            procedures.setdefault(row.case_no, []).append(row)
    return {
        case.case_no: clock_status(case, calendar, today, procedures.get(case.case_no, ()))
        for case in cases
    }


def _ratings(session: Session, area: Area, period: Period) -> Iterable[tuple[str, int]]:
    query = (
        select(col(Case.origin_node), col(Rating.level))
        .join(Case, col(Case.case_no) == col(Rating.case_no))
        .where(
            col(Rating.rated_on).between(period.start.isoformat(), period.end.isoformat()),
            *_in_area(area, Case.origin_node),
        )
    )
    return [(origin, level) for origin, level in session.execute(query)]


def _rectifications(session: Session, area: Area, period: Period) -> Iterable[tuple[str, bool]]:
    query = (
        select(col(Case.origin_node), col(Rectification.due_on), col(Rectification.closed_on))
        .join(Case, col(Case.case_no) == col(Rectification.case_no))
        .where(
            col(Rectification.due_on).between(period.start.isoformat(), period.end.isoformat()),
            *_in_area(area, Case.origin_node),
        )
    )
    return [
        (origin, closed is not None and closed <= due)
        for origin, due, closed in session.execute(query)
    ]
