"""Database engine and transactions.

SQLite (one file per node, WAL) is the default; PostgreSQL uses the same migrations.
Every write transaction on SQLite starts with BEGIN IMMEDIATE so that two writers
queue on the lock instead of failing halfway through. Services never commit: the
request or the job owns the transaction (``transaction()`` / ``SessionDep``).
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime, Table, event, text
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection, Dialect, Engine, create_engine
from sqlalchemy.orm import sessionmaker
from sqlalchemy.pool import ConnectionPoolEntry
from sqlalchemy.types import TypeDecorator
from sqlmodel import Session, SQLModel

# Alembic needs stable constraint names (and SQLite batch mode needs names at all).
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
SQLModel.metadata.naming_convention = NAMING_CONVENTION
metadata = SQLModel.metadata


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


def make_engine(url: str, *, echo: bool = False) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(
            url,
            echo=echo,
            connect_args={"check_same_thread": False, "timeout": 30},
        )
        _tune_sqlite(engine)
        return engine
    return create_engine(url, echo=echo, pool_pre_ping=True)


def _tune_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: sqlite3.Connection, _record: ConnectionPoolEntry) -> None:
        # Let SQLAlchemy, not pysqlite, decide when a transaction begins.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def serialize(session: Session, name: str) -> None:
    """Hold the lock called ``name`` until the transaction ends.

    SQLite needs nothing: every write transaction already holds the database's one write
    lock (BEGIN IMMEDIATE). PostgreSQL takes a transaction-scoped advisory lock keyed by
    a 64-bit hash of the name, so that writers that must not interleave queue instead.
    """
    if session.get_bind().dialect.name == "postgresql":
        key = int.from_bytes(
            hashlib.blake2b(name.encode("utf-8"), digest_size=8).digest(), "big", signed=True
        )
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": key})


def insert_if_absent(session: Session, table: Table, values: dict[str, Any]) -> bool:
    """INSERT one row unless its key is already there (ON CONFLICT DO NOTHING on both
    SQLite and PostgreSQL): two writers adding the same row both succeed. True if this
    call inserted it."""
    dialect_insert = (
        sqlite_insert if session.get_bind().dialect.name == "sqlite" else postgresql_insert
    )
    # preserve_rowcount: psycopg reports -1 for an INSERT unless asked to keep the count.
    statement = dialect_insert(table).values(**values).on_conflict_do_nothing()
    result = core(session).execute(statement.execution_options(preserve_rowcount=True))
    return bool(result.rowcount)


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, class_=Session, expire_on_commit=False)


@contextmanager
def transaction(engine: Engine) -> Iterator[Session]:
    """One unit of work: commit on success, roll back everything on any error."""
    with Session(engine, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


class AwareDateTime(TypeDecorator[datetime]):
    """A timestamp stored in UTC and always read back timezone-aware.

    SQLite keeps no offset, so without this a stored aware datetime comes back naive.
    Naive values are refused on the way in: every datetime in onetrip is aware.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime refused; use timezone-aware datetimes")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def core(session: Session) -> Connection:
    """The session's connection for Core statements on hot paths.

    Flushes pending ORM changes first, as an ORM query would (autoflush), so a Core read
    never misses a row the same transaction added through the ORM.
    """
    if session.new or session.dirty or session.deleted:
        session.flush()
    return session.connection()
