"""Who may write what: every rule of the authority policy against forged events.

Each forgery is an event well signed by a node that may not write it: the reproductions
of issue 9 (a village provisioning a county administrator, withdrawing a county matter,
issuing a market-regulation licence) and, for every rule, the wrong authors — a village,
a township, a node entitled to something else, a revoked node. Each is refused at local
append, at ingest (dead-lettered, nothing projected) and, written straight into the
database, named by ``onetrip verify`` with its rule.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from onetrip_testing import (
    COUNTY_ID,
    TOWNSHIP_ID,
    VILLAGE_ID,
    forge_event,
    register_member,
    sign_forged,
)
from sqlalchemy import func, select
from sqlmodel import Session

from common.authority.events import POLICY, AuthorityViolation, rule_for
from common.cases.access import case_subject
from common.cases.states import ALLOWED_FROM, HANDOFF_REPLIES
from common.db import transaction
from common.identity.keys import NodeKey
from common.identity.service import revoke_node
from common.ledger.models import Event
from common.ledger.projection import projections, snapshot
from common.ledger.service import subject_head
from common.ledger.verify import verify_node
from common.node import ThisNode
from common.sync.models import DeadLetter
from common.sync.receive import receive_batch
from common.users.roles import Actor, Role

REVOKED_ID = "430424100202"
MARKET_USCC = "11430424MB1C595315"  # 衡东县市场监督管理局, as the sample catalogue names it
TOWNSHIP_LICENCE = (
    "XCJSGHXKZ",
    "114304240068183212",
)  # 乡村建设规划许可: a township-level entitlement


def test_every_event_kind_has_a_rule() -> None:
    """Every kind a projection handles or the case state machine allows has a rule."""
    declared = {kind for kinds in POLICY.values() for kind in kinds}
    handled = {kind for projection in projections() for kind in projection.handlers}
    written = set(ALLOWED_FROM) | set(HANDOFF_REPLIES) | {"case.filed"}
    assert handled | written <= declared, sorted((handled | written) - declared)
    assert rule_for("case:x", "user.provisioned") is None  # a kind on another record's subject
    assert rule_for("catalogue:x", "catalogue.batch_published") is None
    assert rule_for("case:", "case.filed") is None


# -- the network and the forgeries -----------------------------------------------------


@dataclass
class Net:
    county: ThisNode
    keys: dict[str, NodeKey]
    county_case: str  # filed and held at the county
    offered_case: str  # filed at the village, offered to the county
    licence_id: str  # issued by the county (个体工商户营业执照)

    def key(self, who: str) -> NodeKey:
        return self.county.key if who == COUNTY_ID else self.keys[who]


@pytest.fixture
def net(published: ThisNode, tree: dict[str, NodeKey], stored_pdf: str) -> Net:
    from case_fixtures import SOLE_TRADER, file_case, member_node, run

    from common.cases.handoff.service import offer_handoff
    from common.cases.intake import service as service_intake
    from common.cases.review import service as service_review
    from common.ratings.service import rate_case

    county = published
    keys = dict(tree)
    keys[REVOKED_ID] = register_member(county, REVOKED_ID, "已注销村")
    with transaction(county.engine) as session:
        revoke_node(session, county, Actor.node_system(COUNTY_ID), REVOKED_ID, "设备丢失")
    clerk = Actor("clerk", COUNTY_ID, Role.COUNTY_WINDOW_CLERK)
    county_case = file_case(county, clerk)
    with transaction(county.engine) as session:
        from common.catalog.service import get_published

        required = get_published(session, SOLE_TRADER).to_matter().materials
    materials = [
        {"position": i, "blob_sha256": stored_pdf} for i, m in enumerate(required) if m.mandatory
    ]
    decided = file_case(county, clerk, SOLE_TRADER, materials=materials)
    run(county, service_intake.accept_case, clerk, decided)
    run(county, service_review.decide_case, clerk, decided, "approved", None)
    run(county, service_intake.deliver_case, clerk, decided, "electronic")
    run(
        county, rate_case, clerk, decided, 5, "办事太慢", True
    )  # a bad rating: the county rectifies
    village = member_node(county, VILLAGE_ID, "village", tree[VILLAGE_ID])
    agent = Actor("agent", VILLAGE_ID, Role.VILLAGE_AGENT)
    offered = file_case(village, agent)
    run(village, offer_handoff, agent, offered)
    with transaction(county.engine) as session:
        from common.cases.models import Case

        licence_id = session.get(Case, decided).licence_id
        assert (
            session.get(Case, offered).pending_offer_to == COUNTY_ID
        )  # a county matter goes up to the county
    assert licence_id
    return Net(county, keys, county_case, offered, licence_id)


def _user(net: Net) -> tuple[str, dict[str, Any]]:
    return f"user:{COUNTY_ID}:pwned", {
        "node_id": COUNTY_ID,
        "username": "pwned",
        "display_name": "pwned",
        "role": "county_admin",
        "department": None,
        "password_hash": "x",
        "password_version": 1,
        "active": True,
    }


def _withdrawal(net: Net) -> tuple[str, dict[str, Any]]:
    return "catalogue", {
        "code": "11430424MB1C5953154000119003001",
        "reason": "伪造",
        "withdrawn_on": "2026-12-01",
    }


def _filing(net: Net) -> tuple[str, dict[str, Any]]:
    case_no = f"{COUNTY_ID}-20261201-0999"  # numbered as the county's, written by someone else
    return case_subject(case_no), {
        "case_no": case_no,
        "origin_node": COUNTY_ID,
        "matter": {},
        "applicant": {},
    }


def _acceptance(net: Net) -> tuple[str, dict[str, Any]]:
    return case_subject(net.county_case), {
        "accepted_on": "2026-12-01",
        "window": "综合窗口",
        "limit_days": 20,
        "deadline": "2026-12-29",
        "accepted_by": "x",
        "tasks": [],
    }


def _offer_answer(net: Net) -> tuple[str, dict[str, Any]]:
    return case_subject(net.offered_case), {
        "offer_seq": 2,
        "accepted_by": "x",
        "accepted_on": "2026-12-01",
    }


def _licence(type_code: str, uscc: str) -> Callable[[Net], tuple[str, dict[str, Any]]]:
    def make(net: Net) -> tuple[str, dict[str, Any]]:
        from common.identifiers import make_licence_id

        licence_id = make_licence_id(type_code, issuer_uscc=uscc, serial="2026999999", version=1)
        return f"licence:{licence_id}", {
            "licence_id": licence_id,
            "type_code": type_code,
            "name": "营业执照",
            "holder": {"kind": "person", "name": "张三", "id_number": "430424198001011238"},
            "issuer": {"node": None, "body": "衡东县市场监督管理局", "uscc": uscc},
            "valid_from": "2026-12-01",
            "valid_to": None,
            "data": {},
            "case_no": None,
        }

    return make


def _revocation(net: Net) -> tuple[str, dict[str, Any]]:
    return f"licence:{net.licence_id}", {
        "licence_id": net.licence_id,
        "reason": "伪造",
        "revoked_on": "2026-12-01",
        "case_no": None,
    }


def _verification(net: Net) -> tuple[str, dict[str, Any]]:
    from common.cases.models import Case

    with transaction(net.county.engine) as session:
        case_no = session.execute(
            select(Case.case_no).where(Case.licence_id == net.licence_id)
        ).scalar_one()
    return f"verification:{case_no}", {
        "task_id": f"{case_no}/verification/1",
        "passed": False,
        "comment": "x",
        "by": "x",
        "on": "2026-12-01",
    }


def _rectification(net: Net) -> tuple[str, dict[str, Any]]:
    case_no = _verification(net)[0].partition(":")[2]
    return f"rectification:{case_no}", {
        "task_id": f"{case_no}/rectification/1",
        "by": "x",
        "on": "2026-12-01",
        "result": "伪造",
        "passed": True,
        "comment": None,
    }


def _supervision_notice(net: Net) -> tuple[str, dict[str, Any]]:
    """A 督办 on the county's case by a node below it (the author goes into the id)."""
    return f"supervision:{net.county_case}:AUTHOR:1", {
        "case_no": net.county_case,
        "to": COUNTY_ID,
        "message": "伪造督办",
        "reply_by": "2099-01-01",
        "by": "x",
        "on": "2026-12-01",
    }


