"""Ingesting a whole batch of foreign events at once: the sync hot path.

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

import os
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from cryptography.exceptions import InvalidSignature
from sqlalchemy import func, select
from sqlalchemy.engine import Connection
from sqlmodel import Session

from common.db import core
from common.ledger.envelope import SignedEvent, signed_bytes, unb64u
from common.ledger.projection import apply_event
from common.ledger.service import EVENTS, run_after_store
from common.timeutil import utcnow

_CHUNK = 500  # ids / keys per IN (...) list
_INSERT_RETURNING = EVENTS.insert().returning(EVENTS.c.lseq, sort_by_parameter_order=True)


def split_fresh(session: Session, events: Sequence[SignedEvent]) -> tuple[list[SignedEvent], int]:
    """The events not held yet (first occurrence in the batch), and how many were duplicates."""
    connection = core(session)
    ids = sorted({event.id for event in events})
    held: set[str] = set()
    for start in range(0, len(ids), _CHUNK):
        held.update(connection.execute(select(EVENTS.c.id).where(EVENTS.c.id.in_(ids[start:start + _CHUNK])))
                    .scalars())
    fresh: list[SignedEvent] = []
    seen: set[str] = set()
    for event in events:
        if event.id in held or event.id in seen:
            continue
        seen.add(event.id)
        fresh.append(event)
    return fresh, len(events) - len(fresh)


def _heads(connection: Connection, key_column: Any, seq_column: Any, keys: set[str]) -> dict[str, tuple[int, str]]:
    """{chain key: (highest seq held, its event id)} for these chains, in one query per chunk."""
    inner = EVENTS.alias("head")
    top = (select(func.max(inner.c[seq_column.name])).where(inner.c[key_column.name] == key_column)
           .scalar_subquery())
    heads: dict[str, tuple[int, str]] = {}
    ordered = sorted(keys)
    for start in range(0, len(ordered), _CHUNK):
        rows = connection.execute(select(key_column, seq_column, EVENTS.c.id)
                                  .where(key_column.in_(ordered[start:start + _CHUNK]), seq_column == top))
        heads.update({key: (seq, event_id) for key, seq, event_id in rows})
    return heads


def chains_extend(session: Session, events: Sequence[SignedEvent],
                  author_chain_complete: Callable[[str], bool]) -> bool:
    """True when, in batch order, every event takes the next free position of its chains
    exactly as ``ingest_event`` would store it: its ``prev`` is the held head (or it is
    the first), and a gap only in an author chain this node need not hold completely.
    False when any event needs ``ingest_event``'s exact answer (fork, gap, or a position
    below the head, which a partial chain may or may not hold)."""
    connection = core(session)
    authors = _heads(connection, EVENTS.c.author, EVENTS.c.aseq, {e.envelope["author"] for e in events})
    subjects = _heads(connection, EVENTS.c.subject, EVENTS.c.sseq, {e.envelope["subject"] for e in events})
    for event in events:
        env = event.envelope
        for heads, key, seq, prev, gap_free in (
            (authors, env["author"], env["aseq"], env["aprev"], author_chain_complete(env["author"])),
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


def _verify_all(jobs: list[tuple[Any, bytes, bytes]]) -> bool:
    try:
        for public_key, signature, message in jobs:
            public_key.verify(signature, message)
    except (InvalidSignature, ValueError):
        return False
    return True


_POOL: ThreadPoolExecutor | None = None
# Off by default: measured on the 2-core reference machine (docs/benchmarks.md), the
# worker thread made ingest slower, not faster (the GIL hand-over between the threads
# costs more than the overlap gains). The benchmark turns it on to keep measuring it.
VERIFY_ON_WORKER_THREAD = False


def _second_core() -> bool:
    if not VERIFY_ON_WORKER_THREAD:
        return False
    try:
        return len(os.sched_getaffinity(0)) > 1
    except AttributeError:  # not Linux
        return (os.cpu_count() or 1) > 1


class Verification:
    """Every signature of a batch. With ``VERIFY_ON_WORKER_THREAD`` on a machine where this
    process may use a second core the checks run on a worker thread while the caller does its database work, which must
    stay uncommitted (inside a savepoint) until ``ok()`` says yes; on one core they run
    at once. The messages are the stored bytes with ``sig`` cut out (``signed_bytes``)."""

    def __init__(self, network_id: str, events: Sequence[SignedEvent], keys: Sequence[Any]) -> None:
        global _POOL
        try:
            jobs = [(key, unb64u(event.envelope["sig"]), signed_bytes(network_id, event))
                    for event, key in zip(events, keys, strict=True)]
        except ValueError:
            jobs = []
            self._result: bool | None = False
            self._future: Future[bool] | None = None
            return
        if len(jobs) > 1 and _second_core():
            if _POOL is None:
                _POOL = ThreadPoolExecutor(max_workers=1, thread_name_prefix="onetrip-verify")
            self._future, self._result = _POOL.submit(_verify_all, jobs), None
        else:
            self._future, self._result = None, _verify_all(jobs)

    def ok(self) -> bool:
        if self._result is None:
            assert self._future is not None
            self._result = self._future.result()
        return self._result


def store_checked(session: Session, events: Sequence[SignedEvent], source: str | None) -> list[int]:
    """Insert checked events in one statement, then project and route each in batch
    order (what ``_store`` does per event; projections never read the events table)."""
    now = utcnow()
    rows = []
    for event in events:
        env = event.envelope
        rows.append({
            "id": event.id, "author": env["author"], "kid": env["kid"], "aseq": env["aseq"],
            "aprev": env["aprev"], "subject": env["subject"], "sseq": env["sseq"], "sprev": env["sprev"],
            "kind": env["kind"], "at": env["at"], "raw": event.raw, "received_at": now,
        })
    lseqs = [row[0] for row in core(session).execute(_INSERT_RETURNING, rows)] if rows else []
    for event, lseq in zip(events, lseqs, strict=True):
        apply_event(session, event)
        run_after_store(session, event, lseq, source)
    return lseqs
