"""Identity action functions: found the root, invite, enrol and revoke nodes.

Each checks the actor's right, writes root-signed registry events and updates the
projection in the caller's transaction.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select, update
from sqlmodel import Session, col

from common.errors import Conflict, DomainError, Forbidden, NotFound
from common.identity.divisions import NODE_ID_RE, ancestor_codes, default_tier, is_under
from common.identity.keys import kid_of
from common.identity.models import EnrolmentToken, RegistryNode
from common.identity.projection import REGISTRY_SUBJECT
from common.identity.registry import get_node_entry, registry_version
from common.ledger.envelope import SignedEvent, unb64u
from common.node import ThisNode
from common.timeutil import utcnow
from common.users.roles import Actor, Role, require_role

TIERS = ("province", "city", "county", "township", "village")


def _require_root(node: ThisNode) -> None:
    if not node.is_root:
        raise Forbidden("node.not_root", "只有根节点（县级）可以维护节点登记表", field="node")


def _check_node_id(node_id: str) -> None:
    if not NODE_ID_RE.match(node_id):
        raise DomainError("node.id_format", "节点编号应为12位统计用区划代码", field="node_id")


def found_root(session: Session, node: ThisNode, name: str) -> SignedEvent:
    """Write the registry's first version: the root introduces its own key."""
    _check_node_id(node.node_id)
    if registry_version(session) != 0:
        raise Conflict("registry.exists", "节点登记表已存在", field="registry")
    return node.append(
        session,
        REGISTRY_SUBJECT,
        "registry.node_added",
        {
            "node": {"id": node.node_id, "name": name, "tier": node.tier, "parent": None},
            "key": {"kid": node.key.kid, "public_key": node.key.public_b64},
        },
    )


@dataclass(frozen=True)
class Invitation:
    token: str
    node_id: str
    name: str
    tier: str
    parent_id: str
    expires_at: str


