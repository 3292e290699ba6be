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
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

from cryptography.exceptions import InvalidSignature
from sqlalchemy import Table, TableClause, bindparam, func, select, update
from sqlalchemy import event as sa_event
from sqlalchemy.engine import Connection
from sqlalchemy.sql import ClauseElement, visitors
from sqlmodel import Session

from common.db import core
from common.ledger.envelope import SignedEvent, signed_bytes, unb64u
from common.ledger.projection import apply_event
from common.ledger.service import EVENTS, run_after_store
from common.timeutil import utcnow

_CHUNK = 500  # ids / keys per IN (...) list
_INSERT_RETURNING = EVENTS.insert().returning(EVENTS.c.lseq, sort_by_parameter_order=True)


_COLUMNS = ("id", "author", "kid", "aseq", "aprev", "subject", "sseq", "sprev", "kind", "at", "raw", "received_at")
_SQLITE_INSERT = (f"INSERT INTO {EVENTS.name} ({', '.join(_COLUMNS)}) "
                  f"VALUES ({', '.join('?' for _ in _COLUMNS)})")
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
    convert = EVENTS.c.received_at.type.dialect_impl(connection.dialect).bind_processor(connection.dialect)
    stamp = convert or (lambda value: value)
    before = int(connection.execute(_TOP_LSEQ).scalar())
    connection.exec_driver_sql(_SQLITE_INSERT, [
        (r["id"], r["author"], r["kid"], r["aseq"], r["aprev"], r["subject"], r["sseq"], r["sprev"], r["kind"],
         r["at"], r["raw"], stamp(r["received_at"])) for r in rows])
    if int(connection.execute(_TOP_LSEQ).scalar()) == before + len(rows):
        return list(range(before + 1, before + len(rows) + 1))
    ids = [row["id"] for row in rows]
    lseq_of: dict[str, int] = {}
    for start in range(0, len(ids), _CHUNK):
        found = connection.execute(select(EVENTS.c.id, EVENTS.c.lseq)
                                   .where(EVENTS.c.id.in_(ids[start:start + _CHUNK])))
        lseq_of.update((event_id, lseq) for event_id, lseq in found)
    return [lseq_of[event_id] for event_id in ids]


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


_WRITE_BEHIND_KEY = "onetrip.ledger.write_behind"  # session.info while store_checked applies a batch
_TABLES_OF: dict[int, tuple[Any, frozenset[str] | None]] = {}  # id(statement) -> (statement, table names)
_UPDATES: dict[tuple[str, str, tuple[str, ...]], Any] = {}


def _tables_of(statement: Any) -> frozenset[str] | None:
    """The names of every table a statement mentions (subqueries included); None when it
    cannot be told (plain SQL text, a savepoint, DDL): then it may touch anything."""
    cached = _TABLES_OF.get(id(statement))
    if cached is not None and cached[0] is statement:
        return cached[1]
    names: frozenset[str] | None = None
    if isinstance(statement, ClauseElement):
        found = frozenset(element.name for element in visitors.iterate(statement)
                          if isinstance(element, TableClause))
        names = found or None
    if len(_TABLES_OF) > 512:
        _TABLES_OF.clear()
    _TABLES_OF[id(statement)] = (statement, names)  # the reference keeps the id from being reused
    return names


