"""The two-phase custody handoff: escalation, acceptance, return and delivery, over the
county, township and village nodes sharing the root's database (no sync needed: each
node writes with its own key, so the chain of custody is signed as in the field).

After every event the case row is checked: exactly one custodian, never the node an
offer is open to, and the same node the signed events prove.
"""

from __future__ import annotations

from typing import Any

import pytest
from onetrip_testing import COUNTY_ID, TOWNSHIP_ID, VILLAGE_ID, forge_event, register_member
from sqlalchemy import select

from common.authority.events import AuthorityViolation
from common.cases.access import case_subject
from common.cases.handoff import service as handoff
from common.cases.handoff.projection import CustodyViolation
from common.cases.intake import service as intake
from common.cases.models import Case, CaseCustody
from common.cases.review import service as review
from common.db import transaction
from common.errors import Conflict, DomainError, Forbidden
from common.identity.keys import load_public_key
from common.identity.models import RegistryKey
from common.identity.registry import RegistryKeyResolver
from common.identity.service import revoke_node
from common.ledger.envelope import parse_event, verify_signature
from common.ledger.models import Event
from common.ledger.projection import apply_event, clear_projections, iter_events, snapshot
from common.node import ThisNode
from common.users.roles import Actor

OTHER_VILLAGE_ID = "430424100202"


@pytest.fixture
def nodes(published: ThisNode, township: ThisNode, village: ThisNode) -> dict[str, ThisNode]:
    return {COUNTY_ID: published, TOWNSHIP_ID: township, VILLAGE_ID: village}


def check_custody(nodes: dict[str, ThisNode], case_no: str) -> Case:
    """Exactly one node holds the case, and the signed events say it is that one."""
    with transaction(nodes[COUNTY_ID].engine) as session:
        case = session.get(Case, case_no)
        assert case is not None
        holders = [node_id for node_id in nodes if case.custodian == node_id]
        assert holders == [case.custodian], "custody held by no known node"
        assert case.pending_offer_to != case.custodian
        assert (case.pending_offer_to is None) == (case.pending_offer_seq is None)
        chain = handoff.custody_chain(session, case_no)
        assert chain[-1]["node"] == case.custodian
        rows = (
            session.execute(
                select(CaseCustody).where(CaseCustody.case_no == case_no).order_by(CaseCustody.seq)
            )
            .scalars()
            .all()
        )
        assert [
            (r.seq, r.node_id, r.from_sseq, r.offer_event_id, r.accept_event_id) for r in rows
        ] == [
            (n, s["node"], s["since_sseq"], s["offer_event_id"], s["accept_event_id"])
            for n, s in enumerate(chain[1:], start=2)
        ]
        session.expunge(case)
        return case


def county_matter_at_village(village: ThisNode, actors: dict[str, Actor], k: Any, pdf: str) -> str:
    """食品经营许可 (county 承诺件) filed by the village agent with every required material."""
    return k.file(
        village,
        actors["agent"],
        k.FOOD_LICENCE,
        materials=[{"position": i, "blob_sha256": pdf} for i in range(5)],
    )


