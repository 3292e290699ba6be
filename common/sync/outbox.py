"""Per-link outboxes: (peer, seq, event) rows written in the event's own transaction.

The sender reads a batch after the neighbour's acknowledged seq; only the neighbour's
acknowledgement moves the cursor, so delivery is at least once and nothing is lost when
a link drops mid-batch. Acknowledged rows are pruned (``acknowledge``); the row at the
acknowledged seq stays, so that seqs keep rising.
"""

from __future__ import annotations

import logging
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import cast

from sqlalchemy import bindparam, delete, func, insert, select, union_all, update
from sqlalchemy.engine import Connection, Engine
from sqlmodel import Session

from common.db import core
from common.ledger.envelope import SignedEvent
from common.ledger.models import Event
from common.ledger.service import after_store
from common.sync.models import OutboxEntry, SyncCursor
from common.sync.routing import BROADCAST_SUBJECTS, in_subtree, interested_in, peers_for

log = logging.getLogger("onetrip.sync")

MAX_BATCH_EVENTS = 500
MAX_BATCH_BYTES = 4 * 1024 * 1024

_OUTBOX = OutboxEntry.__table__  # type: ignore[attr-defined]
_CURSORS = SyncCursor.__table__  # type: ignore[attr-defined]
_EVENTS = Event.__table__  # type: ignore[attr-defined]
_PRUNE = delete(_OUTBOX).where(
    _OUTBOX.c.peer == bindparam("peer"), _OUTBOX.c.seq < bindparam("seq")
)
# The next seq goes above both the outbox's highest row and what the neighbour has
# acknowledged (they differ only after this node was restored from a backup).
_TOPS = union_all(
    select(func.max(_OUTBOX.c.seq).label("top")).where(_OUTBOX.c.peer == bindparam("peer")),
    select(_CURSORS.c.sent_acked.label("top")).where(_CURSORS.c.peer == bindparam("peer")),
).subquery()
# One row, never NULL (COALESCE): its scalar() is cast to int below.
_TOP_SEQ = select(func.coalesce(func.max(_TOPS.c.top), 0))

# The node id whose outboxes the hook fills, carried by the engine itself (several nodes
# run in one process in tests and the simulation): set by ``install_routing``. Keyed by
# the engine object, weakly, so a disposed engine's entry goes with it and a new engine
# can never inherit one (``id()`` values are reused).
_OWNERS: weakref.WeakKeyDictionary[Engine, str] = weakref.WeakKeyDictionary()


def install_routing(engine: Engine, node_id: str) -> None:
    """Fill outboxes for events stored through ``engine`` as node ``node_id``."""
    _OWNERS[engine] = node_id
    after_store(_route_stored_event)


def _route_stored_event(
    session: Session, event: SignedEvent, lseq: int, source: str | None
) -> None:
    bind = session.get_bind()
    own_id = _OWNERS.get(bind.engine if isinstance(bind, Connection) else bind)
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
            top = cast(int, core(session).execute(_TOP_SEQ, {"peer": peer}).scalar())
            self.next_seq[peer] = int(top) + 1
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
    pending: PendingOutbox | None = session.info.get(_PENDING_KEY)
    if pending is not None:
        return pending.add(session, peer, lseq)
    connection = core(session)
    seq = int(cast(int, connection.execute(_TOP_SEQ, {"peer": peer}).scalar())) + 1
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


def read_batch(
    session: Session,
    peer: str,
    after: int,
    *,
    max_events: int = MAX_BATCH_EVENTS,
    max_bytes: int = MAX_BATCH_BYTES,
) -> Batch:
    rows = (
        core(session)
        .execute(
            select(_OUTBOX.c.seq, _EVENTS.c.raw)
            .join(_EVENTS, _EVENTS.c.lseq == _OUTBOX.c.lseq)
            .where(_OUTBOX.c.peer == peer, _OUTBOX.c.seq > after)
            .order_by(_OUTBOX.c.seq)
            .limit(max_events + 1)
        )
        .all()
    )
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
    return int(
        core(session)
        .execute(
            select(func.count())
            .select_from(_OUTBOX)
            .where(_OUTBOX.c.peer == peer, _OUTBOX.c.seq > acked)
        )
        .scalar_one()
    )