class WriteBehind:
    """The projections' hottest writes of a clean batch, held back and written together.

    While ``store_checked`` applies a batch, handlers may hand plain-value writes here
    (``insert`` of new rows, ``update`` of one row by its key) instead of executing them.
    They are written by ``flush``: inserts per table in first-use order, several rows
    per executemany; the updates of one row merged into one (later values win, as the
    UPDATEs in order would leave them), or folded into that row's own pending INSERT;
    then the updates, grouped by column set, by executemany.

    That gives the same rows as executing each at once because nothing can see the
    difference: every other statement run on the connection meanwhile (a handler's
    read, an UPDATE with a SQL expression, the ORM's flush, a savepoint) first flushes
    the buffer whenever it mentions a table with held-back writes, or when its tables
    cannot be told (a ``before_execute`` hook). Only tables whose rows are identified by
    their own values (no autoincrement) may be inserted through it, since rows of one
    table with different column sets are written in separate statements."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self.inserts: dict[str, list[tuple[Any, dict[str, Any]]]] = {}
        self.rows: dict[tuple[str, Any], dict[str, Any]] = {}  # pending INSERT params by (table, key)
        self.updates: dict[tuple[str, Any], tuple[Table, str, dict[str, Any]]] = {}
        self.tables: set[str] = set()
        self.flushing = False
        self.statements = 0  # executed by flush (for tests and profiles)

    def insert(self, statement: Any, params: dict[str, Any], key: Any = None) -> None:
        """INSERT one row (``statement`` is ``insert(table)`` without values); ``key`` names
        the row for ``update`` to fold into (the buffer keeps and may change ``params``)."""
        name = statement.table.name
        if key is not None and (name, key) in self.updates:
            self.flush()  # an UPDATE of that key, held back, must not run after this INSERT
        self.inserts.setdefault(name, []).append((statement, params))
        self.tables.add(name)
        if key is not None:
            self.rows[(name, key)] = params

    def insert_many(self, statement: Any, rows: Sequence[dict[str, Any]]) -> None:
        name = statement.table.name
        self.inserts.setdefault(name, []).extend((statement, row) for row in rows)
        self.tables.add(name)

    def update(self, table: Table, key_column: str, key: Any, values: dict[str, Any]) -> None:
        """UPDATE ``table`` SET values WHERE key_column = key (plain values only)."""
        row = self.rows.get((table.name, key))
        if row is not None:
            row.update(values)
            return
        pending = self.updates.get((table.name, key))
        if pending is None:
            self.updates[(table.name, key)] = (table, key_column, dict(values))
            self.tables.add(table.name)
        else:
            pending[2].update(values)

    def pending_row(self, table: Table, key: Any) -> dict[str, Any] | None:
        """The values of a row inserted through the buffer and not written yet (with the
        updates folded into it): columns not named are NULL unless they have a default."""
        return self.rows.get((table.name, key))

    def before_execute(self, conn: Connection, statement: Any, *args: Any) -> None:
        if self.flushing or not self.tables:
            return
        names = _tables_of(statement)
        if names is None or not names.isdisjoint(self.tables):
            self.flush()

    def flush(self) -> None:
        if not self.tables:
            return
        inserts, updates = self.inserts, self.updates
        self.inserts, self.rows, self.updates, self.tables = {}, {}, {}, set()
        self.flushing = True
        try:
            for rows in inserts.values():
                groups: dict[tuple[int, tuple[str, ...]], tuple[Any, list[dict[str, Any]]]] = {}
                for statement, params in rows:
                    group = groups.get((id(statement), tuple(sorted(params))))
                    if group is None:
                        groups[(id(statement), tuple(sorted(params)))] = (statement, [params])
                    else:
                        group[1].append(params)
                for statement, group_rows in groups.values():
                    self.connection.execute(statement, group_rows)
                    self.statements += 1
            by_columns: dict[tuple[str, str, tuple[str, ...]], tuple[Table, list[dict[str, Any]]]] = {}
            for (_, key), (table, key_column, values) in updates.items():
                columns = tuple(sorted(values))
                group_key = (table.name, key_column, columns)
                params = {"_wb_key": key, **values}
                if group_key in by_columns:
                    by_columns[group_key][1].append(params)
                else:
                    by_columns[group_key] = (table, [params])
            for (name, key_column, columns), (table, params_list) in by_columns.items():
                statement = _UPDATES.get((name, key_column, columns))
                if statement is None or statement.table is not table:
                    statement = _UPDATES[(name, key_column, columns)] = (
                        update(table).where(table.c[key_column] == bindparam("_wb_key"))
                        .values({column: bindparam(column) for column in columns}))
                self.connection.execute(statement, params_list)
                self.statements += 1
        finally:
            self.flushing = False


def write_behind(session: Session) -> WriteBehind | None:
    """The buffer of the batch being applied, or None (write at once). Pending ORM
    changes are flushed first, as ``core`` does before executing, so that they keep
    their place before the write about to be held back."""
    buffer: WriteBehind | None = session.info.get(_WRITE_BEHIND_KEY)
    if buffer is not None and (session.new or session.dirty or session.deleted):
        session.flush()
    return buffer


@contextmanager
def buffered_writes(session: Session) -> Iterator[WriteBehind]:
    """Projections applied inside hold their plain writes back in a ``WriteBehind``,
    flushed on a normal exit. On an error nothing more is written: the caller rolls
    back (``_receive_clean`` rolls the batch's savepoint back)."""
    connection = core(session)
    buffer = WriteBehind(connection)
    session.info[_WRITE_BEHIND_KEY] = buffer
    sa_event.listen(connection, "before_execute", buffer.before_execute)
    try:
        yield buffer
        buffer.flush()
    finally:
        session.info.pop(_WRITE_BEHIND_KEY, None)
        sa_event.remove(connection, "before_execute", buffer.before_execute)


def store_checked(session: Session, events: Sequence[SignedEvent], source: str | None) -> list[int]:
    """Insert checked events in one statement, then project and route each in batch
    order (what ``_store`` does per event; projections never read the events table).
    The projections' plain writes go through a ``WriteBehind`` buffer, flushed at the end
    (and before any statement that could see them)."""
    now = utcnow()
    rows = []
    for event in events:
        env = event.envelope
        rows.append({
            "id": event.id, "author": env["author"], "kid": env["kid"], "aseq": env["aseq"],
            "aprev": env["aprev"], "subject": env["subject"], "sseq": env["sseq"], "sprev": env["sprev"],
            "kind": env["kind"], "at": env["at"], "raw": event.raw, "received_at": now,
        })
    lseqs = _insert_events(core(session), rows)
    with buffered_writes(session):
        for event, lseq in zip(events, lseqs, strict=True):
            apply_event(session, event)
            run_after_store(session, event, lseq, source)
    return lseqs