def _supervision_answer(net: Net) -> tuple[str, dict[str, Any]]:
    """An answer to the county auditor's 督办 addressed to the county itself."""
    from datetime import date

    from common.supervision.service import issue_supervision, list_supervisions

    with transaction(net.county.engine) as session:
        notices = list_supervisions(session, net.county, "issued", "all", date(2026, 12, 1))
        if not notices:
            auditor = Actor(username="auditor", node_id=COUNTY_ID, role=Role.AUDITOR)
            event = issue_supervision(
                session, net.county, auditor, net.county_case, "请加快办理", date(2099, 1, 1)
            )
            subject = event.subject
        else:
            subject = f"supervision:{notices[0].notice_id}"
    return subject, {"answer": "伪造答复", "by": "x", "on": "2026-12-01"}


@dataclass(frozen=True)
class Forgery:
    name: str
    kind: str
    make: Callable[[Net], tuple[str, dict[str, Any]]]
    authors: tuple[str, ...]  # wrong authors to try
    rule: str  # the code each is refused with (a revoked node: authority.registered_node)


FORGERIES = [
    Forgery(
        "county administrator provisioned",
        "user.provisioned",
        _user,
        (VILLAGE_ID, TOWNSHIP_ID),
        "authority.root",
    ),
    Forgery(
        "county matter withdrawn",
        "catalogue.matter_withdrawn",
        _withdrawal,
        (VILLAGE_ID, TOWNSHIP_ID),
        "authority.root",
    ),
    Forgery(
        "case filed under another node's number",
        "case.filed",
        _filing,
        (VILLAGE_ID, TOWNSHIP_ID),
        "authority.filer",
    ),
    Forgery(
        "case accepted by a node that does not hold it",
        "case.accepted",
        _acceptance,
        (VILLAGE_ID, TOWNSHIP_ID),
        "authority.custodian",
    ),
    Forgery(
        "handoff accepted by a node it was not offered to",
        "handoff.accepted",
        _offer_answer,
        (TOWNSHIP_ID,),
        "authority.offer_target",
    ),
    Forgery(
        "market licence by a village or township",
        "licence.issued",
        _licence("YYZZ", MARKET_USCC),
        (VILLAGE_ID, TOWNSHIP_ID),
        "authority.licence_issuer",
    ),
    # The county is entitled to county licences, not to a township's 乡村建设规划许可.
    Forgery(
        "township licence by the county",
        "licence.issued",
        _licence(*TOWNSHIP_LICENCE),
        (COUNTY_ID,),
        "authority.licence_issuer",
    ),
    Forgery(
        "licence revoked by a node that did not issue it",
        "licence.revoked",
        _revocation,
        (VILLAGE_ID, TOWNSHIP_ID),
        "authority.licence_revoker",
    ),
    Forgery(
        "rectification closed by a node not responsible for it",
        "rectification.closed",
        _rectification,
        (VILLAGE_ID, TOWNSHIP_ID),
        "authority.rectifier",
    ),
    Forgery(
        "告知承诺 verification by a node that did not decide",
        "verification.recorded",
        _verification,
        (VILLAGE_ID, TOWNSHIP_ID),
        "authority.case_decider",
    ),
    Forgery(
        "督办 of a county case by a node below it",
        "supervision.issued",
        _supervision_notice,
        (VILLAGE_ID, TOWNSHIP_ID),
        "authority.supervisor",
    ),
    Forgery(
        "督办 answered by a node it is not addressed to",
        "supervision.answered",
        _supervision_answer,
        (VILLAGE_ID, TOWNSHIP_ID),
        "authority.addressee",
    ),
]
CASES = [pytest.param(f, id=f.name.replace(" ", "-")) for f in FORGERIES]


