"""Reading the registry and resolving the key that must have signed an event.

Registry events are trusted only if signed by the root key whose fingerprint was
installed at enrolment. Other events need a registered, unrevoked key of their author.
"""

from __future__ import annotations

from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import func, select
from sqlmodel import Session, col

from common.identity.keys import fingerprint_of, load_public_key
from common.identity.models import RegistryKey, RegistryNode
from common.identity.projection import REGISTRY_SUBJECT
from common.ledger.envelope import EnvelopeError, SignedEvent, unb64u
from common.ledger.models import Event


def registry_version(session: Session) -> int:
    value = session.execute(
        select(func.max(Event.sseq)).where(col(Event.subject) == REGISTRY_SUBJECT)
    ).scalar()
    return int(value or 0)


def get_node_entry(session: Session, node_id: str) -> RegistryNode | None:
    return session.get(RegistryNode, node_id)


def root_entry(session: Session) -> RegistryNode | None:
    return (
        session.execute(select(RegistryNode).where(col(RegistryNode.parent_id).is_(None)))
        .scalars()
        .first()
    )


def children_of(session: Session, node_id: str) -> list[RegistryNode]:
    return list(
        session.execute(
            select(RegistryNode)
            .where(col(RegistryNode.parent_id) == node_id)
            .order_by(col(RegistryNode.node_id))
        ).scalars()
    )


def path_to_root(session: Session, node_id: str) -> list[str]:
    """[node_id, parent, grandparent, ..., root] from the registry's parent links."""
    path: list[str] = []
    current: str | None = node_id
    while current is not None and current not in path:
        path.append(current)
        entry = session.get(RegistryNode, current)
        current = entry.parent_id if entry else None
    return path


def registry_events(session: Session) -> list[bytes]:
    return list(
        session.execute(
            select(col(Event.raw))
            .where(col(Event.subject) == REGISTRY_SUBJECT)
            .order_by(col(Event.sseq))
        ).scalars()
    )


class RegistryKeyResolver:
    """KeyResolver for ingest: root key by fingerprint, others from the registry."""

    def __init__(self, root_fingerprint: str, *, allow_revoked: bool = False) -> None:
        self.root_fingerprint = root_fingerprint
        self.allow_revoked = allow_revoked

    def __call__(self, session: Session, event: SignedEvent) -> Ed25519PublicKey:
        env = event.envelope
        if env["subject"] == REGISTRY_SUBJECT:
            return self._root_key(session, event)
        key = session.get(RegistryKey, (env["author"], env["kid"]))
        if key is None:
            raise EnvelopeError(
                "event.unknown_key", f"no registered key {env['kid']} for node {env['author']}"
            )
        if key.revoked_version is not None and not self.allow_revoked:
            raise EnvelopeError(
                "event.revoked_key", f"key {env['kid']} of node {env['author']} is revoked"
            )
        return load_public_key(key.public_key)

    def _root_key(self, session: Session, event: SignedEvent) -> Ed25519PublicKey:
        env = event.envelope
        if env["sseq"] == 1 and env["kind"] == "registry.node_added":
            # Genesis: the root introduces itself; trust it only if the key is the anchor.
            public_key = event.body["key"]["public_key"]
            if fingerprint_of(unb64u(public_key)) != self.root_fingerprint:
                raise EnvelopeError(
                    "event.root_untrusted", "registry genesis key is not the installed root key"
                )
            return load_public_key(public_key)
        key = (
            session.execute(
                select(RegistryKey).where(col(RegistryKey.fingerprint) == self.root_fingerprint)
            )
            .scalars()
            .first()
        )
        if key is None or key.node_id != env["author"] or key.kid != env["kid"]:
            raise EnvelopeError("event.not_root", "registry events must be signed by the root key")
        return load_public_key(key.public_key)


def registered_nodes_view(session: Session) -> list[dict[str, Any]]:
    keys = {
        k.node_id: k
        for k in session.execute(
            select(RegistryKey).where(col(RegistryKey.revoked_version).is_(None))
        ).scalars()
    }
    nodes = session.execute(select(RegistryNode).order_by(col(RegistryNode.node_id))).scalars()
    return [
        {
            "node_id": n.node_id,
            "name": n.name,
            "tier": n.tier,
            "parent_id": n.parent_id,
            "added_version": n.added_version,
            "revoked_version": n.revoked_version,
            "kid": keys[n.node_id].kid if n.node_id in keys else None,
            "public_key": keys[n.node_id].public_key if n.node_id in keys else None,
        }
        for n in nodes
    ]


def node_names(session: Session) -> dict[str, str]:
    return {row.node_id: row.name for row in session.execute(select(RegistryNode)).scalars()}
