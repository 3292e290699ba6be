"""Who may do what with a case: every role against every case action on every tier.

Each action is tried on a fresh case put in the state where the action is legal, so a
refusal can only be about the actor. Who may (``Row.allowed``) is read from the
authority policy's table (``common.authority.actions``: the roles a row names for the
tier, none below the matter's level); the refusal codes below are the spec: every other
role (and a reviewer of a department with nothing to do with the case) must be refused
with the exact code and leave nothing behind, even if the caller commits after the
refusal.

Actors carry this node's id, as the API builds them. Roles that cannot exist on a tier
(users.role_tier refuses to provision them, users log in only at their own node) are
tried too: the action functions are the line that must hold. Where the code lets one
through, the combination is an ``xfail(strict=True)`` naming the gap (``GAPS``).

One published network per module (the catalogue import is the slow part). Cases are
put in their state through the action functions (``case_states``); an actor that may
write gets a fresh case, the refused actors of one row share one (see ``prepared``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import pytest
from case_states import (
    APPLICANT,
    C_NOW,
    C_PROMISE,
    COMPANY,
    MARKET,
    OTHER_DEPT,
    POLICE,
    T_LICENCE,
    T_NOW,
    T_PROMISE,
    V_NOW,
    V_PROMISE,
    accepted,
    accepted_above_level,
    committed,
    decided,
    delivered,
    filed,
    footprint,
    noticed,
    published_network,
    rated_badly,
    reviewed,
    run,
    special,
)
from onetrip_testing import TOWNSHIP_ID
from sqlalchemy import select

from common.api.deps import get_current_user
from common.authority.actions import ACTIONS as POLICY
from common.authority.actions import roles_allowed
from common.authority.case_checks import AFTER_REVIEW, ON_THE_SPOT
from common.cases.intake import service as intake
from common.cases.models import Case
from common.cases.review import service as review
from common.catalog.service import get_published
from common.db import transaction
from common.errors import Conflict, DomainError, Forbidden
from common.ledger.models import Event
from common.licences import service as licences
from common.licences.models import Licence
from common.node import ThisNode
from common.ratings import service as ratings
from common.ratings.models import Rectification
from common.users.roles import HEAD_ROLES, Actor, Role

OTHER = "other_department"  # matrix key: a department reviewer of OTHER_DEPT
KEYS = [role.value for role in Role] + [OTHER]
A, TC, TA, CC, DR, AD, AU = (r.value for r in Role)


@pytest.fixture(scope="module")
def net(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimpleNamespace]:
    with published_network(tmp_path_factory.mktemp("county")) as network:
        yield network


def actor(node: ThisNode, key: str, department: str) -> Actor:
    if key == OTHER:
        return Actor(OTHER, node.node_id, Role.DEPARTMENT_REVIEWER, OTHER_DEPT)
    role = Role(key)
    department = department if role is Role.DEPARTMENT_REVIEWER else None
    # Each role's one person: a reviewer or approver heads their organ (§42 extensions).
    return Actor(key, node.node_id, role, department, head=role.value in HEAD_ROLES)


# -- the actions, as (session, node, actor, ctx) ---------------------------------------

ACTIONS: dict[str, Callable[..., Any]] = {
    "file_case": lambda s, n, a, c: intake.file_case(
        s, n, a, matter_code=c["code"], applicant=APPLICANT, materials=[]
    ),
    "request_supplement": lambda s, n, a, c: intake.request_supplement(
        s, n, a, c["case_no"], c["missing"]
    ),
    "receive_supplement": lambda s, n, a, c: intake.receive_supplement(
        s, n, a, c["case_no"], c["materials"]
    ),
    "accept_case": lambda s, n, a, c: intake.accept_case(s, n, a, c["case_no"]),
    "refuse_case": lambda s, n, a, c: intake.refuse_case(
        s, n, a, c["case_no"], "不属于本机关职权范围"
    ),
    "withdraw_case": lambda s, n, a, c: intake.withdraw_case(
        s, n, a, c["case_no"], "申请人主动撤回"
    ),
    "record_visit": lambda s, n, a, c: intake.record_visit(
        s, n, a, c["case_no"], who="applicant", place="窗口", purpose="补交原件"
    ),
    "deliver_case": lambda s, n, a, c: intake.deliver_case(s, n, a, c["case_no"], "electronic"),
    "record_opinion": lambda s, n, a, c: review.record_opinion(
        s, n, a, c["case_no"], c["task_id"], "agree", "同意"
    ),
    "decide_case": lambda s, n, a, c: review.decide_case(s, n, a, c["case_no"], "approved", None),
    "start_special_procedure": lambda s, n, a, c: review.start_special_procedure(
        s, n, a, c["case_no"], 2, "hearing", "依申请听证"
    ),
    "end_special_procedure": lambda s, n, a, c: review.end_special_procedure(
        s, n, a, c["case_no"], 1, "检测合格"
    ),
    "approve_extension": lambda s, n, a, c: review.approve_extension(
        s, n, a, c["case_no"], 5, "情况复杂"
    ),
    "record_verification": lambda s, n, a, c: review.record_verification(
        s, n, a, c["case_no"], None, False, "承诺内容与实际不符"
    ),
    "revoke_licence": lambda s, n, a, c: licences.revoke_licence(
        s, n, a, c["case"].licence_id, "依法撤销"
    ),
    "rate_case": lambda s, n, a, c: ratings.rate_case(s, n, a, c["case_no"], 1, "很满意", True),
    "record_callback": lambda s, n, a, c: ratings.record_callback(
        s, n, a, c["rectification"], "已电话回访"
    ),
    "close_rectification": lambda s, n, a, c: ratings.close_rectification(
        s, n, a, c["rectification"], "已整改"
    ),
}


@dataclass(frozen=True)
class Prep:
    """How a row's case is made: ``how(net, node, code, **kwargs)``; ``code`` is the matter."""

    how: Callable[..., dict[str, Any]]
    code: str
    kwargs: dict[str, Any] = field(default_factory=dict)

    def __call__(self, net: SimpleNamespace, node: ThisNode) -> dict[str, Any]:
        return self.how(net, node, self.code, **self.kwargs)


