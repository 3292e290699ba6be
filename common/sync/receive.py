"""Receiving a batch from a neighbour: verify, store, apply, all in one transaction.

Each event ends as exactly one of: stored (and routed on), duplicate (already held:
nothing changes), held back (its predecessor or its blob has not arrived; applied when
the gap closes), quarantined (a fork; the root is told), or dead-lettered (malformed,
badly signed, unknown or revoked key: never retried). The caller acknowledges only
after the transaction commits.

The common case, a batch in which every event is clean, is taken as a whole
(``BatchReceiver.receive_clean``: one savepoint, set-wise lookups, one INSERT for the events and one
for the outbox rows, signatures checked before anything is kept). A batch with anything
else in it — a malformed or badly signed event, a fork, a gap, a missing blob, a
registry event, an event a projection refuses — is rolled back to that savepoint and
taken one event at a time with a savepoint each, which decides every case exactly.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import delete, insert, select
from sqlmodel import Session

from common.authority.events import end_batch_custody, preload_custody
from common.blobs.service import blobs_held
from common.db import core
from common.identity.projection import REGISTRY_SUBJECT
from common.identity.registry import RegistryKeyResolver
from common.ledger.batch import chains_extend, split_fresh, store_checked
from common.ledger.envelope import EnvelopeError, SignedEvent, parse_event
from common.ledger.service import IngestOutcome, IngestRefused, ingest_event
from common.ledger.signatures import Verification
from common.node import ThisNode
from common.sync.models import DeadLetter, HeldEvent
from common.sync.outbox import begin_outbox_batch, end_outbox_batch
from common.sync.routing import end_batch_caches, in_subtree, preload_interest
from common.timeutil import utcnow

_HELD = HeldEvent.__table__  # type: ignore[attr-defined]


@dataclass
class BatchResult:
    stored: int = 0
    duplicates: int = 0
    held: int = 0
    quarantined: int = 0
    rejected: list[dict[str, str]] = field(default_factory=list)
    released: int = 0  # held events applied because this batch closed their gap

    def as_dict(self) -> dict[str, Any]:
        return {
            "stored": self.stored,
            "duplicates": self.duplicates,
            "held": self.held,
            "quarantined": self.quarantined,
            "released": self.released,
            "rejected": self.rejected,
        }


def event_blobs(event: SignedEvent) -> set[str]:
    """``referenced_blobs`` of the event's body; most events name none, which their
    canonical bytes show without walking the body."""
    if b'"blob_sha256"' not in event.raw:
        return set()
    return referenced_blobs(event.body)


def referenced_blobs(body: Any) -> set[str]:
    """Every ``blob_sha256`` value anywhere in an event body."""
    found: set[str] = set()
    stack = [body]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            for key, value in item.items():
                if key == "blob_sha256" and isinstance(value, str):
                    found.add(value)
                else:
                    stack.append(value)
        elif isinstance(item, list):
            stack.extend(item)
    return found


def _missing_blobs(session: Session, hashes: set[str]) -> set[str]:
    return hashes - blobs_held(session, hashes)


class _BatchKeys(RegistryKeyResolver):
    """The registry resolver with the batch's keys remembered; forgotten whenever a
    registry event passes, since it may revoke one."""

    def __init__(self, root_fingerprint: str) -> None:
        super().__init__(root_fingerprint)
        self._keys: dict[tuple[str, str], Ed25519PublicKey] = {}

    def __call__(self, session: Session, event: SignedEvent) -> Ed25519PublicKey:
        env = event.envelope
        if env["subject"] == REGISTRY_SUBJECT:
            self._keys.clear()
            return super().__call__(session, event)
        key = (env["author"], env["kid"])
        if key not in self._keys:
            self._keys[key] = super().__call__(session, event)
        return self._keys[key]


def _anything_held(session: Session) -> bool:
    return core(session).execute(select(_HELD.c.event_id).limit(1)).first() is not None


def receive_batch(session: Session, node: ThisNode, peer: str, raws: list[bytes]) -> BatchResult:
    """Receive one batch from ``peer`` in the caller's transaction (see the module docstring)."""
    return BatchReceiver(session, node, peer).receive(raws)


