"""Rectifications across real nodes: county ← township ← village over loopback HTTP.

A case rated badly at the village where its result went home is worked by the
responsible node (the township for a village decision, the county for a county one);
the rating travels up to it and the rectification's chain travels back down to the
village, and every node's ledger verifies (projections equal their rebuild).
"""

from __future__ import annotations

import pytest
from onetrip_testing import TOWNSHIP_ID, VILLAGE_ID
from sqlalchemy import select

from common.blobs.service import store_blob
from common.bootstrap import init_member
from common.cases.handoff.service import accept_handoff, offer_handoff, return_if_decided
from common.cases.intake.service import accept_case, deliver_case, file_case
from common.cases.review.service import decide_case
from common.catalog.sample import publish_sample
from common.catalog.service import get_published
from common.db import transaction
from common.identity.service import invite_node
from common.ledger.models import Event
from common.ledger.verify import verify_node
from common.ratings.models import Rectification
from common.ratings.projection import rectification_subject
from common.ratings.service import (
    close_rectification,
    rate_case,
    record_callback,
    rectification_task_id,
)
from common.sync.client import sync_once
from common.sync.models import HeldEvent
from common.sync.receive import held_count, receive_batch
from common.users.roles import Actor, Role

VILLAGE_PENSION = "54430424MEB423186J6002007001000"  # village 即办件
SOLE_TRADER = "11430424MB1C5953154000119002001"  # county 即办件 with a licence
PDF = b"%PDF-1.7\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
AGENT = Actor(username="agent1", node_id=VILLAGE_ID, role=Role.VILLAGE_AGENT)
APPLICANT = {"kind": "person", "name": "张三", "id_number": "430424198001011238"}


@pytest.fixture
def network(tmp_path, root_node, serve):
    """County with the sample catalogue; township and village enrolled and synced once."""
    system = Actor.node_system(root_node.node_id)
    with transaction(root_node.engine) as session:
        publish_sample(session, root_node, system)
        township_invite = invite_node(session, root_node, system, TOWNSHIP_ID, "洣水镇便民服务中心")
    township = init_member(
        tmp_path / "township",
        node_id=TOWNSHIP_ID,
        parent_url=serve(root_node).url,
        token=township_invite.token,
    )
    township_url = serve(township).url
    with transaction(root_node.engine) as session:
        village_invite = invite_node(session, root_node, system, VILLAGE_ID, "示例村代办点")
    village = init_member(
        tmp_path / "village",
        node_id=VILLAGE_ID,
        parent_url=township_url,
        token=village_invite.token,
    )
    sync_once(township)
    sync_once(village)
    yield root_node, township, village
    township.engine.dispose()
    village.engine.dispose()


def _file_at_village(village, code: str) -> str:  # type: ignore[no-untyped-def]
    with transaction(village.engine) as session:
        sha = store_blob(session, village, PDF, "身份证.pdf").sha256
        matter = get_published(session, code).to_matter()
        materials = [
            {"position": i, "blob_sha256": sha}
            for i, m in enumerate(matter.materials)
            if m.mandatory
        ]
        return file_case(
            session, village, AGENT, matter_code=code, applicant=APPLICANT, materials=materials
        ).case_no


def _deliver_and_rate_badly(village, case_no: str) -> str:  # type: ignore[no-untyped-def]
    with transaction(village.engine) as session:
        deliver_case(session, village, AGENT, case_no, "agent", receiver="张三")
        rate_case(session, village, AGENT, case_no, 5, "代办太慢", True)
    return rectification_task_id(case_no)


def _up(township, village) -> None:  # type: ignore[no-untyped-def]
    sync_once(village)
    sync_once(township)


def _down(township, village) -> None:  # type: ignore[no-untyped-def]
    sync_once(township)
    sync_once(village)


def _task(node, task_id: str) -> Rectification:  # type: ignore[no-untyped-def]
    with transaction(node.engine) as session:
        return session.get(Rectification, task_id)


