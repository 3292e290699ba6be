"""Working-day arithmetic for statutory time limits (行政许可法 §82: working days).

Pure logic, no database. A ``WorkingCalendar`` knows, for each *covered* year, the
official exceptions to Monday-Friday: holidays (False) and make-up working days
(调休, True). For a year nobody has entered yet it falls back to Monday-Friday,
never crashes, and remembers that it did, so the caller can tell people that a
deadline may move once the State Council publishes that year's schedule.

Counting convention: the day of acceptance does not count; day 1 is the next
working day. ``add_working_days(accepted_on, 20)`` is the 20-working-day deadline.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime, timedelta
from importlib.metadata import PackageNotFoundError, version

from common.calendar.schedule import YearSchedule
from common.timeutil import SHANGHAI

_ONE_DAY = timedelta(days=1)


def local_date(moment: datetime) -> date:
    """The Asia/Shanghai calendar date of an aware moment (acceptance happens at one)."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime: the calendar day would be ambiguous")
    return moment.astimezone(SHANGHAI).date()


def _plain_date(d: date) -> date:
    # datetime is a date subclass; letting one through would silently use its
    # own (possibly UTC) calendar day instead of Shanghai's.
    if isinstance(d, datetime) or not isinstance(d, date):
        raise TypeError("expected a datetime.date; convert moments with local_date()")
    return d


