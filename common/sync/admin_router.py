"""What administrators see of sync on this node: dead letters, held-back events, what
the parent refused of ours, and the state of the link (last round, backoff, backlogs).

Every view names events by id, author, kind and subject, parsed from the stored
envelope; no event body is returned, so no personal data leaves through these views
(reasons are masked as logs are). Dead letters, held events and rejects are for the
county administrator and auditors; the link status, which says nothing about anyone,
for every member of staff of the node (a village agent wants to know whether the line
is up and whether a filing has left).
"""

from __future__ import annotations

import json
import time
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field
from sqlalchemy import func, select
from sqlmodel import Session, col

from common.api.deps import CurrentUser, NodeDep, SessionDep
from common.identifiers.masking import mask_text
from common.identity.parent_link import clock_offset
from common.ledger.models import Event
from common.node import ThisNode
from common.sync.models import DeadLetter, HeldEvent, OutboxEntry, SyncCursor, SyncReject
from common.sync.routing import children_of, parent_of
from common.timeutil import iso_utc
from common.users.roles import Role, require_role

router = APIRouter(prefix="/api/v1/sync", tags=["sync"])

OVERSEERS = (Role.COUNTY_ADMIN, Role.AUDITOR)
STAFF = tuple(Role)
Limit = Annotated[int, Query(ge=1, le=500, description="最多返回条数")]
Offset = Annotated[int, Query(ge=0, description="跳过条数")]


class EventRef(BaseModel):
    """An event as the envelope names it (never its body)."""

    event_id: str
    author: str | None = Field(default=None, description="写入事件的节点")
    aseq: int | None = None
    kind: str | None = None
    subject: str | None = None
    sseq: int | None = None


class DeadLetterOut(EventRef):
    id: int
    code: str = Field(description="拒收代码，如 event.signature")
    reason: str
    from_peer: str | None = Field(description="送来此事件的相邻节点")
    received_at: str


class HeldOut(EventRef):
    waiting_for: str = Field(description="在等什么：前一个事件或材料文件")
    from_peer: str | None
    held_since: str


class RejectOut(EventRef):
    id: int
    peer: str = Field(description="拒收的上级节点")
    code: str
    reason: str
    reported_at: str


class LastRound(BaseModel):
    pushed: int
    pulled: int
    blobs_up: int
    blobs_down: int
    rejected: int
    held: int


class LinkState(BaseModel):
    enabled: bool = Field(description="本进程是否在定时同步")
    interval_seconds: float
    last_success: str | None
    last_error: str | None
    failures: int = Field(description="连续失败次数（退避）")
    retry_in_seconds: float = Field(description="退避中：距下次尝试的秒数")
    last_round: LastRound | None


class NeighbourOut(BaseModel):
    node_id: str
    relation: str = Field(description="parent 上级 / child 下级")
    backlog: int = Field(description="待发送给该节点的事件数")
    sent_acked: int
    received: int


class StatusOut(BaseModel):
    node_id: str
    tier: str
    parent_id: str | None
    parent_url: str | None
    sync: LinkState
    clock_offset_ms: int = Field(description="向上级校正的时钟偏差（毫秒）")
    neighbours: list[NeighbourOut]
    held: int
    dead_letters: int
    rejects: int


def _envelope_ref(event_id: str, raw: bytes) -> dict[str, Any]:
    """Parse only the envelope's naming fields; a malformed raw still gets its row."""
    ref: dict[str, Any] = {"event_id": event_id}
    try:
        envelope = json.loads(raw)
    except ValueError:
        return ref
    if not isinstance(envelope, dict):
        return ref
    for name, kind in (
        ("author", str),
        ("aseq", int),
        ("kind", str),
        ("subject", str),
        ("sseq", int),
    ):
        value = envelope.get(name)
        if isinstance(value, kind) and not isinstance(value, bool):
            ref[name] = mask_text(value) if isinstance(value, str) else value
    return ref


def dead_letters(session: Session, limit: int, offset: int) -> list[DeadLetterOut]:
    rows = session.execute(
        select(DeadLetter).order_by(col(DeadLetter.id).desc()).limit(limit).offset(offset)
    ).scalars()
    return [
        DeadLetterOut(
            **_envelope_ref(row.event_id, row.raw),
            id=row.id or 0,
            code=row.code,
            reason=mask_text(row.reason),
            from_peer=row.from_peer,
            received_at=iso_utc(row.received_at),
        )
        for row in rows
    ]


def held_events(session: Session, limit: int, offset: int) -> list[HeldOut]:
    rows = session.execute(
        select(HeldEvent)
        .order_by(col(HeldEvent.held_at), col(HeldEvent.event_id))
        .limit(limit)
        .offset(offset)
    ).scalars()
    return [
        HeldOut(
            **_envelope_ref(row.event_id, row.raw),
            waiting_for=mask_text(row.waiting_for),
            from_peer=row.from_peer,
            held_since=iso_utc(row.held_at),
        )
        for row in rows
    ]