def _hash_token(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def _nearest_registered_ancestor(session: Session, node_id: str) -> RegistryNode | None:
    for code in ancestor_codes(node_id):
        entry = get_node_entry(session, code)
        if entry is not None and entry.revoked_version is None:
            return entry
    return None


def invite_node(
    session: Session,
    node: ThisNode,
    actor: Actor,
    node_id: str,
    name: str,
    *,
    tier: str | None = None,
    parent_id: str | None = None,
    valid_hours: int | None = None,
) -> Invitation:
    """Issue a one-time enrolment token for ``node_id`` (county administrator)."""
    require_role(actor, Role.COUNTY_ADMIN)
    _require_root(node)
    _check_node_id(node_id)
    if not name.strip():
        raise DomainError("node.name_missing", "请填写节点名称", field="name")
    existing = get_node_entry(session, node_id)
    if existing is not None:
        raise Conflict("node.exists", f"节点 {node_id} 已登记", field="node_id")
    if parent_id is None:
        parent = _nearest_registered_ancestor(session, node_id)
        if parent is None:
            raise DomainError(
                "node.no_parent", "找不到该区划代码的上级节点，请先登记上级节点", field="node_id"
            )
    else:
        parent = get_node_entry(session, parent_id)
        if parent is None or parent.revoked_version is not None:
            raise NotFound(
                "node.parent_unknown", f"上级节点 {parent_id} 未登记或已注销", field="parent_id"
            )
        if not is_under(node_id, parent.node_id):
            raise DomainError(
                "node.not_under_parent",
                f"节点 {node_id} 不属于上级节点 {parent.node_id} 的辖区",
                field="node_id",
            )
    tier = tier or default_tier(node_id)
    if tier not in TIERS:
        raise DomainError("node.tier", f"未知层级 {tier}", field="tier")
    secret = secrets.token_urlsafe(24)
    now = utcnow()
    expires = now + timedelta(hours=valid_hours or node.settings.enrolment_token_hours)
    # Drop earlier unused invitations for the same node: the newest one counts.
    session.execute(
        update(EnrolmentToken)
        .where(col(EnrolmentToken.node_id) == node_id, col(EnrolmentToken.used_at).is_(None))
        .values(expires_at=now)
    )
    session.add(
        EnrolmentToken(
            token_hash=_hash_token(secret),
            node_id=node_id,
            name=name.strip(),
            tier=tier,
            parent_id=parent.node_id,
            created_by=actor.username,
            created_at=now,
            expires_at=expires,
        )
    )
    session.flush()
    # The token carries the root fingerprint: the new node's anchor of trust.
    return Invitation(
        token=f"{secret}.{node.key.fingerprint}",
        node_id=node_id,
        name=name.strip(),
        tier=tier,
        parent_id=parent.node_id,
        expires_at=expires.isoformat(),
    )


def split_token(token: str) -> tuple[str, str]:
    secret, sep, fingerprint = token.strip().rpartition(".")
    if not sep or not secret or len(fingerprint) != 64:
        raise DomainError("enrol.token_format", "注册令牌格式不正确", field="token")
    return secret, fingerprint


def accept_enrolment(
    session: Session, node: ThisNode, *, node_id: str, public_key: str, token: str, via: list[str]
) -> SignedEvent:
    """Root side of enrolment: redeem the token and register the node's key.

    ``via`` lists the nodes that relayed the request, the new node's parent first; the
    last relay is a direct child of the root (checked by the link signature).
    """
    _require_root(node)
    _check_node_id(node_id)
    secret, fingerprint = split_token(token)
    if fingerprint != node.key.fingerprint:
        raise DomainError("enrol.token_network", "注册令牌不属于本网络", field="token")
    record = session.get(EnrolmentToken, _hash_token(secret))
    if record is None:
        raise Forbidden("enrol.token_invalid", "注册令牌无效", field="token")
    if record.used_at is not None:
        raise Forbidden("enrol.token_used", "注册令牌已被使用", field="token")
    if record.expires_at <= utcnow():
        raise Forbidden("enrol.token_expired", "注册令牌已过期", field="token")
    if record.node_id != node_id:
        raise Forbidden(
            "enrol.token_node", f"该令牌是为节点 {record.node_id} 签发的", field="node_id"
        )
    expected_first_hop = None if record.parent_id == node.node_id else record.parent_id
    first_hop = via[0] if via else None
    if first_hop != expected_first_hop:
        raise Forbidden(
            "enrol.wrong_parent",
            f"节点 {node_id} 应通过上级节点 {record.parent_id} 注册",
            field="parent",
        )
    try:
        raw_key = unb64u(public_key)
        if len(raw_key) != 32:
            raise ValueError
    except ValueError:
        raise DomainError(
            "enrol.public_key", "公钥格式不正确（应为Ed25519原始公钥）", field="public_key"
        ) from None
    parent = get_node_entry(session, record.parent_id)
    if parent is None or parent.revoked_version is not None:
        raise Forbidden("enrol.parent_revoked", "上级节点已注销", field="parent")
    record.used_at = utcnow()
    session.add(record)
    return node.append(
        session,
        REGISTRY_SUBJECT,
        "registry.node_added",
        {
            "node": {
                "id": node_id,
                "name": record.name,
                "tier": record.tier,
                "parent": record.parent_id,
            },
            "key": {"kid": kid_of(raw_key), "public_key": public_key},
        },
    )


def revoke_node(
    session: Session, node: ThisNode, actor: Actor, node_id: str, reason: str
) -> SignedEvent:
    """Revoke a node and its keys: its new records are refused everywhere."""
    require_role(actor, Role.COUNTY_ADMIN)
    _require_root(node)
    entry = get_node_entry(session, node_id)
    if entry is None:
        raise NotFound("node.unknown", f"节点 {node_id} 未登记", field="node_id")
    if entry.parent_id is None:
        raise Forbidden("node.revoke_root", "不能注销根节点", field="node_id")
    if entry.revoked_version is not None:
        raise Conflict("node.revoked", f"节点 {node_id} 已注销", field="node_id")
    if not reason.strip():
        raise DomainError("node.reason_missing", "请填写注销原因", field="reason")
    return node.append(
        session,
        REGISTRY_SUBJECT,
        "registry.node_revoked",
        {"node_id": node_id, "reason": reason.strip()},
    )


def registered_nodes(session: Session) -> list[RegistryNode]:
    return list(session.execute(select(RegistryNode).order_by(RegistryNode.node_id)).scalars())
