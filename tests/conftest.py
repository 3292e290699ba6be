"""Shared fixtures: real nodes on real databases built by the migrations.

Set ONETRIP_TEST_PG_URL (e.g. postgresql+psycopg://postgres@/postgres?host=/tmp) to run
every database-backed test against PostgreSQL instead of SQLite: each test then gets a
fresh database of its own.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
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
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from common.identity.keys import NodeKey
from common.node import ThisNode
from common.users.roles import Actor, Role

__all__ = ["ADMIN_PASSWORD", "COUNTY_ID", "TOWNSHIP_ID", "VILLAGE_ID"]

# Case fixtures (nodes of each tier, staff, stored files) for every test folder.
pytest_plugins = ["case_fixtures", "process_testing"]


@pytest.fixture
def db_url(tmp_path: Path) -> Iterator[str | None]:
    """None means the node's default SQLite file; with PG set, a fresh PG database."""
    base = os.environ.get(PG_URL_ENV)
    if not base:
        yield None
        return
    name = f"onetrip_{uuid.uuid4().hex[:12]}"
    admin_engine = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin_engine.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(base).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin_engine.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin_engine.dispose()


@pytest.fixture
def root_node(tmp_path: Path, db_url: str | None) -> Iterator[ThisNode]:
    node = make_root(tmp_path / "county", db_url)
    yield node
    node.engine.dispose()


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
def published(root_node: ThisNode) -> ThisNode:
    """The root with the sample catalogue imported and its batches published."""
    from common.catalog.sample import publish_sample
    from common.db import transaction

    system = Actor.node_system(root_node.node_id)
    with transaction(root_node.engine) as session:
        publish_sample(session, root_node, system)
    return root_node
