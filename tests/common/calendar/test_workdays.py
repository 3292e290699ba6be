"""Working-day arithmetic against the real 2026 schedule and the 2027 fallback."""

from datetime import UTC, date, datetime, timedelta

import chinese_calendar
import pytest
from hypothesis import given
from hypothesis import strategies as st

from common.calendar import ScheduleError, WorkingCalendar, local_date

OFFICIAL = WorkingCalendar.from_chinese_calendar()
MON_FRI = WorkingCalendar()
D = date


def test_covered_range_is_found_from_the_package():
    assert OFFICIAL.covered_years == frozenset(range(2004, 2027))
    assert OFFICIAL.source_for(2026) == "chinesecalendar 1.11.0"
    assert OFFICIAL.source_for(2027) is None
    with pytest.raises(NotImplementedError):  # why the fallback exists
        chinese_calendar.is_workday(D(2027, 1, 4))


def test_2026_new_year_and_spring_festival_with_make_up_days():
    assert not OFFICIAL.is_working_day(D(2026, 1, 2))  # Friday, New Year
    assert OFFICIAL.is_working_day(D(2026, 1, 4))  # Sunday, 调休
    assert OFFICIAL.is_working_day(D(2026, 2, 14))  # Saturday before Spring Festival
    assert not any(OFFICIAL.is_working_day(D(2026, 2, day)) for day in range(15, 24))
    assert OFFICIAL.is_working_day(D(2026, 2, 24))
    assert OFFICIAL.is_working_day(D(2026, 2, 28))  # Saturday after
    assert not OFFICIAL.is_working_day(D(2026, 3, 7))  # an ordinary Saturday


def test_counting_starts_the_day_after_acceptance():
    assert OFFICIAL.add_working_days(D(2026, 2, 13), 0) == D(2026, 2, 13)
    assert OFFICIAL.add_working_days(D(2026, 2, 13), 1) == D(2026, 2, 14)
    assert OFFICIAL.add_working_days(D(2026, 2, 13), 2) == D(2026, 2, 24)
    assert OFFICIAL.next_working_day(D(2026, 2, 14)) == D(2026, 2, 24)
    assert OFFICIAL.working_days_between(D(2026, 2, 13), D(2026, 2, 24)) == 2


def test_twenty_day_decision_limit_across_spring_festival():
    # 行政许可法 §42: accepted Tuesday 10 February 2026.
    deadline = OFFICIAL.add_working_days(D(2026, 2, 10), 20)
    assert deadline == D(2026, 3, 16)
    assert len(chinese_calendar.get_workdays(D(2026, 2, 11), deadline)) == 20


def test_deadline_crossing_into_uncovered_2027_falls_back_and_reports_it():
    calendar = WorkingCalendar.from_chinese_calendar()
    assert calendar.add_working_days(D(2026, 12, 24), 5) == D(2026, 12, 31)
    assert not calendar.used_fallback  # stopping on 31 December never looked at 2027

    deadline = calendar.add_working_days(D(2026, 12, 25), 5)
    assert deadline == D(2027, 1, 1)  # Monday-Friday guess; New Year not yet known
    assert calendar.uncovered_years_touched == {2027} and calendar.used_fallback
    assert "2027年" in calendar.fallback_notice()
    assert calendar.uncovered_years_between(D(2026, 12, 25), deadline) == {2027}

    # Once the 2027 schedule is entered (hypothetical here) the deadline moves.
    updated = calendar.with_year(2027, holidays=[D(2027, 1, 1)], workdays=[])
    assert updated.add_working_days(D(2026, 12, 25), 5) == D(2027, 1, 4)
    assert not updated.used_fallback and updated.fallback_notice() is None


def test_plain_calendar_is_monday_to_friday_and_records_every_year():
    assert MON_FRI.add_working_days(D(2030, 5, 3), 1) == D(2030, 5, 6)
    assert {2030} <= MON_FRI.uncovered_years_touched


def test_with_year_replaces_an_earlier_entry_and_validates():
    corrected = OFFICIAL.with_year(2026, holidays=[D(2026, 1, 1)], workdays=[], source="更正")
    assert corrected.is_working_day(D(2026, 2, 16)) and corrected.source_for(2026) == "更正"
    assert not OFFICIAL.is_working_day(D(2026, 2, 16))  # the original is untouched
    with pytest.raises(ScheduleError) as info:
        OFFICIAL.with_year(2027, holidays=[], workdays=[D(2027, 2, 3)])
    assert info.value.code == "schedule.workday_not_weekend"


def test_from_chinese_calendar_subset_and_unknown_year():
    only_2026 = WorkingCalendar.from_chinese_calendar(years=[2026])
    assert only_2026.covered_years == {2026}
    assert only_2026.is_working_day(D(2025, 10, 1))  # 2025 not loaded: Monday-Friday
    assert only_2026.uncovered_years_touched == {2025}
    with pytest.raises(ValueError, match="2027"):
        WorkingCalendar.from_chinese_calendar(years=[2026, 2027])


def test_rejects_misuse():
    with pytest.raises(ValueError):
        WorkingCalendar({D(2027, 1, 1): False}, covered_years=[2026])
    with pytest.raises(ValueError):
        OFFICIAL.add_working_days(D(2026, 1, 5), -1)
    with pytest.raises(TypeError):
        OFFICIAL.is_working_day(datetime(2026, 1, 5, tzinfo=UTC))


def test_local_date_uses_shanghai():
    assert local_date(datetime(2026, 2, 13, 17, 0, tzinfo=UTC)) == D(2026, 2, 14)
    with pytest.raises(ValueError):
        local_date(datetime(2026, 2, 13, 17, 0))


def test_between_is_signed():
    assert OFFICIAL.working_days_between(D(2026, 2, 24), D(2026, 2, 13)) == -2
    assert OFFICIAL.working_days_between(D(2026, 2, 24), D(2026, 2, 24)) == 0


calendars = st.sampled_from([OFFICIAL, MON_FRI])
starts = st.dates(min_value=D(2004, 1, 1), max_value=D(2027, 12, 31))


@given(calendar=calendars, start=starts, n=st.integers(0, 250))
def test_round_trip(calendar, start, n):
    end = calendar.add_working_days(start, n)
    assert calendar.working_days_between(start, end) == n
    if n >= 1:
        assert calendar.is_working_day(end)
        # and nothing earlier would do: the day before the end is n-1 working days in
        assert calendar.working_days_between(start, end - timedelta(days=1)) == n - 1


@given(
    start=st.dates(min_value=D(2004, 1, 1), max_value=D(2026, 11, 30)), length=st.integers(0, 40)
)
def test_agrees_with_chinese_calendar_where_it_has_data(start, length):
    end = start + timedelta(days=length)
    expected = len(chinese_calendar.get_workdays(start + timedelta(days=1), end)) if length else 0
    assert OFFICIAL.working_days_between(start, end) == expected


@given(day=starts)
def test_next_working_day_skips_only_days_off(day):
    following = OFFICIAL.next_working_day(day)
    gap = (following - day).days
    assert all(not OFFICIAL.is_working_day(day + timedelta(days=i)) for i in range(1, gap))
