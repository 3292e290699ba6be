"""Appending local events and ingesting foreign ones.

``append_event`` is what every action function calls: it extends this node's author
chain and the subject's chain, signs, stores and projects, all inside the caller's
transaction. ``ingest_event`` stores an event written elsewhere after checking its
form, signature and chains; a second event for a taken chain position is a fork and
goes to quarantine.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import bindparam, insert, select
from sqlalchemy.engine import Row
from sqlmodel import Session

from common.db import core, serialize
from common.ledger.envelope import (
    EnvelopeError,
    SignedEvent,
    Signer,
    parse_event,
    sign_event,
    verify_signature,
)
from common.ledger.hold import refuse_if_held
from common.ledger.models import Event, QuarantinedEvent
from common.ledger.projection import apply_event
from common.timeutil import iso_utc, utcnow

# (session, event) -> the author's public key, or raise EnvelopeError.
KeyResolver = Callable[[Session, SignedEvent], Ed25519PublicKey]
# Called after every stored event with (session, event, lseq, source): routing and the
# outboxes hook in here. ``source`` is the neighbour it came from, None when written here.
AfterStore = Callable[[Session, SignedEvent, int, "str | None"], None]
_AFTER_STORE: list[AfterStore] = []


def after_store(hook: AfterStore) -> None:
    if hook not in _AFTER_STORE:
        _AFTER_STORE.append(hook)


def run_after_store(session: Session, event: SignedEvent, lseq: int, source: str | None) -> None:
    for hook in _AFTER_STORE:
        hook(session, event, lseq, source)


@dataclass(frozen=True)
class ChainHead:
    seq: int
    id: str | None


# Hot path (every append and every ingest): SQLAlchemy Core on the table, not the ORM.
EVENTS = Event.__table__  # type: ignore[attr-defined]
_AUTHOR_HEAD = (
    select(EVENTS.c.aseq, EVENTS.c.id)
    .where(EVENTS.c.author == bindparam("key"))
    .order_by(EVENTS.c.aseq.desc())
    .limit(1)
)
_SUBJECT_HEAD = (
    select(EVENTS.c.sseq, EVENTS.c.id)
    .where(EVENTS.c.subject == bindparam("key"))
    .order_by(EVENTS.c.sseq.desc())
    .limit(1)
)
_INSERT_EVENT = insert(EVENTS)
ENVELOPE_COLUMNS = ("author", "kid", "aseq", "aprev", "subject", "sseq", "sprev", "kind", "at")
_HAS_EVENT = select(EVENTS.c.lseq).where(EVENTS.c.id == bindparam("id"))
# A chain position and its predecessor in one statement: {seq: id} for seq-1 and seq.
_AUTHOR_AT = select(EVENTS.c.aseq, EVENTS.c.id).where(
    EVENTS.c.author == bindparam("key"), EVENTS.c.aseq.between(bindparam("prev"), bindparam("seq"))
)
_AUTHOR_AT_SEQ = select(EVENTS.c.id).where(
    EVENTS.c.author == bindparam("key"), EVENTS.c.aseq == bindparam("seq")
)
_SUBJECT_AT = select(EVENTS.c.sseq, EVENTS.c.id).where(
    EVENTS.c.subject == bindparam("key"), EVENTS.c.sseq.between(bindparam("prev"), bindparam("seq"))
)


def _author_head(session: Session, author: str) -> ChainHead:
    row = core(session).execute(_AUTHOR_HEAD, {"key": author}).first()
    return ChainHead(row[0], row[1]) if row else ChainHead(0, None)


def author_head(session: Session, author: str) -> ChainHead:
    """The last position of ``author``'s chain held here (0, None for none)."""
    return _author_head(session, author)


def id_at(session: Session, author: str, aseq: int) -> str | None:
    """The id of ``author``'s event at chain position ``aseq``, if held here."""
    found: str | None = core(session).execute(_AUTHOR_AT_SEQ, {"key": author, "seq": aseq}).scalar()
    return found


def subject_head(session: Session, subject: str) -> ChainHead:
    row = core(session).execute(_SUBJECT_HEAD, {"key": subject}).first()
    return ChainHead(row[0], row[1]) if row else ChainHead(0, None)


def lock_writer(session: Session, author: str) -> None:
    """Serialise writers of one author for the rest of the transaction.

    Action functions that read a counter before appending (a batch number, a serial)
    call it first so that the read and the append cannot interleave.
    """
    # PostgreSQL needs one lock per author so that two requests cannot take the same aseq.
    serialize(session, f"author:{author}")


def event_row(event: SignedEvent, received_at: datetime) -> dict[str, Any]:
    """The events table's row of a signed event: its envelope columns and exact bytes."""
    env = event.envelope
    row = {name: env[name] for name in ENVELOPE_COLUMNS}
    row.update(id=event.id, raw=event.raw, received_at=received_at)
    return row