def prep(how: Callable[..., dict[str, Any]], code: str, **kwargs: Any) -> Prep:
    return Prep(how, code, kwargs)


def to_file(code: str) -> Prep:
    return Prep(lambda net, node, code: {"code": code, "case_no": None, "dept": MARKET}, code)


LEVEL = {
    V_NOW: "village",
    V_PROMISE: "village",
    T_NOW: "township",
    T_PROMISE: "township",
    T_LICENCE: "township",
    C_NOW: "county",
    C_PROMISE: "county",
    COMPANY: "county",
}


@dataclass(frozen=True)
class Row:
    """One action on one tier, in one legal state: how the actors the policy does not
    name are refused (``allowed`` is read from the policy's table)."""

    action: str
    tier: str
    prep: Prep
    codes: dict[str, str] = field(default_factory=dict)  # refusal code by key where not ``default``
    default: str = "auth.role"
    error: type = Forbidden
    note: str = ""
    variant: str = ""  # which of the action's two rules (decide_case: on the spot or after review)

    @property
    def label(self) -> str:
        return f"{self.action}@{self.tier}" + (f"[{self.note}]" if self.note else "")

    @property
    def allowed(self) -> frozenset[str]:
        """The roles the policy names for the action on this tier, for a case of the
        row's matter (none below its handling level); a reviewer of another department
        only where the rule has no department condition."""
        roles = roles_allowed(
            self.action, self.tier, variant=self.variant, handling_level=LEVEL[self.prep.code]
        )
        rule = next(r for r in POLICY if r.action == self.action and r.variant == self.variant)
        keys = {role.value for role in roles}
        if Role.DEPARTMENT_REVIEWER in roles and rule.department is None:
            keys.add(OTHER)
        return frozenset(keys)


MATTER = {"village": V_NOW, "township": T_PROMISE, "county": C_PROMISE}
NOW = {"village": V_NOW, "township": T_NOW, "county": C_NOW}
NO_REVIEW = "case.village_cannot_review"
OD_COUNTY = {OTHER: "case.not_your_department"}
OD_LEAD = {OTHER: "case.not_lead_department"}


