"""A node that lost its own last writes knows it, takes them back from its parent and
only then writes again (issue: "a node that knows what it lost").

Real processes: a township and its village, each ``onetrip serve``. The village files
cases and syncs them; then it loses its last writes — its WAL cut back (a disk that
lost its last writes) or its data directory restored from an earlier ``onetrip
backup`` — and starts again. It must end with every case it had filed, number its next
case above them, and leave no fork at the township.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import httpx
import pytest
from onetrip_testing import TOWNSHIP_ID, VILLAGE_ID
from process_testing import (
    PDF,
    SOLE_TRADER,
    Layout,
    NodeProcess,
    build_network,
    free_port,
    log_in,
    ok,
    query,
    run_onetrip,
    start,
    wait_for,
)

from benchmarks.chaos import lose_wal_tail
from common.bootstrap import open_node
from common.db import transaction
from common.ledger.verify import verify_node

pytestmark = pytest.mark.sqlite_only  # node processes open their data directory's SQLite file

APPLICANTS = ["430424198001011238", "430424198502022349", "430424199003033451"]


def file_case(agent: httpx.Client, layout: Layout, id_number: str) -> str:
    sha = ok(
        agent.post("/api/v1/blobs", files={"file": ("身份证.pdf", PDF, "application/pdf")}), 201
    )["sha256"]
    answer = agent.post(
        "/api/v1/cases",
        json={
            "matter_code": SOLE_TRADER,
            "applicant": {"kind": "person", "name": "王五", "id_number": id_number},
            "materials": [{"position": p, "blob_sha256": sha} for p in layout.mandatory_positions],
            "visit": {"who": "applicant", "place": "示例村代办点", "purpose": "提交申请"},
        },
    )
    return str(ok(answer, 201)["case_no"])


def cases_at(db: Path) -> dict[str, str]:
    with sqlite3.connect(db) as connection:
        return dict(connection.execute("SELECT case_no, applicant_id FROM cases"))


def township_holds(layout: Layout, case_no: str) -> bool:
    return bool(query(layout, TOWNSHIP_ID, "SELECT 1 FROM cases WHERE case_no = ?", case_no))


def finish_and_check(
    layout: Layout, village: NodeProcess, nodes: list[NodeProcess], filed: dict[str, str]
) -> None:
    """After the loss: the village gets back every case, numbers the next one above them,
    and neither node holds a fork; both verify."""
    village_db = village.data_dir / "node.db"
    wait_for(
        "the village to take its lost cases back",
        lambda: filed.items() <= cases_at(village_db).items(),
        nodes,
    )
    wait_for(
        "writes released",
        lambda: httpx.get(f"{village.url}/healthz").json()["writes"] == {"held": False},
        nodes,
    )
    agent = log_in(village, "agent1")
    fresh = file_case(agent, layout, "430424199504044562")
    assert fresh not in filed, f"{fresh} was reused"
    assert int(fresh.rsplit("-", 1)[1]) == len(filed) + 1
    wait_for("the new case at the township", lambda: township_holds(layout, fresh), nodes)
    for node_id in (TOWNSHIP_ID, VILLAGE_ID):
        assert query(layout, node_id, "SELECT count(*) FROM quarantined_events")[0][0] == 0
    township_cases = dict(query(layout, TOWNSHIP_ID, "SELECT case_no, applicant_id FROM cases"))
    assert filed.items() <= township_cases.items()
    for node in nodes:
        node.stop()
    for data_dir in (layout.dirs[TOWNSHIP_ID], village.data_dir):
        node = open_node(data_dir)
        try:
            with transaction(node.engine) as session:
                assert verify_node(session, node).ok
        finally:
            node.engine.dispose()


def first_case_at_a_running_village(
    tmp_path: Path, processes: list[NodeProcess]
) -> tuple[Layout, NodeProcess, NodeProcess, httpx.Client, dict[str, str]]:
    """A township and its village serving, the agent logged in, the first case filed."""
    layout = build_network(tmp_path, users=False)
    township, village = layout.process(TOWNSHIP_ID), layout.process(VILLAGE_ID)
    start(processes, township, village)
    agent = log_in(village, "agent1")
    return (
        layout,
        township,
        village,
        agent,
        {file_case(agent, layout, APPLICANTS[0]): APPLICANTS[0]},
    )


def test_a_village_whose_wal_lost_its_last_writes_takes_them_back(tmp_path, processes):
    layout, township, village, agent, filed = first_case_at_a_running_village(tmp_path, processes)
    nodes = [township, village]
    wait_for("the first case upstream", lambda: township_holds(layout, next(iter(filed))), nodes)
    kept = (village.data_dir / "node.db-wal").stat().st_size  # what the disk will still hold
    for id_number in APPLICANTS[1:]:
        filed[file_case(agent, layout, id_number)] = id_number
    wait_for("every case upstream", lambda: all(township_holds(layout, c) for c in filed), nodes)

    village.kill()
    lose_wal_tail(village.data_dir / "node.db", at_least=kept)
    lost = filed.keys() - cases_at(village.data_dir / "node.db").keys()
    assert lost, "the cut WAL still held every case: nothing was lost, nothing to test"

    start(processes, village)
    finish_and_check(layout, village, nodes, filed)
    assert "sync.child_lost_writes" in township.log.read_text()


def test_a_village_restored_from_a_backup_takes_back_what_came_after(tmp_path, processes):
    layout, township, village, agent, filed = first_case_at_a_running_village(tmp_path, processes)
    nodes = [township, village]

    def onetrip(*args: str) -> str:
        done = run_onetrip(*args)
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout

    onetrip("backup", "-d", str(village.data_dir), "--to", str(tmp_path / "backups"))
    (archive,) = (tmp_path / "backups").glob("onetrip-*.tar.gz")
    assert oct(archive.stat().st_mode & 0o777) == "0o600"
    for id_number in APPLICANTS[1:]:
        filed[file_case(agent, layout, id_number)] = id_number
    wait_for("every case upstream", lambda: all(township_holds(layout, c) for c in filed), nodes)
    village.kill()  # the village's disk dies; the backup is all that is left

    restored = NodeProcess(tmp_path / "village-restored", free_port())
    said = onetrip("restore", str(archive), "-d", str(restored.data_dir))
    assert "恢复" in said
    assert len(cases_at(restored.data_dir / "node.db")) == 1
    # The township knows the village by its key, not its address: the restored node
    # serves from a new directory and port and syncs as before.
    nodes = [township, restored]
    start(processes, restored)
    finish_and_check(layout, restored, nodes, filed)
