"""Login, logout, CSRF and HTML refusals on the screens (issue 5, item 1)."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient
from onetrip_testing import ADMIN_PASSWORD
from web_testing import csrf_of, post_form, web_login

from common.node import ThisNode


def test_login_page_has_labelled_fields_and_a_title(
    root_node: ThisNode, make_client: Callable[..., TestClient]
) -> None:
    client = make_client(root_node, username=None)
    page = client.get("/login")
    assert page.status_code == 200
    assert "<title>工作人员登录" in page.text
    assert '<label for="f-username">' in page.text and 'id="f-username"' in page.text
    assert '<label for="f-password">' in page.text


def test_wrong_password_is_shown_on_the_form_and_counted(
    root_node: ThisNode, make_client: Callable[..., TestClient]
) -> None:
    client = make_client(root_node, username=None)
    answer = post_form(client, "/login", {"username": "admin", "password": "wrong"})
    assert answer.status_code == 401
    assert "用户名或密码" in answer.text and 'aria-invalid="true"' in answer.text
    from sqlmodel import Session

    from common.users.models import LoginFailure

    with Session(root_node.engine) as session:
        failure = session.get(LoginFailure, (root_node.node_id, "admin"))
    assert failure is not None and failure.failures == 1


def test_login_then_logout_ends_the_session(
    root_node: ThisNode, make_client: Callable[..., TestClient]
) -> None:
    client = web_login(make_client(root_node, username=None), "admin", ADMIN_PASSWORD)
    cookie_name = f"onetrip_session_{root_node.node_id}"
    token = client.cookies.get(cookie_name)
    assert token
    home = client.get("/", follow_redirects=False)
    assert home.status_code == 303 and home.headers["location"] == "/admin/health"
    answer = post_form(client, "/logout", {}, page="/portal")
    assert answer.status_code == 303 and answer.headers["location"] == "/login"
    # The old cookie no longer opens anything, even if a browser kept it.
    client.cookies.set(cookie_name, token)
    again = client.get("/", follow_redirects=False)
    assert again.headers["location"] == "/portal"


def test_session_cookie_is_httponly_and_named_after_the_node(
    root_node: ThisNode, make_client: Callable[..., TestClient]
) -> None:
    client = make_client(root_node, username=None)
    form = client.get("/login")
    answer = client.post(
        "/login",
        data={"username": "admin", "password": ADMIN_PASSWORD, "csrf_token": csrf_of(form.text)},
        follow_redirects=False,
    )
    header = next(
        v
        for k, v in answer.headers.multi_items()
        if k == "set-cookie" and v.startswith(f"onetrip_session_{root_node.node_id}=")
    )
    assert "HttpOnly" in header and "SameSite=lax" in header.replace("Lax", "lax")


def test_a_post_without_the_csrf_token_is_refused(
    root_node: ThisNode, make_client: Callable[..., TestClient]
) -> None:
    client = web_login(make_client(root_node, username=None), "admin", ADMIN_PASSWORD)
    answer = client.post("/logout", data={}, follow_redirects=False)
    assert answer.status_code == 403 and "表单已过期" in answer.text
    forged = client.post("/logout", data={"csrf_token": "x" * 64}, follow_redirects=False)
    assert forged.status_code == 403
    # Still logged in: the refused logout changed nothing.
    assert client.get("/", follow_redirects=False).headers["location"] == "/admin/health"


def test_login_form_refuses_a_foreign_next_address(
    root_node: ThisNode, make_client: Callable[..., TestClient]
) -> None:
    client = make_client(root_node, username=None)
    form = client.get("/login?next=https://evil.example/")
    answer = client.post(
        "/login",
        data={
            "username": "admin",
            "password": ADMIN_PASSWORD,
            "next": "//evil.example",
            "csrf_token": csrf_of(form.text),
        },
        follow_redirects=False,
    )
    assert answer.headers["location"] == "/admin/health"


def test_screens_answer_refusals_as_pages_and_the_api_as_json(
    root_node: ThisNode, make_client: Callable[..., TestClient]
) -> None:
    client = make_client(root_node, username=None)
    missing = client.get("/no-such-screen")
    assert missing.status_code == 404 and "找不到这个页面" in missing.text
    assert missing.headers["content-type"].startswith("text/html")
    api = client.get("/api/v1/no-such-thing")
    assert api.status_code == 404 and api.headers["content-type"].startswith("application/json")


def test_portal_shows_the_one_trip_share_without_login(
    root_node: ThisNode, make_client: Callable[..., TestClient]
) -> None:
    client = make_client(root_node, username=None)
    page = client.get("/portal")
    assert page.status_code == 200 and "最多跑一次" in page.text
    assert 'data-testid="one-trip-share"' in page.text


def test_the_session_cookie_reads_the_api_but_cannot_change_it(
    root_node: ThisNode, make_client: Callable[..., TestClient]
) -> None:
    client = web_login(make_client(root_node, username=None), "admin", ADMIN_PASSWORD)
    assert client.get("/api/v1/me").status_code == 200
    # A cross-site form could carry the cookie on a POST: the API does not take it there.
    answer = client.post("/api/v1/auth/revoke")
    assert answer.status_code == 401 and answer.json()["field"] == "Authorization"


def test_the_administrator_downloads_the_drafts_export_with_the_browser(
    root_node: ThisNode, make_client: Callable[..., TestClient]
) -> None:
    """The catalogue screen links to the drafts export, which needs the administrator."""
    anonymous = make_client(root_node, username=None)
    assert (
        anonymous.get(
            "/api/v1/catalogue/export", params={"source": "drafts", "format": "json"}
        ).status_code
        == 401
    )
    browser = web_login(make_client(root_node, username=None), "admin", ADMIN_PASSWORD)
    answer = browser.get("/api/v1/catalogue/export", params={"source": "drafts", "format": "json"})
    assert answer.status_code == 200 and "catalogue-drafts" in answer.headers["content-disposition"]
