"""The case pages offer exactly what the authority policy allows.

For every role that logs in on a tier and every case state reachable there, the real
case page is rendered for a user logged in through /login (the staff page on the
township and the county, the agent's page at the village), and the action forms it
shows (``data-action``) must be the actions ``allowed_case_actions`` allows that user,
less the ones the page does not carry (answered in the inbox, through the API or by the
node itself, see ``STAFF_ELSEWHERE`` and ``AGENT_ELSEWHERE``). A case a user may not
read (another area, another department, another village) shows no form, and the policy
must allow nothing on it either.

One published network per module; every case is put in its state through the action
functions (``case_states``), the same helpers as the role matrix.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from types import SimpleNamespace
from typing import Any

import pytest
from case_states import (
    C_NOW,
    C_PROMISE,
    COMPANY,
    FILING_AGENT,
    MARKET,
    OTHER_DEPT,
    POLICE,
    T_LICENCE,
    T_NOW,
    T_PROMISE,
    V_NOW,
    V_PROMISE,
    accepted,
    clerk,
    committed,
    decided,
    delivered,
    filed,
    noticed,
    published_network,
    rated_badly,
    reviewed,
    run,
    special,
)
from fastapi.testclient import TestClient
from onetrip_testing import ADMIN_PASSWORD, COUNTY_ID, TOWNSHIP_ID, VILLAGE_ID
from sqlalchemy import select
from web_testing import web_login

from common.app import create_app
from common.authority.actions import allowed_case_actions
from common.cases.handoff import service as handoff
from common.cases.intake import service as intake
from common.cases.models import Case, CaseMaterial
from common.cases.review import service as review
from common.db import transaction
from common.users.roles import HEAD_ROLES, Actor, Role

PASSWORD = "hengdong-offers-2026"
# username -> (node, role, department): every role that logs in on each tier.
USERS: dict[str, tuple[str, Role, str | None]] = {
    FILING_AGENT: (VILLAGE_ID, Role.VILLAGE_AGENT, None),  # files the village's cases
    "agent2": (VILLAGE_ID, Role.VILLAGE_AGENT, None),  # another agent of the village
    "tclerk": (TOWNSHIP_ID, Role.TOWNSHIP_CLERK, None),
    "tapprover": (TOWNSHIP_ID, Role.TOWNSHIP_APPROVER, None),
    "tauditor": (TOWNSHIP_ID, Role.AUDITOR, None),
    "clerk": (COUNTY_ID, Role.COUNTY_WINDOW_CLERK, None),
    "scjg": (COUNTY_ID, Role.DEPARTMENT_REVIEWER, MARKET),  # leads the county matters used here
    "police": (COUNTY_ID, Role.DEPARTMENT_REVIEWER, POLICE),  # a task on 企业设立登记 only
    "jiaoyu": (COUNTY_ID, Role.DEPARTMENT_REVIEWER, OTHER_DEPT),  # no part in any case
    "admin": (COUNTY_ID, Role.COUNTY_ADMIN, None),
    "auditor": (COUNTY_ID, Role.AUDITOR, None),
}
TIER_OF = {VILLAGE_ID: "village", TOWNSHIP_ID: "township", COUNTY_ID: "county"}

# Actions the policy may allow that a case page does not carry, and where they are taken.
STAFF_ELSEWHERE = {
    "accept_handoff": "the inbox",
    "decline_handoff": "the inbox",
    "rate_case": "the API",
    "revoke_licence": "the API",
    "record_callback": "the API",
    "close_rectification": "the API",
}
AGENT_ELSEWHERE = {
    "record_visit": "filing and delivery record the agent's visits",
    "decide_case": "a village 即办件 is settled at acceptance (受理并当场办结)",
    "accept_handoff": "a returning result is accepted by the node (settle_custody)",
    "decline_handoff": "the node answers offers itself",
    "refuse_case": "the REST API (the agent's page has no 不予受理 form: see docs/architecture.md)",
}
FORM = re.compile(r'<form\b[^>]*\bdata-action="([^"]+)"')


# -- the network, its users and its cases -----------------------------------------------------


@pytest.fixture(scope="module")
def net(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimpleNamespace]:
    with published_network(tmp_path_factory.mktemp("county")) as network:
        yield network


def _provision(net: SimpleNamespace) -> None:
    from common.users.service import provision_user

    admin = Actor("admin", COUNTY_ID, Role.COUNTY_ADMIN)
    root = net.nodes["county"]
    with transaction(root.engine) as session:
        for username, (node_id, role, department) in USERS.items():
            if username != "admin":
                provision_user(
                    session,
                    root,
                    admin,
                    node_id=node_id,
                    username=username,
                    display_name=f"测试{username}",
                    role=role,
                    department=department,
                    password=PASSWORD,
                    head=role.value in HEAD_ROLES,
                )


@pytest.fixture(scope="module")
def browsers(net: SimpleNamespace) -> Iterator[dict[str, TestClient]]:
    """A client per user, logged in through /login at the user's own node."""
    _provision(net)
    clients = {}
    for username, (node_id, _, _) in USERS.items():
        node = net.nodes[TIER_OF[node_id]]
        client = TestClient(create_app(node.settings, node=node))
        clients[username] = web_login(
            client, username, ADMIN_PASSWORD if username == "admin" else PASSWORD
        )
    yield clients
    for client in clients.values():
        client.close()