def _rows() -> list[Row]:
    rows = []
    for tier in ("village", "township", "county"):
        m = MATTER[tier]
        rows += [
            Row("file_case", tier, to_file(m)),
            Row("request_supplement", tier, prep(filed, m, complete=False)),
            Row("receive_supplement", tier, prep(noticed, m)),
            Row("accept_case", tier, prep(filed, m)),
            Row("refuse_case", tier, prep(filed, m, complete=False)),
            Row("withdraw_case", tier, prep(accepted, NOW[tier])),
            Row("record_visit", tier, prep(filed, m), OD_COUNTY if tier == "county" else {}),
            Row("deliver_case", tier, prep(decided, NOW[tier])),
            Row("rate_case", tier, prep(delivered, NOW[tier])),
        ]
    rows += [
        # A village reviews nothing and decides only a village-level 即办件.
        Row("record_opinion", "village", prep(accepted, V_PROMISE), default=NO_REVIEW),
        Row(
            "decide_case",
            "village",
            prep(accepted, V_NOW),
            note="village 即办件",
            variant=ON_THE_SPOT,
        ),
        Row(
            "decide_case",
            "village",
            prep(accepted, V_PROMISE),
            default=NO_REVIEW,
            note="village 承诺件",
            variant=AFTER_REVIEW,
        ),
        Row(
            "decide_case",
            "village",
            prep(accepted_above_level, C_NOW),
            default="case.wrong_level",
            error=Conflict,
            note="county 即办件",
            variant=ON_THE_SPOT,
        ),
        Row("start_special_procedure", "village", prep(accepted, V_PROMISE), default=NO_REVIEW),
        Row("approve_extension", "village", prep(accepted, V_PROMISE), default=NO_REVIEW),
        # Township: the staff review; the clerk decides 即办件, the approver everything else.
        Row("record_opinion", "township", prep(accepted, T_PROMISE)),
        Row("decide_case", "township", prep(accepted, T_NOW), note="即办件", variant=ON_THE_SPOT),
        Row(
            "decide_case",
            "township",
            prep(reviewed, T_LICENCE),
            note="承诺件 with licence",
            variant=AFTER_REVIEW,
        ),
        Row("start_special_procedure", "township", prep(accepted, T_PROMISE)),
        Row("end_special_procedure", "township", prep(special, T_PROMISE)),
        Row("approve_extension", "township", prep(accepted, T_PROMISE)),
        Row("record_verification", "township", prep(committed, T_PROMISE)),
        Row("revoke_licence", "township", prep(decided, T_LICENCE)),
        # A bad rating's rectification is written by the deciding node; a village has no
        # one who may rectify (its cases' rectifications are its township's, see below).
        Row("record_callback", "village", prep(rated_badly, V_NOW, real_name=True)),
        Row("close_rectification", "village", prep(rated_badly, V_NOW, real_name=False)),
        Row("record_callback", "township", prep(rated_badly, T_PROMISE, real_name=True)),
        Row("close_rectification", "township", prep(rated_badly, T_PROMISE, real_name=False)),
        # County: the window decides 即办件; the departments review their own tasks, the lead decides.
        Row("record_opinion", "county", prep(accepted, C_PROMISE), OD_COUNTY),
        Row(
            "decide_case",
            "county",
            prep(accepted, C_NOW),
            note="即办件 with licence",
            variant=ON_THE_SPOT,
        ),
        Row(
            "decide_case",
            "county",
            prep(reviewed, C_PROMISE),
            OD_LEAD,
            note="承诺件 with licence",
            variant=AFTER_REVIEW,
        ),
        Row("start_special_procedure", "county", prep(accepted, C_PROMISE), OD_COUNTY),
        Row("end_special_procedure", "county", prep(special, C_PROMISE), OD_COUNTY),
        Row("approve_extension", "county", prep(accepted, C_PROMISE), OD_LEAD),
        Row("record_verification", "county", prep(committed, C_PROMISE), OD_COUNTY),
        Row("revoke_licence", "county", prep(decided, C_NOW), {OTHER: "licence.department"}),
        # The county administrator oversees bad ratings: it may call back and close too.
        Row(
            "record_callback",
            "county",
            prep(rated_badly, C_PROMISE, real_name=True),
            {OTHER: "rectification.department"},
        ),
        Row(
            "close_rectification",
            "county",
            prep(rated_badly, C_PROMISE, real_name=False),
            {OTHER: "rectification.department"},
        ),
    ]
    return rows


