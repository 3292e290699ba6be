"""Real node processes on loopback, for the tests that need them: ``onetrip serve``
per data directory (``NodeProcess``), a county ← township ← village network built in
process before any node starts (``build_network``), and small HTTP and database helpers.
"""

from __future__ import annotations

import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from onetrip_testing import COUNTY_ID, TOWNSHIP_ID, VILLAGE_ID

import common
from common.app import create_app
from common.bootstrap import init_member, init_root
from common.catalog.sample import publish_sample
from common.catalog.service import get_published
from common.db import transaction
from common.identity.service import invite_node
from common.sync.client import sync_once
from common.users.roles import Actor, Role
from common.users.service import provision_user

REPO = Path(common.__file__).resolve().parents[1]
SOLE_TRADER = "11430424MB1C5953154000119002001"  # 个体工商户设立登记: county 即办件 with a licence
VILLAGE_PENSION = "54430424MEB423186J6002007001000"  # village 即办件
PDF = b"%PDF-1.7\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PASSWORDS = {
    "admin": "Hengdong-2026!",
    "clerk1": "County-clerk-1",
    "agent1": "Village-agent-1",
    "tclerk1": "Township-clerk-1",
}
NAMES = {COUNTY_ID: "county", TOWNSHIP_ID: "township", VILLAGE_ID: "village"}


def run_onetrip(*args: str) -> subprocess.CompletedProcess[str]:
    """``onetrip ARGS`` as its own process (the CLI as an operator runs it)."""
    return subprocess.run(
        [sys.executable, "-m", "common.cli", *args],
        cwd=REPO,
        env=node_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def node_env() -> dict[str, str]:
    """This environment without any ONETRIP_* setting of the test run, syncing every 0.5 s."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ONETRIP_")}
    return env | {"ONETRIP_SYNC_INTERVAL_SECONDS": "0.5", "PYTHONPATH": str(REPO)}


class NodeProcess:
    """``onetrip serve`` for one data directory, as its own process."""

    def __init__(self, data_dir: Path, port: int) -> None:
        self.data_dir, self.port = data_dir, port
        self.url = f"http://127.0.0.1:{port}"
        self.log = data_dir.parent / f"{data_dir.name}.log"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "common.cli",
                    "serve",
                    "-d",
                    str(self.data_dir),
                    "--port",
                    str(self.port),
                ],
                cwd=REPO,
                env=node_env(),
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def wait_ready(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.alive:
                raise AssertionError(f"{self.data_dir.name} exited:\n{self.log_tail()}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        raise AssertionError(f"{self.data_dir.name} did not come up:\n{self.log_tail()}")

    def kill(self) -> None:
        """The machine loses power: no shutdown, no last words."""
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if not self.alive:
            return
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.kill()

    def log_tail(self, lines: int = 30) -> str:
        return (
            "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
            if self.log.exists()
            else ""
        )


@dataclass
class Layout:
    dirs: dict[str, Path]
    ports: dict[str, int]
    mandatory_positions: list[int] = field(default_factory=list)

    def process(self, node_id: str) -> NodeProcess:
        return NodeProcess(self.dirs[node_id], self.ports[node_id])


def build_network(base: Path, *, users: bool) -> Layout:
    """Found the county (sample catalogue), enrol the township and the village through
    their parents' apps in process, provision users, and let the village pull once."""
    ports = {node_id: free_port() for node_id in NAMES}
    dirs = {node_id: base / name for node_id, name in NAMES.items()}
    url = {node_id: f"http://127.0.0.1:{port}" for node_id, port in ports.items()}
    county = init_root(
        dirs[COUNTY_ID],
        node_id=COUNTY_ID,
        name="衡东县政务服务中心",
        admin_username="admin",
        admin_password=PASSWORDS["admin"],
        port=ports[COUNTY_ID],
    )
    system = Actor.node_system(COUNTY_ID)
    with transaction(county.engine) as session:
        publish_sample(session, county, system)
        township_invite = invite_node(session, county, system, TOWNSHIP_ID, "洣水镇便民服务中心")
        positions = [
            i
            for i, m in enumerate(get_published(session, SOLE_TRADER).to_matter().materials)
            if m.mandatory
        ]
    county_app = TestClient(create_app(county.settings, node=county))
    township = init_member(
        dirs[TOWNSHIP_ID],
        node_id=TOWNSHIP_ID,
        parent_url=url[COUNTY_ID],
        token=township_invite.token,
        client=county_app,
        port=ports[TOWNSHIP_ID],
    )
    township.parent_transport = county_app._transport  # type: ignore[attr-defined]
    township_app = TestClient(create_app(township.settings, node=township))
    with transaction(county.engine) as session:
        village_invite = invite_node(session, county, system, VILLAGE_ID, "示例村代办点")
    village = init_member(
        dirs[VILLAGE_ID],
        node_id=VILLAGE_ID,
        parent_url=url[TOWNSHIP_ID],
        token=village_invite.token,
        client=township_app,
        port=ports[VILLAGE_ID],
    )
    village.parent_transport = township_app._transport  # type: ignore[attr-defined]
    with transaction(county.engine) as session:
        accounts = [(VILLAGE_ID, "agent1", Role.VILLAGE_AGENT)]
        if users:
            accounts += [
                (COUNTY_ID, "clerk1", Role.COUNTY_WINDOW_CLERK),
                (TOWNSHIP_ID, "tclerk1", Role.TOWNSHIP_CLERK),
            ]
        for node_id, username, role in accounts:
            provision_user(
                session,
                county,
                system,
                node_id=node_id,
                username=username,
                display_name=username,
                role=role,
                password=PASSWORDS[username],
            )
    sync_once(township)
    sync_once(village)
    for client in (county_app, township_app):
        client.close()
    for node in (county, township, village):
        node.engine.dispose()
    return Layout(dirs=dirs, ports=ports, mandatory_positions=positions)


@pytest.fixture
def processes() -> Iterator[list[NodeProcess]]:
    """Every process a test starts is stopped at the end, whatever happened."""
    started: list[NodeProcess] = []
    yield started
    for process in started:
        if process.alive:
            process.kill()


def start(processes: list[NodeProcess], *nodes: NodeProcess) -> None:
    for node in nodes:
        node.start()
        processes.append(node)
    for node in nodes:
        node.wait_ready()


def wait_for(
    what: str, check: Callable[[], Any], nodes: list[NodeProcess], timeout: float = 60
) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.1)
    logs = "\n".join(f"--- {n.data_dir.name} (alive={n.alive})\n{n.log_tail(15)}" for n in nodes)
    raise AssertionError(f"timed out waiting for {what}\n{logs}")


def log_in(node: NodeProcess, username: str) -> httpx.Client:
    client = httpx.Client(base_url=node.url, timeout=30)
    answer = client.post(
        "/api/v1/auth/token", json={"username": username, "password": PASSWORDS[username]}
    )
    assert answer.status_code == 200, answer.text
    client.headers["Authorization"] = f"Bearer {answer.json()['token']}"
    return client


def ok(response: httpx.Response, status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, (
        f"{response.request.method} {response.request.url}: {response.text}"
    )
    return response.json()


def query(layout: Layout, node_id: str, sql: str, *args: Any) -> list[tuple]:
    """Read a running node's database without taking part in its writes."""
    connection = sqlite3.connect(
        f"file:{layout.dirs[node_id] / 'node.db'}?mode=ro", uri=True, timeout=30
    )
    try:
        return connection.execute(sql, args).fetchall()
    finally:
        connection.close()