def _escalated(net: SimpleNamespace, code: str, *, then: str) -> str:
    """A county matter filed at the village and handed up: offered (``then="offered"``),
    held at the county (``"held"``), or decided there and not yet sent home (``"decided"``)."""
    village, county = net.nodes["village"], net.nodes["county"]
    case_no = filed(net, village, code)["case_no"]
    run(village, handoff.offer_handoff, clerk(village), case_no)
    if then != "offered":
        run(county, handoff.accept_handoff, clerk(county), case_no)
    if then == "decided":
        run(county, intake.accept_case, clerk(county), case_no)
        run(county, review.decide_case, clerk(county), case_no, "approved", None)
    return case_no


def _closed(net: SimpleNamespace, tier: str, code: str, how: str) -> str:
    node = net.nodes[tier]
    if how == "refused":
        case_no = filed(net, node, code, complete=False)["case_no"]
        run(node, intake.refuse_case, clerk(node), case_no, "不属于本机关职权范围")
    elif how == "rejected":
        case_no = accepted(net, node, code)["case_no"]
        run(node, review.decide_case, clerk(node), case_no, "rejected", "不符合条件")
    else:
        case_no = accepted(net, node, code)["case_no"]
        run(node, intake.withdraw_case, clerk(node), case_no, "申请人主动撤回")
    return case_no


# label -> how the case is made (every state a case reaches on each tier)
STATES: dict[str, Callable[[SimpleNamespace], str]] = {}
for tier, promise, now in (
    ("village", V_PROMISE, V_NOW),
    ("township", T_PROMISE, T_NOW),
    ("county", C_PROMISE, C_NOW),
):

    def made(how: Callable[..., dict[str, Any]], code: str, tier: str = tier, **kwargs: Any) -> Any:
        return lambda net: how(net, net.nodes[tier], code, **kwargs)["case_no"]

    STATES |= {
        f"{tier}: filed, complete": made(filed, promise),
        f"{tier}: filed, materials missing": made(filed, promise, complete=False),
        f"{tier}: waiting for a supplement": made(noticed, promise),
        f"{tier}: 即办件 filed": made(filed, now),
        f"{tier}: 承诺件 accepted": made(accepted, promise),
        f"{tier}: 即办件 accepted": made(accepted, now),
        f"{tier}: 即办件 approved": made(decided, now),
        f"{tier}: delivered": made(delivered, now),
        f"{tier}: rated badly (real name)": made(rated_badly, now, real_name=True),
        f"{tier}: refused": lambda net, tier=tier, code=promise: _closed(
            net, tier, code, "refused"
        ),
        f"{tier}: rejected": lambda net, tier=tier, code=now: _closed(net, tier, code, "rejected"),
        f"{tier}: withdrawn": lambda net, tier=tier, code=promise: _closed(
            net, tier, code, "withdrawn"
        ),
    }
    if tier != "village":  # a village reviews nothing
        STATES |= {
            f"{tier}: 承诺件 reviewed": made(reviewed, promise),
            f"{tier}: special procedure": made(special, promise),
            f"{tier}: 告知承诺 approved, verification open": made(committed, promise),
        }
