"""Template nodes: built once per test process, copied for each test (importable as
``node_templates``: tests/ is on pytest's pythonpath). The fixtures are in conftest.py.

Building a root node is slow (a key, an Argon2 hash, ~8k calendar rows, and for
``published`` the sample catalogue import), so each test process (pytest-xdist worker)
builds it once and every test gets a node of its own copied from it:

- SQLite: the template's data directory (database file after a WAL checkpoint, keys,
  node.json, blobs) copied into the test's directory and opened there;
- PostgreSQL: a new database made with ``CREATE DATABASE … TEMPLATE``, and the data
  directory copied with node.json pointing at the new database.

Copies share the template's root key.
"""

from __future__ import annotations

import shutil
import sqlite3
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from common.bootstrap import open_node
from common.node import ThisNode
from common.settings import write_node_file


class PgServer:
    """The PostgreSQL server of ``ONETRIP_TEST_PG_URL``: makes and drops test databases."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.admin = create_engine(base_url, isolation_level="AUTOCOMMIT")

    def url(self, name: str) -> str:
        return make_url(self.base_url).set(database=name).render_as_string(hide_password=False)

    def create(self, template: str | None = None) -> str:
        """A new database (a copy of ``template`` if given, which must have no
        connections open); its name."""
        name = f"onetrip_{uuid.uuid4().hex[:12]}"
        copy_of = f' TEMPLATE "{template}"' if template else ""
        with self.admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"{copy_of}'))
        return name

    def drop(self, name: str) -> None:
        with self.admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))

    def dispose(self) -> None:
        self.admin.dispose()


@dataclass(frozen=True)
class NodeTemplate:
    """A closed node to copy: its data directory and, on PostgreSQL, its database."""

    data_dir: Path
    database: str | None


def close_as_template(node: ThisNode, pg: PgServer | None) -> NodeTemplate:
    """Close ``node`` so that it can be copied: no connection left open (PostgreSQL
    refuses to copy a database in use) and, on SQLite, the WAL checkpointed into the
    database file."""
    node.engine.dispose()
    data_dir = node.settings.data_dir
    if pg is None:
        db = sqlite3.connect(data_dir / "node.db")
        try:
            db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            db.close()  # the last connection: SQLite removes the -wal and -shm files
        return NodeTemplate(data_dir, None)
    database = make_url(node.settings.effective_database_url).database
    return NodeTemplate(data_dir, database)


def _open_copy(
    template: NodeTemplate, target: Path, pg: PgServer | None
) -> tuple[ThisNode, str | None]:
    """Copy ``template`` into ``target`` (and into a new database on PostgreSQL) and open
    it; the node and its database's name."""
    shutil.copytree(
        template.data_dir, target, ignore=shutil.ignore_patterns("node.db-wal", "node.db-shm")
    )
    if pg is None:
        return open_node(target), None
    assert template.database is not None
    database = pg.create(template=template.database)
    try:
        node = open_node(target, database_url=pg.url(database))
        write_node_file(node.settings)  # so that opening the directory again finds this database
    except BaseException:
        pg.drop(database)
        raise
    return node, database


@contextmanager
def copied_node(template: NodeTemplate, target: Path, pg: PgServer | None) -> Iterator[ThisNode]:
    """A node of its own copied from ``template`` into ``target``; closed (and its
    database dropped) on exit."""
    node, database = _open_copy(template, target, pg)
    try:
        yield node
    finally:
        node.engine.dispose()
        if pg and database:
            pg.drop(database)


@contextmanager
def built_template(
    data_dir: Path, pg: PgServer | None, build: Callable[[str | None], ThisNode]
) -> Iterator[NodeTemplate]:
    """A template from ``build(database_url)`` (None: the node's own SQLite file in
    ``data_dir``); its database dropped on exit."""
    database = pg.create() if pg else None
    try:
        node = build(pg.url(database) if pg and database else None)
        yield close_as_template(node, pg)
    finally:
        if pg and database:
            pg.drop(database)


@contextmanager
def derived_template(
    base: NodeTemplate, data_dir: Path, pg: PgServer | None, change: Callable[[ThisNode], None]
) -> Iterator[NodeTemplate]:
    """A template made from a copy of ``base`` changed by ``change(node)``."""
    node, database = _open_copy(base, data_dir, pg)
    try:
        change(node)
        yield close_as_template(node, pg)
    finally:
        node.engine.dispose()
        if pg and database:
            pg.drop(database)
