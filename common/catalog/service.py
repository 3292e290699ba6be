"""Catalogue action functions and queries.

Only the root (the county) keeps drafts and publishes: ``import_drafts`` writes the
local working copy, ``publish_batch`` and ``withdraw_matter`` write root-signed events
in subject ``catalogue`` that travel to every node. Actions check the actor's role and
the node, raise ``DomainError``s that name the field, and never commit.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache
from typing import Any, TypeVar

from sqlalchemy import Select, case, func, or_, select
from sqlmodel import Session, col

from common.catalog.consistency import refuse_inconsistent
from common.catalog.io_columns import norm_key
from common.catalog.models import CatalogueBatch, MatterDraft, PublishedMatter, matter_data_json
from common.catalog.projection import BATCH_PUBLISHED, CATALOGUE_SUBJECT, MATTER_WITHDRAWN
from common.catalog.schema import IntegratedWindow, Matter
from common.db import core
from common.errors import Conflict, DomainError, Forbidden, NotFound
from common.labels import WINDOW_LABELS
from common.ledger.canonical import canonical_json, normalise
from common.ledger.envelope import SignedEvent
from common.ledger.service import lock_writer, subject_head
from common.node import ThisNode
from common.timeutil import utcnow
from common.users.roles import Actor, Role, require_role

MAX_LISTED_CODES = 10  # how many offending codes an error message names
# One batch is one event and sync moves at most ~4 MiB per batch of events: keep a
# published batch well under that (910 matters are about 1.5 MB).
MAX_BATCH_BYTES = 3 * 1024 * 1024


@dataclass
class ImportSummary:
    total: int = 0
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "total": self.total,
            "created": len(self.created),
            "updated": len(self.updated),
            "unchanged": len(self.unchanged),
        }


def _require_admin_on_root(node: ThisNode, actor: Actor) -> None:
    require_role(actor, Role.COUNTY_ADMIN)
    if not node.is_root:
        raise Forbidden("catalogue.not_root", "事项目录只能在县级根节点维护和发布", field="node")


def _codes_text(codes: list[str]) -> str:
    shown = "、".join(codes[:MAX_LISTED_CODES])
    return shown + (f" 等{len(codes)}个" if len(codes) > MAX_LISTED_CODES else "")


def _duplicates(codes: list[str]) -> list[str]:
    return sorted(code for code, count in Counter(codes).items() if count > 1)


def _matter_data(matter: Matter) -> dict[str, Any]:
    # NFC and JSON-only values: exactly what the signed event will carry.
    data: dict[str, Any] = normalise(matter.model_dump(mode="json"))
    return data


# -- actions -----------------------------------------------------------------------


def import_drafts(
    session: Session,
    node: ThisNode,
    actor: Actor,
    matters: list[Matter],
    *,
    replace_existing: bool = True,
) -> ImportSummary:
    """Store matters as drafts (all or nothing); existing drafts are replaced if allowed."""
    _require_admin_on_root(node, actor)
    codes = [m.implementation_code for m in matters]
    if repeated := _duplicates(codes):
        raise DomainError(
            "catalogue.duplicate_codes",
            f"实施编码重复：{_codes_text(repeated)}",
            field="implementation_code",
        )
    # A file was checked row by row as it was read; this catches any other caller.
    refuse_inconsistent(matters, action="导入", field="implementation_code")
    existing = _by_code(session, MatterDraft, codes)
    if existing and not replace_existing:
        raise Conflict(
            "catalogue.draft_exists",
            f"以下事项已有草稿：{_codes_text(sorted(existing))}",
            field="implementation_code",
        )
    summary = ImportSummary(total=len(matters))
    now = utcnow()
    for matter in matters:
        data = matter_data_json(_matter_data(matter))
        code = matter.implementation_code
        draft = existing.get(code)
        if draft is not None and draft.data == data:
            summary.unchanged.append(code)
            continue
        if draft is None:
            summary.created.append(code)
            draft = MatterDraft(
                implementation_code=code,
                basic_code=matter.basic_code,
                name=matter.name,
                window=matter.window.value,
                data=data,
                imported_at=now,
                updated_by=actor.username,
            )
        else:
            summary.updated.append(code)
            draft.basic_code, draft.name, draft.window = (
                matter.basic_code,
                matter.name,
                matter.window.value,
            )
            draft.data, draft.imported_at, draft.updated_by = data, now, actor.username
        session.add(draft)
    session.flush()
    return summary


def publish_batch(
    session: Session,
    node: ThisNode,
    actor: Actor,
    *,
    name: str,
    published_on: date,
    codes: list[str],
) -> SignedEvent:
    """Publish drafts as the next batch: one root-signed event with the full matter data."""
    _require_admin_on_root(node, actor)
    name = name.strip()
    if not name:
        raise DomainError("catalogue.batch_name_missing", "请填写批次名称", field="name")
    if len(name) > 100:
        raise DomainError("catalogue.batch_name_long", "批次名称不得超过100个字", field="name")
    if not codes:
        raise DomainError("catalogue.batch_empty", "批次中至少要有一个事项", field="codes")
    if repeated := _duplicates(codes):
        raise DomainError(
            "catalogue.duplicate_codes", f"实施编码重复：{_codes_text(repeated)}", field="codes"
        )
    drafts = _by_code(session, MatterDraft, codes)
    if unknown := [c for c in codes if c not in drafts]:
        raise NotFound(
            "catalogue.unknown_codes", f"没有这些事项的草稿：{_codes_text(unknown)}", field="codes"
        )
    published = _by_code(session, PublishedMatter, codes)
    unchanged = [
        c
        for c in codes
        if c in published
        and not published[c].withdrawn
        and json.loads(published[c].data) == json.loads(drafts[c].data)
    ]
    if unchanged:
        raise Conflict(
            "catalogue.already_published",
            f"以下事项已发布且内容未改变：{_codes_text(unchanged)}",
            field="codes",
        )
    # Drafts imported before the consistency rules existed are checked again here.
    refuse_inconsistent(
        (Matter.model_validate(json.loads(drafts[c].data)) for c in codes),
        action="发布",
        field="codes",
    )
    # Hold this node's writer lock (PostgreSQL) before reading the last batch number, so
    # two concurrent publications cannot both take it; append_event takes it again.
    lock_writer(session, node.node_id)
    batch_no = (session.execute(select(func.max(CatalogueBatch.batch_no))).scalar() or 0) + 1
    body = {
        "batch_no": batch_no,
        "name": name,
        "published_on": published_on.isoformat(),
        "matters": [json.loads(drafts[c].data) for c in codes],
    }
    if len(canonical_json(normalise(body))) > MAX_BATCH_BYTES:
        raise DomainError(
            "catalogue.batch_too_large",
            f"批次数据超过{MAX_BATCH_BYTES // (1024 * 1024)}MB，请分成几批发布",
            field="codes",
        )
    return node.append(session, CATALOGUE_SUBJECT, BATCH_PUBLISHED, body)


def withdraw_matter(
    session: Session, node: ThisNode, actor: Actor, code: str, reason: str
) -> SignedEvent:
    """Take a published matter out of the catalogue (it stays in history)."""
    _require_admin_on_root(node, actor)
    row = session.get(PublishedMatter, code)
    if row is None:
        raise NotFound(
            "catalogue.not_published", f"事项 {code} 未发布", field="implementation_code"
        )
    if row.withdrawn:
        raise Conflict(
            "catalogue.already_withdrawn", f"事项 {code} 已撤销", field="implementation_code"
        )
    reason = reason.strip()
    if not reason:
        raise DomainError("catalogue.reason_missing", "请填写撤销原因", field="reason")
    if len(reason) > 300:
        raise DomainError("catalogue.reason_long", "撤销原因不得超过300个字", field="reason")
    return node.append(
        session,
        CATALOGUE_SUBJECT,
        MATTER_WITHDRAWN,
        {"implementation_code": code, "reason": reason},
    )


# -- queries -----------------------------------------------------------------------


# A matter's row: the county's draft or the published version (the same code columns).
_MatterRow = TypeVar("_MatterRow", MatterDraft, PublishedMatter)


def _chunks(codes: list[str], size: int = 500) -> list[list[str]]:
    return [codes[i : i + size] for i in range(0, len(codes), size)]


def _by_code(session: Session, table: type[_MatterRow], codes: list[str]) -> dict[str, _MatterRow]:
    """The drafts or published matters held for ``codes``, by implementation code."""
    rows: dict[str, _MatterRow] = {}
    for chunk in _chunks(codes):
        query = select(table).where(col(table.implementation_code).in_(chunk))
        rows.update((row.implementation_code, row) for row in session.execute(query).scalars())
    return rows


def window_code(window: str) -> str:
    """Accept a window code (social) or its label (社会事务窗口 / 社会事务)."""
    for code, label in WINDOW_LABELS.items():
        if norm_key(window) in (code, norm_key(label), norm_key(label.removesuffix("窗口"))):
            return code
    choices = "、".join(w.value for w in IntegratedWindow)
    raise DomainError(
        "catalogue.window_unknown", f"未知的综合窗口“{window}”，可选：{choices}", field="window"
    )


def unpublished_draft_codes(session: Session) -> list[str]:
    """Drafts that are new or changed since publication (what "publish all" means)."""
    published = {
        p.implementation_code: p for p in session.execute(select(PublishedMatter)).scalars()
    }
    codes = []
    for draft in list_drafts(session):
        row = published.get(draft.implementation_code)
        if row is None or row.withdrawn or json.loads(row.data) != json.loads(draft.data):
            codes.append(draft.implementation_code)
    return codes


def _matching(
    query: Select[_MatterRow], table: type[_MatterRow], window: str | None, q: str | None
) -> Select[_MatterRow]:
    """``query`` narrowed to one integrated window and to ``q`` in the name or a code."""
    if window:
        query = query.where(col(table.window) == window_code(window))
    if q and q.strip():
        like = f"%{q.strip()}%"
        query = query.where(
            or_(
                col(table.name).like(like),
                col(table.implementation_code).like(like),
                col(table.basic_code).like(like),
            )
        )
    return query


def list_drafts(
    session: Session, *, window: str | None = None, q: str | None = None
) -> list[MatterDraft]:
    query = select(MatterDraft).order_by(col(MatterDraft.implementation_code))
    return list(session.execute(_matching(query, MatterDraft, window, q)).scalars())


def list_published(
    session: Session,
    *,
    window: str | None = None,
    q: str | None = None,
    include_withdrawn: bool = False,
) -> list[PublishedMatter]:
    query = select(PublishedMatter).order_by(col(PublishedMatter.implementation_code))
    if not include_withdrawn:
        query = query.where(col(PublishedMatter.withdrawn).is_(False))
    return list(session.execute(_matching(query, PublishedMatter, window, q)).scalars())


def get_published(session: Session, code: str) -> PublishedMatter:
    row = session.get(PublishedMatter, code)
    if row is None:
        raise NotFound(
            "catalogue.matter_unknown",
            f"没有实施编码为 {code} 的已发布事项",
            field="implementation_code",
        )
    return row


_PUBLISHED = PublishedMatter.__table__  # type: ignore[attr-defined]


@lru_cache(maxsize=4096)
def _parse_matter(data: str) -> Matter:
    return Matter.model_validate(json.loads(data))


def published_matter(session: Session, code: str) -> tuple[Matter, bool]:
    """(matter, withdrawn) for a published code; hot path of filing.

    Core select plus a parse cached by the stored JSON text, so an unchanged matter is
    validated once per process. The Matter returned is shared: callers must not mutate it.
    """
    row = (
        core(session)
        .execute(
            select(_PUBLISHED.c.data, _PUBLISHED.c.withdrawn).where(
                _PUBLISHED.c.implementation_code == code
            )
        )
        .first()
    )
    if row is None:
        raise NotFound(
            "catalogue.matter_unknown",
            f"没有实施编码为 {code} 的已发布事项",
            field="implementation_code",
        )
    return _parse_matter(row[0]), bool(row[1])


def list_batches(session: Session) -> list[CatalogueBatch]:
    return list(
        session.execute(select(CatalogueBatch).order_by(col(CatalogueBatch.batch_no))).scalars()
    )


def catalogue_version(session: Session) -> int:
    """The catalogue record's head: the sseq of its latest event (0 before any)."""
    return subject_head(session, CATALOGUE_SUBJECT).seq