def _store(session: Session, event: SignedEvent, source: str | None = None) -> int:
    result = core(session).execute(_INSERT_EVENT, event_row(event, utcnow()))
    # Typed Optional because other statements have none; a one-row INSERT always has it.
    lseq = int(cast("Row[Any]", result.inserted_primary_key)[0])
    apply_event(session, event)
    run_after_store(session, event, lseq, source)
    return lseq


def append_event(
    session: Session, signer: Signer, network_id: str, subject: str, kind: str, body: Any
) -> SignedEvent:
    """Write one event as this node, chained after its last event and the subject's."""
    refuse_if_held(session)
    lock_writer(session, signer.node_id)
    event = sign_at_heads(session, signer, network_id, subject, kind, body)
    _store(session, event)
    return event


def sign_at_heads(
    session: Session, signer: Signer, network_id: str, subject: str, kind: str, body: Any
) -> SignedEvent:
    """``body`` signed as the next event of the signer's chain and of the subject's, at the
    heads held here; stores nothing (``append_event`` stores it, under the writer lock)."""
    author = _author_head(session, signer.node_id)
    subj = subject_head(session, subject)
    return sign_event(
        signer,
        network_id,
        aseq=author.seq + 1,
        aprev=author.id,
        subject=subject,
        sseq=subj.seq + 1,
        sprev=subj.id,
        kind=kind,
        at=iso_utc(utcnow()),
        body=body,
    )


class IngestRefused(EnvelopeError):
    """The event was not stored and nothing was written (e.g. ``event.gap``)."""


@dataclass(frozen=True)
class IngestOutcome:
    """``status`` is "stored", "duplicate" (already held: nothing changes) or
    "quarantined" (a fork: kept aside in the caller's transaction, never applied)."""

    event: SignedEvent
    status: str
    reason: str | None = None

    @property
    def stored(self) -> bool:
        return self.status == "stored"


def quarantine(
    session: Session,
    event_id: str,
    raw: bytes,
    code: str,
    reason: str,
    conflicts_with: str | None = None,
) -> None:
    session.execute(
        insert(QuarantinedEvent).values(
            event_id=event_id,
            reason_code=code,
            reason=reason[:500],
            conflicts_with=conflicts_with,
            raw=raw,
            detected_at=utcnow(),
        )
    )


def ingest_event(
    session: Session,
    network_id: str,
    raw: bytes,
    resolve_key: KeyResolver,
    author_chain_complete: Callable[[str], bool] = lambda author: True,
    source: str | None = None,
    event: SignedEvent | None = None,
) -> IngestOutcome:
    """Verify and store a foreign event (apply is idempotent by event id).

    Raises ``EnvelopeError`` for an event that is malformed or badly signed (the caller
    dead-letters it) and ``IngestRefused("event.gap")`` when its predecessor is missing
    (the caller holds it back). A fork is quarantined, not raised, so that the rest of
    a batch still applies.

    Subject chains are always gap-free here (a node holds all of a record it holds).
    Author chains are only complete for authors whose every event passes through this
    node (its own subtree); ``author_chain_complete`` says which those are. A caller
    that has already parsed ``raw`` (``parse_event``) passes the result as ``event``.
    """
    if event is None or event.raw != raw:
        event = parse_event(network_id, raw)
    if core(session).execute(_HAS_EVENT, {"id": event.id}).first():
        return IngestOutcome(event, "duplicate")
    verify_signature(network_id, event, resolve_key(session, event))
    env = event.envelope
    connection = core(session)
    for seq_name, prev_name, lookup, key, gap_free in (
        ("aseq", "aprev", _AUTHOR_AT, env["author"], author_chain_complete(env["author"])),
        ("sseq", "sprev", _SUBJECT_AT, env["subject"], True),
    ):
        seq = env[seq_name]
        held: dict[int, str] = dict(
            connection.execute(lookup, {"key": key, "prev": seq - 1, "seq": seq}).all()
        )
        if seq in held:
            reason = f"fork: {seq_name}={seq} of {key} already held by {held[seq]}"
            quarantine(session, event.id, raw, "event.fork", reason, conflicts_with=held[seq])
            return IngestOutcome(event, "quarantined", reason)
        if seq == 1:
            continue
        prev = held.get(seq - 1)
        if prev is None:
            if gap_free:
                raise IngestRefused(
                    "event.gap", f"{seq_name}={seq} of {key} arrives before its predecessor"
                )
        elif prev != env[prev_name]:
            reason = f"{prev_name} does not match the held predecessor {prev}"
            quarantine(session, event.id, raw, "event.fork", reason, conflicts_with=prev)
            return IngestOutcome(event, "quarantined", reason)
    _store(session, event, source)
    return IngestOutcome(event, "stored")
