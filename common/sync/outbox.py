"""Per-link outboxes: (peer, seq, event) rows written in the event's own transaction.

The sender reads a batch after the neighbour's acknowledged seq; only the neighbour's
acknowledgement moves the cursor, so delivery is at least once and nothing is lost when
a link drops mid-batch. Acknowledged rows are pruned (``acknowledge``); the row at the
acknowledged seq stays, so that seqs keep rising.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import bindparam, delete, func, insert, select, update
from sqlmodel import Session

from common.db import core
from common.ledger.envelope import SignedEvent
from common.ledger.models import Event
from common.ledger.service import after_store
from common.sync.models import OutboxEntry, SyncCursor
from common.sync.routing import BROADCAST_SUBJECTS, in_subtree, interested_in, peers_for

MAX_BATCH_EVENTS = 500
MAX_BATCH_BYTES = 4 * 1024 * 1024

_OUTBOX = OutboxEntry.__table__  # type: ignore[attr-defined]
_CURSORS = SyncCursor.__table__  # type: ignore[attr-defined]
_EVENTS = Event.__table__  # type: ignore[attr-defined]
_PRUNE = delete(_OUTBOX).where(_OUTBOX.c.peer == bindparam("peer"), _OUTBOX.c.seq < bindparam("seq"))
_NEXT_SEQ = select(func.coalesce(func.max(_OUTBOX.c.seq), 0)).where(_OUTBOX.c.peer == bindparam("peer"))

# The node id whose outboxes the hook fills, per engine: set by ``install_routing``.
_OWNERS: dict[int, str] = {}


def install_routing(engine, node_id: str) -> None:  # type: ignore[no-untyped-def]
    """Fill outboxes for events stored through ``engine`` as node ``node_id``."""
    _OWNERS[id(engine)] = node_id
    after_store(_route_stored_event)


def _route_stored_event(session: Session, event: SignedEvent, lseq: int, source: str | None) -> None:
    own_id = _OWNERS.get(id(session.get_bind()))
    if own_id is None:
        return
    for peer in peers_for(session, own_id, event, source):
        enqueue(session, peer, lseq)


_PENDING_KEY = "onetrip.sync.outbox"  # session.info while a batch is received: PendingOutbox


class PendingOutbox:
    """Outbox rows of a batch being received, written in one statement at its end.

    Nothing reads the outbox while a batch is applied, so collecting the rows and
    writing them with one executemany gives the same rows as writing each at once."""

    def __init__(self) -> None:
        self.next_seq: dict[str, int] = {}
        self.rows: list[dict[str, object]] = []

    def add(self, session: Session, peer: str, lseq: int) -> int:
        if peer not in self.next_seq:
            self.next_seq[peer] = int(core(session).execute(_NEXT_SEQ, {"peer": peer}).scalar()) + 1
        seq = self.next_seq[peer]
        self.next_seq[peer] = seq + 1
        self.rows.append({"peer": peer, "seq": seq, "lseq": lseq})
        return seq


def begin_outbox_batch(session: Session) -> None:
    session.info[_PENDING_KEY] = PendingOutbox()


def end_outbox_batch(session: Session, *, write: bool) -> None:
    """Write the collected rows (``write``) or forget them (the batch was rolled back)."""
    pending = session.info.pop(_PENDING_KEY, None)
    if write and pending is not None and pending.rows:
        core(session).execute(insert(_OUTBOX), pending.rows)


def enqueue(session: Session, peer: str, lseq: int) -> int:
    pending = session.info.get(_PENDING_KEY)
    if pending is not None:
        return pending.add(session, peer, lseq)
    connection = core(session)
    seq = int(connection.execute(_NEXT_SEQ, {"peer": peer}).scalar()) + 1
    connection.execute(insert(_OUTBOX), {"peer": peer, "seq": seq, "lseq": lseq})
    return seq


def cursor(session: Session, peer: str) -> SyncCursor:
    row = session.get(SyncCursor, peer)
    if row is None:
        row = SyncCursor(peer=peer)
        session.add(row)
        session.flush()
    return row


@dataclass(frozen=True)
class Batch:
    events: list[bytes]
    first_seq: int
    last_seq: int  # the highest outbox seq included (== after when empty)
    more: bool


def read_batch(session: Session, peer: str, after: int, *, max_events: int = MAX_BATCH_EVENTS,
               max_bytes: int = MAX_BATCH_BYTES) -> Batch:
    rows = core(session).execute(
        select(_OUTBOX.c.seq, _EVENTS.c.raw)
        .join(_EVENTS, _EVENTS.c.lseq == _OUTBOX.c.lseq)
        .where(_OUTBOX.c.peer == peer, _OUTBOX.c.seq > after)
        .order_by(_OUTBOX.c.seq)
        .limit(max_events + 1)
    ).all()
    events: list[bytes] = []
    size = 0
    last = after
    for seq, raw in rows[:max_events]:
        if events and size + len(raw) > max_bytes:
            break
        events.append(raw)
        size += len(raw)
        last = seq
    more = len(events) < len(rows)
    return Batch(events=events, first_seq=after + 1, last_seq=last, more=more)


def acknowledge(session: Session, peer: str, seq: int) -> None:
    """The neighbour has applied everything up to ``seq``: move the cursor, drop the rows.

    Acknowledged rows are pruned, except the one at ``seq`` itself: the next seq is the
    highest row's plus one, and it must never fall back to a seq the neighbour has
    already acknowledged (it would skip what follows)."""
    current = cursor(session, peer)
    if seq <= current.sent_acked:
        return
    connection = core(session)
    connection.execute(update(_CURSORS).where(_CURSORS.c.peer == peer).values(sent_acked=seq))
    connection.execute(_PRUNE, {"peer": peer, "seq": seq})
    session.expire(current)


def backlog(session: Session, peer: str) -> int:
    acked = cursor(session, peer).sent_acked
    return int(core(session).execute(
        select(func.count()).select_from(_OUTBOX).where(_OUTBOX.c.peer == peer, _OUTBOX.c.seq > acked)
    ).scalar())


def backfill_child(session: Session, own_id: str, child: str) -> int:
    """A child seen for the first time gets what it must hold from before it existed:
    every broadcast record, its subtree's users, and records of interest to its subtree."""
    row = cursor(session, child)
    if row.backfilled:
        return 0
    enqueued = {lseq for (lseq,) in core(session).execute(select(_OUTBOX.c.lseq).where(_OUTBOX.c.peer == child))}
    count = 0
    for lseq, subject in core(session).execute(select(_EVENTS.c.lseq, _EVENTS.c.subject).order_by(_EVENTS.c.lseq)):
        if lseq in enqueued or not _child_needs(session, child, subject):
            continue
        enqueue(session, child, lseq)
        count += 1
    row.backfilled = True
    session.add(row)
    return count


def _child_needs(session: Session, child: str, subject: str) -> bool:
    if subject in BROADCAST_SUBJECTS:
        return True
    return any(in_subtree(session, child, node_id) for node_id in interested_in(session, subject))