def share_text(one_trip: int, matters: int) -> str:
    """A percentage as a decimal string with one place ("85.0"); no floats anywhere."""
    if matters == 0:
        return "0.0"
    value = Decimal(one_trip * 100) / Decimal(matters)
    return str(value.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))


def one_trip_share(session: Session) -> dict[str, Any]:
    """Share of "at most one trip" matters (required_visits <= 1): overall and per batch.

    Overall counts the current catalogue (withdrawn matters excluded); a batch counts
    the matters as it published them.
    """
    matters, one_trip = session.execute(
        select(
            func.count(),
            func.coalesce(
                func.sum(case((col(PublishedMatter.required_visits) <= 1, 1), else_=0)), 0
            ),
        ).where(col(PublishedMatter.withdrawn).is_(False))
    ).one()
    result: dict[str, Any] = {
        "overall": {
            "matters": matters,
            "one_trip": one_trip,
            "share": share_text(one_trip, matters),
        },
        "batches": [
            {
                "batch_no": b.batch_no,
                "name": b.name,
                "published_on": b.published_on,
                "version": b.version,
                "matters": b.matter_count,
                "one_trip": b.one_trip_count,
                "share": share_text(b.one_trip_count, b.matter_count),
            }
            for b in list_batches(session)
        ],
    }
    # On the county, drafts are the rest of the county's list of matters: the reform's
    # figure (DOMAIN.md: 910 published = 85% of all matters) is published one-trip
    # matters over every matter known, published or not.
    draft_codes = set(session.execute(select(col(MatterDraft.implementation_code))).scalars())
    if draft_codes:
        published_codes = set(
            session.execute(
                select(col(PublishedMatter.implementation_code)).where(
                    col(PublishedMatter.withdrawn).is_(False)
                )
            ).scalars()
        )
        total = len(draft_codes | published_codes)
        result["all_matters"] = {
            "matters": total,
            "one_trip_published": one_trip,
            "share": share_text(one_trip, total),
        }
    return result


def export_published(session: Session) -> list[Matter]:
    return [row.to_matter() for row in list_published(session)]


def export_drafts(session: Session) -> list[Matter]:
    return [row.to_matter() for row in list_drafts(session)]
