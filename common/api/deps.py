"""Typed FastAPI dependencies: ``NodeDep``, ``SessionDep``, ``CurrentUser``.

``SessionDep`` gives the request one transaction: committed when the endpoint
returns, rolled back on any error. Endpoints and services never commit themselves.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlmodel import Session

from common.db import transaction
from common.errors import Unauthorised
from common.node import ThisNode
from common.users.roles import Actor, Role, require_role


def get_node(request: Request) -> ThisNode:
    node: ThisNode = request.app.state.node
    return node


NodeDep = Annotated[ThisNode, Depends(get_node)]


def get_session(node: NodeDep) -> Iterator[Session]:
    with transaction(node.engine) as session:
        yield session


# scope="function": commit before the response is sent, so a failed commit is a 5xx
# the client sees, never a 200 for something not stored.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]

_bearer = HTTPBearer(auto_error=False)


def session_cookie(node: ThisNode) -> str:
    """The browser session cookie: set by the screens (``common.web.session``), read here.

    The name carries the node id: browsers share cookies between ports of one host."""
    return f"onetrip_session_{node.node_id}"


def get_current_user(
    request: Request,
    session: SessionDep,
    node: NodeDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Actor:
    from common.users.service import actor_for_token

    if credentials is not None:
        return actor_for_token(session, node.node_id, credentials.credentials)
    # A logged-in browser may read (GET: documents, the API's views) with its session
    # cookie; changes through the API need the bearer token, so no CSRF hole opens.
    cookie = (
        request.cookies.get(session_cookie(node)) if request.method in ("GET", "HEAD") else None
    )
    if cookie:
        return actor_for_token(session, node.node_id, cookie)
    raise Unauthorised("auth.missing", "请先登录或提供访问令牌", field="Authorization")


CurrentUser = Annotated[Actor, Depends(get_current_user)]


def get_optional_user(
    request: Request,
    session: SessionDep,
    node: NodeDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Actor | None:
    """The user when the request carries valid credentials, else None (public pages)."""
    try:
        return get_current_user(request, session, node, credentials)
    except Unauthorised:
        return None


OptionalUser = Annotated[Actor | None, Depends(get_optional_user)]


def only(*roles: Role) -> dict[str, Any]:
    """The route arguments of an endpoint only ``roles`` may call (``@router.post(path,
    **only(Role.COUNTY_ADMIN))``): the role is checked before the body is read or
    validated, so a caller without the right gets 403, never a 422 that describes the
    input; ``x-roles`` in the OpenAPI document says who may. The action function
    checks again, with the rest of its rules."""

    def role_first(actor: CurrentUser) -> None:
        require_role(actor, *roles)

    return {
        "dependencies": [Depends(role_first)],
        "openapi_extra": {"x-roles": [role.value for role in roles]},
    }
