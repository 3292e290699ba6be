"""Identity endpoints: enrolment (relayed up the tree), invitations, revocation,
and the registry (public: anyone may verify signatures against it)."""

from __future__ import annotations

from typing import Annotated, Any

import httpx
from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field

from common.api.deps import CurrentUser, NodeDep, SessionDep, only
from common.errors import DomainError, Forbidden
from common.identity import service
from common.identity.enrolment import check_fits_under, keep_registry
from common.identity.link_auth import HEADER_SIG, verify_request
from common.identity.parent_link import post_to_parent, signed_target
from common.identity.registry import registered_nodes_view, registry_events, registry_version
from common.users.roles import Role

router = APIRouter(prefix="/api/v1", tags=["nodes"])


async def raw_body(request: Request) -> bytes:
    return await request.body()


RawBody = Annotated[bytes, Depends(raw_body)]


class EnrolRequest(BaseModel):
    node_id: str = Field(pattern=r"^\d{12}$")
    public_key: str = Field(min_length=40, max_length=64)
    token: str = Field(min_length=10, max_length=200)
    via: list[str] = Field(default_factory=list, max_length=8)


class EnrolResponse(BaseModel):
    node_id: str
    registry_version: int
    registry: list[str] = Field(description="root-signed registry events, canonical JSON text")


@router.post("/enrol", response_model=EnrolResponse)
def enrol(request: Request, body: RawBody, node: NodeDep, session: SessionDep) -> EnrolResponse:
    """A new node asks to join; a non-root node checks and relays it to its parent."""
    payload = EnrolRequest.model_validate_json(body)
    if HEADER_SIG in request.headers:
        peer = verify_request(
            session,
            node.node_id,
            node.network_id,
            "POST",
            signed_target(request.url.path, request.url.query),
            body,
            dict(request.headers),
        )
        if not peer.is_child or not payload.via or payload.via[-1] != peer.node_id:
            raise Forbidden("enrol.relay", "转发注册请求的节点与请求不符", field="via")
    elif payload.via:
        raise Forbidden("enrol.relay", "转发的注册请求必须由下级节点签名", field="via")
    if node.is_root:
        service.accept_enrolment(
            session,
            node,
            node_id=payload.node_id,
            public_key=payload.public_key,
            token=payload.token,
            via=payload.via,
        )
        session.flush()
        return EnrolResponse(
            node_id=payload.node_id,
            registry_version=registry_version(session),
            registry=[raw.decode("utf-8") for raw in registry_events(session)],
        )
    check_fits_under(node.node_id, payload.node_id)
    relayed = payload.model_copy(update={"via": [*payload.via, node.node_id]})
    response = post_to_parent(node, "/api/v1/enrol", relayed.model_dump())
    if response.status_code != 200:
        detail = _error_detail(response)
        raise DomainError(
            detail.get("code", "enrol.upstream"),
            detail.get("message", "上级节点拒绝注册"),
            field=detail.get("field"),
            status=response.status_code if response.status_code < 500 else 502,
        )
    result = EnrolResponse.model_validate(response.json())
    # Keep what passes through: this node learns the new registry version at once.
    keep_registry(session, node, result.registry)
    return result


def _error_detail(response: httpx.Response) -> dict[str, Any]:
    try:
        data = response.json()
        return data if isinstance(data, dict) else {}
    except ValueError:
        return {}


class InviteRequest(BaseModel):
    node_id: str = Field(pattern=r"^\d{12}$")
    name: str = Field(min_length=2, max_length=100)
    tier: str | None = None
    parent_id: str | None = Field(default=None, pattern=r"^\d{12}$")
    valid_hours: int | None = Field(default=None, ge=1, le=24 * 30)


@router.post("/nodes/invite", **only(Role.COUNTY_ADMIN))
def invite(
    payload: InviteRequest, node: NodeDep, session: SessionDep, actor: CurrentUser
) -> dict[str, Any]:
    invitation = service.invite_node(
        session,
        node,
        actor,
        payload.node_id,
        payload.name,
        tier=payload.tier,
        parent_id=payload.parent_id,
        valid_hours=payload.valid_hours,
    )
    return invitation.__dict__


class RevokeRequest(BaseModel):
    reason: str = Field(min_length=2, max_length=300)


@router.post("/nodes/{node_id}/revoke", **only(Role.COUNTY_ADMIN))
def revoke(
    node_id: str, payload: RevokeRequest, node: NodeDep, session: SessionDep, actor: CurrentUser
) -> dict[str, Any]:
    event = service.revoke_node(session, node, actor, node_id, payload.reason)
    return {"node_id": node_id, "registry_version": event.envelope["sseq"]}


@router.get("/registry")
def registry(session: SessionDep) -> dict[str, Any]:
    return {"version": registry_version(session), "nodes": registered_nodes_view(session)}


@router.get("/registry/events")
def registry_signed_events(session: SessionDep) -> dict[str, Any]:
    return {
        "version": registry_version(session),
        "events": [raw.decode("utf-8") for raw in registry_events(session)],
    }
