"""What is read about the working calendar for the administrator's screens: which years
are covered and from where (published by the county, the built-in seed, or not at all),
and one year's current schedule with a day changed, as the "add a day" form publishes
it. The calendar the clocks count with is ``common.calendar.service.working_calendar``;
nothing here writes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlmodel import Session, col

from common.calendar.models import CalendarDay, PublishedYear
from common.calendar.schedule import ScheduleError, YearSchedule
from common.calendar.service import working_calendar
from common.errors import DomainError


@dataclass(frozen=True)
class YearRow:
    year: int
    state: str  # published / seeded / fallback
    source: str | None
    version: int | None = None
    holidays: int | None = None
    workdays: int | None = None

    @property
    def state_label(self) -> str:
        return {
            "published": "县级已发布",
            "seeded": "内置日历",
            "fallback": "未导入：按周一至周五计算",
        }[self.state]


def calendar_years(session: Session, today: date) -> list[YearRow]:
    """Last year, this year, next year and every year the county published, newest first."""
    calendar = working_calendar(session)
    published = {row.year: row for row in session.execute(select(PublishedYear)).scalars()}
    years = sorted({today.year - 1, today.year, today.year + 1, *published}, reverse=True)
    rows = []
    for year in years:
        row = published.get(year)
        if row is not None:
            rows.append(
                YearRow(
                    year,
                    "published",
                    row.source,
                    row.version,
                    len(json.loads(row.holidays)),
                    len(json.loads(row.workdays)),
                )
            )
        elif calendar.is_covered(year):
            rows.append(YearRow(year, "seeded", calendar.source_for(year)))
        else:
            rows.append(YearRow(year, "fallback", None))
    return rows


def year_schedule_with_day(
    session: Session, day: date, kind: str, name: str, source: str
) -> YearSchedule:
    """The year's current schedule (published, else the seed) with one day set to a
    holiday or a make-up working day; what the "add a day" form publishes as the year.

    A year nobody has entered is refused: one day would mark it covered and hide the
    Monday-Friday warning while most of its holidays are still missing."""
    if kind not in ("holiday", "workday"):
        raise DomainError("calendar.day_kind", "请选择放假或调休上班", field="kind")
    year = day.year
    row = session.get(PublishedYear, year)
    holidays: set[date]
    workdays: set[date]
    names: dict[date, str]
    if row is not None:
        holidays = {date.fromisoformat(d) for d in json.loads(row.holidays)}
        workdays = {date.fromisoformat(d) for d in json.loads(row.workdays)}
        names = {date.fromisoformat(d): n for d, n in json.loads(row.names).items()}
    elif working_calendar(session).is_covered(year):
        seeded = session.execute(
            select(CalendarDay).where(
                col(CalendarDay.day).between(date(year, 1, 1), date(year, 12, 31))
            )
        ).scalars()
        holidays, workdays, names = set(), set(), {}
        for entry in seeded:
            if not entry.is_working_day and (entry.name or entry.day.weekday() < 5):
                holidays.add(entry.day)
            elif entry.is_working_day and entry.day.weekday() >= 5:
                workdays.add(entry.day)
            else:
                continue
            if entry.name:
                names[entry.day] = entry.name
    else:
        raise DomainError(
            "calendar.year_missing", f"{year}年尚无节假日安排，请先导入全年安排", field="day"
        )
    holidays.discard(day)
    workdays.discard(day)
    (holidays if kind == "holiday" else workdays).add(day)
    names.pop(day, None)
    if name.strip():
        names[day] = name.strip()[:60]
    try:
        return YearSchedule(year, tuple(holidays), tuple(workdays), source, names)
    except ScheduleError as error:
        problem = error.problems[0]
        raise DomainError(problem.code, problem.message, field="day") from None
