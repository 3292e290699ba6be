"""An official year schedule of holidays and make-up working days (调休), and its parsers.

The State Council publishes next year's schedule each autumn. An administrator
enters it as CSV (``date,kind[,name]``; kind ``holiday``/``休`` or ``workday``/``班``)
or JSON (``{"year": 2027, "holidays": [{"date": ..., "name": ...}], "workdays": [...]}``).
Every problem found is reported at once, each naming the row or field, with a
stable machine code and a Chinese message.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, NamedTuple

_HOLIDAY_KINDS = {"holiday", "休", "假"}
_WORKDAY_KINDS = {"workday", "班"}
_DATE = re.compile(r"(\d{4})[-/](\d{1,2})[-/](\d{1,2})")


class Problem(NamedTuple):
    code: str
    location: str  # "第3行" for CSV rows, "holidays[2].date" for JSON fields
    message: str  # Chinese, names what is wrong


class ScheduleError(ValueError):
    """The schedule was rejected; ``problems`` lists everything wrong, first one in front."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        first = problems[0]
        self.code, self.location, self.message = first.code, first.location, first.message
        super().__init__(f"{first.location}：{first.message} ({first.code})")


@dataclass(frozen=True)
class YearSchedule:
    """One year's official schedule. ``holidays`` are days off (weekend ones allowed);
    ``workdays`` are make-up working days, which are always Saturdays or Sundays."""

    year: int
    holidays: tuple[date, ...]
    workdays: tuple[date, ...]
    source: str
    names: Mapping[date, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "holidays", tuple(sorted(self.holidays)))
        object.__setattr__(self, "workdays", tuple(sorted(self.workdays)))
        entries = [(d, "holiday", f"holidays[{i}]") for i, d in enumerate(self.holidays)]
        entries += [(d, "workday", f"workdays[{i}]") for i, d in enumerate(self.workdays)]
        problems = _check_entries(self.year, entries)
        if problems:
            raise ScheduleError(problems)


def _check_entries(year: int, entries: Iterable[tuple[date, str, str]]) -> list[Problem]:
    problems: list[Problem] = []
    seen: dict[date, str] = {}
    for day, kind, where in entries:
        if day.year != year:
            problems.append(
                Problem("schedule.outside_year", where, f"日期{day.isoformat()}不在{year}年内")
            )
        elif day in seen:
            problems.append(
                Problem(
                    "schedule.duplicate",
                    where,
                    f"日期{day.isoformat()}重复出现（已在{seen[day]}列出）",
                )
            )
        elif kind == "workday" and day.weekday() < 5:
            problems.append(
                Problem(
                    "schedule.workday_not_weekend",
                    where,
                    f"调休上班日{day.isoformat()}不是周六或周日",
                )
            )
        seen.setdefault(day, where)
    return problems


def _parse_date(raw: Any) -> date | None:
    if isinstance(raw, date) and not isinstance(raw, datetime):
        return raw
    match = _DATE.fullmatch(raw.strip()) if isinstance(raw, str) else None
    if not match:
        return None
    try:
        return date(*(int(part) for part in match.groups()))
    except ValueError:
        return None


def _kind(raw: Any) -> str | None:
    text = str(raw).strip().lower()
    return "holiday" if text in _HOLIDAY_KINDS else "workday" if text in _WORKDAY_KINDS else None