def test_escalate_decide_return_and_deliver(nodes, actors, k, stored_pdf):
    county, village = nodes[COUNTY_ID], nodes[VILLAGE_ID]
    case_no = county_matter_at_village(village, actors, k, stored_pdf)
    assert check_custody(nodes, case_no).custodian == VILLAGE_ID

    offer = k.do(village, handoff.offer_handoff, actors["agent"], case_no)
    assert offer.body["to"] == COUNTY_ID  # county matter: directly to the county
    assert offer.body["reason"] == "escalate" and offer.body["head_sseq"] == 1
    case = check_custody(nodes, case_no)
    assert (case.custodian, case.pending_offer_to, case.pending_offer_seq) == (
        VILLAGE_ID,
        COUNTY_ID,
        2,
    )
    assert k.do(county, handoff.settle_custody, case_no) is None  # escalations wait for staff

    with transaction(county.engine) as session:
        inbox = handoff.handoff_inbox(session, county)
        assert handoff.handoff_inbox(session, nodes[TOWNSHIP_ID]) == []
    assert [(i["case_no"], i["from_node"], i["reason"], i["offer_seq"]) for i in inbox] == [
        (case_no, VILLAGE_ID, "escalate", 2)
    ]
    assert k.PERSON_ID not in repr(inbox)

    k.do(county, handoff.accept_handoff, actors["clerk"], case_no)
    case = check_custody(nodes, case_no)
    assert (case.custodian, case.pending_offer_to) == (COUNTY_ID, None)
    k.do(county, intake.accept_case, actors["clerk"], case_no)  # 受理 at the handling level
    check_custody(nodes, case_no)
    k.do(county, review.record_opinion, actors["reviewer"], case_no, "review/1", "agree", "")
    check_custody(nodes, case_no)
    assert (
        k.do(village, handoff.settle_custody, case_no) is None
    )  # nothing to settle at the village yet
    k.do(county, review.decide_case, actors["reviewer"], case_no, "approved", "")
    check_custody(nodes, case_no)

    assert k.do(county, handoff.settle_custody, case_no) == "offered"  # the result goes home
    case = check_custody(nodes, case_no)
    assert (case.state, case.custodian, case.pending_offer_to) == (
        "approved",
        COUNTY_ID,
        VILLAGE_ID,
    )
    assert k.do(county, handoff.return_if_decided, case_no) is None  # already offered
    assert k.do(county, handoff.settle_custody, case_no) is None

    assert k.do(village, handoff.settle_custody, case_no) == "accepted"
    case = check_custody(nodes, case_no)
    assert (case.custodian, case.pending_offer_to) == (VILLAGE_ID, None)
    assert k.do(village, handoff.settle_custody, case_no) is None  # home: nothing more to do

    k.do(village, intake.deliver_case, actors["agent"], case_no, "agent")
    case = check_custody(nodes, case_no)
    assert (case.state, case.custodian) == ("delivered", VILLAGE_ID)
    with transaction(county.engine) as session:
        chain = handoff.custody_chain(session, case_no)
    assert [(s["node"], s["since_sseq"]) for s in chain] == [
        (VILLAGE_ID, 1),
        (COUNTY_ID, 3),
        (VILLAGE_ID, 8),
    ]


def test_nothing_changes_the_case_while_an_offer_is_open(nodes, actors, k, stored_pdf):
    county, township, village = nodes[COUNTY_ID], nodes[TOWNSHIP_ID], nodes[VILLAGE_ID]
    case_no = county_matter_at_village(village, actors, k, stored_pdf)
    k.do(village, handoff.offer_handoff, actors["agent"], case_no)
    attempts = [
        (village, intake.withdraw_case, actors["agent"], case_no, "不办了"),
        (village, intake.record_visit, actors["agent"], case_no),
        (village, handoff.offer_handoff, actors["agent"], case_no),
        (
            county,
            intake.accept_case,
            actors["clerk"],
            case_no,
        ),  # the target must accept the handoff first
        (township, intake.record_visit, actors["tclerk"], case_no),
    ]
    for node, action, actor, no, *args in attempts:
        kwargs = (
            {"who": "applicant", "place": "村", "purpose": "询问"}
            if action is intake.record_visit
            else {}
        )
        with pytest.raises(Conflict) as refused:
            k.do(node, action, actor, no, *args, **kwargs)
        assert refused.value.code == "case.handoff_pending", action.__name__
    with pytest.raises(Forbidden) as own:
        k.do(village, handoff.accept_handoff, actors["agent"], case_no)
    assert own.value.code == "handoff.own_offer"
    case = check_custody(nodes, case_no)
    assert (case.version, case.pending_offer_seq) == (2, 2)


def test_decline_returns_custody_to_the_offerer(nodes, actors, k, stored_pdf):
    county, village = nodes[COUNTY_ID], nodes[VILLAGE_ID]
    case_no = county_matter_at_village(village, actors, k, stored_pdf)
    k.do(village, handoff.offer_handoff, actors["agent"], case_no)
    with pytest.raises(DomainError) as no_reason:
        k.do(county, handoff.decline_handoff, actors["clerk"], case_no, "  ")
    assert no_reason.value.field == "reason"
    declined = k.do(county, handoff.decline_handoff, actors["clerk"], case_no, "材料需先在村核实")
    assert declined.body["offer_seq"] == 2 and declined.author == COUNTY_ID
    case = check_custody(nodes, case_no)
    assert (case.custodian, case.pending_offer_to, case.state) == (VILLAGE_ID, None, "filed")
    with pytest.raises(Conflict) as none_open:
        k.do(county, handoff.accept_handoff, actors["clerk"], case_no)
    assert none_open.value.code == "handoff.no_offer"
    k.do(
        village,
        intake.record_visit,
        actors["agent"],
        case_no,
        who="agent",
        place="村",
        purpose="核实",
    )
    check_custody(nodes, case_no)
    with transaction(county.engine) as session:
        assert [s["node"] for s in handoff.custody_chain(session, case_no)] == [VILLAGE_ID]


