"""Mount the screens on a node's app: static files, login, the public portal, the
HTML answers to refusals, and whatever page routers the tier lists."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from common.errors import DomainError
from common.web.page import LoginRequired, html_error, redirect_to_login
from common.web.templating import STATIC_DIR

# Paths that answer JSON; everything else is a screen and answers refusals as pages.
API_PREFIXES = ("/api/", "/healthz", "/openapi.json", "/docs", "/redoc")


def wants_html(request: Request) -> bool:
    return not request.url.path.startswith(API_PREFIXES) and request.url.path != "/healthz"


def mount_screens(app: FastAPI) -> None:
    from common.web import pages_auth, pages_public

    app.mount("/static", StaticFiles(directory=str(STATIC_DIR)), name="static")
    app.include_router(pages_auth.router)
    app.include_router(pages_public.router)
    app.add_exception_handler(LoginRequired, redirect_to_login)  # type: ignore[arg-type]
    app.add_exception_handler(StarletteHTTPException, _http_error)  # type: ignore[arg-type]


async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
    """Unknown screens get a page in Chinese; the API keeps FastAPI's JSON answer."""
    if not wants_html(request):
        return await http_exception_handler(request, exc)
    messages = {404: "找不到这个页面，请检查地址", 405: "不支持这种访问方式"}
    error = DomainError(
        f"http.{exc.status_code}",
        messages.get(exc.status_code, str(exc.detail)),
        status=exc.status_code,
    )
    return html_error(request, error)
