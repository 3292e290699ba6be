"""Login, logout and the landing redirect: every node has them."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlsplit

from fastapi import APIRouter, Form
from fastapi.responses import Response

from common.api.deps import session_cookie
from common.errors import DomainError
from common.users.service import authenticate_password, issue_api_token, revoke_api_token
from common.web import session as web_session
from common.web.layout import home_path
from common.web.page import PublicPage, StaffPage

router = APIRouter(include_in_schema=False)


def _safe_next(target: str | None) -> str | None:
    """Only a path on this node: a login link must not bounce people elsewhere."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


@router.get("/")
def landing(page: PublicPage) -> Response:
    if page.actor is None:
        return page.redirect("/portal")
    return page.redirect(home_path(page.actor.role))


@router.get("/login")
def login_form(page: PublicPage, next: str | None = None) -> Response:
    if page.actor is not None:
        return page.redirect(_safe_next(next) or home_path(page.actor.role))
    return page.render(
        "login.html", page_title="工作人员登录", next=_safe_next(next) or "", username=""
    )


@router.post("/login")
def log_in(
    page: PublicPage,
    username: Annotated[str, Form(max_length=64)] = "",
    password: Annotated[str, Form(max_length=256)] = "",
    next: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    node = page.node
    actor, error = None, None
    if not username.strip():
        error = DomainError("auth.username_missing", "请输入用户名", field="username")
    else:
        guard = page.request.app.state.login_guard
        client = page.request.client.host if page.request.client else ""
        name = username.strip().lower()
        try:
            guard.admit(client, name)
            # Not in a savepoint: a refused password must still count towards the slowdown.
            actor = authenticate_password(page.session, node.node_id, username, password, node=node)
            guard.forgive(client, name)
        except DomainError as refusal:
            if refusal.code == "auth.invalid":
                guard.wrong(client, name)
            error = refusal
    if actor is None:
        assert error is not None
        return page.form_error(
            "login.html",
            error,
            page_title="工作人员登录",
            next=_safe_next(next) or "",
            username=username.strip()[:32],
        )
    token = issue_api_token(
        page.session, node.node_id, actor.username, label="浏览器登录", ttl_days=1
    )
    response = page.redirect(_safe_next(next) or home_path(actor.role))
    web_session.set_cookie(
        response,
        page.request,
        session_cookie(node),
        token,
        max_age=web_session.SESSION_HOURS * 3600,
    )
    response.delete_cookie(web_session.login_csrf_cookie(node), path="/")
    return response


@router.post("/logout")
def log_out(page: StaffPage) -> Response:
    assert page.session_token is not None
    revoke_api_token(page.session, page.node.node_id, page.session_token)
    response = page.redirect("/login", notice="已安全退出")
    response.delete_cookie(session_cookie(page.node), path="/")
    return response
