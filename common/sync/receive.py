"""Receiving a batch from a neighbour: verify, store, apply, all in one transaction.

Each event ends as exactly one of: stored (and routed on), duplicate (already held:
nothing changes), held back (its predecessor or its blob has not arrived; applied when
the gap closes), quarantined (a fork; the root is told), or dead-lettered (malformed,
badly signed, unknown or revoked key: never retried). The caller acknowledges only
after the transaction commits.

The common case, a batch in which every event is clean, is taken as a whole
(``_receive_clean``: one savepoint, set-wise lookups, one INSERT for the events and one
for the outbox rows, signatures checked before anything is kept). A batch with anything
else in it — a malformed or badly signed event, a fork, a gap, a missing blob, a
registry event, an event a projection refuses — is rolled back to that savepoint and
taken one event at a time with a savepoint each, which decides every case exactly.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete, insert, select
from sqlmodel import Session

from common.authority.events import end_batch_custody, preload_custody
from common.blobs.models import Blob
from common.db import core
from common.identity.projection import REGISTRY_SUBJECT
from common.identity.registry import RegistryKeyResolver
from common.ledger.batch import Verification, chains_extend, split_fresh, store_checked
from common.ledger.envelope import EnvelopeError, SignedEvent, parse_event
from common.ledger.service import IngestRefused, ingest_event
from common.node import ThisNode
from common.sync.models import DeadLetter, HeldEvent
from common.sync.outbox import begin_outbox_batch, end_outbox_batch
from common.sync.routing import end_batch_caches, in_subtree, preload_interest
from common.timeutil import utcnow

_HELD = HeldEvent.__table__  # type: ignore[attr-defined]
_BLOBS = Blob.__table__  # type: ignore[attr-defined]


@dataclass
class BatchResult:
    stored: int = 0
    duplicates: int = 0
    held: int = 0
    quarantined: int = 0
    rejected: list[dict[str, str]] = field(default_factory=list)
    released: int = 0  # held events applied because this batch closed their gap

    def as_dict(self) -> dict[str, Any]:
        return {"stored": self.stored, "duplicates": self.duplicates, "held": self.held,
                "quarantined": self.quarantined, "released": self.released, "rejected": self.rejected}


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
    if not hashes:
        return set()
    rows = core(session).execute(select(_BLOBS.c.sha256).where(_BLOBS.c.sha256.in_(sorted(hashes)),
                                                              _BLOBS.c.stored.is_(True)))
    return hashes - {row[0] for row in rows}


class _BatchKeys(RegistryKeyResolver):
    """The registry resolver with the batch's keys remembered; forgotten whenever a
    registry event passes, since it may revoke one."""

    def __init__(self, root_fingerprint: str) -> None:
        super().__init__(root_fingerprint)
        self._keys: dict[tuple[str, str], Any] = {}

    def __call__(self, session: Session, event: SignedEvent):  # type: ignore[no-untyped-def]
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
    result = BatchResult()
    resolver = _BatchKeys(node.settings.root_fingerprint or "")
    subtree_cache: dict[str, bool] = {}

    def complete(author: str) -> bool:
        if author not in subtree_cache:
            subtree_cache[author] = in_subtree(session, node.node_id, author)
        return subtree_cache[author]

    # Held events are rare: look for them once, then only after this batch holds one.
    held = _anything_held(session)
    if _receive_clean(session, node, peer, raws, resolver, complete, result, held):
        if held and result.stored:
            result.released += _release_held(session, node, resolver, complete, result)
        return result
    for raw in raws:
        status = _receive_one(session, node, peer, raw, resolver, complete, result, held)
        held = held or status == "held"
        if status == "stored" and held:
            result.released += _release_held(session, node, resolver, complete, result)
    return result


def _receive_clean(session, node, peer, raws, resolver, complete, result: BatchResult,  # type: ignore[no-untyped-def]
                   held: bool) -> bool:
    """Store a batch of clean events as a whole; False (nothing written) when it is not clean."""
    events: list[SignedEvent] = []
    for raw in raws:
        try:
            event = parse_event(node.network_id, raw)
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
        keys = [resolver(session, event) for event in fresh]
    except EnvelopeError:
        return False
    verification = Verification(node.network_id, fresh, keys)
    if not chains_extend(session, fresh, complete):
        return False
    savepoint = session.begin_nested()
    stored = False
    try:
        begin_outbox_batch(session)
        preload_interest(session, {event.subject for event in fresh})
        preload_custody(session, {event.subject for event in fresh})
        store_checked(session, fresh, peer)
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
    if not stored:
        return False
    if held and fresh:
        # An event held back by an earlier batch may have come again, now with its gap closed.
        core(session).execute(delete(_HELD).where(_HELD.c.event_id.in_([event.id for event in fresh])))
    result.stored += len(fresh)
    result.duplicates += duplicates
    return True


def _receive_one(session, node, peer, raw, resolver, complete, result: BatchResult,  # type: ignore[no-untyped-def]
                 held: bool = True) -> str:
    try:
        event = parse_event(node.network_id, raw)
    except EnvelopeError as exc:
        _dead_letter(session, peer, raw, "unparsed", exc, result)
        return "rejected"
    missing = _missing_blobs(session, referenced_blobs(event.body))
    if missing:
        return _hold(session, event.id, raw, "blob:" + ",".join(sorted(missing)), peer, result)
    try:
        # A savepoint per event: a projection may refuse an event after its row was
        # inserted (e.g. a handoff by the wrong node); nothing of it may stay.
        with session.begin_nested():
            outcome = ingest_event(session, node.network_id, raw, resolver, author_chain_complete=complete,
                                   source=peer, event=event)
    except IngestRefused as exc:
        return _hold(session, event.id, raw, exc.message, peer, result)
    except EnvelopeError as exc:
        _dead_letter(session, peer, raw, event.id, exc, result)
        return "rejected"
    if outcome.status == "duplicate":
        result.duplicates += 1
    elif outcome.status == "quarantined":
        result.quarantined += 1
    else:
        result.stored += 1
        if held:  # it may have been held back by an earlier batch
            core(session).execute(delete(_HELD).where(_HELD.c.event_id == event.id))
    return outcome.status


def _hold(session: Session, event_id: str, raw: bytes, waiting_for: str, peer: str, result: BatchResult) -> str:
    if not core(session).execute(select(_HELD.c.event_id).where(_HELD.c.event_id == event_id)).first():
        core(session).execute(insert(_HELD), {"event_id": event_id, "raw": raw, "waiting_for": waiting_for[:200],
                                              "from_peer": peer, "held_at": utcnow()})
    result.held += 1
    return "held"


def _dead_letter(session: Session, peer: str, raw: bytes, event_id: str, exc: EnvelopeError,
                 result: BatchResult) -> None:
    session.add(DeadLetter(event_id=event_id, code=exc.code, reason=exc.message[:500], from_peer=peer, raw=raw,
                           received_at=utcnow()))
    result.rejected.append({"event_id": event_id, "code": exc.code, "reason": exc.message[:500]})


def _release_held(session, node, resolver, complete, result: BatchResult) -> int:  # type: ignore[no-untyped-def]
    """Apply held events whose gap has closed, until no more can be applied."""
    released = 0
    progress = True
    while progress:
        progress = False
        for event_id, raw, peer in core(session).execute(
            select(_HELD.c.event_id, _HELD.c.raw, _HELD.c.from_peer).order_by(_HELD.c.held_at)
        ).all():
            event = parse_event(node.network_id, raw)
            if _missing_blobs(session, referenced_blobs(event.body)):
                continue
            try:
                with session.begin_nested():
                    outcome = ingest_event(session, node.network_id, raw, resolver, author_chain_complete=complete,
                                           source=peer, event=event)
            except IngestRefused:
                continue
            except EnvelopeError as exc:
                core(session).execute(delete(_HELD).where(_HELD.c.event_id == event_id))
                _dead_letter(session, peer, raw, event_id, exc, result)
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
