"""Mount the screens on a node's app: static files, login, the public portal, the
HTML answers to refusals, and whatever page routers the tier lists."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
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


MESSAGES = {
    400: "请求内容无法解析（不是有效的JSON或表单）",
    404: "找不到这个页面，请检查地址",
    405: "不支持这种访问方式",
}


async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
    """Unknown screens get a page in Chinese; the API answers in the one error shape
    (``common.errors``: code, message, field), with a 405's ``Allow`` listing every
    method the path takes (Starlette lists only the first matching route's)."""
    error = DomainError(
        f"http.{exc.status_code}",
        MESSAGES.get(exc.status_code, str(exc.detail)),
        field="body" if exc.status_code == 400 else None,
        status=exc.status_code,
    )
    if wants_html(request):
        return html_error(request, error)
    headers = dict(exc.headers or {})
    if exc.status_code == 405:
        headers["Allow"] = ", ".join(_methods_of(request))
    return JSONResponse(error.as_dict(), status_code=exc.status_code, headers=headers)


def _methods_of(request: Request) -> list[str]:
    methods: set[str] = set()
    for route in request.app.router.routes:
        pattern = getattr(route, "path_regex", None)
        if pattern is not None and pattern.match(request.url.path):
            methods |= set(getattr(route, "methods", None) or ())
    return sorted(methods)
