"""告知承诺 verification after the result went home (the verification chain).

A 告知承诺 food licence filed at a village is decided at the county and returned to the
village, which delivers it; weeks later the county's on-site check fails. The county no
longer holds the case, so it writes the verification on the case's verification chain
``verification:{case_no}``; sync carries it to the village, where the task closes and
the licence shows as revoked. Nobody but the deciding node may write that chain.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from common.blobs.service import store_blob
from common.cases.handoff.service import accept_handoff, offer_handoff, return_if_decided
from common.cases.intake.service import accept_case, deliver_case, file_case
from common.cases.models import Case, CaseTask
from common.cases.review.projection import VERIFICATION_RECORDED, verification_subject
from common.cases.review.service import decide_case, record_opinion, record_verification
from common.db import transaction
from common.errors import Forbidden
from common.ledger.envelope import EnvelopeError
from common.ledger.models import Event
from common.ledger.verify import verify_node
from common.licences.models import Licence
from common.users.roles import Actor, Role
from simulation.network import build_network, converge, hengdong

pytestmark = pytest.mark.sqlite_only  # one SQLite file per node (the simulation harness)

FOOD_LICENCE = "11430424MB1C5953154000119001001"  # county 承诺件, 告知承诺 allowed
MARKET = "衡东县市场监督管理局"


def _company_id() -> str:
    from common.identifiers.uscc import uscc_check_char

    return "91430424MA4T5K8P2" + uscc_check_char("91430424MA4T5K8P2")


@pytest.fixture
def network(tmp_path):
    with build_network(
        tmp_path, hengdong(villages_per_township=1, townships=1), catalogue=[FOOD_LICENCE]
    ) as net:
        converge(net)
        yield net


def _decided_and_delivered(network) -> tuple[str, str]:
    county = network.root
    village_id = network.leaves[0]
    village = network[village_id]
    agent = Actor(username="agent", node_id=village_id, role=Role.VILLAGE_AGENT)
    clerk = Actor(username="window", node_id=county.node_id, role=Role.COUNTY_WINDOW_CLERK)
    market = Actor(
        username="market", node_id=county.node_id, role=Role.DEPARTMENT_REVIEWER, department=MARKET
    )
    with transaction(village.engine) as session:
        sha = store_blob(session, village, b"%PDF-1.7\n%%EOF\n", "材料.pdf").sha256
        case_no = file_case(
            session,
            village,
            agent,
            matter_code=FOOD_LICENCE,
            commitment=True,
            applicant={
                "kind": "enterprise",
                "name": "衡东县好味餐饮有限公司",
                "id_number": _company_id(),
            },
            materials=[{"position": n, "blob_sha256": sha} for n in range(4)],
        ).case_no
        offer_handoff(session, village, agent, case_no)
    converge(network)
    with transaction(county.engine) as session:
        accept_handoff(session, county, clerk, case_no)
        accept_case(session, county, clerk, case_no)
        record_opinion(session, county, market, case_no, "review/1", "agree", None)
        decide_case(session, county, market, case_no, "approved", None)
        return_if_decided(session, county, case_no)
    converge(network)
    with transaction(village.engine) as session:
        deliver_case(session, village, agent, case_no, "agent", receiver="法定代表人")
    converge(network)
    return case_no, village_id


def test_the_deciding_county_verifies_a_case_the_village_holds(network) -> None:
    county = network.root
    case_no, village_id = _decided_and_delivered(network)
    village = network[village_id]
    market = Actor(
        username="market", node_id=county.node_id, role=Role.DEPARTMENT_REVIEWER, department=MARKET
    )
    with transaction(county.engine) as session:
        case = session.get(Case, case_no)
        assert (case.custodian, case.state) == (village_id, "delivered")
        record_verification(
            session, county, market, case_no, None, False, "现场核查：未建立进货查验记录制度"
        )
    converge(network)
    for node in (county, network[network.path_up(village_id)[1]], village):
        with transaction(node.engine) as session:
            case = session.get(Case, case_no)
            task = session.get(CaseTask, f"{case_no}/verification/1")
            licence = session.get(Licence, case.licence_id)
            assert case.result_revoked and case.custodian == village_id, node.node_id
            assert (task.state, task.opinion) == ("done", "failed"), node.node_id
            assert licence.state == "revoked", node.node_id
            kinds = (
                session.execute(
                    select(Event.kind).where(Event.subject == verification_subject(case_no))
                )
                .scalars()
                .all()
            )
            assert kinds == [VERIFICATION_RECORDED], node.node_id
            assert verify_node(session, node).ok, node.node_id


def test_only_the_deciding_node_writes_the_verification_chain(network) -> None:
    county = network.root
    case_no, village_id = _decided_and_delivered(network)
    township_id = network.path_up(village_id)[1]
    township = network[township_id]
    approver = Actor(username="approver", node_id=township_id, role=Role.TOWNSHIP_APPROVER)
    with transaction(township.engine) as session, pytest.raises(Forbidden) as refused:
        record_verification(session, township, approver, case_no, None, True, None)
    assert refused.value.field == "case_no"
    # An event forged by another node onto the chain is refused by the authority policy.
    with (
        transaction(township.engine) as session,
        pytest.raises(EnvelopeError, match=r"authority\.case_decider"),
    ):
        township.append(
            session,
            verification_subject(case_no),
            VERIFICATION_RECORDED,
            {
                "task_id": f"{case_no}/verification/1",
                "passed": True,
                "comment": "",
                "by": "approver",
                "on": "2026-11-27",
                "revoked_licence": None,
            },
        )
    with transaction(county.engine) as session:
        assert session.get(CaseTask, f"{case_no}/verification/1").state == "open"
