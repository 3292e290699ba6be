"""Calendar action functions and queries.

``seed_calendar_days`` fills the local ``calendar_days`` table from the
``chinesecalendar`` package at init. ``import_year_schedule`` is the county
administrator's command: one root-signed ``calendar.year_published`` event, which
travels to every node and overrides the seed for its year. ``working_calendar``
builds the ``WorkingCalendar`` every deadline is computed with: cheap enough to call
per request because its inputs are cached per engine and checked against the tables
on every call (two small queries), so a new record or a rollback is never missed.
"""

from __future__ import annotations

import json
import logging
import threading
import weakref
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.engine import Connection, Engine
from sqlmodel import Session, col

from common.calendar.models import SEED_SOURCE, CalendarDay, PublishedYear, schedule_json
from common.calendar.projection import CALENDAR_SUBJECT, YEAR_PUBLISHED
from common.calendar.schedule import (
    Problem,
    ScheduleError,
    YearSchedule,
    load_schedule_json,
    parse_year_schedule_csv,
    parse_year_schedule_json,
)
from common.calendar.workdays import WorkingCalendar
from common.errors import Conflict, DomainError, Forbidden
from common.ledger.canonical import normalise
from common.ledger.envelope import SignedEvent
from common.ledger.service import subject_head
from common.node import ThisNode
from common.users.roles import Actor, Role, require_role

log = logging.getLogger("onetrip.calendar")

MAX_DAYS_LISTED = 400
MAX_SOURCE_CHARS = 300
_ONE_DAY = timedelta(days=1)


class ScheduleRejected(DomainError):
    """A schedule upload with problems; the answer lists every one with its location."""

    status_code = 422

    def __init__(self, problems: list[Problem]) -> None:
        first = problems[0]
        super().__init__(
            "calendar.schedule_invalid",
            f"节假日安排有{len(problems)}处问题，首个：{first.location} {first.message}",
            field=first.location,
        )
        self.problems = problems

    def as_dict(self) -> dict[str, Any]:
        return {**super().as_dict(), "problems": [p._asdict() for p in self.problems]}


# -- seeding ----------------------------------------------------------------------


def _seed_rows() -> list[dict[str, Any]]:
    """One row per day of every year the package covers, with the holiday's name."""
    from chinese_calendar import constants

    chinese = {h.value: h.chinese for h in constants.Holiday}
    package = WorkingCalendar.from_chinese_calendar()
    rows = []
    for year in sorted(package.covered_years):
        day = date(year, 1, 1)
        while day.year == year:
            name = None
            if day in constants.holidays:
                name = chinese.get(constants.holidays[day], constants.holidays[day])
            elif day in constants.workdays:
                name = f"{chinese.get(constants.workdays[day], constants.workdays[day])}调休上班"
            rows.append(
                {
                    "day": day,
                    "is_working_day": package.is_working_day(day),
                    "name": name,
                    "source": SEED_SOURCE,
                }
            )
            day += _ONE_DAY
    return rows


def seed_calendar_days(session: Session) -> int:
    """Insert the package's days that are missing, correct any that differ (a newer
    package); returns how many rows changed. Idempotent."""
    table = CalendarDay.__table__  # type: ignore[attr-defined]
    existing = {
        day: (working, name)
        for day, working, name in session.execute(
            select(table.c.day, table.c.is_working_day, table.c.name)
        )
    }
    rows = _seed_rows()
    new = [r for r in rows if r["day"] not in existing]
    changed = [
        r
        for r in rows
        if r["day"] in existing and existing[r["day"]] != (r["is_working_day"], r["name"])
    ]
    if new:
        session.execute(insert(table), new)
    for row in changed:  # rare: only after upgrading chinesecalendar
        session.execute(
            update(table)
            .where(table.c.day == row["day"])
            .values(is_working_day=row["is_working_day"], name=row["name"])
        )
    if new or changed:
        _forget(session)
    return len(new) + len(changed)


# -- publishing a year --------------------------------------------------------------


