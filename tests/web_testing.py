"""Helpers for screen tests: log a TestClient in through the login form and post
forms with the CSRF token the page carries (importable as ``web_testing``)."""

from __future__ import annotations

import re
from typing import Any

from fastapi.testclient import TestClient

_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(html: str) -> str:
    match = _CSRF.search(html)
    assert match, "the page has no form with a CSRF token"
    return match.group(1)


def web_login(client: TestClient, username: str, password: str) -> TestClient:
    """Log in through /login like a browser; the session cookie stays on the client."""
    client.headers.pop("Authorization", None)
    form = client.get("/login")
    assert form.status_code == 200
    answer = client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": csrf_of(form.text)},
        follow_redirects=False,
    )
    assert answer.status_code == 303, answer.text
    return client


def post_form(
    client: TestClient,
    path: str,
    data: dict[str, Any],
    *,
    page: str | None = None,
    files: Any = None,
    follow_redirects: bool = False,
) -> Any:
    """POST ``data`` to ``path`` with the CSRF token of ``page`` (default: ``path``)."""
    token = csrf_of(client.get(page or path).text)
    return client.post(
        path, data={**data, "csrf_token": token}, files=files, follow_redirects=follow_redirects
    )
