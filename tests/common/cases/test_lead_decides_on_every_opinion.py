"""Parallel approval (issue 13, item 7): the lead department decides only once every
department has answered, and reads every department's opinion before it does; the
other departments still read only their own task. Real intake (filed and accepted at
the county window), the action functions and the API over HTTP."""

from __future__ import annotations

from collections.abc import Callable
from types import SimpleNamespace

import pytest
from fastapi.testclient import TestClient
from onetrip_testing import COUNTY_ID

from common.authority.actions import allowed_case_actions
from common.cases.access import load_case
from common.cases.intake import service as intake
from common.cases.review import service as review
from common.db import transaction
from common.errors import Conflict
from common.node import ThisNode
from common.users.roles import Actor, Role

MARKET, POLICE, TAX = "衡东县市场监督管理局", "衡东县公安局", "国家税务总局衡东县税务局"
PASSWORD = "lead-decides-2026"
REVIEWERS = {"scjg": MARKET, "police": POLICE, "tax": TAX}
OBJECTION = "经营场所存在消防安全隐患"


def reviewer(username: str) -> Actor:
    return Actor(username, COUNTY_ID, Role.DEPARTMENT_REVIEWER, REVIEWERS[username])


@pytest.fixture
def company_case(
    published: ThisNode, actors: dict[str, Actor], k: SimpleNamespace, stored_pdf: str
) -> str:
    """企业设立登记, accepted at the county window: 市场监管 leads, 公安 and 税务 review."""
    case_no = k.file(
        published,
        actors["clerk"],
        k.COMPANY,
        materials=[{"position": i, "blob_sha256": stored_pdf} for i in range(5)],
    )
    k.do(published, intake.accept_case, actors["clerk"], case_no)
    return case_no


@pytest.fixture
def api(
    published: ThisNode, admin: Actor, make_client: Callable[..., TestClient]
) -> Callable[[str], TestClient]:
    """api(username) -> a client with the token of that department's reviewer."""
    from common.users.service import provision_user

    with transaction(published.engine) as session:
        for username, department in REVIEWERS.items():
            provision_user(
                session,
                published,
                admin,
                node_id=COUNTY_ID,
                username=username,
                display_name=f"测试{username}",
                role=Role.DEPARTMENT_REVIEWER,
                department=department,
                password=PASSWORD,
            )
    clients: dict[str, TestClient] = {}

    def client(username: str) -> TestClient:
        if username not in clients:
            clients[username] = make_client(published, username)
        return clients[username]

    return client


def opinion(node: ThisNode, k: SimpleNamespace, username: str, case_no: str, n: int, *args):  # type: ignore[no-untyped-def]
    return k.do(node, review.record_opinion, reviewer(username), case_no, f"review/{n}", *args)


def may_decide(node: ThisNode, actor: Actor, case_no: str) -> bool:
    with transaction(node.engine) as session:
        case = load_case(session, case_no)
        return bool(allowed_case_actions(session, node, actor, case)["decide_case"])


def test_the_lead_decides_only_after_every_department(
    published: ThisNode, company_case: str, k: SimpleNamespace
) -> None:
    case_no, lead = company_case, reviewer("scjg")
    opinion(published, k, "scjg", case_no, 1, "agree", "材料齐全")
    opinion(published, k, "police", case_no, 2, "disagree", OBJECTION)
    # The lead's own opinion is in, the police's too; the tax bureau has not answered.
    assert not may_decide(published, lead, case_no)
    with pytest.raises(Conflict) as pending:
        k.do(published, review.decide_case, lead, case_no, "approved", "已整改")
    assert (pending.value.code, pending.value.field) == ("case.opinions_pending", "tasks")
    assert TAX in pending.value.message and POLICE not in pending.value.message
    assert k.case(published, case_no).state == "accepted"

    opinion(published, k, "tax", case_no, 3, "agree", None)
    assert may_decide(published, lead, case_no)
    assert not may_decide(published, reviewer("police"), case_no)  # not the lead
    event = k.do(published, review.decide_case, lead, case_no, "approved", "已整改，予以许可")
    assert event.body["decision"] == "approved" and k.case(published, case_no).state == "approved"


def test_the_api_refuses_the_decision_until_the_last_opinion(
    published: ThisNode, company_case: str, api: Callable[[str], TestClient]
) -> None:
    case_no = company_case
    for username, n in (("scjg", 1), ("police", 2)):
        answer = api(username).post(
            f"/api/v1/cases/{case_no}/opinion",
            json={"task_id": f"review/{n}", "opinion": "agree"},
        )
        assert answer.status_code == 200, answer.json()
    early = api("scjg").post(f"/api/v1/cases/{case_no}/decide", json={"decision": "approved"})
    body = early.json()
    assert (early.status_code, body["code"], body["field"]) == (
        409,
        "case.opinions_pending",
        "tasks",
    )
    assert TAX in body["message"]
    assert api("scjg").get(f"/api/v1/cases/{case_no}").json()["state"] == "accepted"

    last = api("tax").post(
        f"/api/v1/cases/{case_no}/opinion", json={"task_id": "review/3", "opinion": "agree"}
    )
    assert last.status_code == 200, last.json()
    decided = api("scjg").post(f"/api/v1/cases/{case_no}/decide", json={"decision": "approved"})
    assert decided.status_code == 200, decided.json()
    assert decided.json()["state"] == "approved"


def test_the_lead_reads_every_opinion_in_the_case_view(
    published: ThisNode, company_case: str, k: SimpleNamespace, api: Callable[[str], TestClient]
) -> None:
    case_no = company_case
    opinion(published, k, "police", case_no, 2, "disagree", OBJECTION)

    tasks = api("scjg").get(f"/api/v1/cases/{case_no}").json()["tasks"]
    by_department = {t["department"]: t for t in tasks}
    assert list(by_department) == [MARKET, POLICE, TAX]
    police = by_department[POLICE]
    assert (police["state"], police["opinion"], police["comment"], police["done_by"]) == (
        "done",
        "disagree",
        OBJECTION,
        "police",
    )
    assert police["done_on"] and by_department[TAX]["state"] == "open"
    assert by_department[MARKET]["lead"] is True

    # The other departments keep reading their own task only.
    for username, department in (("police", POLICE), ("tax", TAX)):
        own = api(username).get(f"/api/v1/cases/{case_no}").json()["tasks"]
        assert [t["department"] for t in own] == [department], username
    assert OBJECTION not in api("tax").get(f"/api/v1/cases/{case_no}").text