STATES |= {
    "township: 承诺件 approved with a licence": lambda net: decided(
        net, net.nodes["township"], T_LICENCE
    )["case_no"],
    "township: rated badly (anonymous)": lambda net: rated_badly(
        net, net.nodes["township"], T_PROMISE, real_name=False
    )["case_no"],
    "county: three departments in parallel": lambda net: accepted(
        net, net.nodes["county"], COMPANY
    )["case_no"],
    "county: 承诺件 approved with a licence": lambda net: decided(
        net, net.nodes["county"], C_PROMISE
    )["case_no"],
    "village → county: offered": lambda net: _escalated(net, C_NOW, then="offered"),
    "village → county: held at the county": lambda net: _escalated(net, C_NOW, then="held"),
    "village → county: decided, not yet home": lambda net: _escalated(net, C_NOW, then="decided"),
}


@pytest.fixture(scope="module")
def cases(net: SimpleNamespace) -> dict[str, str]:
    return {label: make(net) for label, make in STATES.items()}


# -- the comparison ---------------------------------------------------------------------------


def expected_forms(allowed: dict[str, bool | list[Any]], elsewhere: dict[str, str]) -> set[str]:
    """The forms a page carrying every allowed action but ``elsewhere`` shows: one per
    action, or one per task or special procedure for the listed ones."""
    forms: set[str] = set()
    for action, answer in allowed.items():
        if action in elsewhere:
            continue
        if isinstance(answer, list):
            forms |= {f"{action}:{item}" for item in answer}
        elif answer:
            forms.add(action)
    return forms


def nothing_to_list(net: SimpleNamespace, case_no: str) -> bool:
    """The agent's notice form lists what was not handed in: on a filed case with every
    mandatory material there is nothing to list, and the form is not shown."""
    with transaction(net.nodes["county"].engine) as session:
        case = session.get(Case, case_no)
        missing = session.execute(
            select(CaseMaterial.name).where(
                CaseMaterial.case_no == case_no,
                CaseMaterial.mandatory.is_(True),
                CaseMaterial.provided.is_(False),
                CaseMaterial.promised.is_(False),
            )
        ).first()
        return case is not None and case.state == "filed" and missing is None


def allowed_for(net: SimpleNamespace, username: str, case_no: str) -> dict[str, bool | list[Any]]:
    node_id, role, department = USERS[username]
    node = net.nodes[TIER_OF[node_id]]
    with transaction(node.engine) as session:
        case = session.get(Case, case_no)
        assert case is not None
        actor = Actor(username, node_id, role, department, head=role.value in HEAD_ROLES)
        return allowed_case_actions(session, node, actor, case)


def mismatches(
    net: SimpleNamespace, browsers: dict[str, TestClient], cases: dict[str, str], username: str
) -> Iterator[str]:
    agent = USERS[username][1] is Role.VILLAGE_AGENT
    for label, case_no in cases.items():
        page = browsers[username].get(
            f"/agent/cases/{case_no}" if agent else f"/staff/cases/{case_no}"
        )
        assert page.status_code in (200, 403, 404), (label, page.status_code, page.text[:500])
        shown = set(FORM.findall(page.text)) if page.status_code == 200 else set()
        expected = expected_forms(
            allowed_for(net, username, case_no), AGENT_ELSEWHERE if agent else STAFF_ELSEWHERE
        )
        if agent and nothing_to_list(net, case_no):
            expected.discard("request_supplement")
        if shown != expected:
            yield f"{label} ({case_no}, HTTP {page.status_code}): shown {sorted(shown)}, allowed {sorted(expected)}"


@pytest.mark.parametrize("username", list(USERS))
def test_the_case_page_offers_what_the_policy_allows(
    net: SimpleNamespace, browsers: dict[str, TestClient], cases: dict[str, str], username: str
) -> None:
    wrong = list(mismatches(net, browsers, cases, username))
    assert not wrong, f"{username} ({USERS[username][1].value}):\n" + "\n".join(wrong)


def test_every_action_a_page_carries_is_offered_somewhere(
    net: SimpleNamespace, cases: dict[str, str]
) -> None:
    """The states above are rich enough: each form of the pages appears for some user
    (a page form the policy never allows would go untested)."""
    seen: set[str] = set()
    for username in USERS:
        for case_no in cases.values():
            allowed = allowed_for(net, username, case_no)
            seen |= {action for action, answer in allowed.items() if answer}
    carried = {
        "accept_case",
        "refuse_case",
        "request_supplement",
        "receive_supplement",
        "offer_handoff",
        "record_opinion",
        "decide_case",
        "start_special_procedure",
        "end_special_procedure",
        "approve_extension",
        "record_verification",
        "deliver_case",
        "record_visit",
        "withdraw_case",
        "rate_case",
    }
    assert carried <= seen, sorted(carried - seen)
