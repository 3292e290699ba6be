"""Enrolment steps shared by ``init_member`` (bootstrap, the new node) and the enrolment
endpoint (identity.router, a parent relaying up the tree): keeping the root-signed
registry received from the parent, and checking that a node fits under its parent."""

from __future__ import annotations

import json

from sqlmodel import Session

from common.errors import DomainError, InitError
from common.identity.divisions import is_under
from common.identity.registry import RegistryKeyResolver
from common.ledger.envelope import EnvelopeError
from common.ledger.service import ingest_event
from common.node import ThisNode


def keep_registry(session: Session, node: ThisNode, registry: list[str]) -> int:
    """Verify and store root-signed registry events; returns how many were new.

    They come from the parent (directly or as the answer to a relayed enrolment), so
    routing must not send them back up.
    """
    resolver = RegistryKeyResolver(node.settings.root_fingerprint or "")
    parent = _parent_in(registry, node.node_id)
    stored = 0
    for raw in registry:
        try:
            outcome = ingest_event(
                session,
                node.network_id,
                raw.encode("utf-8"),
                resolver,
                author_chain_complete=lambda author: False,
                source=parent,
            )
        except EnvelopeError as exc:
            raise InitError(f"registry event refused: {exc.message}") from exc
        if outcome.status == "quarantined":
            raise InitError(f"registry event conflicts with the one held: {outcome.reason}")
        stored += int(outcome.stored)
    return stored


def _parent_in(registry: list[str], node_id: str) -> str | None:
    for raw in registry:
        body = json.loads(raw).get("body", {})
        if isinstance(body, dict) and body.get("node", {}).get("id") == node_id:
            parent: str | None = body["node"].get("parent")
            return parent
    return None


def check_fits_under(own_id: str, node_id: str) -> None:
    if not is_under(node_id, own_id):
        raise DomainError(
            "enrol.not_under_parent",
            f"节点 {node_id} 不属于本节点 {own_id} 的辖区",
            field="node_id",
        )
