"""`onetrip demo` end to end: seven real node processes on loopback, stopped by Ctrl-C
(SIGINT) and started again on the same directory."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from demo_testing import VILLAGE, DemoRun, free_base_port

from simulation.demo_data import COUNTY_ID, DEMO_NODES, DEMO_PASSWORD, NODES_BY_ID

pytestmark = pytest.mark.sqlite_only  # every demo node keeps its own SQLite file


@pytest.fixture
def demo_runs():
    runs: list[DemoRun] = []
    yield runs
    for run in runs:
        run.kill_leftovers()


def _log_in(url: str, username: str) -> dict[str, str]:
    answer = httpx.post(
        f"{url}/api/v1/auth/token", json={"username": username, "password": DEMO_PASSWORD}
    )
    assert answer.status_code == 200, answer.text
    return {"Authorization": f"Bearer {answer.json()['token']}"}


def _keys(directory: Path) -> dict[str, bytes]:
    return {
        n.node_id: (directory / n.node_id / "keys" / "node_ed25519.pem").read_bytes()
        for n in DEMO_NODES
    }


def test_demo_network_starts_serves_stops_and_restarts(tmp_path, demo_runs):
    directory = tmp_path / "demo-data"
    base = free_base_port()
    county_url = NODES_BY_ID[COUNTY_ID].url(base)
    village_url = NODES_BY_ID[VILLAGE].url(base)

    first = DemoRun(directory, base)
    demo_runs.append(first)
    first_seconds = first.wait_ready()
    assert len(first.node_pids) == len(DEMO_NODES)
    for node in DEMO_NODES:
        # The table names every node with its URL; every node answers.
        assert node.name in first.output and node.url(base) in first.output
        health = httpx.get(f"{node.url(base)}/healthz").json()
        assert health["node_id"] == node.node_id
    registry_version = httpx.get(f"{county_url}/healthz").json()["registry_version"]

    # The village agent's record came by sync; the agent sees the village's sample cases.
    state = json.loads((directory / "demo.json").read_text(encoding="utf-8"))
    village_cases = {
        c["case_no"] for c in state["cases"].values() if c["case_no"].startswith(VILLAGE)
    }
    assert len(village_cases) == 2
    listed = httpx.get(f"{village_url}/api/v1/cases", headers=_log_in(village_url, "agent")).json()
    assert village_cases <= {c["case_no"] for c in listed}

    # The county sees all seven nodes, the six below it heard from just now.
    admin = _log_in(county_url, "admin")
    rows = httpx.get(f"{county_url}/api/v1/nodes/health", headers=admin).json()
    assert {r["node_id"] for r in rows} == {n.node_id for n in DEMO_NODES}
    recent = datetime.now(UTC) - timedelta(seconds=60)
    for row in rows:
        if row["node_id"] != COUNTY_ID:
            assert row["last_contact"] is not None, row
            assert datetime.fromisoformat(row["last_contact"]) > recent, row

    # The county matter handed up at the village reaches the county window's inbox.
    window = _log_in(county_url, "window")
    deadline = time.monotonic() + 20
    while not village_cases & {
        i["case_no"]
        for i in httpx.get(f"{county_url}/api/v1/handoffs/inbox", headers=window).json()
    }:
        assert time.monotonic() < deadline, "the handed-up case never reached the county"
        time.sleep(0.5)

    keys = _keys(directory)
    assert first.interrupt() == 0

    # Same directory again: nothing enrolled, provisioned or filed twice; same keys.
    second = DemoRun(directory, base)
    demo_runs.append(second)
    second_seconds = second.wait_ready()
    for step in ("创建县级根节点", "注册节点", "开设演示用户", "示例办件 "):
        assert step not in second.output, second.output
    assert _keys(directory) == keys
    assert httpx.get(f"{county_url}/healthz").json()["registry_version"] == registry_version
    listed = httpx.get(f"{village_url}/api/v1/cases", headers=_log_in(village_url, "agent")).json()
    assert {c["case_no"] for c in listed} == village_cases
    # No enrolment, no migrations, no users or cases to make: quicker, give or take the
    # load of whatever else runs beside it.
    assert second_seconds < first_seconds + 5, (first_seconds, second_seconds)
    assert second.interrupt() == 0