def check_may_publish(node: ThisNode, actor: Actor) -> None:
    require_role(actor, Role.COUNTY_ADMIN)
    if not node.is_root:
        raise Forbidden("calendar.not_root", "只有根节点（县级）可以发布节假日安排", field="node")


def _year_body(schedule: YearSchedule, source: str) -> dict[str, Any]:
    body: dict[str, Any] = normalise(
        {
            "year": schedule.year,
            "holidays": [d.isoformat() for d in schedule.holidays],
            "workdays": [d.isoformat() for d in schedule.workdays],
            "names": {d.isoformat(): n for d, n in sorted(schedule.names.items()) if n},
            "source": source,
        }
    )
    return body


def import_year_schedule(
    session: Session, node: ThisNode, actor: Actor, schedule: YearSchedule, source_text: str
) -> SignedEvent:
    """Publish one year's official schedule as a root-signed record (county admin)."""
    check_may_publish(node, actor)
    body = _year_body(schedule, (source_text or "").strip())
    if not body["source"] or len(body["source"]) > MAX_SOURCE_CHARS:
        raise DomainError(
            "calendar.source",
            "请填写安排的出处（如国务院办公厅通知的标题，300字以内）",
            field="source",
        )
    current = session.execute(
        select(
            col(PublishedYear.source),
            col(PublishedYear.holidays),
            col(PublishedYear.workdays),
            col(PublishedYear.names),
        ).where(col(PublishedYear.year) == schedule.year)
    ).first()
    wanted = (
        body["source"],
        schedule_json(body["holidays"]),
        schedule_json(body["workdays"]),
        schedule_json(body["names"]),
    )
    if current is not None and tuple(current) == wanted:
        raise Conflict(
            "calendar.unchanged", f"{schedule.year}年的节假日安排与已发布的版本相同", field="year"
        )
    return node.append(session, CALENDAR_SUBJECT, YEAR_PUBLISHED, body)


def schedule_format(filename: str | None, content_type: str | None, content: bytes) -> str:
    """Which parser an upload needs ("csv" or "json"): by file extension, then by
    content type, then by its first character."""
    name = filename or ""
    suffix = name.rsplit(".", 1)[1].lower() if "." in name else ""
    if suffix in ("csv", "json"):
        return suffix
    if suffix and suffix != "txt":
        raise DomainError(
            "calendar.file_type", f"不支持的文件类型 .{suffix}，请上传CSV或JSON文件", field="file"
        )
    if content_type and "json" in content_type:
        return "json"
    if content_type and "csv" in content_type:
        return "csv"
    return "json" if content.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] == b"{" else "csv"


def _decode(content: bytes) -> str:
    # Excel on Chinese Windows saves CSV as GBK; GB18030 is its superset.
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return content.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise ScheduleRejected(
        [Problem("schedule.encoding", "全部", "文件编码无法识别，请另存为UTF-8")]
    )


def read_year_schedule(
    content: bytes | str | Mapping[str, Any], fmt: str, source: str | None = None
) -> YearSchedule:
    """Parse an upload; ``source`` defaults to a JSON document's own ``"source"``.

    Raises ScheduleRejected listing every problem, the missing source among them."""
    problems: list[Problem] = []
    schedule: YearSchedule | None = None
    if isinstance(content, bytes):
        content = _decode(content)
    if fmt == "json" and isinstance(content, str):
        try:
            content = load_schedule_json(content)
        except ScheduleError as exc:  # nothing else can be checked: refuse with this alone
            raise ScheduleRejected(exc.problems) from None
    if fmt == "json" and isinstance(content, Mapping) and not source:
        source = content.get("source") if isinstance(content.get("source"), str) else None
    source = (source or "").strip()
    try:
        if fmt == "csv":
            schedule = parse_year_schedule_csv(str(content), source=source)
        else:
            schedule = parse_year_schedule_json(content, source=source)  # type: ignore[arg-type]
    except ScheduleError as exc:
        problems += exc.problems
    if not source or len(source) > MAX_SOURCE_CHARS:
        problems.append(
            Problem(
                "calendar.source",
                "source",
                "请填写安排的出处（如国务院办公厅通知的标题，300字以内）",
            )
        )
    if problems:
        raise ScheduleRejected(problems)
    assert schedule is not None
    return schedule