ROWS = _rows()

# Where the code lets an actor through that the contract does not: (row label, key) -> why.
# Empty now: the holes this matrix found (tier-blind role checks, a reviewer recording
# trips on another department's case, an administrator revoking a department's licence)
# were closed in the action functions.
GAPS: dict[tuple[str, str], str] = {}


def _params() -> Iterator[Any]:
    for row in ROWS:
        for key in KEYS:
            reason = GAPS.get((row.label, key))
            marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
            yield pytest.param(row, key, id=f"{row.label}-{key}", marks=marks)


OWN_CHAIN = ("revoke_licence", "record_callback", "close_rectification")


def after_success(row: Row, node: ThisNode, ctx: dict[str, Any]) -> None:
    """What an allowed action must have done beyond appending (licences issued or revoked)."""
    with transaction(node.engine) as session:
        case = session.get(Case, ctx["case_no"]) if ctx["case_no"] else None
        if row.action == "decide_case":
            assert case.state == "approved"
            licence_type = get_published(session, case.matter_code).to_matter().result_licence_type
            assert (case.licence_id is not None) == bool(licence_type), case.licence_id
            if case.licence_id:
                assert session.get(Licence, case.licence_id).state == "valid"
        if row.action in ("revoke_licence", "record_verification") and ctx["case"].licence_id:
            assert session.get(Licence, ctx["case"].licence_id).state == "revoked"
        if row.action in RECTIFYING:
            task = session.get(Rectification, ctx["rectification"])
            assert (task.responsible_node, task.callback_done or task.state == "closed") == (
                node.node_id,
                True,
            )


def prepared(net: SimpleNamespace, row: Row, key: str) -> dict[str, Any]:
    """A fresh case where the actor may write; the refused actors of a row share one (a
    refusal writes nothing, which each of them asserts; re-made if its version moved)."""
    node = net.nodes[row.tier]
    if key in row.allowed or (row.label, key) in GAPS:
        return row.prep(net, node)
    ctx = net.shared.get(row.label)
    if ctx is None or (
        ctx["case_no"] and footprint(node, ctx["case_no"])[1] != ctx["case"].version
    ):
        ctx = net.shared[row.label] = row.prep(net, node)
    return ctx


@pytest.mark.parametrize(("row", "key"), list(_params()))
def test_role_matrix(net: SimpleNamespace, row: Row, key: str) -> None:
    node = net.nodes[row.tier]
    ctx = prepared(net, row, key)
    who = actor(node, key, ctx["dept"])
    before = footprint(node, ctx["case_no"])
    if key in row.allowed:
        run(node, ACTIONS[row.action], who, ctx)
        after = footprint(node, ctx["case_no"])
        assert after[0] > before[0], f"{key} was allowed {row.label} but nothing was appended"
        if (
            row.action not in OWN_CHAIN
        ):  # the licence's or the rectification's chain, not the case's
            assert after[1] is None or after[1] > before[1], "the case's version did not move"
        after_success(row, node, ctx)
        return
    expected = (row.error.__name__, row.codes.get(key, row.default))
    refusal = None
    # Commit whatever a refused action left in the session: a refusal must come before any write.
    with transaction(node.engine) as session:
        try:
            ACTIONS[row.action](session, node, who, ctx)
        except DomainError as exc:
            refusal = (type(exc).__name__, exc.code)
    assert refusal is not None, (
        f"{key} at a {row.tier} node was ALLOWED {row.label}; expected {expected}"
    )
    assert refusal == expected, f"{key}: {row.label} refused with {refusal}, expected {expected}"
    assert footprint(node, ctx["case_no"]) == before, (
        f"refused {row.label} by {key} wrote something"
    )


# -- custody, departments' tasks, the filing agent, reads, HTTP --------------------------

PARENT = {"village": "township", "township": "county"}
RECTIFYING = ("record_callback", "close_rectification")
# Records written by one node whatever the custody: refused as "not that node".
NOT_CUSTODIAN = {
    "revoke_licence": "licence.not_issuer",
    "record_callback": "rectification.not_responsible",
    "close_rectification": "rectification.not_responsible",
    "record_verification": "case.not_decider",
}