def backfill_child(session: Session, own_id: str, child: str, *, own_chains: bool = False) -> int:
    """A child seen for the first time gets what it must hold from before it existed:
    every broadcast record, its subtree's users, and records of interest to its subtree.
    With ``own_chains`` (a child restored from a backup) also every event written in its
    subtree, so that it holds its own author chains whole again."""
    row = cursor(session, child)
    if row.backfilled and not own_chains:
        return 0
    enqueued = {
        lseq
        for (lseq,) in core(session).execute(select(_OUTBOX.c.lseq).where(_OUTBOX.c.peer == child))
    }
    count = _queue_again(
        session,
        child,
        enqueued,
        lambda subject, author: (
            _child_needs(session, child, subject)
            or (own_chains and in_subtree(session, child, author))
        ),
    )
    row.backfilled = True
    session.add(row)
    return count


def _queue_again(
    session: Session, peer: str, skip: set[int], wanted: Callable[[str, str], bool]
) -> int:
    """Queue for ``peer``, in local order, every stored event not in ``skip`` for which
    ``wanted(subject, author)`` holds; how many. One pass over the ledger."""
    count = 0
    rows = core(session).execute(
        select(_EVENTS.c.lseq, _EVENTS.c.subject, _EVENTS.c.author).order_by(_EVENTS.c.lseq)
    )
    for lseq, subject, author in rows:
        if lseq not in skip and wanted(subject, author):
            enqueue(session, peer, lseq)
            count += 1
    return count


def reconcile_pull(session: Session, own_id: str, child: str, after: int) -> int:
    """Before answering a pull: a child that asks for less than it has acknowledged lost
    what it had applied; only a restore from a backup explains it (the rows it
    acknowledged are pruned here). Everything it must hold is queued again after the end
    of its outbox, its own subtree's events included; it skips by id what it still has.
    The cursor goes back to what the child now says it holds. Returns the number queued.

    The other way round (this node restored, the child holding seqs above any written
    here) needs nothing more than the usual acknowledgement: it moves the cursor up to the
    child's position, and numbering goes on above the cursor (``_TOP_SEQ``), so nothing
    queued from then on hides below what the child holds.
    """
    row = cursor(session, child)
    if after >= row.sent_acked:
        return 0
    log.warning(
        "a child asked for what it had acknowledged (restored from a backup?); sending again",
        extra={"peer": child, "code": "sync.child_rewound"},
    )
    core(session).execute(update(_CURSORS).where(_CURSORS.c.peer == child).values(sent_acked=after))
    session.expire(row)
    return backfill_child(session, own_id, child, own_chains=True)


def child_pushes_lost(session: Session, child: str, after: int) -> bool:
    """True when a child has had more of its pushes acknowledged than this node recorded
    (``received``): this node lost them (restored from a backup) and the child must send
    its subtree's events again."""
    return after > cursor(session, child).received


def record_push(session: Session, child: str, last_seq: int) -> None:
    """The child's outbox seq this node has acknowledged (kept in ``received``)."""
    row = cursor(session, child)
    row.received = last_seq
    session.add(row)


def requeue_own_for_parent(session: Session, own_id: str, parent: str) -> int:
    """Queue for the parent, again, every event written in this node's subtree that is not
    waiting already: the parent lost what it had acknowledged and skips by id what it has."""
    acked = cursor(session, parent).sent_acked
    waiting = {
        lseq
        for (lseq,) in core(session).execute(
            select(_OUTBOX.c.lseq).where(_OUTBOX.c.peer == parent, _OUTBOX.c.seq > acked)
        )
    }
    return _queue_again(
        session, parent, waiting, lambda _subject, author: in_subtree(session, own_id, author)
    )


def _child_needs(session: Session, child: str, subject: str) -> bool:
    if subject in BROADCAST_SUBJECTS:
        return True
    return any(in_subtree(session, child, node_id) for node_id in interested_in(session, subject))
