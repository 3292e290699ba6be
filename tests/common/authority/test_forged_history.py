"""Random histories with forged authorship change no projection (hypothesis).

A history interleaves legitimate work at the county (filing, accepting and offering
cases, each through its action function) with forged events: a random event kind of the
policy, signed by a random wrong author (the township, the village, a revoked node), at
the chain positions the county would accept, received as a sync batch. Every forgery is
refused with an ``authority.*`` code and leaves the projections and the ledger exactly
as they were; the county still verifies at the end.
"""

from __future__ import annotations

import itertools

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from onetrip_testing import COUNTY_ID, TOWNSHIP_ID, VILLAGE_ID, register_member, sign_forged
from sqlalchemy import func, select

from common.cases.access import case_subject
from common.db import transaction
from common.identity.service import revoke_node
from common.ledger.models import Event
from common.ledger.projection import snapshot
from common.ledger.service import subject_head
from common.ledger.verify import verify_node
from common.node import ThisNode
from common.sync.receive import receive_batch
from common.users.roles import Actor, Role

REVOKED_ID = "430424100202"
FORGERS = (TOWNSHIP_ID, VILLAGE_ID, REVOKED_ID)
# A forged kind with a body the rule can read; the rule refuses it for any of FORGERS.
FORGED_KINDS = {
    "user.provisioned": lambda case_no: (f"user:{COUNTY_ID}:x", {"role": "county_admin"}),
    "catalogue.matter_withdrawn": lambda case_no: ("catalogue", {"code": "x", "reason": "x"}),
    "calendar.year_published": lambda case_no: ("calendar", {"year": 2027, "days": []}),
    "case.accepted": lambda case_no: (
        case_subject(case_no),
        {"accepted_on": "2026-12-01", "tasks": []},
    ),
    "case.decided": lambda case_no: (
        case_subject(case_no),
        {"decision": "approved", "licence_id": None},
    ),
    "handoff.offered": lambda case_no: (case_subject(case_no), {"to": TOWNSHIP_ID, "head_sseq": 1}),
    "licence.issued": lambda case_no: (
        "licence:1.2.156.3005.2.YYZZ.11430424MB1C595315.2026000001.001.X",
        {
            "licence_id": "1.2.156.3005.2.YYZZ.11430424MB1C595315.2026000001.001.X",
            "type_code": "YYZZ",
            "issuer": {"node": None, "uscc": "11430424MB1C595315"},
        },
    ),
}
STEP = st.one_of(
    st.tuples(st.just("file"), st.none(), st.none()),
    st.tuples(st.just("accept"), st.none(), st.none()),
    st.tuples(st.just("forge"), st.sampled_from(sorted(FORGED_KINDS)), st.sampled_from(FORGERS)),
)


@pytest.fixture
def county(published: ThisNode, tree: dict) -> tuple[ThisNode, dict]:
    keys = dict(tree)
    keys[REVOKED_ID] = register_member(published, REVOKED_ID, "已注销村")
    with transaction(published.engine) as session:
        revoke_node(session, published, Actor.node_system(COUNTY_ID), REVOKED_ID, "设备丢失")
    return published, keys


def _forged_raw(session, node: ThisNode, keys: dict, kind: str, author: str, case_no: str) -> bytes:  # type: ignore[no-untyped-def]
    subject, body = FORGED_KINDS[kind](case_no)
    if kind == "licence.issued":
        body = {**body, "issuer": {**body["issuer"], "node": author}}
    last = session.execute(
        select(Event.aseq, Event.id)
        .where(Event.author == author)
        .order_by(Event.aseq.desc())
        .limit(1)
    ).first()
    head = subject_head(session, subject)
    return sign_forged(
        keys[author],
        node.network_id,
        subject,
        kind,
        body,
        aseq=(last[0] + 1) if last else 1,
        aprev=last[1] if last else None,
        sseq=head.seq + 1,
        sprev=head.id,
    ).raw


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(history=st.lists(STEP, min_size=3, max_size=10))
def test_forged_authorship_changes_no_projection(
    county: tuple[ThisNode, dict], history: list
) -> None:
    from case_fixtures import FOOD_LICENCE, applicant

    from common.cases.intake import service as service_intake

    node, keys = county
    clerk = Actor("clerk", COUNTY_ID, Role.COUNTY_WINDOW_CLERK)
    serial = itertools.count()
    cases: list[str] = []
    for action, kind, author in history:
        if action == "file":
            with transaction(node.engine) as session:
                cases.append(
                    service_intake.file_case(
                        session,
                        node,
                        clerk,
                        matter_code=FOOD_LICENCE,
                        materials=[],
                        commitment=True,
                        applicant=applicant(name=f"申请人{next(serial)}"),
                    ).case_no
                )
        elif action == "accept" and cases:
            with transaction(node.engine) as session:
                from common.cases.models import Case

                case = session.get(Case, cases[-1])
                if case.state == "filed":
                    service_intake.accept_case(session, node, clerk, case.case_no)
        elif action == "forge":
            with transaction(node.engine) as session:
                if not cases:
                    cases.append(
                        service_intake.file_case(
                            session,
                            node,
                            clerk,
                            matter_code=FOOD_LICENCE,
                            materials=[],
                            commitment=True,
                            applicant=applicant(),
                        ).case_no
                    )
            with transaction(node.engine) as session:
                raw = _forged_raw(session, node, keys, kind, author, cases[-1])
                before = (
                    session.execute(select(func.count()).select_from(Event)).scalar_one(),
                    snapshot(session),
                )
            with transaction(node.engine) as session:
                result = receive_batch(session, node, TOWNSHIP_ID, [raw])
            assert result.stored == 0 and len(result.rejected) == 1, (kind, author, result)
            code = result.rejected[0]["code"]
            # A revoked node's key is refused before its authority is even asked.
            assert code.startswith("authority.") or (
                author == REVOKED_ID and code == "event.revoked_key"
            ), code
            with transaction(node.engine) as session:
                after = (
                    session.execute(select(func.count()).select_from(Event)).scalar_one(),
                    snapshot(session),
                )
            assert after == before, (kind, author)
    with transaction(node.engine) as session:
        assert verify_node(session, node).ok
