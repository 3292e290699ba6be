"""Bounded requests: bodies over their route's limit are refused before they are read."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from onetrip_testing import TOWNSHIP_ID
from process_testing import NodeProcess, free_port, start

from common.api.limits import SMALL_BODY, limit_for

MiB = 1024 * 1024
LINK_HEADERS = {"X-Onetrip-Node": "430424100202", "X-Onetrip-Signature": "forged"}


def zeros(total: int, chunk: int = MiB) -> Iterator[bytes]:
    block = b"\0" * chunk
    for _ in range(total // chunk):
        yield block


def test_route_classes():
    assert limit_for("/api/v1/sync/push").max_bytes == 8 * MiB
    assert limit_for("/api/v1/blobs").max_bytes > 10 * MiB
    assert limit_for("/agent/file/11430424MB1C5953154000119002001") is not None
    assert limit_for("/agent/cases/x/rate") is None  # a small form
    assert limit_for("/api/v1/cases") is None


def test_declared_oversize_push_is_refused_unread(root_node, make_client):
    client = make_client(root_node, username=None)
    answer = client.post(
        "/api/v1/sync/push",
        content=b"{}",
        headers={**LINK_HEADERS, "Content-Length": str(400_000_000)},
    )
    assert answer.status_code == 413
    assert answer.json()["code"] == "request.too_large" and answer.json()["field"] == "body"


def test_large_body_without_credentials_is_refused_unread(root_node, make_client):
    client = make_client(root_node, username=None)
    answer = client.post("/api/v1/sync/push", content=b"x" * (SMALL_BODY + 1))
    assert answer.status_code == 401 and answer.json()["code"] == "auth.missing"
    assert answer.json()["field"] == "X-Onetrip-Signature"
    upload = client.post("/api/v1/blobs", files={"file": ("a.pdf", b"%PDF" + b"0" * SMALL_BODY)})
    assert upload.status_code == 401 and upload.json()["field"] == "Authorization"


class Counted:
    """A streamed body that counts the chunks the server pulled."""

    def __init__(self, total: int, chunk: int = 64 * 1024) -> None:
        self.chunks, self.block, self.pulled = total // chunk, b"\0" * chunk, 0

    def __iter__(self) -> Iterator[bytes]:
        for _ in range(self.chunks):
            self.pulled += 1
            yield self.block


def test_large_body_with_forged_credentials_is_refused_unread(root_node, tree, make_client):
    """Credentials are verified before a large body is read: a bearer token that is no
    live token of this node, a link signature by the wrong key over the declared hash."""
    from common.identity.keys import NodeKey
    from common.identity.link_auth import sign_request

    body = Counted(6 * MiB)
    client = make_client(root_node, username=None)
    forged = client.post(
        "/api/v1/blobs",
        content=body,
        headers={"Authorization": "Bearer ot_forged", "Content-Type": "multipart/form-data"},
    )
    assert forged.status_code == 401 and forged.json()["field"] == "Authorization"
    stranger = NodeKey(TOWNSHIP_ID, Ed25519PrivateKey.generate())  # a child's id, not its key
    signed = sign_request(stranger, root_node.network_id, "POST", "/api/v1/sync/push", b"{}")
    pushed = client.post("/api/v1/sync/push", content=body, headers=signed)
    assert pushed.status_code == 401 and pushed.json()["code"] == "link.bad_signature"
    undeclared = {k: v for k, v in signed.items() if k != "X-Onetrip-Content-SHA256"}
    pushed = client.post("/api/v1/sync/push", content=body, headers=undeclared)
    assert pushed.status_code == 401 and pushed.json()["field"] == "X-Onetrip-Content-SHA256"
    assert body.pulled <= 3  # the test client's first chunk of each request at most


def test_a_neighbours_signature_lets_a_large_push_be_read(root_node, tree, make_client):
    """The real signer's large push passes the check before reading and is then read
    (its one "event" is rejected for what it says, not for who sent it)."""
    from common.identity.link_auth import sign_request

    payload = b'{"after": 0, "last_seq": 0, "events": ["' + b"x" * (SMALL_BODY + 1) + b'"]}'
    path = "/api/v1/sync/push"
    headers = sign_request(tree[TOWNSHIP_ID], root_node.network_id, "POST", path, payload)
    answer = make_client(root_node, username=None).post(path, content=payload, headers=headers)
    assert answer.status_code == 200, answer.text  # read and verified; its one "event" rejected
    assert answer.json()["result"]["rejected"][0]["code"] == "event.not_json"


def test_streamed_body_is_cut_at_the_limit(root_node, make_client):
    client = make_client(root_node)
    answer = client.post("/api/v1/cases", content=zeros(2 * MiB, 64 * 1024))
    assert answer.status_code == 413 and answer.json()["code"] == "request.too_large"


def test_small_requests_pass_and_carry_security_headers(root_node, make_client):
    client = make_client(root_node, username=None)
    answer = client.get("/healthz")
    assert answer.status_code == 200
    assert answer.headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in answer.headers["content-security-policy"]
    assert answer.headers["x-content-type-options"] == "nosniff"
    refused = client.post("/api/v1/sync/push", content=b"{}")
    assert refused.status_code == 401  # the link check, now reached with a small body
    assert refused.json()["code"].startswith("link.")


def _rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def test_400_mb_push_to_a_node_process_leaves_its_memory_alone(root_node, processes):
    """The issue's reproduction, against `onetrip serve`: a 400 MB push, once declared and
    once streamed without a length, is refused and the server's memory hardly moves."""
    root_node.engine.dispose()
    county = NodeProcess(Path(root_node.settings.data_dir), free_port())
    start(processes, county)
    assert county.process is not None
    before = _rss_kib(county.process.pid)

    with socket.create_connection(("127.0.0.1", county.port), timeout=10) as raw:
        raw.sendall(
            b"POST /api/v1/sync/push HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"X-Onetrip-Node: 430424100202\r\nX-Onetrip-Signature: forged\r\n"
            b"Content-Length: 400000000\r\n\r\n"
        )
        status_line = raw.recv(4096).split(b"\r\n", 1)[0]
    assert b" 413 " in status_line

    try:
        answer = httpx.post(
            f"{county.url}/api/v1/sync/push",
            content=zeros(400 * MiB),
            headers=LINK_HEADERS,
            timeout=60,
        )
        # Refused unread: the forged signature before a byte is read (401), or the limit.
        assert answer.status_code in (401, 413)
    except httpx.TransportError:
        pass  # the server answered and closed while the client was still sending
    after = _rss_kib(county.process.pid)
    assert after - before < 16 * 1024, f"server memory grew by {(after - before) // 1024} MiB"
    assert httpx.get(f"{county.url}/healthz", timeout=5).status_code == 200
