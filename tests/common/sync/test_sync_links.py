"""Store-and-forward over real HTTP on loopback: county ← township ← village.

The county and the township are served by uvicorn; each child runs sync rounds
(``sync_once``) as its scheduler would. Records written at the county reach the
village through the township; a case filed at the village (with its material file)
reaches the county; redelivery changes nothing; a tampered event is dead-lettered.
"""

from __future__ import annotations

import pytest
from onetrip_testing import TOWNSHIP_ID, VILLAGE_ID
from sqlalchemy import func, select

from common.blobs.service import store_blob
from common.bootstrap import init_member
from common.cases.intake.service import file_case
from common.catalog.sample import publish_sample
from common.db import transaction
from common.identity.service import invite_node
from common.ledger.models import Event
from common.ledger.verify import verify_node
from common.sync.client import sync_once
from common.sync.models import DeadLetter, SyncReject
from common.sync.outbox import backlog
from common.users.roles import Actor, Role
from common.users.service import provision_user

VILLAGE_PENSION = "54430424MEB423186J6002007001000"  # village 即办件 in the sample
PDF = b"%PDF-1.7\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def _count(node, *where):
    with transaction(node.engine) as session:
        return session.execute(select(func.count()).select_from(Event).where(*where)).scalar()


def _ids(node, *where):
    with transaction(node.engine) as session:
        return set(session.execute(select(Event.id).where(*where)).scalars())


@pytest.fixture
def network(tmp_path, root_node, serve):
    """County with the sample catalogue and a village agent; township and village enrolled."""
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
    with transaction(root_node.engine) as session:
        village_invite = invite_node(session, root_node, system, VILLAGE_ID, "示例村代办点")
    village = init_member(
        tmp_path / "village",
        node_id=VILLAGE_ID,
        parent_url=township_server.url,
        token=village_invite.token,
    )
    with transaction(root_node.engine) as session:
        provision_user(
            session,
            root_node,
            system,
            node_id=VILLAGE_ID,
            username="agent1",
            display_name="李代办",
            role=Role.VILLAGE_AGENT,
            password="Village-agent-1",
        )
    yield root_node, township, village
    township.engine.dispose()
    village.engine.dispose()


def test_downward_records_reach_the_village_and_a_case_reaches_the_county(network):
    county, township, village = network
    sync_once(township)
    sync_once(village)
    # The catalogue, calendar-free county records and the agent's user record arrived.
    assert _ids(village, Event.subject == "catalogue") == _ids(county, Event.subject == "catalogue")
    assert _count(village, Event.subject == f"user:{VILLAGE_ID}:agent1") == 1
    assert _count(township, Event.subject == f"user:{VILLAGE_ID}:agent1") == 1  # on the path
    assert _count(village, Event.subject.like("user:430424000000:%")) == 0  # not the county's users

    agent = Actor(username="agent1", node_id=VILLAGE_ID, role=Role.VILLAGE_AGENT)
    with transaction(village.engine) as session:
        sha = store_blob(session, village, PDF, "户口簿.pdf").sha256
        case = file_case(
            session,
            village,
            agent,
            matter_code=VILLAGE_PENSION,
            applicant={"kind": "person", "name": "张三", "id_number": "430424198001011238"},
            materials=[{"position": 0, "blob_sha256": sha}],
            visit={"who": "applicant", "place": "示例村代办点", "purpose": "提交申请"},
        )
    # Offline: nothing has moved yet.
    assert _count(county, Event.subject == f"case:{case.case_no}") == 0
    sync_once(village)
    sync_once(township)
    case_events = _ids(village, Event.subject == f"case:{case.case_no}")
    assert case_events and _ids(county, Event.subject == f"case:{case.case_no}") == case_events
    assert (
        _ids(township, Event.subject == f"case:{case.case_no}") == case_events
    )  # the township sees it pass
    # The material travelled before the event that references it.
    assert (county.settings.blob_dir / sha[:2] / sha[2:]).exists()
    # Nothing left to send; every node's ledger verifies.
    with transaction(village.engine) as session:
        assert backlog(session, TOWNSHIP_ID) == 0
    for node in (county, township, village):
        with transaction(node.engine) as session:
            report = verify_node(session, node)
        assert report.ok, report.summary()