def _chain(node, case_no: str) -> list[tuple[int, str]]:  # type: ignore[no-untyped-def]
    with transaction(node.engine) as session:
        return [
            tuple(r)
            for r in session.execute(
                select(Event.sseq, Event.author)
                .where(Event.subject == rectification_subject(case_no))
                .order_by(Event.sseq)
            )
        ]


def _all_verify(*nodes) -> None:  # type: ignore[no-untyped-def]
    for node in nodes:
        with transaction(node.engine) as session:
            report = verify_node(session, node)
        assert report.ok, report.summary()


def test_a_village_decision_is_rectified_at_the_township_and_the_village_sees_it(network):
    county, township, village = network
    case_no = _file_at_village(village, VILLAGE_PENSION)
    with transaction(village.engine) as session:
        accept_case(session, village, AGENT, case_no)
        decide_case(session, village, AGENT, case_no, "approved", None)
    task_id = _deliver_and_rate_badly(village, case_no)
    assert _task(village, task_id).responsible_node == TOWNSHIP_ID
    assert _task(township, task_id) is None  # offline: nothing moved yet
    sync_once(village)  # the rating reaches the township (not yet the county)
    approver = Actor(username="tapprover", node_id=TOWNSHIP_ID, role=Role.TOWNSHIP_APPROVER)
    with transaction(township.engine) as session:
        record_callback(session, township, approver, task_id, "电话回访，群众表示理解")
        close_rectification(session, township, approver, task_id, "已对代办员开展培训")
        early = (
            session.execute(
                select(Event.raw)
                .where(Event.subject == rectification_subject(case_no))
                .order_by(Event.sseq)
            )
            .scalars()
            .all()
        )
    # Should the call-back reach the county before the rating, it is held, not refused...
    with transaction(county.engine) as session:
        result = receive_batch(session, county, TOWNSHIP_ID, list(early))
    assert (result.held, result.stored, result.rejected) == (2, 0, [])
    with transaction(county.engine) as session:
        waiting = session.execute(select(HeldEvent.waiting_for)).scalars().all()
    assert any("before the rating" in reason for reason in waiting), waiting
    sync_once(township)  # ...and applied once the rating arrives
    with transaction(county.engine) as session:
        assert held_count(session) == 0
    sync_once(village)  # the village gets the township's work on its case
    for node in (county, township, village):
        task = _task(node, task_id)
        assert (task.state, task.callback_by, task.closed_by) == (
            "closed",
            "tapprover",
            "tapprover",
        ), node.node_id
        assert _chain(node, case_no) == [(1, TOWNSHIP_ID), (2, TOWNSHIP_ID)], node.node_id
    _all_verify(county, township, village)


def test_a_county_decision_delivered_at_the_village_is_rectified_at_the_county(network):
    county, township, village = network
    case_no = _file_at_village(village, SOLE_TRADER)
    with transaction(village.engine) as session:
        offer_handoff(session, village, AGENT, case_no)
    _up(township, village)
    clerk = Actor(username="clerk1", node_id=county.node_id, role=Role.COUNTY_WINDOW_CLERK)
    with transaction(county.engine) as session:
        accept_handoff(session, county, clerk, case_no)
        accept_case(session, county, clerk, case_no)
        decide_case(session, county, clerk, case_no, "approved", "符合条件，准予登记")
        assert return_if_decided(session, county, case_no)
    _down(township, village)  # the result goes home
    task_id = _deliver_and_rate_badly(village, case_no)
    assert _task(village, task_id).responsible_node == county.node_id
    _up(township, village)
    admin = Actor(username="admin", node_id=county.node_id, role=Role.COUNTY_ADMIN)
    with transaction(county.engine) as session:
        record_callback(session, county, admin, task_id, "电话回访")
        close_rectification(session, county, admin, task_id, "窗口已整改")
    _down(township, village)
    for node in (county, township, village):
        assert _task(node, task_id).state == "closed", node.node_id
        assert _chain(node, case_no) == [(1, county.node_id), (2, county.node_id)], node.node_id
    _all_verify(county, township, village)
