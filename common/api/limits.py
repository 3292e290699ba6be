"""Bounded requests: how many body bytes a route class may send, enforced before routing.

A pure ASGI middleware (outermost of the app's own), so no endpoint, form parser or
signature check ever holds more than its route's limit:

- a declared ``Content-Length`` over the limit is refused at once with 413, before a
  byte of the body is read;
- a body without a length (chunked) is counted as it streams and refused with 413 the
  moment it passes the limit;
- a body that may be larger than the small default must come with credentials (the
  link signature for sync, a bearer token or a session cookie elsewhere), and they are
  verified before anything is read: a token or session must be a live one of this
  node; a link signature is checked over the body hash the request declares (the
  endpoint checks it again over the body it reads). Otherwise the answer is 401.

Starlette and FastAPI have no body limit of their own (uvicorn's ``--limit-*`` options
bound concurrency, not size), so this small middleware is written here.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from http.cookies import SimpleCookie
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException

from common.errors import Unauthorised
from common.node import ThisNode

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

KiB = 1024
MiB = 1024 * KiB
SMALL_BODY = 256 * KiB  # forms and JSON commands
FILE_BYTES = 10 * MiB  # one uploaded material (common.blobs.store.MAX_BLOB_BYTES)
FORM_OVERHEAD = 64 * KiB  # multipart headers and the form's other fields

LINK = ("x-onetrip-node", "x-onetrip-signature")
BEARER = ("authorization",)
SESSION_COOKIE = "onetrip_session_"


@dataclass(frozen=True)
class RouteLimit:
    pattern: re.Pattern[str]
    max_bytes: int
    credentials: tuple[str, ...]  # headers of which one must be present for a large body
    what: str  # said in the 413 message


def _route(pattern: str, max_bytes: int, credentials: tuple[str, ...], what: str) -> RouteLimit:
    return RouteLimit(re.compile(pattern), max_bytes, credentials, what)


# First match wins; a path matching none may send SMALL_BODY.
ROUTE_LIMITS: tuple[RouteLimit, ...] = (
    # A push carries at most one outbox batch (4 MiB of events, base64 in JSON) or a 1 MiB
    # blob chunk; 8 MiB leaves the JSON's margin.
    _route(r"^/api/v1/sync/", 8 * MiB, LINK, "同步批次"),
    # Catalogue workbooks (common.catalog.router.MAX_UPLOAD_BYTES is 20 MiB).
    _route(
        r"^/(api/v1/catalogue|admin/catalogue)/import$", 20 * MiB + FORM_OVERHEAD, (), "目录文件"
    ),
    _route(r"^/api/v1/catalogue/batches$", 4 * MiB, (), "目录批次"),
    _route(r"^/(api/v1/calendar/years|admin/calendar/import)$", 2 * MiB, (), "日历文件"),
    _route(r"^/api/v1/blobs$", FILE_BYTES + FORM_OVERHEAD, BEARER, "上传文件"),
    # Screens that attach materials: a filing or a supplement may carry several files.
    _route(
        r"^/(agent/file/[^/]+|(agent|staff)/cases/[^/]+/supplement)$",
        5 * FILE_BYTES + FORM_OVERHEAD,
        (),
        "材料文件",
    ),
)


def limit_for(path: str) -> RouteLimit | None:
    for route in ROUTE_LIMITS:
        if route.pattern.search(path):
            return route
    return None


class RequestTooLarge(HTTPException):
    """Raised from the body stream when it passes its limit (a 413 for the caller).

    An ``HTTPException`` so that FastAPI's body parsing lets it through unchanged; the
    app answers it in the common error shape (``common.app``)."""

    def __init__(self, max_bytes: int, what: str) -> None:
        super().__init__(413, f"{what}过大：一次请求不能超过{_size(max_bytes)}")
        self.max_bytes = max_bytes

    def as_dict(self) -> dict[str, str | None]:
        return {"code": "request.too_large", "message": str(self.detail), "field": "body"}


def _size(max_bytes: int) -> str:
    if max_bytes >= MiB:
        return f"{max_bytes / MiB:.0f}MB" if max_bytes % MiB == 0 else f"{max_bytes / MiB:.1f}MB"
    return f"{max_bytes // KiB}KB"


class BodyLimit:
    """The middleware (``app.add_middleware(BodyLimit)``)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        route = limit_for(scope["path"])
        max_bytes = route.max_bytes if route else SMALL_BODY
        what = route.what if route else "请求内容"
        headers = _headers(scope)
        declared = _content_length(headers)
        if declared is not None and declared > max_bytes:
            await _answer(send, 413, RequestTooLarge(max_bytes, what).as_dict())
            return
        may_be_large = declared is None or declared > SMALL_BODY
        if route is not None and may_be_large:
            if not _has_credentials(headers, route):
                await _answer(send, 401, _missing_credentials(route))
                return
            refusal = await run_in_threadpool(_refuse_credentials, scope, headers)
            if refusal is not None:
                await _answer(send, 401, refusal.as_dict(), _refusal_headers(refusal))
                return

        received = 0
        started = False

        async def bounded_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > max_bytes:
                    raise RequestTooLarge(max_bytes, what)
            return message

        async def watched_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, bounded_receive, watched_send)
        except RequestTooLarge as exc:
            if started:
                raise
            await _answer(send, 413, exc.as_dict())