class WorkingCalendar:
    """Working days from explicit overrides for covered years, Monday-Friday otherwise.

    Instances are immutable apart from ``uncovered_years_touched``, which collects
    every uncovered year a computation looked at (the fallback record).
    """

    def __init__(
        self,
        overrides: Mapping[date, bool] | None = None,
        covered_years: Iterable[int] = (),
        sources: Mapping[int, str] | None = None,
    ) -> None:
        self.covered_years: frozenset[int] = frozenset(covered_years)
        stray = sorted({d.year for d in (overrides or {})} - self.covered_years)
        if stray:
            # An override in an uncovered year would be half a schedule: refuse it.
            raise ValueError(f"overrides for years not marked covered: {stray}")
        self._overrides: dict[date, bool] = dict(overrides or {})
        self._sources: dict[int, str] = dict(sources or {})
        self.uncovered_years_touched: set[int] = set()
        # Per year: working days from 1 January through each day (index: day of year),
        # so that counting between two dates costs two look-ups, not a walk.
        self._through: dict[int, list[int]] = {}

    # -- construction -------------------------------------------------------------

    @classmethod
    def from_chinese_calendar(cls, years: Iterable[int] | None = None) -> WorkingCalendar:
        """Seed from the ``chinesecalendar`` package for the years it covers
        (all of them by default; asking for a year it lacks is a ValueError)."""
        from chinese_calendar import constants

        known = {d.year for d in constants.holidays} | {d.year for d in constants.workdays}
        wanted = set(known if years is None else years)
        missing = sorted(wanted - known)
        if missing:
            raise ValueError(
                f"chinesecalendar has no schedule for {missing}; it covers "
                f"{min(known)}-{max(known)}"
            )
        overrides = {d: False for d in constants.holidays if d.year in wanted}
        overrides.update({d: True for d in constants.workdays if d.year in wanted})
        try:
            source = f"chinesecalendar {version('chinesecalendar')}"
        except PackageNotFoundError:  # vendored copy without metadata
            source = "chinesecalendar"
        return cls(overrides, wanted, {y: source for y in wanted})

    def with_schedule(self, schedule: YearSchedule) -> WorkingCalendar:
        """A new calendar with ``schedule``'s year covered, replacing any earlier
        entry for that year (corrections are published occasionally)."""
        overrides = {d: w for d, w in self._overrides.items() if d.year != schedule.year}
        overrides.update({d: False for d in schedule.holidays})
        overrides.update({d: True for d in schedule.workdays})
        sources = {**self._sources, schedule.year: schedule.source}
        return WorkingCalendar(overrides, self.covered_years | {schedule.year}, sources)

    def with_year(
        self, year: int, holidays: Iterable[date], workdays: Iterable[date], source: str = "manual"
    ) -> WorkingCalendar:
        """Shorthand for ``with_schedule``; raises ScheduleError on a bad schedule."""
        return self.with_schedule(YearSchedule(year, tuple(holidays), tuple(workdays), source))

    # -- queries ------------------------------------------------------------------

    def is_covered(self, year: int) -> bool:
        return year in self.covered_years

    def source_for(self, year: int) -> str | None:
        """Where the year's schedule came from, for audit; None if uncovered."""
        return self._sources.get(year) if year in self.covered_years else None

    def is_working_day(self, d: date) -> bool:
        d = _plain_date(d)
        if d.year not in self.covered_years:
            self.uncovered_years_touched.add(d.year)
            return d.weekday() < 5
        return self._overrides.get(d, d.weekday() < 5)

    def add_working_days(self, start: date, n: int) -> date:
        """The n-th working day after ``start`` (start itself never counts); n=0 -> start."""
        start = _plain_date(start)
        if isinstance(n, bool) or not isinstance(n, int) or n < 0:
            raise ValueError("n must be a non-negative integer")
        day = start
        while n:
            day += _ONE_DAY
            if self.is_working_day(day):
                n -= 1
        return day

    def next_working_day(self, d: date) -> date:
        """The first working day strictly after ``d``."""
        return self.add_working_days(d, 1)

    def working_days_between(self, a: date, b: date) -> int:
        """Working days d with a < d <= b; negative (the mirror count) if b < a,
        so an overdue case reads as a negative remainder."""
        a, b = _plain_date(a), _plain_date(b)
        if b < a:
            return -self.working_days_between(b, a)
        if a == b:
            return 0
        for year in range((a + _ONE_DAY).year, b.year + 1):  # the years of the days counted
            if year not in self.covered_years:
                self.uncovered_years_touched.add(year)
        if a.year == b.year:
            through = self._year_through(a.year)
            return through[b.timetuple().tm_yday] - through[a.timetuple().tm_yday]
        count = self._year_through(a.year)[-1] - self._year_through(a.year)[a.timetuple().tm_yday]
        for year in range(a.year + 1, b.year):
            count += self._year_through(year)[-1]
        return count + self._year_through(b.year)[b.timetuple().tm_yday]

    def _year_through(self, year: int) -> list[int]:
        """[0, working days 1 Jan..1 Jan, 1 Jan..2 Jan, ...] of ``year`` (no fallback
        record: the caller notes the years it counts)."""
        through = self._through.get(year)
        if through is None:
            day, through = date(year, 1, 1), [0]
            covered = year in self.covered_years
            while day.year == year:
                weekday = day.weekday() < 5
                through.append(
                    through[-1] + (self._overrides.get(day, weekday) if covered else weekday)
                )
                day += _ONE_DAY
            self._through[year] = through
        return through

    # -- fallback reporting -------------------------------------------------------

    @property
    def used_fallback(self) -> bool:
        return bool(self.uncovered_years_touched)

    def uncovered_years_between(self, a: date, b: date) -> set[int]:
        """Uncovered years in [a, b]: the per-computation (thread-safe) form of
        ``uncovered_years_touched`` for calendars shared between requests."""
        lo, hi = sorted((_plain_date(a), _plain_date(b)))
        return {y for y in range(lo.year, hi.year + 1) if y not in self.covered_years}

    def fallback_notice(self, years: Iterable[int] | None = None) -> str | None:
        """Chinese notice for people about estimated dates, or None if none."""
        touched = sorted(self.uncovered_years_touched if years is None else years)
        if not touched:
            return None
        listed = "、".join(f"{y}年" for y in touched)
        return f"{listed}的法定节假日安排尚未录入，暂按周一至周五计算工作日，期限日期可能调整"