def _body(forgery: Forgery, net: Net, author: str) -> tuple[str, dict[str, Any]]:
    subject, body = forgery.make(net)
    subject = subject.replace("AUTHOR", author)  # a record whose id names its author
    if forgery.kind == "licence.issued":
        body = {**body, "issuer": {**body["issuer"], "node": author}}
    return subject, body


def _footprint(session: Session) -> tuple[int, dict[str, list[tuple]]]:
    return session.execute(select(func.count()).select_from(Event)).scalar_one(), snapshot(session)


@pytest.mark.parametrize("forgery", CASES)
def test_forged_events_are_refused_at_append(net: Net, forgery: Forgery) -> None:
    from case_fixtures import member_node

    for author in (*forgery.authors, REVOKED_ID):
        node = (
            net.county
            if author == COUNTY_ID
            else member_node(net.county, author, "village", net.key(author))
        )
        subject, body = _body(forgery, net, author)
        with transaction(net.county.engine) as session:
            before = _footprint(session)
        with (
            pytest.raises(AuthorityViolation) as refused,
            transaction(net.county.engine) as session,
        ):
            node.append(session, subject, forgery.kind, body)
        expected = "authority.registered_node" if author == REVOKED_ID else forgery.rule
        assert refused.value.code == expected, (author, refused.value.message)
        with transaction(net.county.engine) as session:
            assert _footprint(session) == before


