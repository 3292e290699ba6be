"""Shared fixtures: real nodes on real databases built by the migrations.

Set ONETRIP_TEST_PG_URL (e.g. postgresql+psycopg://postgres@/postgres?host=/tmp) to run
every database-backed test against PostgreSQL instead of SQLite: each test then gets a
database of its own. ``root_node`` and ``published`` are copies of templates built once
per test process (tests/node_templates.py).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from node_templates import NodeTemplate, PgServer, built_template, copied_node, derived_template
from onetrip_testing import (
    ADMIN_PASSWORD,
    COUNTY_ID,
    PG_URL_ENV,
    TOWNSHIP_ID,
    VILLAGE_ID,
    LiveServer,
    api_token,
    make_root,
    register_member,
)

from common.identity.keys import NodeKey
from common.node import ThisNode
from common.users.roles import Actor, Role

__all__ = ["ADMIN_PASSWORD", "COUNTY_ID", "TOWNSHIP_ID", "VILLAGE_ID"]

# Case fixtures (nodes of each tier, staff, stored files) for every test folder.
pytest_plugins = ["case_fixtures", "process_testing"]


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer | None]:
    """The PostgreSQL server of ONETRIP_TEST_PG_URL, or None to run on SQLite."""
    base = os.environ.get(PG_URL_ENV)
    if not base:
        yield None
        return
    server = PgServer(base)
    yield server
    server.dispose()


@pytest.fixture
def db_url(pg_server: PgServer | None) -> Iterator[str | None]:
    """None means the node's default SQLite file; with PG set, a fresh PG database."""
    if pg_server is None:
        yield None
        return
    name = pg_server.create()
    try:
        yield pg_server.url(name)
    finally:
        pg_server.drop(name)


@pytest.fixture(scope="session")
def root_template(
    tmp_path_factory: pytest.TempPathFactory, pg_server: PgServer | None
) -> Iterator[NodeTemplate]:
    """The root node as ``make_root`` builds it, once per test process (xdist worker)."""
    data_dir = tmp_path_factory.mktemp("root-template") / "county"
    with built_template(data_dir, pg_server, lambda url: make_root(data_dir, url)) as template:
        yield template


@pytest.fixture(scope="session")
def published_template(
    tmp_path_factory: pytest.TempPathFactory,
    pg_server: PgServer | None,
    root_template: NodeTemplate,
) -> Iterator[NodeTemplate]:
    """The root template with the sample catalogue imported and its batches published."""
    data_dir = tmp_path_factory.mktemp("published-template") / "county"
    with derived_template(root_template, data_dir, pg_server, publish_sample_catalogue) as template:
        yield template


@pytest.fixture
def root_copy(
    request: pytest.FixtureRequest, tmp_path: Path, pg_server: PgServer | None
) -> Iterator[RootCopy]:
    """The test's own root node in ``tmp_path / "county"`` (its own files and database),
    copied from a template built once per test process: every test of a process gets
    the same root key (no test needs a fresh one). When the test also uses this file's
    ``published`` the copy is of the published template, so that ``root_node`` and
    ``published`` are one node without importing the catalogue again."""
    # Asked for by this file's ``published``, not by a test module's own ``published``.
    wanted = (
        "published_template" if "published_template" in request.fixturenames else "root_template"
    )
    template = request.getfixturevalue(wanted)
    with copied_node(template, tmp_path / "county", pg_server) as node:
        yield RootCopy(node, template)


@pytest.fixture
def root_node(root_copy: RootCopy) -> ThisNode:
    """The root (county) node: its own data directory and database, the shared root key."""
    return root_copy.node


@pytest.fixture
def admin() -> Actor:
    return Actor(username="admin", node_id=COUNTY_ID, role=Role.COUNTY_ADMIN)


@pytest.fixture
def tree(root_node: ThisNode) -> dict[str, NodeKey]:
    """The root plus one township (洣水镇) and one of its villages, registered."""
    return {
        TOWNSHIP_ID: register_member(root_node, TOWNSHIP_ID, "洣水镇便民服务中心"),
        VILLAGE_ID: register_member(root_node, VILLAGE_ID, "示例村代办点"),
    }


@pytest.fixture
def make_client() -> Iterator[Callable[..., TestClient]]:
    clients: list[TestClient] = []

    def build(node: ThisNode, username: str | None = "admin") -> TestClient:
        from common.app import create_app

        client = TestClient(create_app(node.settings, node=node))
        if username:
            client.headers["Authorization"] = f"Bearer {api_token(node, username)}"
        clients.append(client)
        return client

    yield build
    for client in clients:
        client.close()


@pytest.fixture
def serve() -> Iterator[Callable[[ThisNode], LiveServer]]:
    servers: list[LiveServer] = []

    def start(node: ThisNode, *, scheduler: bool = False) -> LiveServer:
        server = LiveServer(node, scheduler=scheduler)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


@pytest.fixture
def published(root_copy: RootCopy, published_template: NodeTemplate) -> ThisNode:
    """The root with the sample catalogue imported and its batches published (the same
    node as ``root_node``). The catalogue's events come first in its ledger, before
    those of any other fixture (``tree``, ``stored_pdf``)."""
    if root_copy.template is not published_template:  # root_node came first (getfixturevalue)
        publish_sample_catalogue(root_copy.node)
    return root_copy.node


@dataclass(frozen=True)
class RootCopy:
    node: ThisNode
    template: NodeTemplate


def publish_sample_catalogue(node: ThisNode) -> None:
    from common.catalog.sample import publish_sample
    from common.db import transaction

    with transaction(node.engine) as session:
        publish_sample(session, node, Actor.node_system(node.node_id))
