"""``Page``: what every screen handler gets — request, session, node, actor — and how
it answers (a rendered template, a redirect with a notice, an error shown on the form).

Dependencies:
- ``PublicPage``: anyone; the actor is set when a user is logged in.
- ``StaffPage``: a logged-in user (else a redirect to the login page).
- ``page_for(*roles)``: a logged-in user holding one of ``roles`` (else 403 page).
A POST through any of them has its CSRF token checked before the handler runs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Annotated, Any, TypeVar
from urllib.parse import quote, unquote

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlmodel import Session

from common.api.deps import NodeDep, SessionDep, session_cookie
from common.errors import DomainError, Forbidden, Unauthorised
from common.node import ThisNode
from common.users.roles import ROLE_LABELS, Actor, Role
from common.web import session as web_session
from common.web.templating import templates

T = TypeVar("T")


class LoginRequired(Exception):
    """Raised by a page dependency; answered with a redirect to the login page."""

    def __init__(self, next_url: str) -> None:
        super().__init__(next_url)
        self.next_url = next_url


class CsrfFailed(Forbidden):
    def __init__(self) -> None:
        super().__init__(
            "web.csrf", "表单已过期或来源不明，请刷新页面后重新提交", field="csrf_token"
        )


@dataclass
class Page:
    request: Request
    session: Session
    node: ThisNode
    actor: Actor | None
    session_token: str | None = None
    form: dict[str, Any] = field(default_factory=dict)
    _login_csrf: str | None = None

    @property
    def csrf_token(self) -> str:
        if self.session_token:
            return web_session.csrf_for_session(self.session_token)
        if self._login_csrf is None:
            cookie = self.request.cookies.get(web_session.login_csrf_cookie(self.node))
            self._login_csrf = cookie or web_session.new_login_csrf()
        return self._login_csrf

    def render(self, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
        from common.web.layout import layout_context

        flash = self.request.cookies.get(web_session.flash_cookie(self.node))
        values = layout_context(self)
        values.update(context)
        values.setdefault("flash", unquote(flash) if flash else None)
        response = templates.TemplateResponse(
            self.request, template, values, status_code=status_code
        )
        if flash:
            response.delete_cookie(web_session.flash_cookie(self.node), path="/")
        if not self.session_token:
            web_session.set_cookie(
                response,
                self.request,
                web_session.login_csrf_cookie(self.node),
                self.csrf_token,
                max_age=None,
            )
        return response

    def redirect(self, url: str, notice: str | None = None) -> RedirectResponse:
        """303 to ``url`` (Post/Redirect/Get); ``notice`` is shown once on the next page."""
        response = RedirectResponse(url, status_code=303)
        if notice:
            web_session.set_cookie(
                response,
                self.request,
                web_session.flash_cookie(self.node),
                quote(notice),
                max_age=60,
            )
        return response

    def attempt(
        self, action: Callable[..., T], *args: Any, **kwargs: Any
    ) -> tuple[T | None, DomainError | None]:
        """Run an action function in a savepoint: on a refusal nothing it wrote stays,
        and the refusal comes back to be shown on the form (the request still commits
        whatever happened before, e.g. a failed-login count)."""
        try:
            with self.session.begin_nested():
                return action(*args, **kwargs), None
        except DomainError as error:
            return None, error

    def act(
        self, action: Callable[..., T], *args: Any, **kwargs: Any
    ) -> tuple[T | None, DomainError | None]:
        """``attempt`` of an action function as this page's user: the action functions
        all take ``(session, node, actor, ...)``."""
        return self.attempt(action, self.session, self.node, self.actor, *args, **kwargs)

    def form_error(self, template: str, error: DomainError, **context: Any) -> HTMLResponse:
        """The form again, with the refusal shown next to the field it names."""
        return self.render(
            template,
            status_code=error.status_code,
            error=error,
            errors={error.field or "_": error.message},
            **context,
        )

    def render_form(
        self, template: str, error: DomainError | None = None, **context: Any
    ) -> HTMLResponse:
        """A form page: as it is, or again with ``error`` next to the field it names."""
        if error is None:
            return self.render(template, **context)
        return self.form_error(template, error, **context)


def _token_actor(
    request: Request, session: Session, node: ThisNode
) -> tuple[Actor | None, str | None]:
    from common.users.service import actor_for_token

    token = request.cookies.get(session_cookie(node))
    if not token:
        return None, None
    try:
        with session.begin_nested():
            return actor_for_token(session, node.node_id, token), token
    except Unauthorised:
        return None, None


async def _posted_form(request: Request) -> dict[str, Any]:
    """The submitted form of a POST (no database here: this runs on the event loop)."""
    if request.method != "POST":
        return {}
    form = await request.form()
    return dict(form.multi_items())


PostedForm = Annotated[dict[str, Any], Depends(_posted_form)]


def _check_csrf(request: Request, page: Page) -> None:
    if request.method != "POST":
        return
    given = page.form.get(web_session.CSRF_FIELD)
    if page.session_token:
        expected: str | None = web_session.csrf_for_session(page.session_token)
    else:
        expected = request.cookies.get(web_session.login_csrf_cookie(page.node))
    if not web_session.tokens_match(expected, given if isinstance(given, str) else None):
        raise CsrfFailed()


# The page dependencies are plain functions on purpose: FastAPI runs them in its thread
# pool. Run on the event loop, a database wait (SQLite's busy timeout while a sync batch
# holds the write lock) would stop every other request of the node, including the one
# holding the lock, until the timeout.
def public_page(request: Request, session: SessionDep, node: NodeDep, form: PostedForm) -> Page:
    actor, token = _token_actor(request, session, node)
    page = Page(
        request=request, session=session, node=node, actor=actor, session_token=token, form=form
    )
    _check_csrf(request, page)
    return page


def staff_page(request: Request, session: SessionDep, node: NodeDep, form: PostedForm) -> Page:
    actor, token = _token_actor(request, session, node)
    if actor is None:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise LoginRequired(target if request.method == "GET" else "/")
    page = Page(
        request=request, session=session, node=node, actor=actor, session_token=token, form=form
    )
    _check_csrf(request, page)
    return page


PublicPage = Annotated[Page, Depends(public_page)]
StaffPage = Annotated[Page, Depends(staff_page)]


def page_for(*roles: Role) -> Any:
    """A dependency: a logged-in user with one of ``roles`` (the screens' own check;
    the action functions check again)."""

    def dependency(page: StaffPage) -> Page:
        assert page.actor is not None
        if page.actor.role not in roles:
            allowed = "、".join(ROLE_LABELS[r] for r in roles)
            raise Forbidden("auth.role", f"此页面仅限{allowed}使用", field="role")
        return page

    return Depends(dependency)


def redirect_to_login(request: Request, exc: LoginRequired) -> Response:
    return RedirectResponse(f"/login?next={quote(exc.next_url)}", status_code=303)


def html_error(request: Request, error: DomainError) -> HTMLResponse:
    """A refusal outside any form (unknown case, wrong role, stale form) as a page."""
    context = {
        "error": error,
        "nav": [],
        "actor": None,
        "node_label": "",
        "banner": None,
        "flash": None,
        "csrf_token": "",
        "page_title": "无法完成操作",
    }
    # No database here: this runs on the event loop. The heading is the one the last page
    # rendered (layout_context keeps it), or the node id before any page was shown.
    node = request.app.state.node
    context["node_label"] = getattr(request.app.state, "node_label", None) or node.node_id
    return templates.TemplateResponse(request, "error.html", context, status_code=error.status_code)