def _build(year: int | None, rows: list[tuple[Any, Any, Any, str]], source: str) -> YearSchedule:
    """rows: (raw kind, raw date, name, location), in input order -> YearSchedule."""
    problems: list[Problem] = []
    entries: list[tuple[date, str, str]] = []
    names: dict[date, str] = {}
    for raw_kind, raw_date, name, where in rows:
        kind, day = _kind(raw_kind), _parse_date(raw_date)
        if kind is None:
            problems.append(
                Problem(
                    "schedule.kind", where, f"类型“{raw_kind}”无效，应为 holiday/休 或 workday/班"
                )
            )
        if day is None:
            problems.append(
                Problem(
                    "schedule.date", where, f"日期“{raw_date}”无效，应为YYYY-MM-DD格式的真实日期"
                )
            )
        if kind is None or day is None:
            continue
        entries.append((day, kind, where))
        if name:
            names[day] = str(name).strip()
    if year is None and entries:
        year = entries[0][0].year  # CSV carries no year: the first date decides
    if not rows:
        problems.append(Problem("schedule.empty", "全部", "没有任何节假日或调休日期"))
    problems += _check_entries(year or 0, entries)
    if problems:
        order = {where: i for i, (*_, where) in enumerate(rows)}
        raise ScheduleError(sorted(problems, key=lambda p: order.get(p.location, -1)))
    if year is None:  # not reached: without any entry a problem was raised above
        raise ScheduleError([Problem("schedule.empty", "全部", "没有任何节假日或调休日期")])
    return YearSchedule(
        year=year,
        holidays=tuple(d for d, k, _ in entries if k == "holiday"),
        workdays=tuple(d for d, k, _ in entries if k == "workday"),
        source=source,
        names=names,
    )


def parse_year_schedule_csv(
    text: str, *, year: int | None = None, source: str = "csv"
) -> YearSchedule:
    """Parse ``date,kind[,name]`` rows (header required; 日期/类型/名称 accepted too).
    Without ``year`` the year of the first valid date is the schedule's year."""
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff")))  # Excel writes a BOM
    header = [h.strip().lower() for h in next(reader, [])]
    aliases = {
        "date": "date",
        "日期": "date",
        "kind": "kind",
        "类型": "kind",
        "name": "name",
        "名称": "name",
    }
    columns = {aliases[h]: i for i, h in enumerate(header) if h in aliases}
    if "date" not in columns or "kind" not in columns:
        raise ScheduleError(
            [Problem("schedule.header", "第1行", "表头应包含 date（日期）和 kind（类型）两列")]
        )

    rows: list[tuple[Any, Any, Any, str]] = []
    for row in reader:
        if not any(cell.strip() for cell in row):
            continue
        cells = {col: row[i] if i < len(row) else "" for col, i in columns.items()}
        # reader.line_num, not a counter: quoted cells may span lines.
        rows.append((cells["kind"], cells["date"], cells.get("name"), f"第{reader.line_num}行"))
    return _build(year, rows, source)


def load_schedule_json(text: str) -> Any:
    """The JSON document in ``text``; ScheduleError naming the line where it is not JSON."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ScheduleError(
            [Problem("schedule.format", f"第{exc.lineno}行", "不是有效的JSON")]
        ) from None


def parse_year_schedule_json(obj: Mapping[str, Any] | str, *, source: str = "json") -> YearSchedule:
    """Parse ``{"year": ..., "holidays": [...], "workdays": [...]}``; entries are
    ``{"date": "2027-01-01", "name": "元旦"}`` or a bare date string."""
    if isinstance(obj, str):
        obj = load_schedule_json(obj)
    if not isinstance(obj, Mapping):
        raise ScheduleError([Problem("schedule.format", "全部", "应为JSON对象")])
    year = obj.get("year")
    if isinstance(year, bool) or not isinstance(year, int) or not 2000 <= year <= 2100:
        raise ScheduleError([Problem("schedule.year", "year", "year 应为四位整数年份")])
    rows: list[tuple[str, Any, Any, str]] = []
    problems: list[Problem] = []
    for kind, key in (("holiday", "holidays"), ("workday", "workdays")):
        items = obj.get(key, [])
        if not isinstance(items, list):
            problems.append(Problem("schedule.format", key, f"{key} 应为列表"))
            continue
        for i, item in enumerate(items):
            if isinstance(item, Mapping):
                rows.append((kind, item.get("date"), item.get("name"), f"{key}[{i}].date"))
            else:
                rows.append((kind, item, None, f"{key}[{i}]"))
    if problems:
        raise ScheduleError(problems)
    return _build(year, rows, source)
