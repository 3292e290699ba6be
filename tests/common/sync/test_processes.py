"""Real node processes on loopback: county ← township ← village, each one
``python -m common.cli serve`` with its own data directory and its scheduled sync
running for real (every 0.5 s).

- A county case filed at a village whose line is down (the township is not running)
  reaches the county once the township comes up; the county's window clerk takes the
  handoff and decides it through the county's API; the decision and the licence come
  back to the village, whose agent delivers it. Custody, observed on all three nodes
  throughout, is never held by two nodes and never by none.
- The township is killed (SIGKILL) while a backlog of 1,500 village events flows
  through it, then started again: the county ends with exactly the union of every
  node's events, each author's chain complete and nothing twice, and ``onetrip verify``
  passes on all three data directories.

The data directories are made in the test process (enrolment through each parent's app
in process) and, before any node process starts, the village has pulled the catalogue
and its agent's user record, as it would have on an earlier good day.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from typing import Self

import httpx
import pytest
from onetrip_testing import COUNTY_ID, TOWNSHIP_ID, VILLAGE_ID
from process_testing import (
    NAMES,
    PDF,
    REPO,
    SOLE_TRADER,
    VILLAGE_PENSION,
    Layout,
    build_network,
    log_in,
    node_env,
    ok,
    query,
    start,
    wait_for,
)
from sqlalchemy import select

from common.bootstrap import open_node
from common.cases.intake.service import file_case
from common.db import transaction
from common.ledger.models import Event
from common.ledger.verify import verify_node
from common.node import ThisNode
from common.users.roles import Actor, Role

pytestmark = pytest.mark.sqlite_only  # node processes open their data directory's SQLite file


def backlog(layout: Layout, node_id: str, peer: str) -> int:
    return query(
        layout,
        node_id,
        "SELECT count(*) FROM sync_outbox WHERE peer = ? AND seq > "
        "coalesce((SELECT sent_acked FROM sync_cursors WHERE peer = ?), 0)",
        peer,
        peer,
    )[0][0]


# -- custody observation ------------------------------------------------------------------


class CustodyWatch:
    """Polls ``/cases/{no}/custody`` on every node in passes. Two consecutive identical
    passes are a true snapshot: each node's custody state (which never repeats: offers
    have rising seqs and the chain only grows) held still over an interval containing
    the instant between the passes, so all of them held at that instant."""

    def __init__(self, clients: dict[str, httpx.Client], case_no: str) -> None:
        self.clients, self.case_no = clients, case_no
        self.snapshots: list[dict[str, tuple | None]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def add(self, node_id: str, client: httpx.Client) -> None:
        self.clients = {**self.clients, node_id: client}

    def _state(self, node_id: str, client: httpx.Client) -> tuple | None:
        try:
            answer = client.get(f"/api/v1/cases/{self.case_no}/custody", timeout=5)
        except httpx.HTTPError:
            return ("unreachable",)
        if answer.status_code == 404:
            return None  # the case has not reached this node yet
        if answer.status_code != 200:
            return ("unreachable",)
        body = answer.json()
        return (
            body["custodian"],
            body["pending_offer_to"],
            body["pending_offer_seq"],
            len(body["chain"]),
        )

    def _pass(self) -> dict[str, tuple | None]:
        return {
            node_id: self._state(node_id, client)
            for node_id, client in sorted(self.clients.items())
        }

    def _run(self) -> None:
        previous = self._pass()
        while not self._stop.is_set():
            current = self._pass()
            stable = current == previous and ("unreachable",) not in current.values()
            if stable and (not self.snapshots or self.snapshots[-1] != current):
                self.snapshots.append(current)
            previous = current
            time.sleep(0.02)

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)


def holders(snapshot: dict[str, tuple | None]) -> tuple[list[str], list[str]]:
    """(nodes that think they hold the case, of those the ones with no open offer)."""
    holding = [n for n, s in snapshot.items() if s and s[0] == n]
    return holding, [n for n in holding if snapshot[n][1] is None]  # type: ignore[index]


# -- the tests ------------------------------------------------------------------------------


def test_a_case_filed_at_an_offline_village_is_decided_at_the_county_and_delivered(
    tmp_path, processes
):
    layout = build_network(tmp_path, users=True)
    county, township, village = (layout.process(n) for n in (COUNTY_ID, TOWNSHIP_ID, VILLAGE_ID))
    nodes = [county, township, village]
    start(processes, county, village)  # the township's machine is off: the village's line is down

    agent = log_in(village, "agent1")
    sha = ok(
        agent.post("/api/v1/blobs", files={"file": ("身份证.pdf", PDF, "application/pdf")}), 201
    )["sha256"]
    case_no = ok(
        agent.post(
            "/api/v1/cases",
            json={
                "matter_code": SOLE_TRADER,
                "applicant": {"kind": "person", "name": "王五", "id_number": "430424198001011238"},
                "materials": [
                    {"position": p, "blob_sha256": sha} for p in layout.mandatory_positions
                ],
                "visit": {"who": "applicant", "place": "示例村代办点", "purpose": "提交申请"},
            },
        ),
        201,
    )["case_no"]
    offer = ok(agent.post(f"/api/v1/cases/{case_no}/handoff", json={}), 201)
    assert offer["pending_offer_to"] == COUNTY_ID  # a county matter goes to the county

    clerk = log_in(county, "clerk1")
    with CustodyWatch({VILLAGE_ID: agent, COUNTY_ID: clerk}, case_no) as watch:
        # The village keeps trying and backs off; its filing waits in its outbox.
        status = wait_for(
            "the village to fail and back off twice",
            lambda: (s := ok(agent.get("/api/v1/sync/status")))["sync"]["failures"] >= 2 and s,
            nodes,
        )
        assert status["sync"]["last_error"] and status["sync"]["last_success"] is None
        (parent,) = status["neighbours"]
        assert (parent["node_id"], parent["relation"]) == (TOWNSHIP_ID, "parent") and parent[
            "backlog"
        ] >= 2
        assert clerk.get(f"/api/v1/cases/{case_no}").status_code == 404

        start(processes, township)  # the line comes back
        watch.add(TOWNSHIP_ID, log_in(township, "tclerk1"))
        wait_for(
            "the offer to reach the county",
            lambda: (
                (r := clerk.get(f"/api/v1/cases/{case_no}/custody")).status_code == 200
                and r.json()["pending_offer_to"] == COUNTY_ID
            ),
            nodes,
        )
        ok(clerk.post(f"/api/v1/cases/{case_no}/handoff/accept"))
        wait_for(
            "a snapshot of the county holding the case",
            lambda: any(holders(s)[1] == [COUNTY_ID] for s in watch.snapshots),
            nodes,
        )
        ok(clerk.post(f"/api/v1/cases/{case_no}/accept"))
        decided = ok(
            clerk.post(
                f"/api/v1/cases/{case_no}/decide",
                json={"decision": "approved", "reason": "符合条件，准予登记"},
            )
        )
        assert decided["state"] == "approved"

        # The decision and the licence travel home; the village takes custody by itself.
        home = wait_for(
            "the result to come home",
            lambda: (
                (v := ok(agent.get(f"/api/v1/cases/{case_no}")))["custodian"] == VILLAGE_ID
                and v["state"] == "approved"
                and v["decision"]["licence_id"]
                and v
            ),
            nodes,
        )
        licence_id = home["decision"]["licence_id"]
        assert ok(agent.get(f"/api/v1/licences/{licence_id}"))["case_no"] == case_no
        delivered = ok(
            agent.post(
                f"/api/v1/cases/{case_no}/deliver", json={"method": "agent", "receiver": "王五"}
            )
        )
        assert delivered["state"] == "delivered"
        wait_for(
            "the delivery to reach the county",
            lambda: ok(clerk.get(f"/api/v1/cases/{case_no}"))["state"] == "delivered",
            nodes,
        )
        wait_for(
            "the township to see it too",
            lambda: (
                ok(watch.clients[TOWNSHIP_ID].get(f"/api/v1/cases/{case_no}"))["state"]
                == "delivered"
            ),
            nodes,
        )
        time.sleep(0.3)  # a last settled snapshot

    chain = ok(agent.get(f"/api/v1/cases/{case_no}/custody"))["chain"]
    assert [step["node"] for step in chain] == [VILLAGE_ID, COUNTY_ID, VILLAGE_ID]
    # Custody: never two holders without an open offer, never nobody, one at the end.
    snapshots = [s for s in watch.snapshots if any(s.values())]
    assert len(snapshots) >= 4, snapshots
    for snapshot in snapshots:
        holding, settled = holders(snapshot)
        assert holding and len(settled) <= 1, snapshot
    phases = [tuple(holders(s)[1]) for s in snapshots]
    assert {(VILLAGE_ID,), (), (COUNTY_ID,)} <= set(phases), (
        phases
    )  # filed, offered, taken over, ...
    final = snapshots[-1]
    assert holders(final)[1] == [VILLAGE_ID]
    assert {s[0] for s in final.values() if s} == {VILLAGE_ID} and all(
        s and s[1] is None for s in final.values()
    )

    for node in nodes:
        node.stop()
    for node_id in NAMES:
        opened = open_node(layout.dirs[node_id])
        try:
            with transaction(opened.engine) as session:
                report = verify_node(session, opened)
            assert report.ok, report.summary()
        finally:
            opened.engine.dispose()


def file_backlog(layout: Layout, count: int) -> None:
    village = open_node(layout.dirs[VILLAGE_ID])
    agent = Actor(username="agent1", node_id=VILLAGE_ID, role=Role.VILLAGE_AGENT)
    try:
        with transaction(village.engine) as session:
            for n in range(count):
                file_case(
                    session,
                    village,
                    agent,
                    matter_code=VILLAGE_PENSION,
                    applicant={
                        "kind": "person",
                        "name": f"村民{n}",
                        "id_number": "430424198001011238",
                    },
                    materials=[],
                )
    finally:
        village.engine.dispose()


def event_ids(node: ThisNode) -> dict[str, tuple[str, int]]:
    """Every event the node holds: id -> (author, aseq)."""
    with transaction(node.engine) as session:
        return {
            i: (a, s) for i, a, s in session.execute(select(Event.id, Event.author, Event.aseq))
        }


BACKLOG = 1500


def test_a_township_killed_mid_batch_loses_and_duplicates_nothing(tmp_path, processes):
    layout = build_network(tmp_path, users=False)
    file_backlog(layout, BACKLOG)  # a long day offline at the village
    county, township, village = (layout.process(n) for n in (COUNTY_ID, TOWNSHIP_ID, VILLAGE_ID))
    nodes = [county, township, village]
    start(processes, county, township)
    start(processes, village)

    def from_village(node_id: str) -> int:
        return query(layout, node_id, "SELECT count(*) FROM events WHERE author = ?", VILLAGE_ID)[
            0
        ][0]

    wait_for(
        "a first batch at the township",
        lambda: from_village(TOWNSHIP_ID) >= 500,
        nodes,
        timeout=120,
    )
    township.kill()
    at_kill = (from_village(TOWNSHIP_ID), from_village(COUNTY_ID))
    assert at_kill[1] < BACKLOG, "the backlog was still flowing when the township died"
    time.sleep(0.5)  # the village's next push meets a dead line
    start(processes, township)

    wait_for(
        "every village event at the county",
        lambda: from_village(COUNTY_ID) == BACKLOG,
        nodes,
        timeout=180,
    )
    wait_for(
        "empty outboxes",
        lambda: (
            backlog(layout, VILLAGE_ID, TOWNSHIP_ID) == 0
            and backlog(layout, TOWNSHIP_ID, COUNTY_ID) == 0
        ),
        nodes,
    )
    for node in nodes:
        node.stop()

    opened = {node_id: open_node(layout.dirs[node_id]) for node_id in NAMES}
    try:
        held = {node_id: event_ids(node) for node_id, node in opened.items()}
    finally:
        for node in opened.values():
            node.engine.dispose()
    union = held[VILLAGE_ID] | held[TOWNSHIP_ID] | held[COUNTY_ID]
    assert held[COUNTY_ID] == union  # the county holds every event written anywhere
    for author in {a for a, _ in union.values()}:
        seqs = sorted(s for a, s in held[COUNTY_ID].values() if a == author)
        assert seqs == list(range(1, len(seqs) + 1)), f"{author}: chain not contiguous"
    assert len([1 for a, _ in held[COUNTY_ID].values() if a == VILLAGE_ID]) == BACKLOG
    assert (
        held[VILLAGE_ID].keys() <= held[TOWNSHIP_ID].keys()
    )  # the township on the path lost nothing either
    assert query(
        layout, COUNTY_ID, "SELECT count(*) FROM cases WHERE origin_node = ?", VILLAGE_ID
    ) == [(BACKLOG,)]
    for node_id in NAMES:
        for table in ("sync_held", "sync_dead_letters", "quarantined_events"):
            assert query(layout, node_id, f"SELECT count(*) FROM {table}") == [(0,)], (
                node_id,
                table,
            )

    verifying = [
        subprocess.Popen(
            [sys.executable, "-m", "common.cli", "verify", "-d", str(layout.dirs[n])],
            cwd=REPO,
            env=node_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        for n in NAMES
    ]
    for node_id, run in zip(NAMES, verifying, strict=True):
        output, _ = run.communicate(timeout=120)
        assert run.returncode == 0, (
            f"onetrip verify {NAMES[node_id]}:\n{output.decode(errors='replace')[-2000:]}"
        )
