"""Node health tells the truth: a node is 失联 after a few missed sync rounds (as many
as the node's settings say), not an hour; each direct child shows what waits to go
down to it."""

from __future__ import annotations

from datetime import timedelta

from onetrip_testing import TOWNSHIP_ID, VILLAGE_ID
from sqlalchemy import func, select

from common.db import transaction
from common.sync.models import OutboxEntry, SyncCursor
from common.sync.queries import node_overview
from common.sync.telemetry import record_reports
from common.timeutil import iso_utc, utcnow


def _report(node, node_id: str, seconds_ago: float) -> None:
    contact = iso_utc(utcnow() - timedelta(seconds=seconds_ago))
    with transaction(node.engine) as session:
        record_reports(
            session,
            TOWNSHIP_ID,
            [{"node_id": node_id, "last_contact": contact, "backlog": 0, "held": 0}],
        )


def _states(node) -> dict[str, str]:
    with transaction(node.engine) as session:
        return {row.node_id: row.state for row in node_overview(session, node)}


def test_a_node_is_silent_after_the_configured_missed_rounds(root_node, tree):
    interval = root_node.settings.sync_interval_seconds  # 10 s; 3 rounds by default
    _report(root_node, TOWNSHIP_ID, 2 * interval)
    _report(root_node, VILLAGE_ID, 4 * interval)
    assert _states(root_node) == {
        root_node.node_id: "self",
        TOWNSHIP_ID: "ok",
        VILLAGE_ID: "silent",
    }
    root_node.settings = root_node.settings.model_copy(update={"silent_after_rounds": 10})
    assert _states(root_node)[VILLAGE_ID] == "ok"


def test_a_direct_child_shows_what_waits_to_go_down_to_it(root_node, tree):
    with transaction(root_node.engine) as session:
        queued = session.execute(
            select(func.max(OutboxEntry.seq)).where(OutboxEntry.peer == TOWNSHIP_ID)
        ).scalar_one()
        assert queued  # the registry's records, queued for the township when it was added
        top = queued + 3
        session.add_all(
            OutboxEntry(peer=TOWNSHIP_ID, seq=seq, lseq=1) for seq in range(queued + 1, top + 1)
        )
        session.merge(SyncCursor(peer=TOWNSHIP_ID, sent_acked=queued))
    with transaction(root_node.engine) as session:
        rows = {row.node_id: row for row in node_overview(session, root_node)}
    assert rows[TOWNSHIP_ID].down == 3  # the three above the acknowledged seq
    assert rows[VILLAGE_ID].down is None  # the township's child: not this node's to send


def test_a_nodes_last_failed_round_reaches_the_county(root_node, tree, monkeypatch):
    """The report a village sends once its link works again says why the last round
    failed and when (masked), and the township passes it up."""
    from common.sync.telemetry import note_sync_failure, own_report, relayed_reports

    monkeypatch.setattr("common.sync.telemetry._LAST_FAILURES", {})  # this test's only

    note_sync_failure(VILLAGE_ID, "link to parent failed: ConnectError (430424199001011232)")
    report = own_report(VILLAGE_ID, backlog=3, held=0)
    assert "ConnectError" in report["last_error"]["message"]
    assert "430424199001011232" not in report["last_error"]["message"]
    with transaction(root_node.engine) as session:
        record_reports(session, TOWNSHIP_ID, [], direct=report)
    with transaction(root_node.engine) as session:
        rows = {row.node_id: row for row in node_overview(session, root_node)}
        relayed = {r["node_id"]: r for r in relayed_reports(session)}
    assert rows[VILLAGE_ID].last_error == report["last_error"]
    assert relayed[VILLAGE_ID]["last_error"] == report["last_error"]
    assert rows[TOWNSHIP_ID].last_error is None
