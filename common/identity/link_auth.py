"""Signed requests between neighbouring nodes.

The sender signs method, path, body hash, time and a nonce with its node key, and
declares the body hash in a header (``X-Onetrip-Content-SHA256``), so that a receiver
can check the signature before it reads a large body (``verify_declared``, from the
body limit) and again over the body it read (``verify_request``). The receiver serves
only its direct neighbours in the registry, refuses a nonce it has seen, and answers a
skewed clock with its own time (``X-Onetrip-Server-Time``) so that the client corrects
its offset instead of failing.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col

from common.errors import Unauthorised
from common.identity.keys import NodeKey, load_public_key
from common.identity.models import RegistryKey, RegistryNode, SeenNonce
from common.ledger.envelope import b64u, unb64u
from common.timeutil import utcnow

MAX_SKEW_SECONDS = 300
HEADER_NODE = "X-Onetrip-Node"
HEADER_TIME = "X-Onetrip-Time"
HEADER_NONCE = "X-Onetrip-Nonce"
HEADER_SIG = "X-Onetrip-Signature"
HEADER_SERVER_TIME = "X-Onetrip-Server-Time"
HEADER_BODY = "X-Onetrip-Content-SHA256"


def _request_bytes(
    network_id: str, node_id: str, method: str, path: str, digest: str, at: int, nonce: str
) -> bytes:
    return "\n".join(
        ["onetrip-request/v1", network_id, node_id, method.upper(), path, digest, str(at), nonce]
    ).encode("utf-8")


def sign_request(
    key: NodeKey, network_id: str, method: str, path: str, body: bytes, clock_offset: float = 0.0
) -> dict[str, str]:
    at = int(time.time() + clock_offset)
    nonce = secrets.token_urlsafe(18)
    digest = hashlib.sha256(body).hexdigest()
    signature = key.sign(_request_bytes(network_id, key.node_id, method, path, digest, at, nonce))
    return {
        HEADER_NODE: key.node_id,
        HEADER_TIME: str(at),
        HEADER_NONCE: nonce,
        HEADER_BODY: digest,
        HEADER_SIG: b64u(signature),
    }


@dataclass(frozen=True)
class VerifiedPeer:
    node_id: str
    is_child: bool


class ClockSkew(Unauthorised):
    def __init__(self, server_time: int) -> None:
        super().__init__(
            "link.clock_skew", "请求时间与服务器时间相差过大，请校正时钟", field=HEADER_TIME
        )
        self.server_time = server_time


def verify_request(
    session: Session,
    own_id: str,
    network_id: str,
    method: str,
    path: str,
    body: bytes,
    headers: dict[str, str],
) -> VerifiedPeer:
    """The neighbour that signed this request over ``body``; its nonce is spent."""
    digest = hashlib.sha256(body).hexdigest()
    peer, nonce = _verify(session, own_id, network_id, method, path, digest, headers)
    _remember_nonce(session, peer.node_id, nonce)
    return peer


def verify_declared(
    session: Session, own_id: str, network_id: str, method: str, path: str, headers: dict[str, str]
) -> VerifiedPeer:
    """The neighbour that signed this request over the body hash it declares, before the
    body is read (the nonce is spent by ``verify_request`` over the body itself)."""
    digest = {k.lower(): v for k, v in headers.items()}.get(HEADER_BODY.lower())
    if not digest:
        raise Unauthorised("link.unsigned", "节点间请求未声明内容摘要", field=HEADER_BODY)
    return _verify(session, own_id, network_id, method, path, digest, headers)[0]


def _verify(
    session: Session,
    own_id: str,
    network_id: str,
    method: str,
    path: str,
    digest: str,
    headers: dict[str, str],
) -> tuple[VerifiedPeer, str]:
    lowered = {k.lower(): v for k, v in headers.items()}
    try:
        node_id = lowered[HEADER_NODE.lower()]
        at = int(lowered[HEADER_TIME.lower()])
        nonce = lowered[HEADER_NONCE.lower()]
        signature = unb64u(lowered[HEADER_SIG.lower()])
    except (KeyError, ValueError):
        raise Unauthorised("link.unsigned", "节点间请求缺少签名", field=HEADER_SIG) from None
    now = int(time.time())
    if abs(now - at) > MAX_SKEW_SECONDS:
        raise ClockSkew(now)
    peer = session.get(RegistryNode, node_id)
    own = session.get(RegistryNode, own_id)
    if peer is None or peer.revoked_version is not None:
        raise Unauthorised("link.unknown_node", f"节点 {node_id} 未登记或已注销", field=HEADER_NODE)
    is_child = peer.parent_id == own_id
    is_parent = own is not None and own.parent_id == node_id
    if not (is_child or is_parent):
        raise Unauthorised(
            "link.not_neighbour", f"节点 {node_id} 不是本节点的直接上下级", field=HEADER_NODE
        )
    keys = session.execute(
        select(RegistryKey).where(
            col(RegistryKey.node_id) == node_id, col(RegistryKey.revoked_version).is_(None)
        )
    ).scalars()
    message = _request_bytes(network_id, node_id, method, path, digest, at, nonce)
    for key in keys:
        try:
            load_public_key(key.public_key).verify(signature, message)
            break
        except Exception:  # noqa: BLE001, S112 - try the node's next valid key
            continue
    else:
        raise Unauthorised("link.bad_signature", "节点间请求签名无效", field=HEADER_SIG)
    return VerifiedPeer(node_id=node_id, is_child=is_child), nonce


def _remember_nonce(session: Session, node_id: str, nonce: str) -> None:
    cutoff = utcnow() - timedelta(seconds=2 * MAX_SKEW_SECONDS)
    session.execute(delete(SeenNonce).where(col(SeenNonce.seen_at) < cutoff))
    if session.get(SeenNonce, nonce) is not None:
        raise Unauthorised("link.replay", "重复的请求（随机数已使用）", field=HEADER_NONCE)
    try:
        with session.begin_nested():
            session.add(SeenNonce(nonce=nonce, node_id=node_id, seen_at=utcnow()))
            session.flush()
    except IntegrityError:
        raise Unauthorised(
            "link.replay", "重复的请求（随机数已使用）", field=HEADER_NONCE
        ) from None