def _custody_params() -> Iterator[Any]:
    for row in ROWS:
        if row.action == "file_case" or row.tier not in PARENT:
            continue
        if row.tier == "village" and row.action in RECTIFYING:
            continue  # a village case's rectification is its township's to work: see the test below
        parent = next(
            r for r in ROWS if r.tier == PARENT[row.tier] and r.action == row.action and r.allowed
        )
        yield pytest.param(row, min(parent.allowed), id=f"{row.label}-from-{parent.tier}")


@pytest.mark.parametrize(("row", "key"), list(_custody_params()))
def test_a_node_writes_only_to_cases_it_holds(net: SimpleNamespace, row: Row, key: str) -> None:
    """The case (or licence, or a township's rectification) is held by a lower node; the
    node above, with the role that may do this there, is refused: one writer per record."""
    ctx = row.prep(net, net.nodes[row.tier])
    node = net.nodes[PARENT[row.tier]]
    before = footprint(node, ctx["case_no"])
    with pytest.raises(Forbidden) as caught, transaction(node.engine) as session:
        ACTIONS[row.action](session, node, actor(node, key, ctx["dept"]), ctx)
    expected = NOT_CUSTODIAN.get(row.action, "case.not_custodian")
    assert caught.value.code == expected
    assert footprint(node, ctx["case_no"]) == before


def test_a_village_case_is_rectified_at_its_township(net: SimpleNamespace) -> None:
    """The village decided and holds the case; its rectification is the township's: the
    township approver calls back and closes without custody, nobody else may."""
    village, township, county = (net.nodes[t] for t in ("village", "township", "county"))
    ctx = rated_badly(net, village, V_NOW, real_name=True)
    case_before = footprint(village, ctx["case_no"])[1:]
    for node, key, code in (
        (county, AD, "rectification.not_responsible"),
        (village, A, "auth.role"),
        (township, TC, "auth.role"),
    ):
        with pytest.raises(Forbidden) as caught:
            run(
                node,
                ratings.record_callback,
                actor(node, key, ""),
                ctx["rectification"],
                "已电话回访",
            )
        assert caught.value.code == code
    approver = actor(township, TA, "")
    run(township, ratings.record_callback, approver, ctx["rectification"], "已电话回访")
    run(township, ratings.close_rectification, approver, ctx["rectification"], "已整改")
    with transaction(township.engine) as session:
        task = session.get(Rectification, ctx["rectification"])
        assert (task.responsible_node, task.state, task.callback_by, task.closed_by) == (
            TOWNSHIP_ID,
            "closed",
            TA,
            TA,
        )
        authors = (
            session.execute(
                select(Event.author)
                .where(Event.subject == f"rectification:{ctx['case_no']}")
                .order_by(Event.sseq)
            )
            .scalars()
            .all()
        )
    assert authors == [TOWNSHIP_ID, TOWNSHIP_ID]
    assert footprint(village, ctx["case_no"])[1:] == case_before  # the case's chain did not move


def test_only_the_filing_agent_withdraws_at_a_village(net: SimpleNamespace) -> None:
    village = net.nodes["village"]
    ctx = filed(net, village, V_NOW)
    before = footprint(village, ctx["case_no"])
    with pytest.raises(Forbidden) as caught:
        run(
            village,
            intake.withdraw_case,
            Actor("agent2", village.node_id, Role.VILLAGE_AGENT),
            ctx["case_no"],
            "撤回",
        )
    assert caught.value.code == "case.not_filing_agent"
    assert footprint(village, ctx["case_no"]) == before


