"""The case clocks as pure functions: examples on the real 2026 schedule, properties
with hypothesis, and the Monday-Friday fallback for 2027 (no schedule published yet)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from common.calendar import WorkingCalendar
from common.cases.clock import (
    ClockInput,
    Pause,
    clock_input,
    clock_status,
    deadline_after_pause,
    deadline_for,
    pauses_clock,
)

OFFICIAL = WorkingCalendar.from_chinese_calendar()
D = date

days = st.dates(min_value=D(2025, 1, 1), max_value=D(2027, 6, 30))
limits = st.integers(min_value=0, max_value=60)
spans = st.integers(min_value=0, max_value=90)


def running(accepted: date, limit: int, *pauses: Pause, extension: int = 0) -> ClockInput:
    deadline = deadline_for(accepted, limit + extension, OFFICIAL)
    for pause in pauses:
        if not pause.open:
            deadline = deadline_after_pause(deadline, pause.paused_days, OFFICIAL)
    return ClockInput(
        filed_on=accepted,
        accepted_on=accepted,
        limit_days=limit,
        extension_days=extension,
        deadline=deadline,
        pauses=tuple(pauses),
    )


def closed(start: date, end: date, kind: int = 2) -> Pause:
    return Pause(start, end, OFFICIAL.working_days_between(start, end) if kind == 2 else 0, kind)


# -- examples ------------------------------------------------------------------------


def test_status_goes_normal_yellow_red_on_the_2026_calendar():
    case = running(D(2026, 3, 2), 5)  # Monday; day 1 is Tuesday
    assert case.deadline == D(2026, 3, 9)
    view = clock_status(case, OFFICIAL, D(2026, 3, 5))
    assert (view.days_used, view.days_left, view.status) == (3, 2, "normal")
    assert clock_status(case, OFFICIAL, D(2026, 3, 6)).status == "yellow"  # 4 of 5 = 80%
    assert clock_status(case, OFFICIAL, D(2026, 3, 8)).days_used == 4  # Sunday
    last_day = clock_status(case, OFFICIAL, D(2026, 3, 9))
    assert (last_day.days_used, last_day.days_left, last_day.status) == (5, 0, "yellow")
    late = clock_status(case, OFFICIAL, D(2026, 3, 10))
    assert (late.days_left, late.status, late.status_label) == (-1, "red", "超期")


def test_acceptance_day_does_not_count_and_holidays_do_not_either():
    case = running(D(2026, 9, 30), 3)  # National Day week follows
    assert clock_status(case, OFFICIAL, D(2026, 10, 7)).days_used == 0
    assert case.deadline == D(2026, 10, 10)  # 10-08, 10-09 and Saturday 10-10 (调休)
    assert clock_status(case, OFFICIAL, D(2026, 10, 11)).days_used == 3


def test_a_decision_stops_the_clock_and_starts_the_delivery_window():
    """§44: the result is issued and delivered within 10 working days of the decision."""
    case = ClockInput(
        filed_on=D(2026, 3, 1),
        accepted_on=D(2026, 3, 2),
        limit_days=5,
        deadline=D(2026, 3, 9),
        decided_on=D(2026, 3, 4),
    )
    view = clock_status(case, OFFICIAL, D(2026, 3, 6))
    assert (view.days_used, view.days_left, view.status, view.status_label) == (
        2,
        3,
        "delivering",
        "待送达",
    )
    assert (view.phase, view.phase_deadline, view.phase_days_left) == (
        "delivery",
        D(2026, 3, 18),
        8,
    )
    late = clock_status(case, OFFICIAL, D(2026, 4, 30))
    assert (late.days_used, late.status, late.phase, late.phase_days_left < 0) == (
        2,
        "red",
        "delivery",
        True,
    )
    delivered = clock_status(replace(case, delivered_on=D(2026, 3, 5)), OFFICIAL, D(2026, 4, 30))
    assert (delivered.days_used, delivered.status, delivered.status_label) == (
        2,
        "stopped",
        "已停止计时",
    )


def test_acceptance_within_five_working_days_or_deemed_accepted_on_filing():
    """§32: accept, refuse or give the one-time notice within 5 working days; past them
    without any, the case counts as accepted on the day it was filed."""
    filed = ClockInput(filed_on=D(2026, 3, 2), limit_days=20)
    fresh = clock_status(filed, OFFICIAL, D(2026, 3, 4))
    assert (fresh.status, fresh.phase, fresh.phase_days_left) == ("not_started", "acceptance", 3)
    assert fresh.phase_deadline == D(2026, 3, 9)
    near = clock_status(filed, OFFICIAL, D(2026, 3, 6))  # 4 of the 5 days used
    assert (near.status, near.phase_days_left) == ("yellow", 1)
    deemed = clock_status(filed, OFFICIAL, D(2026, 4, 30))  # 2026-03-02 was a Monday
    assert (deemed.deemed_accepted, deemed.phase) == (True, "decision")
    assert deemed.days_used == OFFICIAL.working_days_between(D(2026, 3, 2), D(2026, 4, 30))
    assert deemed.status == "red" and "依法视为受理" in deemed.status_label
    notified = clock_status(replace(filed, notified_on=D(2026, 3, 3)), OFFICIAL, D(2026, 4, 30))
    assert (notified.status, notified.deemed_accepted, notified.phase_days_left) == (
        "not_started",
        False,
        None,
    )


def test_a_withdrawn_case_stops_its_clock():
    class Withdrawn:
        state, filed_on, accepted_on, limit_days, deadline = (
            "withdrawn",
            "2026-03-02",
            "2026-03-02",
            5,
            "2026-03-09",
        )

    assert clock_status(Withdrawn(), OFFICIAL, D(2026, 3, 30)).status == "stopped"


def test_an_open_special_procedure_pauses_and_its_end_moves_the_deadline():
    accepted = D(2026, 3, 2)
    hearing = Pause(D(2026, 3, 4), None)
    paused = clock_status(running(accepted, 5, hearing), OFFICIAL, D(2026, 3, 20))
    assert (paused.status, paused.days_used, paused.paused_days) == ("paused", 2, 12)
    ended = running(accepted, 5, closed(D(2026, 3, 4), D(2026, 3, 11)))
    assert ended.deadline == D(2026, 3, 16)  # 03-09 moved by 5 working days
    view = clock_status(ended, OFFICIAL, D(2026, 3, 12))
    assert (view.days_used, view.days_left, view.status) == (3, 2, "normal")


def test_an_extension_request_does_not_stop_the_clock():
    request = Pause(D(2026, 3, 3), None, kind=1)
    view = clock_status(running(D(2026, 3, 2), 5, request), OFFICIAL, D(2026, 3, 6))
    assert (view.status, view.days_used) == ("yellow", 4)


def test_an_extension_adds_to_the_limit():
    view = clock_status(running(D(2026, 3, 2), 5, extension=10), OFFICIAL, D(2026, 3, 10))
    assert (view.limit_days, view.days_used, view.days_left, view.status) == (15, 6, 9, "normal")


def test_an_immediate_case_is_due_on_the_day_of_acceptance():
    case = running(D(2026, 3, 2), 0)
    assert clock_status(case, OFFICIAL, D(2026, 3, 2)).status == "normal"
    assert clock_status(case, OFFICIAL, D(2026, 3, 3)).status == "red"


def test_the_residents_wait_counts_from_filing_to_delivery():
    case = ClockInput(
        filed_on=D(2026, 2, 13),
        accepted_on=D(2026, 2, 13),
        limit_days=5,
        deadline=D(2026, 2, 27),
        decided_on=D(2026, 2, 25),
        delivered_on=D(2026, 2, 26),
    )
    view = clock_status(case, OFFICIAL, D(2026, 6, 1))
    assert (view.wait_calendar_days, view.wait_working_days) == (13, 4)  # 02-14, 24, 25, 26
    waiting = clock_status(ClockInput(filed_on=D(2026, 3, 2)), OFFICIAL, D(2026, 3, 9))
    assert (waiting.status, waiting.wait_calendar_days, waiting.wait_working_days) == (
        "yellow",  # the fifth working day to accept (§32)
        7,
        5,
    )


def test_a_deadline_crossing_into_2027_uses_the_monday_to_friday_fallback():
    case = running(D(2026, 12, 28), 10)
    # 12-29, 30, 31 in 2026; then 2027 counted Monday-Friday: 01-01 (a Friday) counts.
    assert case.deadline == D(2027, 1, 11)
    view = clock_status(case, OFFICIAL, D(2027, 1, 4))
    assert (view.days_used, view.days_left) == (5, 5)
    assert view.fallback_years == (2027,)
    assert clock_status(running(D(2026, 3, 2), 5), OFFICIAL, D(2026, 3, 3)).fallback_years == ()


def test_case_rows_and_procedure_rows_are_read_alike():
    class Row:
        filed_on, accepted_on, limit_days, extension_days = "2026-03-02", "2026-03-02", 5, 0
        deadline, decided_on, delivered_on = "2026-03-16", None, None

    class Procedure:
        started_on, ended_on, paused_days, kind = "2026-03-04", "2026-03-11", 5, 2

    view = clock_status(Row(), OFFICIAL, D(2026, 3, 12), [Procedure()])
    assert view.as_dict()["deadline"] == "2026-03-16"
    assert (view.days_used, view.days_left) == (3, 2)
    assert clock_input(Row(), [Procedure()]).pauses[0].paused_days == 5


# -- properties ----------------------------------------------------------------------


@given(accepted=days, limit=limits, ahead=spans, extension=st.integers(0, 15))
def test_used_plus_left_is_the_limit_while_running(accepted, limit, ahead, extension):
    view = clock_status(
        running(accepted, limit, extension=extension), OFFICIAL, accepted + timedelta(ahead)
    )
    assert view.days_used + view.days_left == limit + extension
    assert view.status in {"normal", "yellow", "red"}
    assert (view.status == "red") == (view.days_left < 0)


@given(accepted=days, limit=limits, ahead=spans)
def test_days_left_counts_working_days_to_the_deadline(accepted, limit, ahead):
    today = accepted + timedelta(ahead)
    case = running(accepted, limit)
    assert clock_status(case, OFFICIAL, today).days_left == OFFICIAL.working_days_between(
        today, case.deadline
    )


@settings(max_examples=200)
@given(accepted=days, limit=limits, start=spans, length=spans, after=spans)
def test_a_closed_pause_keeps_days_left_equal_to_the_moved_deadline(
    accepted, limit, start, length, after
):
    begin = accepted + timedelta(start)
    end = begin + timedelta(length)
    today = end + timedelta(after)
    case = running(accepted, limit, closed(begin, end))
    view = clock_status(case, OFFICIAL, today)
    assert view.days_left == OFFICIAL.working_days_between(today, case.deadline)
    assert view.days_used + view.days_left == limit


@settings(max_examples=200)
@given(
    accepted=days,
    limit=limits,
    start=spans,
    length=spans,
    kind=st.sampled_from([1, 2]),
    is_open=st.booleans(),
)
def test_pausing_never_makes_days_used_grow(accepted, limit, start, length, kind, is_open):
    begin = accepted + timedelta(start)
    today = begin + timedelta(length)
    pause = Pause(begin, None, kind=kind) if is_open else closed(begin, today, kind)
    plain = clock_status(running(accepted, limit), OFFICIAL, today)
    with_pause = clock_status(running(accepted, limit, pause), OFFICIAL, today)
    assert with_pause.days_used <= plain.days_used
    if kind == 2:  # the clock stood still from the start of the procedure
        assert (
            with_pause.days_used
            == clock_status(running(accepted, limit), OFFICIAL, begin).days_used
        )


@given(accepted=days, limit=limits, first=spans, second=spans)
def test_days_used_never_decreases_over_time(accepted, limit, first, second):
    case = running(accepted, limit, Pause(accepted + timedelta(first), None))
    earlier = accepted + timedelta(min(first, second))
    later = accepted + timedelta(max(first, second))
    assert (
        clock_status(case, OFFICIAL, earlier).days_used
        <= clock_status(case, OFFICIAL, later).days_used
    )


@given(deadline=days, paused=st.integers(0, 40))
def test_deadline_after_pause_adds_working_days(deadline, paused):
    moved = deadline_after_pause(deadline.isoformat(), paused, OFFICIAL)
    assert OFFICIAL.working_days_between(deadline, moved) == paused
    assert moved >= deadline
    assume(paused > 0)
    assert OFFICIAL.is_working_day(moved)


@given(start=st.dates(min_value=D(2026, 11, 1), max_value=D(2026, 12, 31)), n=st.integers(20, 60))
def test_deadlines_into_2027_count_monday_to_friday(start, n):
    deadline = deadline_for(start, n, OFFICIAL)
    assume(deadline.year == 2027)
    assert OFFICIAL.is_working_day(deadline) and deadline.weekday() < 5
    jan_first = D(2027, 1, 1)
    in_2027 = sum(
        1
        for k in range((deadline - jan_first).days + 1)
        if (jan_first + timedelta(k)).weekday() < 5
    )
    assert OFFICIAL.working_days_between(start, D(2026, 12, 31)) + in_2027 == n
    view = clock_status(running(start, n), OFFICIAL, start)
    assert 2027 in view.fallback_years


def test_only_the_kinds_of_section_45_pause_the_clock():
    """现场勘查 (§34) and "other" count toward the limit; a kind-only Pause (no subkind)
    is judged by its kind, as before."""
    accepted = D(2026, 3, 2)
    for subkind, status in (
        ("inspection", "normal"),
        ("other", "normal"),
        ("hearing", "paused"),
        ("quarantine", "paused"),
        (None, "paused"),
    ):
        case = running(accepted, 10, Pause(D(2026, 3, 3), None, subkind=subkind))
        view = clock_status(case, OFFICIAL, D(2026, 3, 5))
        assert (view.status, view.paused_days) == (status, 0 if status == "normal" else 2), subkind
    assert not pauses_clock(1, "extension") and pauses_clock(2, "test")
    assert not pauses_clock(2, "inspection") and not pauses_clock(2, "other")
    # An ended procedure keeps the days its signed end recorded (and moved the deadline by).
    old = Pause(D(2026, 3, 3), D(2026, 3, 5), 2, subkind="inspection")
    assert clock_status(running(accepted, 10, old), OFFICIAL, D(2026, 3, 6)).paused_days == 2