def test_only_the_target_node_and_its_intake_staff_answer(nodes, actors, k, stored_pdf):
    county, township, village = nodes[COUNTY_ID], nodes[TOWNSHIP_ID], nodes[VILLAGE_ID]
    case_no = county_matter_at_village(village, actors, k, stored_pdf)
    k.do(village, handoff.offer_handoff, actors["agent"], case_no)
    for node, actor in ((township, actors["tclerk"]), (township, Actor.node_system(TOWNSHIP_ID))):
        for action, args in (
            (handoff.accept_handoff, ()),
            (handoff.decline_handoff, ("不是我们的",)),
        ):
            with pytest.raises(Forbidden) as stranger:
                k.do(node, action, actor, case_no, *args)
            assert stranger.value.code == "handoff.not_target"
    with pytest.raises(Forbidden) as wrong_role:
        k.do(county, handoff.accept_handoff, actors["reviewer"], case_no)
    assert wrong_role.value.code == "auth.role"
    assert check_custody(nodes, case_no).pending_offer_to == COUNTY_ID
    k.do(county, handoff.accept_handoff, Actor.node_system(COUNTY_ID), case_no)
    assert check_custody(nodes, case_no).custodian == COUNTY_ID


def test_targets_follow_the_tree_and_the_handling_level(nodes, actors, k, stored_pdf):
    county, township, village = nodes[COUNTY_ID], nodes[TOWNSHIP_ID], nodes[VILLAGE_ID]
    agent = actors["agent"]
    register_member(county, OTHER_VILLAGE_ID, "邻村代办点")
    township_matter = k.file(village, agent, k.MINIMUM_LIVING)
    refusals = [
        ({"to": COUNTY_ID}, "handoff.target_not_allowed"),  # above the handling level
        ({"to": OTHER_VILLAGE_ID}, "handoff.target_not_allowed"),  # not on the path
        ({"to": "430424999999"}, "handoff.target_unknown"),
        ({"to": VILLAGE_ID}, "handoff.target_self"),
        ({"reason": "return"}, "handoff.reason_mismatch"),
    ]
    for kwargs, code in refusals:
        with pytest.raises(DomainError) as refused:
            k.do(village, handoff.offer_handoff, agent, township_matter, **kwargs)
        assert (refused.value.code, refused.value.status_code) == (code, 400)
        assert refused.value.field == ("reason" if "reason" in kwargs else "to")
    assert k.do(village, handoff.offer_handoff, agent, township_matter).body["to"] == TOWNSHIP_ID

    # A county matter may stop at the township, which escalates it again.
    county_matter = county_matter_at_village(village, actors, k, stored_pdf)
    k.do(village, handoff.offer_handoff, agent, county_matter, to=TOWNSHIP_ID, reason="escalate")
    k.do(township, handoff.accept_handoff, actors["tapprover"], county_matter)
    assert (
        k.do(township, handoff.offer_handoff, actors["tclerk"], county_matter).body["to"]
        == COUNTY_ID
    )
    k.do(county, handoff.accept_handoff, actors["clerk"], county_matter)
    with transaction(county.engine) as session:
        chain = handoff.custody_chain(session, county_matter)
    assert [s["node"] for s in chain] == [VILLAGE_ID, TOWNSHIP_ID, COUNTY_ID]
    check_custody(nodes, county_matter)

    # A matter handled here needs no handoff; an accepted case cannot be handed off.
    with pytest.raises(Conflict) as here:
        k.do(village, handoff.offer_handoff, agent, k.file(village, agent, k.VILLAGE_PENSION))
    assert here.value.code == "handoff.not_needed"
    k.do(county, intake.accept_case, actors["clerk"], county_matter)
    with pytest.raises(Conflict) as accepted:
        k.do(county, handoff.offer_handoff, actors["clerk"], county_matter, to=VILLAGE_ID)
    assert accepted.value.code == "case.illegal_transition"
    # Only the tier's intake role escalates.
    with pytest.raises(Forbidden):
        k.do(
            township,
            handoff.offer_handoff,
            actors["tapprover"],
            k.file(township, actors["tclerk"], k.FOOD_LICENCE),
        )