# -- the working calendar -----------------------------------------------------------


@dataclass(frozen=True)
class _Basis:
    """What a WorkingCalendar is built from; shared, never mutated."""

    overrides: dict[date, bool]
    covered: frozenset[int]
    sources: dict[int, str]
    published: tuple[int, ...]
    invalid: tuple[int, ...]  # published years whose record failed validation


# Keyed by the session's bind: an Engine, or a Connection when a session is bound to one.
_CACHE: weakref.WeakKeyDictionary[Engine | Connection, tuple[tuple[Any, ...], _Basis]] = (
    weakref.WeakKeyDictionary()
)
_CACHE_LOCK = threading.Lock()


def _forget(session: Session) -> None:
    with _CACHE_LOCK:
        _CACHE.pop(session.get_bind(), None)


def _state(session: Session) -> tuple[tuple[Any, ...], list[tuple[Any, ...]]]:
    """A cheap fingerprint of both tables (about 0.1 ms): the published rows in full,
    and the seed's first and last day (index lookups; a count would scan 8,000 rows).
    Seed values change only in ``seed_calendar_days``, which forgets the cache itself."""
    seed = session.execute(
        select(
            select(func.min(CalendarDay.day)).scalar_subquery(),
            select(func.max(CalendarDay.day)).scalar_subquery(),
        )
    ).one()
    published = session.execute(
        select(
            col(PublishedYear.year),
            col(PublishedYear.version),
            col(PublishedYear.source),
            col(PublishedYear.holidays),
            col(PublishedYear.workdays),
        ).order_by(col(PublishedYear.year))
    ).all()
    return (tuple(seed), *(tuple(row) for row in published)), [tuple(r) for r in published]


def _build(session: Session, published: list[tuple[Any, ...]]) -> _Basis:
    overrides: dict[date, bool] = {}
    covered: set[int] = set()
    for day, working in session.execute(
        select(col(CalendarDay.day), col(CalendarDay.is_working_day))
    ):
        covered.add(day.year)
        if working != (day.weekday() < 5):  # keep only the exceptions to Monday-Friday
            overrides[day] = working
    sources = dict.fromkeys(covered, SEED_SOURCE)
    valid, invalid = [], []
    for year, _version, source, holidays, workdays in published:
        try:
            schedule = YearSchedule(
                year,
                tuple(map(date.fromisoformat, json.loads(holidays))),
                tuple(map(date.fromisoformat, json.loads(workdays))),
                source,
            )
        except (ScheduleError, ValueError, TypeError):
            # Signed by the root but unusable: keep the seed (if any) and say so.
            log.error("calendar record for %s is invalid; ignoring it", year)
            invalid.append(year)
            continue
        overrides = {d: w for d, w in overrides.items() if d.year != year}
        overrides.update({d: False for d in schedule.holidays if d.weekday() < 5})
        overrides.update({d: True for d in schedule.workdays})
        covered.add(year)
        sources[year] = source
        valid.append(year)
    return _Basis(overrides, frozenset(covered), sources, tuple(valid), tuple(invalid))


def _basis(session: Session) -> _Basis:
    key, published = _state(session)
    engine = session.get_bind()
    with _CACHE_LOCK:
        cached = _CACHE.get(engine)
    if cached is not None and cached[0] == key:
        return cached[1]
    basis = _build(session, published)
    with _CACHE_LOCK:
        _CACHE[engine] = (key, basis)
    return basis


def _calendar(basis: _Basis) -> WorkingCalendar:
    # A fresh instance per call, so each caller's fallback record is its own.
    return WorkingCalendar(basis.overrides, basis.covered, basis.sources)


