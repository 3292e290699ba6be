"""``create_app(settings)``: the node's web application, the same code on every tier.

The tier (county, township, village, ...) adds its routers through its ``Tier``
entry; common/ mounts the routers every node has.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from importlib import import_module
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import ValidationError
from sqlalchemy.exc import IntegrityError

from common import __version__
from common.api.headers import SecurityHeaders
from common.api.limits import BodyLimit, RequestTooLarge
from common.api.openapi import ERROR_RESPONSES
from common.bootstrap import node_from_settings
from common.cases.intake.lookup_guard import LookupGuard
from common.domains import ROUTER_MODULES
from common.errors import Conflict, DomainError
from common.identity.link_auth import HEADER_SERVER_TIME, ClockSkew
from common.logs import configure_logging
from common.node import ThisNode
from common.settings import NodeSettings
from common.tiers import load_tier
from common.users.login_guard import LoginGuard
from common.web.mount import mount_screens, wants_html
from common.web.page import html_error

log = logging.getLogger("onetrip.app")
START_CHECK_SECONDS = 5.0


def server_options(settings: NodeSettings) -> dict[str, Any]:
    """How uvicorn serves a node (``onetrip serve``, and the tests' live servers)."""
    return {
        "host": settings.host,
        "port": settings.port,
        "log_level": "warning",
        "log_config": None,  # our handler (common.logs) masks personal data in uvicorn's records too
        # The client address (throttles key on it) comes from X-Forwarded-For only when the
        # direct peer is a configured proxy; uvicorn would otherwise trust 127.0.0.1.
        "proxy_headers": bool(settings.trusted_proxies),
        "forwarded_allow_ips": settings.trusted_proxies or None,
    }


def create_app(settings: NodeSettings, *, node: ThisNode | None = None) -> FastAPI:
    configure_logging(json_lines=settings.log_json)
    node = node or node_from_settings(settings)
    tier = load_tier(node.tier)
    app = FastAPI(
        title=f"onetrip {tier.label}节点 {node.node_id}",
        version=__version__,
        description="最多跑一次 政务服务节点 API",
        lifespan=_lifespan,
    )
    app.state.node = node
    app.state.tier = tier
    app.state.lookup_guard = LookupGuard()
    app.state.login_guard = LoginGuard()
    _install_error_handlers(app)
    # Added last runs first: the body limit wraps everything, headers go on every answer.
    app.add_middleware(SecurityHeaders)
    app.add_middleware(BodyLimit)
    for module_name in ROUTER_MODULES:
        app.include_router(import_module(module_name).router, responses=ERROR_RESPONSES)
    for make_router in tier.routers:
        app.include_router(make_router(), responses=ERROR_RESPONSES)
    mount_screens(app)
    return app


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Sync with the parent in the background while the node serves (not on the root)."""
    from common.sync.scheduler import SyncScheduler

    node: ThisNode = app.state.node
    scheduler = None
    if node.settings.parent_url and node.settings.sync_enabled:
        _check_standing_at_start(node)
        scheduler = SyncScheduler(node, interval=node.settings.sync_interval_seconds)
        scheduler.start()
    app.state.sync = scheduler
    try:
        yield
    finally:
        if scheduler is not None:
            scheduler.shutdown()


def _check_standing_at_start(node: ThisNode) -> None:
    """Before the first request: did this node lose writes its parent holds? (A node
    that starts out of reach works offline; the first sync round asks again.)"""
    import httpx

    from common.sync.client import SyncError, check_standing

    try:
        check_standing(node, timeout=START_CHECK_SECONDS)
    except (SyncError, httpx.HTTPError) as exc:
        log.warning(
            "could not ask the parent what it holds of this node's chain at start: %s",
            type(exc).__name__,
            extra={"code": "sync.standing_unknown"},
        )


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def _domain_error(request: Request, exc: DomainError) -> Response:
        if wants_html(request):
            return html_error(request, exc)
        headers = {}
        if isinstance(exc, ClockSkew):
            headers[HEADER_SERVER_TIME] = str(exc.server_time)
        retry_after = getattr(exc, "retry_after", None)
        if retry_after:
            headers["Retry-After"] = str(int(retry_after) + 1)
        return JSONResponse(exc.as_dict(), status_code=exc.status_code, headers=headers)

    @app.exception_handler(RequestTooLarge)
    async def _too_large(_request: Request, exc: RequestTooLarge) -> Response:
        # The body stream passed its route's limit while an endpoint was reading it.
        return JSONResponse(exc.as_dict(), status_code=413, headers={"Connection": "close"})

    @app.exception_handler(RequestValidationError)
    async def _invalid_request(request: Request, exc: RequestValidationError) -> Response:
        body = _validation_body(exc.errors())
        if wants_html(request):
            return html_error(
                request, DomainError(body["code"], body["message"], field=body["field"], status=422)
            )
        return JSONResponse(body, status_code=422)

    @app.exception_handler(IntegrityError)
    async def _write_conflict(request: Request, exc: IntegrityError) -> Response:
        # Two requests writing the same row at once on PostgreSQL (SQLite queues writers).
        # Everything the request wrote is rolled back; the caller may simply retry. Only the
        # constraint's name is logged: the driver's message carries the row's values.
        log.warning(
            "write conflict; request rolled back",
            extra={"code": "request.conflict", "constraint": _constraint_name(exc)},
        )
        conflict = Conflict(
            "request.conflict", "另一项操作正在同时修改同一记录，本次操作未保存，请重试"
        )
        if wants_html(request):
            return html_error(request, conflict)
        return JSONResponse(conflict.as_dict(), status_code=conflict.status_code)

    @app.exception_handler(ValidationError)
    async def _invalid_payload(_request: Request, exc: ValidationError) -> JSONResponse:
        # Raised when an endpoint validates a raw body itself (e.g. signed requests).
        return JSONResponse(_validation_body(exc.errors()), status_code=422)


def _constraint_name(exc: IntegrityError) -> str | None:
    diag = getattr(exc.orig, "diag", None)  # psycopg
    if diag is not None:
        return getattr(diag, "constraint_name", None)
    text = str(exc.orig)  # sqlite3: "UNIQUE constraint failed: blobs.sha256" (names, no values)
    return text.split(":", 1)[1].strip()[:120] if "constraint failed:" in text else None


def _validation_body(errors: Sequence[Any]) -> dict[str, Any]:
    problems: list[dict[str, Any]] = []
    for error in errors:
        loc = [str(part) for part in error.get("loc", ()) if part not in ("body", "query", "path")]
        problems.append(
            {
                "field": ".".join(loc) or None,
                "message": error.get("msg", ""),
                "type": error.get("type"),
            }
        )
    first = problems[0] if problems else {"field": None, "message": ""}
    return {
        "code": "request.invalid",
        "message": f"请求内容不符合要求：{first['field'] or '请求'} — {first['message']}",
        "field": first["field"],
        "problems": problems,
    }