def test_a_department_sees_and_works_only_its_own_tasks(net: SimpleNamespace) -> None:
    county, township = net.nodes["county"], net.nodes["township"]
    company = accepted(net, county, COMPANY)  # 市场监管 (lead), 公安, 税务 in parallel
    by_department = {t.department: t.task_id for t in company["tasks"]}
    assert len(by_department) == 3 and MARKET in by_department and POLICE in by_department
    local = accepted(net, township, T_PROMISE)

    def seen(who: Actor) -> set[str]:
        with transaction(county.engine) as session:
            tasks = review.tasks_for(session, who, state="all")
            holders = {session.get(Case, t.case_no).custodian for t in tasks}
        if who.role is Role.DEPARTMENT_REVIEWER:
            assert {t.department for t in tasks} <= {who.department}, who
        if who.role in (Role.DEPARTMENT_REVIEWER, Role.TOWNSHIP_CLERK, Role.TOWNSHIP_APPROVER):
            assert holders <= {who.node_id}, who  # only tasks of cases its own node holds
        return {t.task_id for t in tasks}

    for department in (MARKET, POLICE):
        ids = seen(actor(county, DR, department))
        assert set(by_department.values()) & ids == {by_department[department]}
    assert not seen(actor(county, OTHER, "")) & set(by_department.values())
    for key in (AD, AU):  # they read everything
        assert {*by_department.values(), local["task_id"]} <= seen(actor(county, key, ""))
    for key in (TC, TA):
        ids = seen(actor(township, key, ""))
        assert local["task_id"] in ids and not ids & set(by_department.values())
    for key, node in ((A, net.nodes["village"]), (CC, county)):
        with pytest.raises(Forbidden) as caught, transaction(county.engine) as session:
            review.tasks_for(session, actor(node, key, ""))
        assert caught.value.code == "auth.role"
    # The lead department cannot answer another department's task of the same case.
    before = footprint(county, company["case_no"])
    with pytest.raises(Forbidden) as refused:
        run(
            county,
            review.record_opinion,
            actor(county, DR, MARKET),
            company["case_no"],
            by_department[POLICE],
            "agree",
            "同意",
        )
    assert refused.value.code == "case.not_your_department"
    assert footprint(county, company["case_no"]) == before


def _client(make_client: Callable[..., Any], node: ThisNode, who: Actor) -> Any:
    client = make_client(node, username=None)
    client.app.dependency_overrides[get_current_user] = lambda: who
    return client


HTTP_REFUSALS = {  # tier -> (preparation, the refused actor, path under the case, body, code)
    "village": (prep(accepted, V_PROMISE), A, "/decide", {"decision": "approved"}, NO_REVIEW),
    "township": (prep(reviewed, T_PROMISE), TC, "/decide", {"decision": "approved"}, "auth.role"),
    "county": (prep(filed, C_PROMISE), AU, "/accept", None, "auth.role"),
}


@pytest.mark.parametrize("tier", list(HTTP_REFUSALS))
def test_the_api_answers_a_role_refusal_with_403(
    net: SimpleNamespace, make_client: Callable[..., Any], tier: str
) -> None:
    how, key, path, body, code = HTTP_REFUSALS[tier]
    node = net.nodes[tier]
    ctx = how(net, node)
    before = footprint(node, ctx["case_no"])
    response = _client(make_client, node, actor(node, key, ctx["dept"])).post(
        f"/api/v1/cases/{ctx['case_no']}{path}", json=body
    )
    assert response.status_code == 403, response.text
    answer = response.json()
    assert set(answer) == {"code", "message", "field"} and answer["message"], answer
    assert (answer["code"], answer["field"]) == (code, "role")
    assert footprint(node, ctx["case_no"]) == before


def test_the_auditor_and_the_administrator_read_but_do_not_write(
    net: SimpleNamespace, make_client: Callable[..., Any]
) -> None:
    county = net.nodes["county"]
    ctx = accepted(net, county, C_PROMISE)
    case_path = f"/api/v1/cases/{ctx['case_no']}"
    for key in (AU, AD):
        client = _client(make_client, county, actor(county, key, ""))
        for path in (case_path, "/api/v1/cases", "/api/v1/tasks", f"{case_path}/clock"):
            assert client.get(path).status_code == 200, (key, path, client.get(path).text)
        before = footprint(county, ctx["case_no"])
        for path, body in (
            ("/decide", {"decision": "approved"}),
            ("/withdraw", {"reason": "撤回"}),
            ("/extension", {"days": 5, "reason": "复杂"}),
        ):
            response = client.post(case_path + path, json=body)
            assert (response.status_code, response.json()["code"]) == (403, "auth.role"), (
                key,
                path,
                response.text,
            )
        assert footprint(county, ctx["case_no"]) == before
    # A reviewer reads a case only through its own department's task.
    assert _client(make_client, county, actor(county, DR, MARKET)).get(case_path).status_code == 200
    other = _client(make_client, county, actor(county, OTHER, "")).get(case_path)
    assert (other.status_code, other.json()["code"]) == (403, "case.not_your_department")