def _forged_for_ingest(session: Session, net: Net, forgery: Forgery, author: str) -> bytes:
    """Signed by ``author`` at the chain positions the county would accept."""
    subject, body = _body(forgery, net, author)
    last = session.execute(
        select(Event.aseq, Event.id)
        .where(Event.author == author)
        .order_by(Event.aseq.desc())
        .limit(1)
    ).first()
    head = subject_head(session, subject)
    return sign_forged(
        net.key(author),
        net.county.network_id,
        subject,
        forgery.kind,
        body,
        aseq=(last[0] + 1) if last else 1,
        aprev=last[1] if last else None,
        sseq=head.seq + 1,
        sprev=head.id,
    ).raw


@pytest.mark.parametrize("forgery", CASES)
def test_forged_events_are_dead_lettered_at_ingest(net: Net, forgery: Forgery) -> None:
    for author in forgery.authors:
        if author == COUNTY_ID:
            continue  # the county's own events are appended, not received
        with transaction(net.county.engine) as session:
            raw = _forged_for_ingest(session, net, forgery, author)
            before = _footprint(session)
        with transaction(net.county.engine) as session:
            result = receive_batch(session, net.county, TOWNSHIP_ID, [raw])
        assert [r["code"] for r in result.rejected] == [forgery.rule], (author, result.rejected)
        assert result.stored == 0
        with transaction(net.county.engine) as session:
            assert _footprint(session) == before  # nothing stored, nothing projected
            letter = (
                session.execute(select(DeadLetter).order_by(DeadLetter.id.desc())).scalars().first()
            )
            assert letter.code == forgery.rule and "越权" in letter.reason


@pytest.mark.parametrize("forgery", CASES)
def test_verify_names_a_forged_event_written_straight_into_the_database(
    net: Net, forgery: Forgery
) -> None:
    author = forgery.authors[0]
    with transaction(net.county.engine) as session:
        subject, body = _body(forgery, net, author)
        event = forge_event(
            session, net.key(author), net.county.network_id, subject, forgery.kind, body
        )
    with transaction(net.county.engine) as session:
        report = verify_node(session, net.county)
    assert not report.ok
    first = report.first_broken
    assert first is not None and (first.code, first.event_id) == (forgery.rule, event.id), (
        report.summary()
    )
    assert forgery.rule in report.summary() and event.id in report.summary()


def test_a_forged_licence_verifies_as_invalid_naming_the_entitlement(net: Net) -> None:
    """Public verification asks the same rule: well signed by a village, not entitled."""
    from common.licences.verification import verify_licence

    subject, body = _body(
        next(f for f in FORGERIES if f.name.startswith("market licence")), net, VILLAGE_ID
    )
    raw = sign_forged(
        net.key(VILLAGE_ID), net.county.network_id, subject, "licence.issued", body
    ).raw
    with transaction(net.county.engine) as session:
        result = verify_licence(session, raw, network_id=net.county.network_id)
        genuine = verify_licence(session, net.licence_id, network_id=net.county.network_id)
    assert result.status == "invalid" and result.checks["issuer_entitled"] is False, result
    assert any("无权颁发" in reason for reason in result.reasons)
    assert genuine.status == "valid" and genuine.checks["issuer_entitled"] is True, genuine.reasons
