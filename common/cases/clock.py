"""The two clocks of a case, as pure functions over a ``WorkingCalendar``.

The statutory clock (行政许可法 §42, §45, §82) counts working days from the day after
acceptance up to today or the decision, minus the working days spent in special
procedures that §45 leaves out (hearings, tendering, auctions, tests, quarantine,
appraisals, expert reviews).
An approved extension adds days to the limit. The status people see is worked out
at read time: normal, yellow (at least 80% of the limit used), red (overdue),
paused (in a special procedure) or stopped (decided).

The resident's clock counts the wait from filing to delivery (or today), in calendar
days and in working days.

No database and no clock here: callers pass the calendar and ``today``, so the
functions are easy to property-test and a read never changes what it reads.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any, cast

from common.calendar.workdays import WorkingCalendar

# Special-procedure kinds (GB/T 39046): 1 extension of approval, 2 other. An extension
# request never stops the clock (its days come from §42); of kind 2 only what §45 lists
# does: 听证、招标、拍卖、检验、检测、检疫、鉴定、专家评审. On-site verification (§34
# 现场勘查) counts toward the limit.
KIND_EXTENSION = 1
KIND_OTHER = 2
PAUSING_KINDS = frozenset({KIND_OTHER})

LAW = "《中华人民共和国行政许可法》"


@dataclass(frozen=True)
class SpecialKind:
    """One special-procedure kind (``subkind`` in events), its legal basis and effect."""

    code: str
    label: str
    kind: int  # GB/T 39046: 1 extension of approval, 2 other
    basis: str  # the legal basis printed on the notice
    pauses: bool  # whether its days are left out of the time limit
    startable: bool  # whether a new procedure of this kind may be started
    offered: bool  # whether screens offer it (a startable kind may be kept for old clients)


def _section_45(code: str, label: str) -> SpecialKind:
    return SpecialKind(
        code, label, KIND_OTHER, f"{LAW}第四十五条", pauses=True, startable=True, offered=True
    )


SPECIAL_KINDS: dict[str, SpecialKind] = {
    kind.code: kind
    for kind in (
        SpecialKind(
            "extension",
            "延长审批",
            KIND_EXTENSION,
            f"{LAW}第四十二条",
            pauses=False,
            startable=True,
            offered=True,
        ),
        _section_45("hearing", "听证"),
        _section_45("tendering", "招标"),
        _section_45("auction", "拍卖"),
        _section_45("examination", "检验"),
        _section_45("testing", "检测"),
        _section_45("quarantine", "检疫"),
        _section_45("appraisal", "鉴定"),
        _section_45("expert_review", "专家评审"),
        # 检验检测 in one: lawful (§45 names both), older than the two above; API
        # clients and records still use it, screens offer 检验 and 检测 instead.
        SpecialKind(
            "test",
            "检验检测",
            KIND_OTHER,
            f"{LAW}第四十五条",
            pauses=True,
            startable=True,
            offered=False,
        ),
        # Retired: §45 does not list them, so they never stop the clock. Events written
        # before stay in the ledger and still project; new ones are refused.
        SpecialKind(
            "inspection",
            "现场勘查",
            KIND_OTHER,
            f"{LAW}第三十四条（实地核查，所需时间计入办理时限）",
            pauses=False,
            startable=False,
            offered=False,
        ),
        SpecialKind(
            "other",
            "其他",
            KIND_OTHER,
            f"不属于{LAW}第四十五条规定的情形，所需时间计入办理时限",
            pauses=False,
            startable=False,
            offered=False,
        ),
    )
}
# The eight kinds of §45, in the law's order; what may be started; what pauses.
SECTION_45_SUBKINDS = tuple(c for c, k in SPECIAL_KINDS.items() if k.offered and k.pauses)
STARTABLE_SUBKINDS = tuple(c for c, k in SPECIAL_KINDS.items() if k.startable)
PAUSING_SUBKINDS = frozenset(c for c, k in SPECIAL_KINDS.items() if k.pauses)


def pauses_clock(kind: int, subkind: str | None = None) -> bool:
    """Whether a procedure leaves its days out of the limit: kind 2 of a §45 kind.

    ``subkind`` None (a caller that knows only the kind) judges by the kind alone."""
    if kind not in PAUSING_KINDS:
        return False
    return subkind is None or subkind in PAUSING_SUBKINDS


YELLOW_PERCENT = 80
ACCEPTANCE_DAYS = 5  # §32: accept, refuse or give the one-time notice within 5 working days
DELIVERY_DAYS = 10  # §44: issue and deliver the result within 10 working days of deciding

STATUS_LABELS = {
    "normal": "正常",
    "yellow": "预警",
    "red": "超期",
    "paused": "暂停计时",
    "stopped": "已停止计时",
    "not_started": "未受理",
    "delivering": "待送达",
}
PHASE_LABELS = {
    "acceptance": "受理时限（行政许可法第三十二条，5个工作日）",
    "decision": "办理时限（行政许可法第四十二条）",
    "delivery": "送达时限（行政许可法第四十四条，10个工作日）",
    "done": "已办结",
}


def as_date(value: date | str | None) -> date | None:
    """Event bodies carry "YYYY-MM-DD"; accept either form."""
    if value is None or value == "":
        return None
    if isinstance(value, date):
        return value
    return date.fromisoformat(value)


@dataclass(frozen=True)
class Pause:
    """One special procedure as the clock sees it."""

    started_on: date
    ended_on: date | None = None
    paused_days: int = 0  # working days, fixed when the procedure ended
    kind: int = KIND_OTHER
    subkind: str | None = None  # None: judged by the kind alone

    @property
    def open(self) -> bool:
        return self.ended_on is None

    @property
    def pauses(self) -> bool:
        return pauses_clock(self.kind, self.subkind)


@dataclass(frozen=True)
class ClockInput:
    """The few facts of a case the clocks need (a Case row has all but the pauses)."""

    filed_on: date
    accepted_on: date | None = None
    limit_days: int = 0
    extension_days: int = 0
    deadline: date | None = None
    decided_on: date | None = None
    delivered_on: date | None = None
    pauses: tuple[Pause, ...] = field(default_factory=tuple)
    withdrawn: bool = False  # withdrawn after acceptance: nothing left to count down
    refused: bool = False  # 不予受理: nothing to count down
    notified_on: date | None = None  # the first one-time notice (§32's other answer)


@dataclass(frozen=True)
class ClockView:
    limit_days: int  # promised days plus approved extensions
    extension_days: int
    days_used: int
    days_left: int  # negative when overdue
    paused_days: int  # working days not counted (special procedures)
    status: str
    deadline: date | None
    wait_calendar_days: int  # the resident's wait, filing to delivery (or today)
    wait_working_days: int
    fallback_years: tuple[int, ...] = ()  # years counted Monday-Friday (no schedule yet)
    # Which of the law's clocks runs now: acceptance (§32), decision (§42), delivery (§44).
    phase: str = "decision"
    # §32: not accepted, refused or notified within 5 working days: accepted from filing.
    deemed_accepted: bool = False
    phase_deadline: date | None = None  # the acceptance or delivery deadline
    phase_days_left: int | None = None  # working days left in that phase (negative: late)

    @property
    def status_label(self) -> str:
        label = STATUS_LABELS[self.status]
        return f"{label}（逾期未受理，依法视为受理）" if self.deemed_accepted else label

    def as_dict(self) -> dict[str, Any]:
        return {
            "limit_days": self.limit_days,
            "extension_days": self.extension_days,
            "days_used": self.days_used,
            "days_left": self.days_left,
            "paused_days": self.paused_days,
            "status": self.status,
            "status_label": self.status_label,
            "deadline": self.deadline.isoformat() if self.deadline else None,
            "wait_calendar_days": self.wait_calendar_days,
            "wait_working_days": self.wait_working_days,
            "fallback_years": list(self.fallback_years),
            "phase": self.phase,
            "phase_label": PHASE_LABELS[self.phase],
            "deemed_accepted": self.deemed_accepted,
            "phase_deadline": self.phase_deadline.isoformat() if self.phase_deadline else None,
            "phase_days_left": self.phase_days_left,
        }


def clock_input(case_like: Any, procedures: Iterable[Any] = ()) -> ClockInput:
    """Build the input from a Case row (or anything with its attributes) and its
    special-procedure rows; a ``ClockInput`` passes through unchanged."""
    if isinstance(case_like, ClockInput):
        return case_like
    # cast: started_on and filed_on are NOT NULL columns, so as_date gives a date for them.
    pauses = tuple(
        Pause(
            started_on=cast(date, as_date(p.started_on)),
            ended_on=as_date(p.ended_on),
            paused_days=int(getattr(p, "paused_days", 0) or 0),
            kind=int(p.kind),
            subkind=getattr(p, "subkind", None),
        )
        for p in procedures
    ) or tuple(getattr(case_like, "pauses", ()) or ())
    return ClockInput(
        filed_on=cast(date, as_date(case_like.filed_on)),
        accepted_on=as_date(case_like.accepted_on),
        limit_days=int(case_like.limit_days or 0),
        extension_days=int(getattr(case_like, "extension_days", 0) or 0),
        deadline=as_date(getattr(case_like, "deadline", None)),
        decided_on=as_date(getattr(case_like, "decided_on", None)),
        delivered_on=as_date(getattr(case_like, "delivered_on", None)),
        pauses=pauses,
        withdrawn=getattr(case_like, "state", None) == "withdrawn",
        refused=getattr(case_like, "state", None) == "refused",
        notified_on=as_date(getattr(case_like, "notified_on", None)),
    )


def paused_working_days(pause: Pause, calendar: WorkingCalendar, until: date) -> int:
    """Working days a procedure kept the clock stopped, as of ``until``.

    An ended procedure's days are the ones its signed end recorded (and moved the
    deadline by): a 现场勘查 ended before §45 was applied strictly keeps its recorded
    days, one ended since records 0."""
    if not pause.open:
        return pause.paused_days
    if not pause.pauses:
        return 0
    return max(0, calendar.working_days_between(pause.started_on, until))


def clock_status(
    case_like: Any, calendar: WorkingCalendar, today: date, procedures: Iterable[Any] = ()
) -> ClockView:
    """Where the case's clocks stand on ``today``: before acceptance the §32 window (5
    working days to accept, refuse or give the one-time notice; past it the case counts
    as accepted on the day it was filed), then the decision clock (§42, pauses of §45
    left out), then after the decision the §44 window to deliver (10 working days)."""
    case = clock_input(case_like, procedures)
    limit = case.limit_days + case.extension_days
    wait_end = case.delivered_on or today
    common: dict[str, Any] = {
        "extension_days": case.extension_days,
        "wait_calendar_days": max(0, (wait_end - case.filed_on).days),
        "wait_working_days": max(0, calendar.working_days_between(case.filed_on, wait_end)),
        "fallback_years": tuple(
            sorted(
                calendar.uncovered_years_between(
                    case.filed_on, max(wait_end, case.deadline or wait_end)
                )
            )
        ),
    }
    accepted_on, deemed = case.accepted_on, False
    if accepted_on is None and (case.refused or case.withdrawn):
        return ClockView(
            limit_days=limit,
            days_used=0,
            days_left=limit,
            paused_days=0,
            status="stopped",
            deadline=case.deadline,
            phase="done",
            **common,
        )
    if accepted_on is None:
        answered = case.notified_on
        used = max(0, calendar.working_days_between(case.filed_on, answered or today))
        if answered is not None or used <= ACCEPTANCE_DAYS:
            left = ACCEPTANCE_DAYS - used
            near = answered is None and used * 100 >= ACCEPTANCE_DAYS * YELLOW_PERCENT
            return ClockView(
                limit_days=limit,
                days_used=0,
                days_left=limit,
                paused_days=0,
                status="yellow" if near else "not_started",
                deadline=case.deadline,
                phase="acceptance",
                phase_deadline=calendar.add_working_days(case.filed_on, ACCEPTANCE_DAYS),
                phase_days_left=None if answered is not None else left,
                **common,
            )
        accepted_on, deemed = case.filed_on, True  # §32: deemed accepted on receipt

    end = min(today, case.decided_on) if case.decided_on else today
    counted = max(0, calendar.working_days_between(accepted_on, end))
    paused = sum(paused_working_days(p, calendar, end) for p in case.pauses)
    used = max(0, counted - paused)
    left = limit - used
    deadline = case.deadline
    if deemed and deadline is None:
        deadline = calendar.add_working_days(accepted_on, limit + paused)
    phase, phase_deadline, phase_left = "decision", None, None

    if case.withdrawn or case.delivered_on is not None:
        status, phase = "stopped", "done"
    elif case.decided_on is not None:
        phase = "delivery"
        phase_deadline = calendar.add_working_days(case.decided_on, DELIVERY_DAYS)
        phase_left = DELIVERY_DAYS - max(0, calendar.working_days_between(case.decided_on, today))
        status = "red" if phase_left < 0 else "delivering"
    elif any(p.open and p.pauses for p in case.pauses):
        status = "paused"
    elif used > limit:
        status = "red"
    elif limit and used * 100 >= limit * YELLOW_PERCENT:
        status = "yellow"
    else:  # a 即办件 (limit 0) stays normal on the day of acceptance, red the next
        status = "normal"
    return ClockView(
        limit_days=limit,
        days_used=used,
        days_left=left,
        paused_days=paused,
        status=status,
        deadline=deadline,
        phase=phase,
        deemed_accepted=deemed,
        phase_deadline=phase_deadline,
        phase_days_left=phase_left,
        **common,
    )


def deadline_after_pause(deadline: date | str, paused_days: int, calendar: WorkingCalendar) -> date:
    """The deadline moved by the working days a special procedure did not count."""
    start = as_date(deadline)
    assert start is not None
    return calendar.add_working_days(start, max(0, paused_days))


def deadline_for(accepted_on: date | str, limit_days: int, calendar: WorkingCalendar) -> date:
    """The original deadline: the ``limit_days``-th working day after acceptance."""
    start = as_date(accepted_on)
    assert start is not None
    return calendar.add_working_days(start, limit_days)