class BatchReceiver:
    """One batch from one neighbour: what every step needs, in one place (the session,
    this node, the sender, the key resolver, which author chains must be complete here,
    whether anything is held back, and the result so far)."""

    def __init__(self, session: Session, node: ThisNode, peer: str) -> None:
        self.session, self.node, self.peer = session, node, peer
        self.result = BatchResult()
        self.resolver = _BatchKeys(node.settings.root_fingerprint or "")
        self._subtree: dict[str, bool] = {}
        # Held events are rare: look for them once, then only after this batch holds one.
        self.held = _anything_held(session)

    def complete(self, author: str) -> bool:
        """Must ``author``'s chain be gap-free here (it is in this node's subtree)?"""
        if author not in self._subtree:
            self._subtree[author] = in_subtree(self.session, self.node.node_id, author)
        return self._subtree[author]

    def receive(self, raws: list[bytes]) -> BatchResult:
        if self.receive_clean(raws):
            if self.held and self.result.stored:
                self.result.released += self.release_held()
            return self.result
        for raw in raws:
            status = self.receive_one(raw)
            self.held = self.held or status == "held"
            if status == "stored" and self.held:
                self.result.released += self.release_held()
        return self.result

    def receive_clean(self, raws: list[bytes]) -> bool:
        """Store a batch of clean events as a whole; False (nothing written) when it is not clean."""
        session, network_id = self.session, self.node.network_id
        events: list[SignedEvent] = []
        for raw in raws:
            try:
                event = parse_event(network_id, raw)
            except EnvelopeError:
                return False
            if event.subject == REGISTRY_SUBJECT:  # may change keys and the tree mid-batch
                return False
            events.append(event)
        fresh, duplicates = split_fresh(session, events)
        hashes: set[str] = set()
        for event in fresh:
            hashes |= event_blobs(event)
        if _missing_blobs(session, hashes):
            return False
        try:
            keys = [self.resolver(session, event) for event in fresh]
        except EnvelopeError:
            return False
        verification = Verification(network_id, fresh, keys)
        if not chains_extend(session, fresh, self.complete):
            return False
        if not self._store_whole(fresh, verification):
            return False
        if self.held and fresh:
            # An event held back by an earlier batch may have come again, now with its gap closed.
            core(session).execute(
                delete(_HELD).where(_HELD.c.event_id.in_([event.id for event in fresh]))
            )
        self.result.stored += len(fresh)
        self.result.duplicates += duplicates
        return True

    def _store_whole(self, fresh: list[SignedEvent], verification: Verification) -> bool:
        """Store, apply and route ``fresh`` in one savepoint, kept only if every signature is good."""
        session = self.session
        savepoint = session.begin_nested()
        stored = False
        try:
            begin_outbox_batch(session)
            subjects = {event.subject for event in fresh}
            preload_interest(session, subjects)
            preload_custody(session, subjects)
            store_checked(session, fresh, self.peer)
            end_outbox_batch(session, write=True)
            # Nothing of the batch stays unless every signature is good.
            stored = verification.ok()
        except Exception:  # noqa: BLE001 - e.g. a projection refusing an event: decided one at a time
            stored = False
        finally:
            end_outbox_batch(session, write=False)
            end_batch_caches(session)
            end_batch_custody(session)
            if stored:
                savepoint.commit()
            else:
                savepoint.rollback()
                verification.ok()  # let a worker thread finish before the batch is retried
        return stored

    def receive_one(self, raw: bytes) -> str:
        try:
            event = parse_event(self.node.network_id, raw)
        except EnvelopeError as exc:
            self._dead_letter(raw, "unparsed", exc)
            return "rejected"
        missing = _missing_blobs(self.session, referenced_blobs(event.body))
        if missing:
            return self._hold(event.id, raw, "blob:" + ",".join(sorted(missing)), self.peer)
        try:
            # A savepoint per event: a projection may refuse an event after its row was
            # inserted (e.g. a handoff by the wrong node); nothing of it may stay.
            outcome = self._ingest(event, raw, self.peer)
        except IngestRefused as exc:
            return self._hold(event.id, raw, exc.message, self.peer)
        except EnvelopeError as exc:
            self._dead_letter(raw, event.id, exc)
            return "rejected"
        if outcome.status == "duplicate":
            self.result.duplicates += 1
        elif outcome.status == "quarantined":
            self.result.quarantined += 1
        else:
            self.result.stored += 1
            if self.held:  # it may have been held back by an earlier batch
                core(self.session).execute(delete(_HELD).where(_HELD.c.event_id == event.id))
        return outcome.status

    def _ingest(self, event: SignedEvent, raw: bytes, source: str) -> IngestOutcome:
        with self.session.begin_nested():
            return ingest_event(
                self.session,
                self.node.network_id,
                raw,
                self.resolver,
                author_chain_complete=self.complete,
                source=source,
                event=event,
            )

    def _hold(self, event_id: str, raw: bytes, waiting_for: str, peer: str) -> str:
        connection = core(self.session)
        if not connection.execute(
            select(_HELD.c.event_id).where(_HELD.c.event_id == event_id)
        ).first():
            connection.execute(
                insert(_HELD),
                {
                    "event_id": event_id,
                    "raw": raw,
                    "waiting_for": waiting_for[:200],
                    "from_peer": peer,
                    "held_at": utcnow(),
                },
            )
        self.result.held += 1
        return "held"

    def _dead_letter(
        self, raw: bytes, event_id: str, exc: EnvelopeError, peer: str | None = None
    ) -> None:
        peer = peer or self.peer
        self.session.add(
            DeadLetter(
                event_id=event_id,
                code=exc.code,
                reason=exc.message[:500],
                from_peer=peer,
                raw=raw,
                received_at=utcnow(),
            )
        )
        self.result.rejected.append(
            {"event_id": event_id, "code": exc.code, "reason": exc.message[:500]}
        )

    def release_held(self) -> int:
        """Apply held events whose gap has closed, until no more can be applied."""
        session, released, progress = self.session, 0, True
        while progress:
            progress = False
            for event_id, raw, peer in (
                core(session)
                .execute(
                    select(_HELD.c.event_id, _HELD.c.raw, _HELD.c.from_peer).order_by(
                        _HELD.c.held_at
                    )
                )
                .all()
            ):
                event = parse_event(self.node.network_id, raw)
                if _missing_blobs(session, referenced_blobs(event.body)):
                    continue
                try:
                    outcome = self._ingest(event, raw, peer)
                except IngestRefused:
                    continue
                except EnvelopeError as exc:
                    core(session).execute(delete(_HELD).where(_HELD.c.event_id == event_id))
                    self._dead_letter(raw, event_id, exc, peer)
                    continue
                core(session).execute(delete(_HELD).where(_HELD.c.event_id == event_id))
                if outcome.status == "stored":
                    released += 1
                    progress = True
        return released


def held_count(session: Session) -> int:
    return len(core(session).execute(select(_HELD.c.event_id)).all())


def event_summary(raw: bytes) -> dict[str, Any]:
    envelope = json.loads(raw)
    return {k: envelope[k] for k in ("author", "aseq", "subject", "sseq", "kind")}