def rejects(session: Session, limit: int, offset: int) -> list[RejectOut]:
    rows = list(
        session.execute(
            select(SyncReject).order_by(col(SyncReject.id).desc()).limit(limit).offset(offset)
        ).scalars()
    )
    ours = (
        {
            e.id: e
            for e in session.execute(
                select(Event).where(col(Event.id).in_([r.event_id for r in rows]))
            ).scalars()
        }
        if rows
        else {}
    )
    answers = []
    for row in rows:
        event = ours.get(row.event_id)
        ref = _envelope_ref(row.event_id, event.raw) if event else {"event_id": row.event_id}
        answers.append(
            RejectOut(
                **ref,
                id=row.id or 0,
                peer=row.peer,
                code=row.code,
                reason=mask_text(row.reason),
                reported_at=iso_utc(row.reported_at),
            )
        )
    return answers


def _count(session: Session, model: Any) -> int:
    return int(session.execute(select(func.count()).select_from(model)).scalar_one())


def _link_state(node: ThisNode, scheduler: Any) -> LinkState:
    if scheduler is None:
        return LinkState(
            enabled=False,
            interval_seconds=node.settings.sync_interval_seconds,
            last_success=None,
            last_error=None,
            failures=0,
            retry_in_seconds=0.0,
            last_round=None,
        )
    report = scheduler.last_report
    success: datetime | None = scheduler.last_success
    return LinkState(
        enabled=True,
        interval_seconds=scheduler.interval,
        last_success=iso_utc(success) if success else None,
        last_error=scheduler.last_error,
        failures=scheduler.backoff.failures,
        retry_in_seconds=round(max(0.0, scheduler.not_before - time.monotonic()), 3),
        last_round=LastRound(
            pushed=report.pushed,
            pulled=report.pulled,
            blobs_up=report.blobs_up,
            blobs_down=report.blobs_down,
            rejected=len(report.rejected),
            held=report.held,
        )
        if report
        else None,
    )


def link_status(session: Session, node: ThisNode, scheduler: Any) -> StatusOut:
    parent = parent_of(session, node.node_id)
    neighbours = [(parent, "parent")] if parent else []
    neighbours += [(child, "child") for child in children_of(session, node.node_id)]
    rows = []
    for peer, relation in neighbours:
        # Read the cursor without creating it: looking must not write.
        position = session.get(SyncCursor, peer) or SyncCursor(peer=peer)
        waiting = session.execute(
            select(func.count())
            .select_from(OutboxEntry)
            .where(col(OutboxEntry.peer) == peer, col(OutboxEntry.seq) > position.sent_acked)
        ).scalar_one()
        rows.append(
            NeighbourOut(
                node_id=peer,
                relation=relation,
                backlog=int(waiting),
                sent_acked=position.sent_acked,
                received=position.received,
            )
        )
    return StatusOut(
        node_id=node.node_id,
        tier=node.tier,
        parent_id=parent,
        parent_url=node.settings.parent_url,
        sync=_link_state(node, scheduler),
        clock_offset_ms=int(clock_offset(node) * 1000),
        neighbours=rows,
        held=_count(session, HeldEvent),
        dead_letters=_count(session, DeadLetter),
        rejects=_count(session, SyncReject),
    )


@router.get("/dead-letters", response_model=list[DeadLetterOut])
def list_dead_letters(
    actor: CurrentUser, session: SessionDep, limit: Limit = 100, offset: Offset = 0
) -> list[DeadLetterOut]:
    """拒收的事件（死信）：签名无效、密钥未知或已注销、格式错误；不会重试。newest first."""
    require_role(actor, *OVERSEERS)
    return dead_letters(session, limit, offset)


@router.get("/held", response_model=list[HeldOut])
def list_held(
    actor: CurrentUser, session: SessionDep, limit: Limit = 100, offset: Offset = 0
) -> list[HeldOut]:
    """暂存的事件：先于前一个事件（或其材料文件）到达，缺口补齐后自动入账。oldest first."""
    require_role(actor, *OVERSEERS)
    return held_events(session, limit, offset)


@router.get("/rejects", response_model=list[RejectOut])
def list_rejects(
    actor: CurrentUser, session: SessionDep, limit: Limit = 100, offset: Offset = 0
) -> list[RejectOut]:
    """上级节点拒收的本节点事件及理由。newest first."""
    require_role(actor, *OVERSEERS)
    return rejects(session, limit, offset)


@router.get("/status", response_model=StatusOut)
def sync_status(
    request: Request, actor: CurrentUser, session: SessionDep, node: NodeDep
) -> StatusOut:
    """本节点的同步状态：上级、最近一次同步、退避、各相邻节点的待发送数、暂存数。"""
    require_role(actor, *STAFF)
    return link_status(session, node, getattr(request.app.state, "sync", None))
