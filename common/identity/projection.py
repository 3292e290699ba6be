"""Registry projection: nodes and keys as the root's registry events say."""

from __future__ import annotations

from sqlalchemy import insert, update
from sqlmodel import Session, col

from common.identity.keys import fingerprint_of
from common.identity.models import RegistryKey, RegistryNode
from common.ledger.envelope import SignedEvent, unb64u
from common.ledger.projection import Projection, register_projection

REGISTRY_SUBJECT = "registry"

registry_projection = register_projection(
    Projection("registry", tables=[RegistryNode.__table__, RegistryKey.__table__])  # type: ignore[attr-defined]
)


@registry_projection.on("registry.node_added")
def _node_added(session: Session, event: SignedEvent) -> None:
    node, key = event.body["node"], event.body["key"]
    version = event.envelope["sseq"]
    session.execute(
        insert(RegistryNode).values(
            node_id=node["id"],
            name=node["name"],
            tier=node["tier"],
            parent_id=node["parent"],
            added_version=version,
        )
    )
    session.execute(
        insert(RegistryKey).values(
            node_id=node["id"],
            kid=key["kid"],
            public_key=key["public_key"],
            fingerprint=fingerprint_of(unb64u(key["public_key"])),
            valid_from_version=version,
        )
    )


@registry_projection.on("registry.node_revoked")
def _node_revoked(session: Session, event: SignedEvent) -> None:
    version = event.envelope["sseq"]
    node_id = event.body["node_id"]
    session.execute(
        update(RegistryNode)
        .where(RegistryNode.node_id == node_id)
        .values(revoked_version=version, revoked_reason=event.body.get("reason"))
    )
    session.execute(
        update(RegistryKey)
        .where(col(RegistryKey.node_id) == node_id, col(RegistryKey.revoked_version).is_(None))
        .values(revoked_version=version)
    )
