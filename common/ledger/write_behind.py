"""The write-behind buffer: a batch's plain projection writes held back and written together.

While ``store_checked`` applies a clean batch, the projections' plain inserts and
updates are collected here and written at the end — several rows per INSERT, all
updates of one row merged — and flushed before any other statement that could see them
(a ``before_execute`` hook on the connection). docs/architecture.md, "Write-behind
projections in a batch", says what goes through it and why.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Table, TableClause, bindparam, update
from sqlalchemy import event as sa_event
from sqlalchemy.engine import Connection
from sqlalchemy.sql import ClauseElement, visitors
from sqlmodel import Session

from common.db import core

_WRITE_BEHIND_KEY = (
    "onetrip.ledger.write_behind"  # session.info while store_checked applies a batch
)
_TABLES_OF: dict[
    int, tuple[Any, frozenset[str] | None]
] = {}  # id(statement) -> (statement, table names)
_UPDATES: dict[tuple[str, str, tuple[str, ...]], Any] = {}


def _tables_of(statement: Any) -> frozenset[str] | None:
    """The names of every table a statement mentions (subqueries included); None when it
    cannot be told (plain SQL text, a savepoint, DDL): then it may touch anything."""
    cached = _TABLES_OF.get(id(statement))
    if cached is not None and cached[0] is statement:
        return cached[1]
    names: frozenset[str] | None = None
    if isinstance(statement, ClauseElement):
        found = frozenset(
            element.name
            for element in visitors.iterate(statement)
            if isinstance(element, TableClause)
        )
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
        self.rows: dict[
            tuple[str, Any], dict[str, Any]
        ] = {}  # pending INSERT params by (table, key)
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
            by_columns: dict[
                tuple[str, str, tuple[str, ...]], tuple[Table, list[dict[str, Any]]]
            ] = {}
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
                        update(table)
                        .where(table.c[key_column] == bindparam("_wb_key"))
                        .values({column: bindparam(column) for column in columns})
                    )
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
    back (``BatchReceiver.receive_clean`` rolls the batch's savepoint back)."""
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