def test_a_decided_case_stays_when_its_origin_node_is_revoked(nodes, actors, k, stored_pdf):
    county, village = nodes[COUNTY_ID], nodes[VILLAGE_ID]
    case_no = k.file(
        village,
        actors["agent"],
        k.SOLE_TRADER,
        materials=[{"position": i, "blob_sha256": stored_pdf} for i in range(3)],
    )
    k.do(village, handoff.offer_handoff, actors["agent"], case_no)
    k.do(county, handoff.accept_handoff, actors["clerk"], case_no)
    k.do(county, intake.accept_case, actors["clerk"], case_no)
    k.do(
        county, review.decide_case, actors["clerk"], case_no, "approved", ""
    )  # 即办件 at the window
    k.do(county, revoke_node, Actor.node_system(COUNTY_ID), VILLAGE_ID, "设备丢失")
    assert k.do(county, handoff.settle_custody, case_no) is None  # skipped, not an error for sync
    with pytest.raises(DomainError) as refused:
        k.do(county, handoff.offer_handoff, actors["clerk"], case_no)
    assert (refused.value.code, refused.value.field) == ("handoff.target_unknown", "to")
    assert check_custody(nodes, case_no).custodian == COUNTY_ID


def test_a_decision_at_the_county_is_returned_and_accepted_over_the_api(
    nodes, actors, k, stored_pdf, staff_client
):
    county, village = nodes[COUNTY_ID], nodes[VILLAGE_ID]
    agent_api, clerk_api = staff_client(village, "agent"), staff_client(county, "clerk")
    case_no = k.file(
        village,
        actors["agent"],
        k.SOLE_TRADER,
        materials=[{"position": i, "blob_sha256": stored_pdf} for i in range(3)],
    )

    bad = agent_api.post(f"/api/v1/cases/{case_no}/handoff", json={"to": "430424999999"})
    assert (bad.status_code, bad.json()["code"], bad.json()["field"]) == (
        400,
        "handoff.target_unknown",
        "to",
    )
    offered = agent_api.post(f"/api/v1/cases/{case_no}/handoff", json={})
    assert offered.status_code == 201, offered.text
    assert (
        offered.json()["pending_offer_to"] == COUNTY_ID
        and offered.json()["body"]["reason"] == "escalate"
    )
    frozen = agent_api.post(f"/api/v1/cases/{case_no}/withdraw", json={"reason": "不办了"})
    assert (frozen.status_code, frozen.json()["code"]) == (409, "case.handoff_pending")

    inbox = clerk_api.get("/api/v1/handoffs/inbox")
    assert inbox.status_code == 200 and [i["case_no"] for i in inbox.json()] == [case_no]
    assert k.PERSON_ID not in inbox.text
    assert agent_api.get("/api/v1/handoffs/inbox").json() == []
    accepted = clerk_api.post(f"/api/v1/cases/{case_no}/handoff/accept")
    assert accepted.status_code == 200 and accepted.json()["custodian"] == COUNTY_ID

    k.do(county, intake.accept_case, actors["clerk"], case_no)
    k.do(
        county, review.decide_case, actors["clerk"], case_no, "approved", ""
    )  # 即办件 at the window
    returned = k.do(county, handoff.return_if_decided, case_no)
    assert returned.body["to"] == VILLAGE_ID and returned.body["reason"] == "return"
    declined = agent_api.post(
        f"/api/v1/cases/{case_no}/handoff/decline", json={"reason": "请先补盖公章"}
    )
    assert declined.status_code == 200 and declined.json()["custodian"] == COUNTY_ID
    assert declined.json()["pending_offer_to"] is None
    again = clerk_api.post(f"/api/v1/cases/{case_no}/handoff", json={"reason": "return"})
    assert again.status_code == 201 and again.json()["body"]["to"] == VILLAGE_ID
    home = agent_api.post(f"/api/v1/cases/{case_no}/handoff/accept")
    assert home.status_code == 200 and home.json()["custodian"] == VILLAGE_ID
    check_custody(nodes, case_no)

    custody = clerk_api.get(f"/api/v1/cases/{case_no}/custody")
    assert custody.status_code == 200
    assert [(s["node"], s["offer_event_id"] is None) for s in custody.json()["chain"]] == [
        (VILLAGE_ID, True),
        (COUNTY_ID, False),
        (VILLAGE_ID, False),
    ]


