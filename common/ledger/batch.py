"""Ingesting a whole batch of foreign events at once: the sync hot path (chain checks
and the insert; the signatures are ``common.ledger.signatures``' and the projections'
held-back writes ``common.ledger.write_behind``'s).

``ingest_event`` takes one event at a time: a lookup by id, two chain lookups, an
insert, and the caller's savepoint around it. For a batch in which every event is
clean — not held yet, signed by a known key, and extending its author and subject
chains exactly as ``ingest_event`` requires, in batch order — the same result comes from
set-wise work: one query for the ids already held (``split_fresh``), one per chain kind
for the heads (``chains_extend``, which then checks every event in memory), every
signature verified (``Verification``; optionally on a second thread, since
``cryptography`` releases the GIL while it verifies), one INSERT for all
rows (``store_checked``), and the projections and after-store hooks per event in batch
order, exactly as ``_store`` runs them.

Whatever this module cannot decide in memory (a fork, a gap, a position below a chain's
head) makes the batch "not clean"; the caller then rolls back and takes the batch one
event at a time through ``ingest_event``, which has the exact answer for every case.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, cast

from sqlalchemy import func, select
from sqlalchemy.engine import Connection
from sqlmodel import Session

from common.db import core
from common.ledger.envelope import SignedEvent
from common.ledger.projection import apply_event
from common.ledger.service import ENVELOPE_COLUMNS, EVENTS, event_row, run_after_store
from common.ledger.write_behind import buffered_writes
from common.timeutil import utcnow

_CHUNK = 500  # ids / keys per IN (...) list
_INSERT_RETURNING = EVENTS.insert().returning(EVENTS.c.lseq, sort_by_parameter_order=True)


_COLUMNS = ("id", *ENVELOPE_COLUMNS, "raw", "received_at")
_SQLITE_INSERT = (
    f"INSERT INTO {EVENTS.name} ({', '.join(_COLUMNS)}) VALUES ({', '.join('?' for _ in _COLUMNS)})"
)
# One row, never NULL (COALESCE): its scalar() is cast to int below.
_TOP_LSEQ = select(func.coalesce(func.max(EVENTS.c.lseq), 0))


def _insert_events(connection: Connection, rows: list[dict[str, Any]]) -> list[int]:
    """Insert the rows in order; their local sequence numbers, in the same order.

    PostgreSQL returns them from one multi-row INSERT. SQLite cannot return rows in
    parameter order from a batched INSERT (SQLAlchemy then runs one statement per row), so
    there the rows go in by one plain DB-API executemany (the values need no conversion
    but the one timestamp, converted once) and the numbers are worked out: ``lseq`` is
    the rowid, and under the write lock each new row gets the highest plus one, so the
    batch takes the numbers right above the highest before it. The highest after it
    confirms that; otherwise (never seen) they are read back by id."""
    if not rows:
        return []
    if connection.dialect.name != "sqlite":
        return [row[0] for row in connection.execute(_INSERT_RETURNING, rows)]
    convert = EVENTS.c.received_at.type.dialect_impl(connection.dialect).bind_processor(
        connection.dialect
    )
    stamp = convert or (lambda value: value)
    before = int(cast(int, connection.execute(_TOP_LSEQ).scalar()))
    connection.exec_driver_sql(
        _SQLITE_INSERT,
        [
            (
                r["id"],
                r["author"],
                r["kid"],
                r["aseq"],
                r["aprev"],
                r["subject"],
                r["sseq"],
                r["sprev"],
                r["kind"],
                r["at"],
                r["raw"],
                stamp(r["received_at"]),
            )
            for r in rows
        ],
    )
    if int(cast(int, connection.execute(_TOP_LSEQ).scalar())) == before + len(rows):
        return list(range(before + 1, before + len(rows) + 1))
    ids = [row["id"] for row in rows]
    lseq_of: dict[str, int] = {}
    for start in range(0, len(ids), _CHUNK):
        found = connection.execute(
            select(EVENTS.c.id, EVENTS.c.lseq).where(EVENTS.c.id.in_(ids[start : start + _CHUNK]))
        )
        lseq_of.update((event_id, lseq) for event_id, lseq in found)
    return [lseq_of[event_id] for event_id in ids]


def split_fresh(session: Session, events: Sequence[SignedEvent]) -> tuple[list[SignedEvent], int]:
    """The events not held yet (first occurrence in the batch), and how many were duplicates."""
    connection = core(session)
    ids = sorted({event.id for event in events})
    held: set[str] = set()
    for start in range(0, len(ids), _CHUNK):
        held.update(
            connection.execute(
                select(EVENTS.c.id).where(EVENTS.c.id.in_(ids[start : start + _CHUNK]))
            ).scalars()
        )
    fresh: list[SignedEvent] = []
    seen: set[str] = set()
    for event in events:
        if event.id in held or event.id in seen:
            continue
        seen.add(event.id)
        fresh.append(event)
    return fresh, len(events) - len(fresh)


def _heads(
    connection: Connection, key_column: Any, seq_column: Any, keys: set[str]
) -> dict[str, tuple[int, str]]:
    """{chain key: (highest seq held, its event id)} for these chains, in one query per chunk."""
    inner = EVENTS.alias("head")
    top = (
        select(func.max(inner.c[seq_column.name]))
        .where(inner.c[key_column.name] == key_column)
        .scalar_subquery()
    )
    heads: dict[str, tuple[int, str]] = {}
    ordered = sorted(keys)
    for start in range(0, len(ordered), _CHUNK):
        rows = connection.execute(
            select(key_column, seq_column, EVENTS.c.id).where(
                key_column.in_(ordered[start : start + _CHUNK]), seq_column == top
            )
        )
        heads.update({key: (seq, event_id) for key, seq, event_id in rows})
    return heads


def chains_extend(
    session: Session, events: Sequence[SignedEvent], author_chain_complete: Callable[[str], bool]
) -> bool:
    """True when, in batch order, every event takes the next free position of its chains
    exactly as ``ingest_event`` would store it: its ``prev`` is the held head (or it is
    the first), and a gap only in an author chain this node need not hold completely.
    False when any event needs ``ingest_event``'s exact answer (fork, gap, or a position
    below the head, which a partial chain may or may not hold)."""
    connection = core(session)
    authors = _heads(
        connection, EVENTS.c.author, EVENTS.c.aseq, {e.envelope["author"] for e in events}
    )
    subjects = _heads(
        connection, EVENTS.c.subject, EVENTS.c.sseq, {e.envelope["subject"] for e in events}
    )
    for event in events:
        env = event.envelope
        for heads, key, seq, prev, gap_free in (
            (
                authors,
                env["author"],
                env["aseq"],
                env["aprev"],
                author_chain_complete(env["author"]),
            ),
            (subjects, env["subject"], env["sseq"], env["sprev"], True),
        ):
            head_seq, head_id = heads.get(key, (0, None))
            if seq <= head_seq:
                return False
            if seq == head_seq + 1:
                if seq > 1 and prev != head_id:
                    return False
            elif gap_free:
                return False
            heads[key] = (seq, event.id)
    return True


def store_checked(session: Session, events: Sequence[SignedEvent], source: str | None) -> list[int]:
    """Insert checked events in one statement, then project and route each in batch
    order (what ``_store`` does per event; projections never read the events table).
    The projections' plain writes go through a ``WriteBehind`` buffer, flushed at the end
    (and before any statement that could see them)."""
    now = utcnow()
    rows = [event_row(event, now) for event in events]
    lseqs = _insert_events(core(session), rows)
    with buffered_writes(session):
        for event, lseq in zip(events, lseqs, strict=True):
            apply_event(session, event)
            run_after_store(session, event, lseq, source)
    return lseqs
