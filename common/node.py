"""``ThisNode``: the running node as action functions see it.

It bundles the injected settings, the database engine and the node's signing key, and
offers ``append`` so that action functions write events as this node and nobody else.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session

from common.identity.keys import NodeKey
from common.ledger.envelope import SignedEvent
from common.ledger.service import append_event
from common.settings import NodeSettings


@dataclass
class ThisNode:
    settings: NodeSettings
    engine: Engine
    key: NodeKey
    # How requests to the parent travel: None for real HTTP; an in-process transport
    # (the parent's app) in the whole-county simulation.
    parent_transport: Any = None
    # One sync round at a time per node: the scheduler, a kick after a local write and
    # ``onetrip sync`` in the same process queue here instead of interleaving.
    sync_round: threading.Lock = field(
        default_factory=threading.Lock, init=False, repr=False, compare=False
    )

    @property
    def node_id(self) -> str:
        assert self.settings.node_id is not None
        return self.settings.node_id

    @property
    def network_id(self) -> str:
        return self.settings.network_id

    @property
    def tier(self) -> str:
        return self.settings.tier or ""

    @property
    def is_root(self) -> bool:
        return self.key.fingerprint == self.settings.root_fingerprint

    def append(self, session: Session, subject: str, kind: str, body: Any) -> SignedEvent:
        return append_event(session, self.key, self.network_id, subject, kind, body)