def working_calendar(session: Session) -> WorkingCalendar:
    """The node's calendar: the seed, overridden per year by published records."""
    return _calendar(_basis(session))


def is_working_day(session: Session, day: date) -> bool:
    return working_calendar(session).is_working_day(day)


def add_working_days(session: Session, start: date, n: int) -> date:
    return working_calendar(session).add_working_days(start, n)


def working_days_between(session: Session, start: date, end: date) -> int:
    return working_calendar(session).working_days_between(start, end)


def _fallback(calendar: WorkingCalendar, a: date, b: date) -> dict[str, Any]:
    years = sorted(calendar.uncovered_years_between(a, b))
    return {"fallback_years": years, "warning": calendar.fallback_notice(years)}


def deadline_report(session: Session, start: date, days: int) -> dict[str, Any]:
    """The ``days``-working-day deadline after ``start``, and whether it is estimated."""
    calendar = working_calendar(session)
    deadline = calendar.add_working_days(start, days)
    return {
        "start": start.isoformat(),
        "days": days,
        "deadline": deadline.isoformat(),
        **_fallback(calendar, start, deadline),
    }


def span_report(session: Session, start: date, end: date) -> dict[str, Any]:
    calendar = working_calendar(session)
    return {
        "start": start.isoformat(),
        "end": end.isoformat(),
        "working_days": calendar.working_days_between(start, end),
        **_fallback(calendar, start, end),
    }


def calendar_days(session: Session, start: date, end: date) -> dict[str, Any]:
    """Each day of [start, end] (at most 400) with its status, name and source."""
    if end < start:
        raise DomainError("calendar.range", "结束日期不能早于开始日期", field="to")
    if (end - start).days + 1 > MAX_DAYS_LISTED:
        raise DomainError("calendar.range", f"一次最多查询{MAX_DAYS_LISTED}天", field="to")
    basis = _basis(session)
    calendar = _calendar(basis)
    names: dict[date, str] = {
        day: name
        for day, name in session.execute(
            select(col(CalendarDay.day), col(CalendarDay.name)).where(
                col(CalendarDay.day).between(start, end), col(CalendarDay.name).is_not(None)
            )
        )
        if day.year not in basis.published
    }
    for text in session.execute(
        select(col(PublishedYear.names)).where(
            col(PublishedYear.year).in_([y for y in basis.published if start.year <= y <= end.year])
        )
    ).scalars():
        names.update({date.fromisoformat(d): n for d, n in json.loads(text).items()})
    days, day = [], start
    while day <= end:
        days.append(
            {
                "date": day.isoformat(),
                "weekday": day.isoweekday(),
                "is_working_day": calendar.is_working_day(day),
                "name": names.get(day),
                "covered": calendar.is_covered(day.year),
                "source": calendar.source_for(day.year),
            }
        )
        day += _ONE_DAY
    return {
        "from": start.isoformat(),
        "to": end.isoformat(),
        "days": days,
        **_fallback(calendar, start, end),
    }


NEXT_YEAR_WARNING_DAYS = 120


def calendar_status(session: Session, today: date) -> dict[str, Any]:
    """Which years are covered, what the county published, and loud warnings."""
    basis = _basis(session)
    # Next year matters once deadlines can reach it: the longest common limit (75
    # working days) spans about 120 calendar days, so warn from early September on.
    years = [today.year]
    if (date(today.year, 12, 31) - today).days < NEXT_YEAR_WARNING_DAYS:
        years.append(today.year + 1)
    warnings = [
        f"{year}年节假日安排尚未导入，期限按周一至周五计算"
        for year in years
        if year not in basis.covered
    ]
    warnings += [
        f"{year}年已发布的节假日安排记录无效，已忽略，请重新导入" for year in basis.invalid
    ]
    return {
        "covered_years": sorted(basis.covered),
        "published_years": list(basis.published),
        "version": subject_head(session, CALENDAR_SUBJECT).seq,
        "warnings": warnings,
    }
