"""Working days: which days count for statutory time limits, and how to add them.

Owns the working-day arithmetic (``WorkingCalendar``, workdays.py) and the official
year schedules of holidays and make-up working days it is built from
(``YearSchedule`` and its CSV/JSON parsers, schedule.py). Those two modules are pure:
no database, no clock, so deadlines can be computed and tested anywhere.

The other modules store and serve them (import them directly; this package stays
light and imports no database code):

- ``models``: ``CalendarDay`` (local, seeded at init from ``chinesecalendar``) and
  ``PublishedYear`` (projection of the root-signed ``calendar`` record).
- ``projection``: applies ``calendar.year_published``; a later record for a year
  replaces the earlier one.
- ``service``: ``seed_calendar_days``, ``import_year_schedule`` (county admin, root
  only), ``working_calendar`` (cached per engine) and its session wrappers,
  ``calendar_status`` with the warnings for years nobody has imported yet.
- ``router``: ``/api/v1/calendar`` (status, days, add, between, POST years).
- ``cli``: ``onetrip calendar import|status|add``.
"""

from common.calendar.schedule import (
    Problem,
    ScheduleError,
    YearSchedule,
    parse_year_schedule_csv,
    parse_year_schedule_json,
)
from common.calendar.workdays import WorkingCalendar, local_date

__all__ = [
    "Problem",
    "ScheduleError",
    "WorkingCalendar",
    "YearSchedule",
    "local_date",
    "parse_year_schedule_csv",
    "parse_year_schedule_json",
]
