"""Handing a case up from a node whose link is down (issue 13, item 15): the screen says the
handoff is queued and goes up when the link returns, not that it was handed over; once the
parent has acknowledged the offer, the case page says it waits there.

Real nodes, each on its own database: the county and 洣水镇 served on loopback, the sample
village enrolled under the township; the village's sync runs only when the test says so.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from fastapi.testclient import TestClient
from onetrip_testing import TOWNSHIP_ID, VILLAGE_ID
from web_testing import post_form, web_login

from common.bootstrap import init_member
from common.catalog.sample import publish_sample
from common.db import transaction
from common.identity.service import invite_node
from common.node import ThisNode
from common.sync.client import sync_once
from common.sync.outbox import backlog
from common.timeutil import utcnow
from common.users.roles import Actor, Role
from common.users.service import provision_user

SOLE_TRADER = "11430424MB1C5953154000119002001"  # 个体工商户设立登记: county, 3 materials
FOOD_LICENCE = "11430424MB1C5953154000119001001"  # 食品经营许可（新办）: county
PERSON_ID = "430424198001011238"
PDF = b"%PDF-1.7\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PASSWORD = "Hengdong-uplink-1"
COUNTY = "衡东县政务服务中心"


@pytest.fixture
def network(
    tmp_path: Path, root_node: ThisNode, serve: Callable[..., Any]
) -> Iterator[tuple[ThisNode, ThisNode]]:
    """The township and the village, enrolled, with the catalogue and their staff."""
    system = Actor.node_system(root_node.node_id)
    with transaction(root_node.engine) as session:
        publish_sample(session, root_node, system)
        township_invite = invite_node(session, root_node, system, TOWNSHIP_ID, "洣水镇便民服务中心")
    county = serve(root_node)
    township = init_member(
        tmp_path / "township",
        node_id=TOWNSHIP_ID,
        parent_url=county.url,
        token=township_invite.token,
    )
    township_server = serve(township)
    with transaction(root_node.engine) as session:  # under the township, once it is enrolled
        village_invite = invite_node(session, root_node, system, VILLAGE_ID, "示例村代办点")
    village = init_member(
        tmp_path / "village",
        node_id=VILLAGE_ID,
        parent_url=township_server.url,
        token=village_invite.token,
    )
    with transaction(root_node.engine) as session:  # users of enrolled nodes only
        for node_id, username, role in (
            (VILLAGE_ID, "agent1", Role.VILLAGE_AGENT),
            (TOWNSHIP_ID, "tclerk", Role.TOWNSHIP_CLERK),
        ):
            provision_user(
                session,
                root_node,
                system,
                node_id=node_id,
                username=username,
                display_name="测试",
                role=role,
                password=PASSWORD,
            )
    sync_once(township)
    sync_once(village)
    yield township, village
    township.engine.dispose()
    village.engine.dispose()


def _hand_up(client: TestClient) -> str:
    """File a county matter with every scan and hand it up; the case page's URL."""
    scans = [(f"m{i}_file", (f"材料{i}.pdf", PDF, "application/pdf")) for i in range(3)]
    data = {
        "applicant_kind": "person",
        "applicant_name": "李大爷",
        "applicant_id": PERSON_ID,
        "applicant_phone": "13800000000",
        "present": "1",
        "then": "handoff",
    }
    answer = post_form(client, f"/agent/file/{SOLE_TRADER}", data, files=scans)
    assert answer.status_code == 303, answer.text
    return str(answer.headers["location"])


def test_offline_handoff_says_queued_until_it_has_gone_up(
    network: tuple[ThisNode, ThisNode], make_client: Callable[..., TestClient]
) -> None:
    _, village = network
    agent = web_login(make_client(village, username=None), "agent1", PASSWORD)
    case_page = _hand_up(agent)  # the village's link is down: nothing syncs
    case_no = case_page.rsplit("/", 1)[1]
    page = agent.get(case_page).text
    assert f"已登记办件 {case_no}，转交{COUNTY}已排队，尚未上传" in page
    assert "网络恢复后自动上传" in page
    assert "已转交" not in page and "待其接收办理" not in page
    assert f'data-testid="case-where">转交{COUNTY}已排队，尚未上传' in page
    assert f"转交{COUNTY}已排队" in agent.get("/agent/cases").text

    sync_once(village)  # the link is back: the township acknowledges the offer
    with transaction(village.engine) as session:
        assert backlog(session, TOWNSHIP_ID) == 0
    page = agent.get(case_page).text
    assert f'data-testid="case-where">转交中（待{COUNTY}接收）' in page and "已排队" not in page
    assert f"转交中（待{COUNTY}接收）" in agent.get("/agent/cases").text


def test_online_handoff_says_it_is_going_up(
    network: tuple[ThisNode, ThisNode], make_client: Callable[..., TestClient]
) -> None:
    _, village = network
    agent = web_login(make_client(village, username=None), "agent1", PASSWORD)
    # The link is up (the last sync round just succeeded): the offer goes up in a moment.
    agent.app.state.sync = SimpleNamespace(  # type: ignore[attr-defined]
        last_success=utcnow(), backoff=SimpleNamespace(failures=0)
    )
    page = agent.get(_hand_up(agent)).text
    assert f"转交{COUNTY}已排队，正在上传；上传后由{COUNTY}接收办理" in page
    assert "网络恢复后" not in page and "已转交" not in page


def test_offline_escalation_at_the_township_says_queued(
    network: tuple[ThisNode, ThisNode], make_client: Callable[..., TestClient]
) -> None:
    township, _ = network
    from common.blobs.service import store_blob
    from common.cases.intake.service import file_case

    clerk_actor = Actor(username="tclerk", node_id=TOWNSHIP_ID, role=Role.TOWNSHIP_CLERK)
    with transaction(township.engine) as session:
        sha = store_blob(session, township, PDF, "材料.pdf").sha256
        case_no = file_case(
            session,
            township,
            clerk_actor,
            matter_code=FOOD_LICENCE,
            applicant={
                "kind": "person",
                "name": "张三",
                "id_number": PERSON_ID,
                "phone": "13800000000",
            },
            materials=[{"position": i, "blob_sha256": sha} for i in range(5)],
        ).case_no
    clerk = web_login(make_client(township, username=None), "tclerk", PASSWORD)
    page = f"/staff/cases/{case_no}"
    answer = post_form(clerk, f"{page}/escalate", {"to": ""}, page=page, follow_redirects=True)
    assert answer.status_code == 200, answer.text
    assert f"上报{COUNTY}已排队，尚未上传" in answer.text
    assert "已上报，等待上级节点接收" not in answer.text
    assert 'data-queued="1"' in answer.text

    sync_once(township)
    bench = clerk.get(page).text
    assert f"已移交 {COUNTY}，等待对方接收" in bench and 'data-queued="1"' not in bench