def _headers(scope: Scope) -> dict[str, str]:
    return {
        name.decode("latin-1").lower(): value.decode("latin-1")
        for name, value in scope.get("headers", ())
    }


def _content_length(headers: dict[str, str]) -> int | None:
    value = headers.get("content-length")
    if value is None:
        return None
    try:
        return max(0, int(value))
    except ValueError:
        return None  # counted as it streams instead


def _has_credentials(headers: dict[str, str], route: RouteLimit) -> bool:
    """The route's own credential headers; a route naming none takes any, or a session."""
    if route.credentials:
        return all(headers.get(name) for name in route.credentials)
    return any(headers.get(name) for name in (*BEARER, *LINK)) or (
        SESSION_COOKIE in headers.get("cookie", "")
    )


def _refuse_credentials(scope: Scope, headers: dict[str, str]) -> Unauthorised | None:
    """Why the request's credentials are not good on this node, or None: a bearer token,
    else the session cookie, else the link signature over the declared body hash."""
    from common.api.deps import session_cookie
    from common.db import transaction
    from common.identity.link_auth import verify_declared
    from common.identity.parent_link import signed_target
    from common.users.service import actor_for_token

    node: ThisNode = scope["app"].state.node
    bearer = headers.get("authorization", "")
    cookie = SimpleCookie(headers.get("cookie", "")).get(session_cookie(node))
    try:
        with transaction(node.engine) as session:
            if bearer.lower().startswith("bearer "):
                actor_for_token(session, node.node_id, bearer[7:].strip())
            elif cookie is not None:
                actor_for_token(session, node.node_id, cookie.value)
            else:
                query = scope.get("query_string", b"").decode("latin-1")
                verify_declared(
                    session,
                    node.node_id,
                    node.network_id,
                    scope["method"],
                    signed_target(scope["path"], query),
                    headers,
                )
    except Unauthorised as refusal:
        return refusal
    return None


def _refusal_headers(refusal: Unauthorised) -> list[tuple[bytes, bytes]]:
    """A skewed clock is answered with this node's time, as the endpoint does."""
    from common.identity.link_auth import HEADER_SERVER_TIME, ClockSkew

    if isinstance(refusal, ClockSkew):
        return [(HEADER_SERVER_TIME.lower().encode(), str(refusal.server_time).encode())]
    return []


def _missing_credentials(route: RouteLimit) -> dict[str, str | None]:
    field = "X-Onetrip-Signature" if route.credentials == LINK else "Authorization"
    return {
        "code": "auth.missing",
        "message": "较大的请求须先出示身份凭据（登录或签名），未读取请求内容",
        "field": field,
    }


async def _answer(
    send: Send,
    status: int,
    body: dict[str, str | None],
    headers: list[tuple[bytes, bytes]] | None = None,
) -> None:
    payload = json.dumps(body, ensure_ascii=False).encode("utf-8")
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json; charset=utf-8"),
                (b"content-length", str(len(payload)).encode()),
                (b"connection", b"close"),
                *(headers or []),
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})
