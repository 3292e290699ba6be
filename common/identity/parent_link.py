"""The child's side of a link: signed requests to the parent, with clock correction."""

from __future__ import annotations

import json
import time
from typing import Any
from urllib.parse import urlsplit

import httpx

from common.identity.link_auth import HEADER_SERVER_TIME, sign_request
from common.node import ThisNode

# Per-process clock offsets learned from parents (node id -> seconds to add).
_OFFSETS: dict[str, float] = {}


def clock_offset(node: ThisNode) -> float:
    return _OFFSETS.get(node.node_id, 0.0)


def post_to_parent(
    node: ThisNode, path: str, payload: Any, *, timeout: float = 30
) -> httpx.Response:
    body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
    return request_parent(
        node, "POST", path, body, content_type="application/json", timeout=timeout
    )


def signed_target(path: str, query: str | None) -> str:
    """What a request signature covers of the URL: the path and the query string."""
    return path + ("?" + query if query else "")


def request_parent(
    node: ThisNode,
    method: str,
    path: str,
    body: bytes = b"",
    *,
    content_type: str = "application/octet-stream",
    timeout: float = 30,
) -> httpx.Response:
    """A signed request to the parent; a skewed clock is corrected once from its answer."""
    if not node.settings.parent_url:
        raise RuntimeError("this node has no parent URL")
    url = node.settings.parent_url.rstrip("/") + path
    parts = urlsplit(url)
    target = signed_target(parts.path, parts.query)
    with httpx.Client(timeout=timeout, transport=node.parent_transport) as client:
        for _attempt in range(2):
            headers = sign_request(
                node.key, node.network_id, method, target, body, clock_offset(node)
            )
            if body:
                headers["Content-Type"] = content_type
            response = client.request(method, url, content=body, headers=headers)
            server_time = response.headers.get(HEADER_SERVER_TIME)
            if response.status_code == 401 and server_time and _is_skew(response):
                # The parent told us its time: correct our offset and try once more.
                _OFFSETS[node.node_id] = int(server_time) - time.time()
                continue
            return response
    return response


def _is_skew(response: httpx.Response) -> bool:
    try:
        code: object = response.json().get("code")
        return code == "link.clock_skew"
    except ValueError:
        return False
