"""What the screens read of the catalogue: published matters found by name or code,
window and service object (the agent's finder and the public guide search, a page at
a time), the drafts that publishing would change, and how many matters are drafted,
published and withdrawn. The plain lists (``list_published``, ``list_drafts``) are
``common.catalog.service``'s; nothing here writes.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, func, select
from sqlmodel import Session, col

from common.catalog.models import MatterDraft, PublishedMatter
from common.catalog.service import list_drafts, list_published
from common.labels import (
    CASE_TYPE_LABELS,
    HANDLING_LEVEL_LABELS,
    SERVICE_OBJECT_LABELS,
    WINDOW_LABELS,
)

MAX_RESULTS = 200  # the agent's finder
PER_PAGE = 20  # the public guide search
MAX_QUERY = 100  # longest search text taken
# Service objects as the agent's finder groups them: residents, or businesses and organisations.
OBJECT_GROUPS = {
    "person": ("自然人（个人）", {"1"}),
    "organisation": ("企业和组织", {"2", "3", "4", "5", "6"}),
}


def case_type_label(code: str) -> str:
    """即办件 / 承诺件; 一审一核件 is a kind of 承诺件 and is shown as such."""
    label = CASE_TYPE_LABELS.get(code, code)
    return f"承诺件（{label}）" if code == "2A" else label


def matches(row: PublishedMatter, data: dict[str, Any], q: str) -> bool:
    """Whether ``q`` is in the matter's name, a code, or what it issues: the result's name
    (个体工商户营业执照) and its licence type code (GB/T 36904), so that 营业执照 finds the
    registrations whose result is one. The catalogue holds no other names or keywords."""
    wanted = q.strip().casefold()
    texts = (
        row.name,
        row.implementation_code,
        row.basic_code,
        str(data.get("result_name") or ""),
        str(data.get("result_licence_type") or ""),
    )
    return any(wanted in text.casefold() for text in texts)


def _published_serving(
    session: Session, *, window: str | None, q: str | None, objects: set[str] | None
) -> Iterator[tuple[PublishedMatter, dict[str, Any]]]:
    """Published, not withdrawn matters of ``window`` matching ``q`` (``matches``), each
    with its elements, keeping those that serve one of ``objects`` (all if None)."""
    for row in list_published(session, window=window):
        data: dict[str, Any] = json.loads(row.data)
        if objects is not None and not objects & set(data.get("service_objects", [])):
            continue
        if q and q.strip() and not matches(row, data, q):
            continue
        yield row, data


# -- the agent's finder -------------------------------------------------------------------


@dataclass(frozen=True)
class MatterHit:
    code: str
    name: str
    window_label: str
    level_label: str
    case_type_label: str
    required_visits: int


def find_matters(
    session: Session, *, q: str | None, window: str | None, objects: str | None
) -> list[MatterHit]:
    """Published matters by name, code or result (``matches``), integrated window and
    service object group."""
    wanted = OBJECT_GROUPS[objects][1] if objects in OBJECT_GROUPS else None
    hits = []
    for row, _ in _published_serving(session, window=window or None, q=q or None, objects=wanted):
        hits.append(
            MatterHit(
                row.implementation_code,
                row.name,
                WINDOW_LABELS.get(row.window, row.window),
                HANDLING_LEVEL_LABELS.get(row.handling_level, row.handling_level),
                CASE_TYPE_LABELS.get(row.case_type, row.case_type),
                row.required_visits,
            )
        )
        if len(hits) >= MAX_RESULTS:
            break
    return hits


# -- the public guide search --------------------------------------------------------------


@dataclass(frozen=True)
class GuideSummary:
    """One line of the search results."""

    code: str
    name: str
    case_type: str
    case_type_label: str
    promised_limit_days: int
    required_visits: int
    implementing_body: str
    window_label: str

    @property
    def one_trip(self) -> bool:
        return self.required_visits <= 1


@dataclass(frozen=True)
class GuideSearch:
    results: list[GuideSummary]
    total: int
    page: int
    pages: int


def search_guides(
    session: Session,
    *,
    q: str = "",
    window: str = "",
    service_object: str = "",
    page: int = 1,
    per_page: int = PER_PAGE,
) -> GuideSearch:
    """Published, not withdrawn matters matching ``q`` (name, code or result: ``matches``),
    one integrated window and one service object, ``per_page`` at a time."""
    window = window if window in WINDOW_LABELS else ""
    service_object = service_object if service_object in SERVICE_OBJECT_LABELS else ""
    found = _published_serving(
        session,
        window=window or None,
        q=q.strip()[:MAX_QUERY] or None,
        objects={service_object} if service_object else None,
    )
    matched = [
        GuideSummary(
            code=row.implementation_code,
            name=row.name,
            case_type=row.case_type,
            case_type_label=case_type_label(row.case_type),
            promised_limit_days=int(data.get("promised_limit_days", 0)),
            required_visits=row.required_visits,
            implementing_body=data.get("implementing_body", ""),
            window_label=WINDOW_LABELS.get(row.window, row.window),
        )
        for row, data in found
    ]
    total = len(matched)
    pages = max(1, -(-total // per_page))
    page = min(max(1, page), pages)
    start = (page - 1) * per_page
    return GuideSearch(
        results=matched[start : start + per_page], total=total, page=page, pages=pages
    )


# -- the administrator's catalogue page ---------------------------------------------------


@dataclass(frozen=True)
class DraftRow:
    code: str
    name: str
    window_label: str
    marker: str  # new / changed / republish
    imported_at: datetime
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
    def count(model: type[MatterDraft | PublishedMatter], *where: ColumnElement[bool]) -> int:
        query = select(func.count()).select_from(model).where(*where)
        return int(session.execute(query).scalar_one())

    return {
        "drafts": count(MatterDraft),
        "published": count(PublishedMatter, col(PublishedMatter.withdrawn).is_(False)),
        "withdrawn": count(PublishedMatter, col(PublishedMatter.withdrawn).is_(True)),
    }
