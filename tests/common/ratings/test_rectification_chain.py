"""A bad rating's rectification on its own chain ``rectification:{case_no}``.

The usual flow: a village 即办件 is decided and delivered at the village, and rated
there. The village has nobody who may rectify, so the rating names its township as the
responsible node; the township approver calls back and closes on the rectification's
chain without custody of the case. Nodes of each tier share the root's database (as in
tests/case_fixtures.py), so one database shows what each node may do.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import pytest
from onetrip_testing import COUNTY_ID, TOWNSHIP_ID, VILLAGE_ID, register_member
from sqlalchemy import select

from common.authority.events import AuthorityViolation
from common.blobs.service import store_blob
from common.cases.access import case_subject
from common.cases.intake import service as intake
from common.cases.models import Case
from common.cases.review import service as review
from common.catalog.sample import load_sample_matters
from common.catalog.service import import_drafts, publish_batch
from common.db import transaction
from common.errors import Conflict, Forbidden
from common.ledger.envelope import parse_event
from common.ledger.models import Event
from common.ledger.projection import snapshot
from common.ledger.rebuild import rebuild_projections
from common.node import ThisNode
from common.ratings import service as ratings
from common.ratings.models import Rectification
from common.ratings.projection import RectificationViolation, rectification_subject
from common.sync.routing import interested_in, peers_for
from common.users.roles import Actor, Role

VILLAGE_PENSION = "54430424MEB423186J6002007001000"  # 养老保险参保登记（村级代办）: village 即办件
OTHER_TOWNSHIP_ID = "430424101000"  # another township, not above the village
PDF = b"%PDF-1.7\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
AGENT = Actor(username="agent", node_id=VILLAGE_ID, role=Role.VILLAGE_AGENT)
APPROVER = Actor(username="tapprover", node_id=TOWNSHIP_ID, role=Role.TOWNSHIP_APPROVER)
TOWNSHIP_CLERK = Actor(username="tclerk", node_id=TOWNSHIP_ID, role=Role.TOWNSHIP_CLERK)
ADMIN = Actor(username="admin", node_id=COUNTY_ID, role=Role.COUNTY_ADMIN)


def member(root: ThisNode, node_id: str, tier: str, key) -> ThisNode:  # type: ignore[no-untyped-def]
    settings = root.settings.model_copy(update={"node_id": node_id, "tier": tier})
    return replace(root, settings=settings, key=key)


@pytest.fixture
def nodes(root_node: ThisNode, tree: dict) -> dict[str, ThisNode]:
    """county (root, village matter published), township, village and a stranger township."""
    matters, batches = load_sample_matters()
    system = Actor.node_system(root_node.node_id)
    with transaction(root_node.engine) as session:
        import_drafts(
            session,
            root_node,
            system,
            [m for m in matters if m.implementation_code == VILLAGE_PENSION],
        )
        batch = next(b for b in batches if VILLAGE_PENSION in b.codes)
        publish_batch(
            session,
            root_node,
            system,
            name=batch.name,
            published_on=batch.published_on,
            codes=[VILLAGE_PENSION],
        )
    stranger = register_member(root_node, OTHER_TOWNSHIP_ID, "杨桥镇便民服务中心")
    return {
        "county": root_node,
        "township": member(root_node, TOWNSHIP_ID, "township", tree[TOWNSHIP_ID]),
        "village": member(root_node, VILLAGE_ID, "village", tree[VILLAGE_ID]),
        "stranger": member(root_node, OTHER_TOWNSHIP_ID, "township", stranger),
    }


def do(node: ThisNode, action: Callable, *args, **kwargs):  # type: ignore[no-untyped-def]
    with transaction(node.engine) as session:
        return action(session, node, *args, **kwargs)


@pytest.fixture
def village_case(nodes: dict[str, ThisNode]) -> Callable[..., str]:
    """village_case(level, real_name) -> a village 即办件 filed, decided, delivered and
    rated at the village."""
    village = nodes["village"]

    def build(level: int = 5, real_name: bool = True) -> str:
        with transaction(village.engine) as session:
            sha = store_blob(session, village, PDF, "身份证.pdf").sha256
            case_no = intake.file_case(
                session,
                village,
                AGENT,
                matter_code=VILLAGE_PENSION,
                applicant={"kind": "person", "name": "张三", "id_number": "430424198001011238"},
                materials=[{"position": 0, "blob_sha256": sha}],
            ).case_no
        do(village, intake.accept_case, AGENT, case_no)
        do(village, review.decide_case, AGENT, case_no, "approved", None)
        do(village, intake.deliver_case, AGENT, case_no, "agent")
        do(village, ratings.rate_case, AGENT, case_no, level, "代办员态度差", real_name)
        return case_no

    return build


def chain(node: ThisNode, case_no: str) -> list[tuple[int, str, str]]:
    with transaction(node.engine) as session:
        rows = session.execute(
            select(Event.sseq, Event.author, Event.kind)
            .where(Event.subject == rectification_subject(case_no))
            .order_by(Event.sseq)
        )
        return [tuple(row) for row in rows]


def test_a_village_case_is_called_back_and_closed_at_its_township(nodes, village_case) -> None:
    village, township = nodes["village"], nodes["township"]
    case_no = village_case(5, real_name=True)
    task_id = ratings.rectification_task_id(case_no)
    with transaction(township.engine) as session:
        task = session.get(Rectification, task_id)
        assert (task.responsible_node, task.state, task.callback_required) == (
            TOWNSHIP_ID,
            "open",
            True,
        )
        # It is on the township's to-do list, and on nobody else's there.
        assert [
            t.task_id for t in ratings.list_rectifications(session, APPROVER, state="open")
        ] == [task_id]
        stranger = Actor(username="yq", node_id=OTHER_TOWNSHIP_ID, role=Role.TOWNSHIP_APPROVER)
        assert ratings.list_rectifications(session, stranger) == []
        assert [
            t.task_id for t in ratings.rectifications_due(session, task.due_on, TOWNSHIP_ID)
        ] == [task_id]
        assert ratings.rectifications_due(session, task.due_on, VILLAGE_ID) == []
        case_version = session.get(Case, case_no).version
    with pytest.raises(Conflict) as err:
        do(township, ratings.close_rectification, APPROVER, task_id, "已整改")
    assert err.value.code == "rating.callback_required"
    with pytest.raises(Forbidden) as err:  # the clerk reads the task but may not work it
        do(township, ratings.record_callback, TOWNSHIP_CLERK, task_id, "已回访")
    assert err.value.code == "auth.role"
    do(township, ratings.record_callback, APPROVER, task_id, "电话回访，群众认可整改措施")
    do(township, ratings.close_rectification, APPROVER, task_id, "已对代办员开展服务规范培训")
    assert chain(township, case_no) == [
        (1, TOWNSHIP_ID, "rectification.callback_recorded"),
        (2, TOWNSHIP_ID, "rectification.closed"),
    ]
    with transaction(village.engine) as session:
        task = session.get(Rectification, task_id)
        assert (task.state, task.callback_done, task.callback_by, task.closed_by, task.result) == (
            "closed",
            True,
            "tapprover",
            "tapprover",
            "已对代办员开展服务规范培训",
        )
        case = session.get(Case, case_no)
        assert (case.custodian, case.version, case.rating) == (VILLAGE_ID, case_version, 5)
        before = snapshot(session)
        rebuild_projections(session)
        assert snapshot(session) == before


def test_only_the_responsible_node_writes_the_rectification(nodes, village_case) -> None:
    village, county, stranger = nodes["village"], nodes["county"], nodes["stranger"]
    case_no = village_case(4, real_name=False)
    task_id = ratings.rectification_task_id(case_no)
    refusals = (
        (village, AGENT, "auth.role"),  # a village has no rectifying role
        (county, ADMIN, "rectification.not_responsible"),  # the county neither decided nor holds it
        (
            stranger,
            Actor("yq", OTHER_TOWNSHIP_ID, Role.TOWNSHIP_APPROVER),
            "rectification.not_responsible",
        ),
    )
    for node, actor, code in refusals:
        with pytest.raises(Forbidden) as err:
            do(node, ratings.close_rectification, actor, task_id, "已整改")
        assert err.value.code == code
    # A stranger that signs the event itself, past the action: the projection refuses it
    # (sync dead-letters it), and nothing is stored.
    with pytest.raises(AuthorityViolation) as refused, transaction(stranger.engine) as session:
        stranger.append(
            session,
            rectification_subject(case_no),
            "rectification.closed",
            {"task_id": task_id, "by": "yq", "on": "2026-01-05", "result": "已整改"},
        )
    assert refused.value.code == "authority.rectifier"
    assert chain(county, case_no) == []
    with transaction(county.engine) as session:
        assert session.get(Rectification, task_id).state == "open"
    # An anonymous bad rating is closed without a call-back by the township.
    with pytest.raises(Conflict) as err:
        do(nodes["township"], ratings.record_callback, APPROVER, task_id, "已回访")
    assert err.value.code == "rectification.anonymous"
    do(nodes["township"], ratings.close_rectification, APPROVER, task_id, "已整改")
    with pytest.raises(Conflict) as err:
        do(nodes["township"], ratings.close_rectification, APPROVER, task_id, "再次办结")
    assert err.value.code == "rectification.closed"
    # The responsible node's own events must still fit the task: nothing after closing.
    township = nodes["township"]
    with pytest.raises(RectificationViolation), transaction(township.engine) as session:
        township.append(
            session,
            rectification_subject(case_no),
            "rectification.closed",
            {"task_id": task_id, "by": "tapprover", "on": "2026-01-05", "result": "再次办结"},
        )


def test_the_rectification_and_the_rating_reach_the_township_and_the_village(
    nodes, village_case
) -> None:
    """Routing: the responsible township gets the case (and so the rating); the
    rectification's chain goes wherever the case goes, down to the origin village."""
    township = nodes["township"]
    case_no = village_case(5, real_name=True)
    do(
        township,
        ratings.record_callback,
        APPROVER,
        ratings.rectification_task_id(case_no),
        "已回访",
    )
    with transaction(township.engine) as session:
        assert TOWNSHIP_ID in interested_in(session, case_subject(case_no))
        assert interested_in(session, rectification_subject(case_no)) == {VILLAGE_ID, TOWNSHIP_ID}
        raw = session.execute(
            select(Event).where(Event.subject == rectification_subject(case_no))
        ).scalar_one()
        event = parse_event(township.network_id, raw.raw)
        assert peers_for(session, TOWNSHIP_ID, event, None) == [COUNTY_ID, VILLAGE_ID]
        assert (
            peers_for(session, COUNTY_ID, event, TOWNSHIP_ID) == []
        )  # never back where it came from
        assert peers_for(session, COUNTY_ID, event, None) == [TOWNSHIP_ID]
        assert peers_for(session, OTHER_TOWNSHIP_ID, event, None) == [COUNTY_ID]
