"""The parent's side of sync: push, pull, blobs and the health overview.

Every sync request is signed by a direct child (common.identity.link_auth). A pushed
batch is applied in the request's one transaction, committed before the answer, so an
acknowledgement always means "stored".
"""

from __future__ import annotations

import logging
import time
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, Field

from common.api.deps import CurrentUser, NodeDep, SessionDep
from common.db import serialize
from common.errors import Forbidden
from common.identity.link_auth import VerifiedPeer, verify_request
from common.identity.parent_link import signed_target
from common.identity.router import RawBody
from common.sync import blob_transfer
from common.sync.outbox import (
    acknowledge,
    backfill_child,
    child_pushes_lost,
    read_batch,
    reconcile_pull,
    record_push,
)
from common.sync.receive import receive_batch
from common.sync.recovery import answer_standing
from common.sync.telemetry import health_overview, node_silent_after, record_reports
from common.users.roles import Role, require_role

log = logging.getLogger("onetrip.sync")
BUNDLE_MORE_HEADER = "X-Onetrip-Bundle-More"
router = APIRouter(prefix="/api/v1", tags=["sync"])


def _child(
    request: Request, body: bytes, node: NodeDep, session: SessionDep, *, writes: bool = True
) -> VerifiedPeer:
    """The verified direct child. A request that writes then waits for any other sync write
    on this node (PostgreSQL; SQLite's write lock does it already): two rounds from a
    child, or the same files offered twice, never interleave."""
    peer = verify_request(
        session,
        node.node_id,
        node.network_id,
        request.method,
        signed_target(request.url.path, request.url.query),
        body,
        dict(request.headers),
    )
    if not peer.is_child:
        raise Forbidden("sync.not_child", "只有下级节点可以向本节点同步", field="X-Onetrip-Node")
    if writes:
        serialize(session, "sync:ingest")
    return peer


class PushRequest(BaseModel):
    after: int = Field(ge=0)
    last_seq: int = Field(ge=0)
    events: list[str] = Field(max_length=1000)
    report: dict[str, Any] = Field(default_factory=dict)
    relayed: list[dict[str, Any]] = Field(default_factory=list, max_length=5000)


@router.post("/sync/push")
def push(request: Request, body: RawBody, node: NodeDep, session: SessionDep) -> dict[str, Any]:
    peer = _child(request, body, node, session)
    payload = PushRequest.model_validate_json(body)
    resend = child_pushes_lost(session, peer.node_id, payload.after)
    if resend:
        log.warning(
            "a child's acknowledged pushes are missing here (restored from a backup?); asked to resend",
            extra={"peer": peer.node_id, "code": "sync.pushes_lost"},
        )
    result = receive_batch(session, node, peer.node_id, [e.encode("utf-8") for e in payload.events])
    record_push(session, peer.node_id, payload.last_seq)
    report = {**payload.report, "node_id": peer.node_id}
    record_reports(session, node.node_id, payload.relayed, direct=report)
    return {
        "ack": payload.last_seq,
        "result": result.as_dict(),
        "server_time": int(time.time()),
        "resend_subtree": resend,
    }


class StandingRequest(BaseModel):
    own_head: int = Field(ge=0, description="the last position of the child's own chain it holds")


@router.post("/sync/standing")
def standing(request: Request, body: RawBody, node: NodeDep, session: SessionDep) -> dict[str, Any]:
    """What this node holds of the child's own chain (``common.sync.recovery``)."""
    peer = _child(request, body, node, session)
    payload = StandingRequest.model_validate_json(body)
    return answer_standing(session, peer.node_id, payload.own_head)


class PullRequest(BaseModel):
    after: int = Field(ge=0, description="the highest seq of ours the child has applied")
    max_events: int = Field(default=500, ge=1, le=500)


@router.post("/sync/pull")
def pull(request: Request, body: RawBody, node: NodeDep, session: SessionDep) -> dict[str, Any]:
    peer = _child(request, body, node, session)
    payload = PullRequest.model_validate_json(body)
    backfill_child(session, node.node_id, peer.node_id)
    reconcile_pull(session, node.node_id, peer.node_id, payload.after)
    acknowledge(session, peer.node_id, payload.after)
    batch = read_batch(session, peer.node_id, payload.after, max_events=payload.max_events)
    return {
        "events": [raw.decode("utf-8") for raw in batch.events],
        "last_seq": batch.last_seq,
        "more": batch.more,
        "server_time": int(time.time()),
    }


class MissingRequest(BaseModel):
    hashes: list[str] = Field(max_length=2000)


@router.post("/sync/blobs/missing")
def blobs_missing(
    request: Request, body: RawBody, node: NodeDep, session: SessionDep
) -> dict[str, Any]:
    _child(request, body, node, session, writes=False)
    payload = MissingRequest.model_validate_json(body)
    return {"missing": blob_transfer.missing_of(session, payload.hashes)}


@router.post("/sync/blobs")
def blob_bundle_upload(
    request: Request, body: RawBody, node: NodeDep, session: SessionDep
) -> dict[str, Any]:
    """Several small files in one request (``blob_transfer.pack_blobs``)."""
    _child(request, body, node, session)
    return blob_transfer.receive_blobs(session, node, body)


@router.post("/sync/blobs/bundle")
def blob_bundle_download(
    request: Request, body: RawBody, node: NodeDep, session: SessionDep
) -> Response:
    """The small files a child asks for that this node holds, several to a response
    (``blob_transfer.bundle_of``); ``X-Onetrip-Bundle-More`` says the size limit cut it."""
    _child(request, body, node, session, writes=False)
    payload = MissingRequest.model_validate_json(body)
    packed, more = blob_transfer.bundle_of(node, session, payload.hashes)
    return Response(
        packed,
        media_type="application/octet-stream",
        headers={BUNDLE_MORE_HEADER: "1" if more else "0"},
    )


@router.post("/sync/blobs/{sha256}")
def blob_upload(
    sha256: str,
    request: Request,
    body: RawBody,
    node: NodeDep,
    session: SessionDep,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> dict[str, Any]:
    _child(request, body, node, session)
    return blob_transfer.receive_chunk(session, node, sha256, offset, body)


@router.get("/sync/blobs/{sha256}")
def blob_download(
    sha256: str,
    request: Request,
    node: NodeDep,
    session: SessionDep,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> Response:
    _child(request, b"", node, session, writes=False)
    return Response(
        blob_transfer.read_chunk(node, sha256, offset), media_type="application/octet-stream"
    )


@router.get("/nodes/health")
def nodes_health(session: SessionDep, node: NodeDep, actor: CurrentUser) -> list[dict[str, Any]]:
    """Every node with its last contact, backlog, version and clock; silent ones flagged
    (no contact for ``silent_after_rounds`` sync intervals)."""
    require_role(
        actor, Role.COUNTY_ADMIN, Role.AUDITOR, Role.TOWNSHIP_APPROVER, Role.TOWNSHIP_CLERK
    )
    return health_overview(session, silent_after=node_silent_after(node))
