"""Browser sessions and CSRF.

A login issues an ordinary local API token (``users.service.issue_api_token``) and
keeps it in an HttpOnly cookie, so a password change, a disabled user or a logout
ends browser sessions exactly as it ends API tokens, with no second session store.
Cookie names carry the node id: browsers share cookies between ports of one host,
and the demo runs seven nodes on 127.0.0.1.

CSRF: a logged-in form carries an HMAC of the session token; the login form (no
session yet) uses a double-submit cookie. Every POST to a page is checked by the page
dependency itself, so no screen can forget it.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from fastapi import Request
from fastapi.responses import Response

from common.node import ThisNode

SESSION_HOURS = 12
CSRF_FIELD = "csrf_token"


def login_csrf_cookie(node: ThisNode) -> str:
    return f"onetrip_csrf_{node.node_id}"


def flash_cookie(node: ThisNode) -> str:
    return f"onetrip_flash_{node.node_id}"


def csrf_for_session(token: str) -> str:
    return hmac.new(token.encode("utf-8"), b"onetrip-csrf", hashlib.sha256).hexdigest()


def _secure(request: Request) -> bool:
    # Secure cookies need HTTPS; a node behind a TLS proxy sees X-Forwarded-Proto.
    return request.url.scheme == "https" or request.headers.get("x-forwarded-proto") == "https"


def set_cookie(
    response: Response, request: Request, name: str, value: str, *, max_age: int | None
) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        httponly=True,
        samesite="lax",
        secure=_secure(request),
        path="/",
    )


def new_login_csrf() -> str:
    return secrets.token_urlsafe(24)


def tokens_match(expected: str | None, given: str | None) -> bool:
    return bool(expected) and bool(given) and hmac.compare_digest(str(expected), str(given))
