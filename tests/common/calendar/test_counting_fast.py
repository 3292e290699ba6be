"""Counting working days by look-up gives what walking day by day gives: every pair of
dates across covered and uncovered years, with the same fallback record."""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from common.calendar.workdays import WorkingCalendar

CALENDAR_YEARS = [2025, 2026]  # covered by the official schedule; 2024 and 2027 are not
dates = st.dates(min_value=date(2024, 11, 1), max_value=date(2027, 2, 28))


def walked(calendar: WorkingCalendar, a: date, b: date) -> int:
    if b < a:
        return -walked(calendar, b, a)
    count, day = 0, a
    while day < b:
        day += timedelta(days=1)
        count += calendar.is_working_day(day)
    return count


@settings(max_examples=300, deadline=None)
@given(a=dates, b=dates)
def test_the_count_is_the_walk(a: date, b: date) -> None:
    fast = WorkingCalendar.from_chinese_calendar(CALENDAR_YEARS)
    slow = WorkingCalendar.from_chinese_calendar(CALENDAR_YEARS)
    assert fast.working_days_between(a, b) == walked(slow, a, b)
    assert fast.uncovered_years_touched == slow.uncovered_years_touched