def test_the_chain_of_custody_is_proved_by_registry_signatures(nodes, actors, k, stored_pdf):
    county, township, village = nodes[COUNTY_ID], nodes[TOWNSHIP_ID], nodes[VILLAGE_ID]
    case_no = county_matter_at_village(village, actors, k, stored_pdf)
    k.do(village, handoff.offer_handoff, actors["agent"], case_no)
    k.do(county, handoff.accept_handoff, actors["clerk"], case_no)
    resolver = RegistryKeyResolver(county.settings.root_fingerprint or "", allow_revoked=True)
    with transaction(county.engine) as session:
        chain = handoff.prove_custody(session, county.network_id, case_no, resolver)
        assert [s["node"] for s in chain] == [VILLAGE_ID, COUNTY_ID]
        # Independently: the offer is the village's signature, the acceptance the county's.
        for event_id, signer in (
            (chain[1]["offer_event_id"], VILLAGE_ID),
            (chain[1]["accept_event_id"], COUNTY_ID),
        ):
            raw = session.execute(select(Event.raw).where(Event.id == event_id)).scalar_one()
            event = parse_event(county.network_id, raw)
            key = (
                session.execute(select(RegistryKey).where(RegistryKey.node_id == signer))
                .scalars()
                .one()
            )
            assert event.author == signer
            verify_signature(county.network_id, event, load_public_key(key.public_key))

    # Events past the custody rules (here by the township, bypassing the action
    # functions) are refused by the authority policy at append...
    visit = {
        "seq": 1,
        "who": "staff",
        "place": "镇",
        "purpose": "越权",
        "visited_on": "2026-01-01",
        "counts": False,
        "over_limit": False,
        "over_limit_reason": None,
    }
    for kind, body, rule in (
        (
            "handoff.accepted",
            {"offer_seq": 2, "accepted_by": "x", "accepted_on": "2026-01-01"},
            "authority.offer_target",
        ),
        ("case.visit_recorded", visit, "authority.custodian"),
    ):
        with pytest.raises(AuthorityViolation) as refused, transaction(township.engine) as session:
            township.append(session, case_subject(case_no), kind, body)
        assert refused.value.code == rule
    # ...and one written straight into the database makes the chain unprovable.
    with transaction(township.engine) as session:
        forge_event(
            session,
            township.key,
            township.network_id,
            case_subject(case_no),
            "case.visit_recorded",
            visit,
        )
        with pytest.raises(CustodyViolation):
            handoff.custody_chain(session, case_no)
        session.rollback()
    check_custody(nodes, case_no)


def test_the_handoff_projection_rebuilds_identically(nodes, actors, k, stored_pdf):
    county, village = nodes[COUNTY_ID], nodes[VILLAGE_ID]
    done = county_matter_at_village(village, actors, k, stored_pdf)
    k.do(village, handoff.offer_handoff, actors["agent"], done)
    k.do(county, handoff.accept_handoff, actors["clerk"], done)
    declined = county_matter_at_village(village, actors, k, stored_pdf)
    k.do(village, handoff.offer_handoff, actors["agent"], declined)
    k.do(county, handoff.decline_handoff, actors["clerk"], declined, "退回")
    k.do(
        village,
        handoff.offer_handoff,
        actors["agent"],
        county_matter_at_village(village, actors, k, stored_pdf),
    )
    with transaction(county.engine) as session:
        before = snapshot(session)
        assert len(before["case_custody"]) == 1
        clear_projections(session)
        for raw in iter_events(session):
            apply_event(session, parse_event(county.network_id, raw))
        assert snapshot(session) == before
        session.rollback()
