"""What the county administrator's screens read: the node overview sorted for attention,
the catalogue's drafts marked new or changed, the calendar year by year, the registry
with names and versions. Read-only; every change goes through the action functions."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import func, select
from sqlmodel import Session

from common import __version__
from common.calendar.models import CalendarDay, PublishedYear
from common.calendar.schedule import ScheduleError, YearSchedule
from common.calendar.service import working_calendar
from common.catalog.models import MatterDraft, PublishedMatter
from common.catalog.service import list_drafts
from common.errors import DomainError
from common.identity.models import EnrolmentToken, RegistryNode
from common.identity.registry import registered_nodes_view
from common.labels import WINDOW_LABELS, tier_label
from common.node import ThisNode
from common.sync.models import DeadLetter, HeldEvent, SyncReject
from common.sync.telemetry import health_overview
from common.users.roles import ROLE_LABELS, ROLE_TIERS, Role

TIER_ORDER = {"province": 0, "city": 1, "county": 2, "township": 3, "village": 4}
SHOWN_PUBLISHED = 200  # rows of the published list before a search is needed


# -- node health --------------------------------------------------------------------


@dataclass(frozen=True)
class NodeRow:
    node_id: str
    name: str
    tier: str
    parent_id: str | None
    state: str  # self / ok / silent / revoked
    last_contact: str | None
    backlog: int | None
    held: int | None
    version: str | None
    clock_offset: str
    violations: dict[str, Any] | None = (
        None  # events refused as not its to write (count, rule, event_id, at)
    )

    @property
    def state_label(self) -> str:
        return {"self": "本节点", "ok": "正常", "silent": "失联", "revoked": "已注销"}[self.state]


def _offset_text(ms: int | None) -> str:
    if ms is None:
        return "—"
    return f"{ms / 1000:+.1f} 秒"


def node_overview(session: Session, node: ThisNode) -> list[NodeRow]:
    """Every registered node, silent ones first, then by tier and code; revoked last."""
    rows = []
    for entry in health_overview(session):
        if entry["node_id"] == node.node_id:
            state = "self"
        elif entry["revoked"]:
            state = "revoked"
        else:
            state = "silent" if entry["silent"] else "ok"
        rows.append(
            NodeRow(
                node_id=entry["node_id"],
                name=entry["name"],
                tier=entry["tier"],
                parent_id=entry["parent_id"],
                state=state,
                last_contact=entry["last_contact"],
                backlog=entry["backlog"],
                held=entry["held"],
                version=__version__ if state == "self" else entry["version"],
                clock_offset=_offset_text(0 if state == "self" else entry["clock_offset_ms"]),
                violations=entry["violations"],
            )
        )
    rank = {"silent": 0, "self": 1, "ok": 2, "revoked": 3}
    return sorted(
        rows,
        key=lambda r: (r.violations is None, rank[r.state], TIER_ORDER.get(r.tier, 9), r.node_id),
    )


def local_problem_counts(session: Session) -> dict[str, int]:
    def count(model: Any) -> int:
        return int(session.execute(select(func.count()).select_from(model)).scalar_one())

    return {
        "dead_letters": count(DeadLetter),
        "held": count(HeldEvent),
        "rejects": count(SyncReject),
    }


# -- catalogue ------------------------------------------------------------------------


@dataclass(frozen=True)
class DraftRow:
    code: str
    name: str
    window_label: str
    marker: str  # new / changed / republish
    imported_at: Any
    updated_by: str

    @property
    def marker_label(self) -> str:
        return {"new": "新增", "changed": "有改动", "republish": "已撤销，重新发布"}[self.marker]


def unpublished_drafts(session: Session, q: str | None = None) -> list[DraftRow]:
    """Drafts that publishing would change: new, changed since publication, or withdrawn."""
    published = {
        p.implementation_code: (p.withdrawn, p.data)
        for p in session.execute(select(PublishedMatter)).scalars()
    }
    rows = []
    for draft in list_drafts(session, q=q):
        current = published.get(draft.implementation_code)
        if current is None:
            marker = "new"
        elif current[0]:
            marker = "republish"
        elif json.loads(current[1]) != json.loads(draft.data):
            marker = "changed"
        else:
            continue
        rows.append(
            DraftRow(
                draft.implementation_code,
                draft.name,
                WINDOW_LABELS.get(draft.window, draft.window),
                marker,
                draft.imported_at_utc,
                draft.updated_by,
            )
        )
    return rows


def catalogue_counts(session: Session) -> dict[str, int]:
    drafts = session.execute(select(func.count()).select_from(MatterDraft)).scalar_one()
    published = session.execute(
        select(func.count())
        .select_from(PublishedMatter)
        .where(PublishedMatter.withdrawn.is_(False))
    ).scalar_one()
    withdrawn = session.execute(
        select(func.count()).select_from(PublishedMatter).where(PublishedMatter.withdrawn.is_(True))
    ).scalar_one()
    return {"drafts": int(drafts), "published": int(published), "withdrawn": int(withdrawn)}


# -- calendar -------------------------------------------------------------------------


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


# -- nodes and users --------------------------------------------------------------------


def registry_rows(session: Session) -> list[dict[str, Any]]:
    """The registry with parent names, software versions and pending invitations."""
    names = {n.node_id: n.name for n in session.execute(select(RegistryNode)).scalars()}
    versions = {h["node_id"]: h["version"] for h in health_overview(session)}
    rows = []
    for entry in registered_nodes_view(session):
        rows.append(
            {
                **entry,
                "tier_label": tier_label(entry["tier"]),
                "parent_name": names.get(entry["parent_id"] or "", ""),
                "revoked": entry["revoked_version"] is not None,
                "software": versions.get(entry["node_id"]),
            }
        )
    return sorted(rows, key=lambda r: (TIER_ORDER.get(r["tier"], 9), r["node_id"]))


def pending_invitations(session: Session, now: datetime) -> list[EnrolmentToken]:
    """Invitations not used yet and not expired (the token itself is never shown again)."""
    rows = session.execute(
        select(EnrolmentToken)
        .where(EnrolmentToken.used_at.is_(None))
        .order_by(EnrolmentToken.created_at.desc())
    ).scalars()
    registered = set(session.execute(select(RegistryNode.node_id)).scalars())
    return [r for r in rows if _aware(r.expires_at) > now and r.node_id not in registered]


def _aware(moment: datetime) -> datetime:
    # SQLite hands AwareDateTime() back naive; what was stored is UTC.
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def active_nodes(session: Session) -> list[RegistryNode]:
    rows = session.execute(
        select(RegistryNode).where(RegistryNode.revoked_version.is_(None))
    ).scalars()
    return sorted(rows, key=lambda n: (TIER_ORDER.get(n.tier, 9), n.node_id))


def node_choices(session: Session) -> list[tuple[str, str]]:
    return [
        (n.node_id, f"{n.name}（{tier_label(n.tier)} {n.node_id}）") for n in active_nodes(session)
    ]


def role_choices() -> list[tuple[str, str]]:
    """Every role with the tiers it belongs on, e.g. 村代办员（村级节点）."""
    choices = []
    for role in Role:
        tiers = "、".join(
            tier_label(t) for t in sorted(ROLE_TIERS[role], key=lambda t: TIER_ORDER.get(t, 9))
        )
        choices.append((role.value, f"{ROLE_LABELS[role]}（{tiers}节点）"))
    return choices


def role_label(value: str) -> str:
    try:
        return ROLE_LABELS[Role(value)]
    except ValueError:
        return value


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
    if row is not None:
        holidays = {date.fromisoformat(d) for d in json.loads(row.holidays)}
        workdays = {date.fromisoformat(d) for d in json.loads(row.workdays)}
        names = {date.fromisoformat(d): n for d, n in json.loads(row.names).items()}
    elif working_calendar(session).is_covered(year):
        seeded = session.execute(
            select(CalendarDay).where(CalendarDay.day.between(date(year, 1, 1), date(year, 12, 31)))
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
