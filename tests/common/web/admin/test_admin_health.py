"""/admin/health: every node with its last report, silent ones first; this node's
dead letters masked; the screens refuse everyone but the county administrator."""

from __future__ import annotations

import json
import re

import pytest
from onetrip_testing import TOWNSHIP_ID, VILLAGE_ID

from common.db import transaction
from common.sync.models import DeadLetter
from common.sync.telemetry import record_reports
from common.timeutil import utcnow
from common.users.roles import Role

ADMIN_SCREENS = ["/admin/catalogue", "/admin/calendar", "/admin/nodes", "/admin/users"]


def _row_states(html: str) -> list[tuple[str, str]]:
    return re.findall(r'data-testid="node-row" data-node-id="(\d+)" data-state="(\w+)"', html)


def test_health_lists_every_node_silent_first(root_node, tree, admin_web):
    with transaction(root_node.engine) as session:
        record_reports(
            session,
            TOWNSHIP_ID,
            [],
            direct={
                "node_id": TOWNSHIP_ID,
                "backlog": 7,
                "held": 1,
                "version": "0.1.0",
                "clock_offset_ms": 1500,
            },
        )
        session.add(
            DeadLetter(
                event_id="e" * 64,
                code="event.signature",
                reason="签名无效：申请人 430424199001011234",
                from_peer=TOWNSHIP_ID,
                raw=json.dumps({"author": VILLAGE_ID, "kind": "case.filed"}).encode(),
                received_at=utcnow(),
            )
        )
    page = admin_web.get("/admin/health")
    assert page.status_code == 200 and "<title>节点运行状况" in page.text
    assert _row_states(page.text) == [
        (VILLAGE_ID, "silent"),
        (root_node.node_id, "self"),
        (TOWNSHIP_ID, "ok"),
    ]
    assert "示例村代办点" in page.text and "洣水镇便民服务中心" in page.text
    assert "+1.5 秒" in page.text and 'data-testid="silent-count">1 个失联' in page.text
    assert re.search(r'data-testid="dead-letter-count">1<', page.text)
    # Reasons are masked as the sync admin API masks them: no identity number on the page.
    assert "430424199001011234" not in page.text and "case.filed" in page.text


def test_an_auditor_reads_health_but_not_the_admin_screens(county_user):
    auditor = county_user(Role.AUDITOR)
    assert auditor.get("/admin/health").status_code == 200
    for path in ADMIN_SCREENS:
        assert auditor.get(path).status_code == 403, path


@pytest.mark.parametrize("role", [Role.COUNTY_WINDOW_CLERK, Role.DEPARTMENT_REVIEWER])
def test_county_staff_get_403_on_every_admin_screen(county_user, role):
    client = county_user(role)
    for path in ["/admin/health", *ADMIN_SCREENS]:
        answer = client.get(path)
        assert answer.status_code == 403 and "此页面仅限" in answer.text, path
    # A forged POST is refused too (the role check runs before the action).
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/portal").text).group(1)
    refused = client.post(
        "/admin/users",
        data={
            "csrf_token": token,
            "node_id": "430424000000",
            "username": "sneaky",
            "display_name": "x",
            "role": "county_admin",
            "password": "whatever-2026",
        },
    )
    assert refused.status_code == 403


def test_screens_send_anonymous_visitors_to_the_login(root_node, make_client):
    client = make_client(root_node, username=None)
    answer = client.get("/admin/catalogue", follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"].startswith("/login?next=")


def test_health_shows_a_nodes_last_failed_sync_round(root_node, tree, admin_web, monkeypatch):
    from common.sync.telemetry import note_sync_failure, own_report

    monkeypatch.setattr("common.sync.telemetry._LAST_FAILURES", {})  # this test's only

    note_sync_failure(VILLAGE_ID, "push refused (401): link.bad_signature")
    with transaction(root_node.engine) as session:
        record_reports(session, TOWNSHIP_ID, [], direct=own_report(VILLAGE_ID, 0, 0))
    page = admin_web.get("/admin/health").text
    shown = re.search(r'data-testid="node-last-error">([^<]+)<', page)
    assert shown and "上次同步失败" in shown.group(1) and "link.bad_signature" in shown.group(1)