def test_redelivery_and_tampering(network):
    county, township, village = network
    sync_once(township)
    sync_once(village)
    before = _count(county)
    # Redelivering a whole batch: the parent answers and changes nothing.
    from common.sync.outbox import cursor

    with transaction(village.engine) as session:
        cursor(session, TOWNSHIP_ID).sent_acked = 0
    sync_once(village)
    sync_once(township)
    assert _count(county) == before
    # A tampered event is refused, dead-lettered at the receiver, reported to the sender.
    from common.identity.parent_link import post_to_parent

    with transaction(township.engine) as session:
        raw = (
            session.execute(select(Event.raw).where(Event.subject == "catalogue")).scalars().first()
        )
    tampered = raw.replace("第一批".encode(), "第九批".encode())
    answer = post_to_parent(
        township, "/api/v1/sync/push", {"after": 0, "last_seq": 0, "events": [tampered.decode()]}
    )
    assert answer.status_code == 200
    rejected = answer.json()["result"]["rejected"]
    assert [r["code"] for r in rejected] == ["event.signature"]
    with transaction(county.engine) as session:
        assert session.execute(select(func.count()).select_from(DeadLetter)).scalar() == 1
    assert SyncReject.__tablename__  # the sender-side log exists for client rounds


def test_only_direct_children_may_sync(network):
    _county, township, village = network
    from common.identity.parent_link import post_to_parent

    # The village is not the county's child: its signed request is refused there.
    stranger = village.__class__(
        settings=village.settings.model_copy(update={"parent_url": township.settings.parent_url}),
        engine=village.engine,
        key=village.key,
    )
    answer = post_to_parent(stranger, "/api/v1/sync/pull", {"after": 0})
    assert answer.status_code == 401 and answer.json()["code"] == "link.not_neighbour"


SOLE_TRADER = "11430424MB1C5953154000119002001"  # 个体工商户设立登记: county 即办件 with a licence


def test_a_county_case_filed_offline_at_the_village_goes_up_and_its_result_comes_home(network):
    """The whole trip: filed at the village while offline, handed to the county, decided
    there, the licence and the case returned to the village, delivered by the agent."""
    from common.cases.handoff.service import (
        accept_handoff,
        custody_chain,
        offer_handoff,
        return_if_decided,
    )
    from common.cases.intake.service import accept_case, deliver_case
    from common.cases.models import Case
    from common.cases.review.service import decide_case
    from common.catalog.service import get_published

    county, township, village = network
    sync_once(township)
    sync_once(village)
    agent = Actor(username="agent1", node_id=VILLAGE_ID, role=Role.VILLAGE_AGENT)
    clerk = Actor(username="clerk1", node_id=county.node_id, role=Role.COUNTY_WINDOW_CLERK)
    with transaction(village.engine) as session:
        sha = store_blob(session, village, PDF, "身份证.pdf").sha256
        matter = get_published(session, SOLE_TRADER).to_matter()
        materials = [
            {"position": i, "blob_sha256": sha}
            for i, m in enumerate(matter.materials)
            if m.mandatory
        ]
        case_no = file_case(
            session,
            village,
            agent,
            matter_code=SOLE_TRADER,
            applicant={"kind": "person", "name": "王五", "id_number": "430424198001011238"},
            materials=materials,
            visit={"who": "applicant", "place": "示例村代办点", "purpose": "提交申请"},
        ).case_no
        offer_handoff(session, village, agent, case_no)
    # The village's line is down: the case waits in its outbox.
    with transaction(village.engine) as session:
        assert backlog(session, TOWNSHIP_ID) >= 2
    sync_once(village)
    sync_once(township)
    with transaction(county.engine) as session:
        assert session.get(Case, case_no).pending_offer_to == county.node_id
        accept_handoff(session, county, clerk, case_no)
        accept_case(session, county, clerk, case_no)
        decide_case(session, county, clerk, case_no, "approved", "符合条件，准予登记")
        assert return_if_decided(session, county, case_no)  # offered back to the village
        licence_id = session.get(Case, case_no).licence_id
    assert licence_id
    sync_once(township)  # pulls the county's events
    sync_once(village)  # pulls them on, and takes the result home
    with transaction(village.engine) as session:
        case = session.get(Case, case_no)
        assert (case.custodian, case.pending_offer_to, case.state) == (VILLAGE_ID, None, "approved")
        deliver_case(session, village, agent, case_no, "agent", receiver="王五")
        chain = [step["node"] for step in custody_chain(session, case_no)]
    assert chain == [VILLAGE_ID, county.node_id, VILLAGE_ID]
    sync_once(village)
    sync_once(township)
    everything = _ids(county)
    for node in (township, village):
        assert _ids(node, Event.subject == f"case:{case_no}") == _ids(
            county, Event.subject == f"case:{case_no}"
        )
        assert _ids(node, Event.subject == f"licence:{licence_id}") == _ids(
            county, Event.subject == f"licence:{licence_id}"
        )
        assert _ids(node) <= everything  # the county holds every event written anywhere
    with transaction(county.engine) as session:
        assert session.get(Case, case_no).state == "delivered"
    for node in (county, township, village):
        with transaction(node.engine) as session:
            report = verify_node(session, node)
        assert report.ok, report.summary()
