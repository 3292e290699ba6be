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


def post_to_parent(node: ThisNode, path: str, payload: Any, *, timeout: float = 30) -> httpx.Response:
    if not node.settings.parent_url:
        raise RuntimeError("this node has no parent URL")
    url = node.settings.parent_url.rstrip("/") + path
    body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
    sign_path = urlsplit(url).path
    with httpx.Client(timeout=timeout) as client:
        for _attempt in range(2):
            headers = sign_request(node.key, node.network_id, "POST", sign_path, body, clock_offset(node))
            headers["Content-Type"] = "application/json"
            response = client.post(url, content=body, headers=headers)
            server_time = response.headers.get(HEADER_SERVER_TIME)
            if response.status_code == 401 and server_time and _is_skew(response):
                # The parent told us its time: correct our offset and try once more.
                _OFFSETS[node.node_id] = int(server_time) - time.time()
                continue
            return response
    return response


def _is_skew(response: httpx.Response) -> bool:
    try:
        return response.json().get("code") == "link.clock_skew"
    except ValueError:
        return False
