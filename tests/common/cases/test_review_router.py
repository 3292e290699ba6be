"""The review API: my tasks, opinions, decisions, special procedures, extensions,
verification and the clock, with real users, tokens and HTTP (TestClient).

Accepted cases are set up by appending the contract's ``case.filed`` and
``case.accepted`` events directly (see test_review_service.py for why).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import replace
from datetime import date

import pytest
from fastapi.testclient import TestClient
from onetrip_testing import COUNTY_ID, TOWNSHIP_ID, case_filed_body

from common.calendar.service import add_working_days
from common.cases.access import case_subject, today_on
from common.catalog.sample import publish_sample
from common.catalog.service import get_published
from common.db import transaction
from common.node import ThisNode
from common.users.roles import HEAD_ROLES, Actor, Role
from common.users.service import provision_user

COMPANY = "11430424MB1C5953154000119003001"  # 企业设立登记: 3 departments, licence YYZZ
FOOD = "11430424MB1C5953154000119001001"  # 食品经营许可（新办）: 告知承诺, licence SPJYXKZ
SOLE_TRADER = "11430424MB1C5953154000119002001"  # 个体工商户设立登记: county 即办件
TOWNSHIP_2A = "1143042400681808175001016010001"  # township 一审一核
SCJG, GA, SW = "衡东县市场监督管理局", "衡东县公安局", "国家税务总局衡东县税务局"
PASSWORD = "review-staff-2026"
USERS = {
    "scjg": (COUNTY_ID, Role.DEPARTMENT_REVIEWER, SCJG),
    "scjg2": (COUNTY_ID, Role.DEPARTMENT_REVIEWER, SCJG),
    "police": (COUNTY_ID, Role.DEPARTMENT_REVIEWER, GA),
    "tax": (COUNTY_ID, Role.DEPARTMENT_REVIEWER, SW),
    "window": (COUNTY_ID, Role.COUNTY_WINDOW_CLERK, None),
    "tclerk": (TOWNSHIP_ID, Role.TOWNSHIP_CLERK, None),
    "tapprover": (TOWNSHIP_ID, Role.TOWNSHIP_APPROVER, None),
}
_serial = itertools.count(1)


def resident_id(first17: str = "43042419850505123") -> str:
    weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    return (
        first17
        + "10X98765432"[sum(int(c) * w for c, w in zip(first17, weights, strict=False)) % 11]
    )


def accepted_case(
    node: ThisNode, code: str, *, commitment: bool = False, accepted_on: str = "2026-11-02"
) -> str:
    """``case.filed`` + ``case.accepted`` in the contract's shape, appended directly."""
    with transaction(node.engine) as session:
        matter = get_published(session, code).to_matter()
        case_no = f"{node.node_id}-{accepted_on.replace('-', '')}-{next(_serial):04d}"
        node.append(
            session,
            case_subject(case_no),
            "case.filed",
            case_filed_body(
                session,
                code,
                case_no,
                origin=node.node_id,
                applicant={
                    "kind": "person",
                    "name": "李四",
                    "id_number": resident_id(),
                    "phone": None,
                },
                filed_on=accepted_on,
                commitment=commitment,
            ),
        )
        if matter.case_type.value == "1":
            departments: list[str] = []
        elif node.tier == "township":
            departments = ["乡镇审批"]
        else:
            departments = matter.departments
        node.append(
            session,
            case_subject(case_no),
            "case.accepted",
            {
                "accepted_on": accepted_on,
                "window": matter.window.value,
                "limit_days": matter.promised_limit_days,
                "deadline": add_working_days(
                    session, date.fromisoformat(accepted_on), matter.promised_limit_days
                ).isoformat(),
                "accepted_by": "window",
                "tasks": [
                    {"task_id": f"{case_no}/review/{n}", "department": d, "lead": n == 1}
                    for n, d in enumerate(departments, start=1)
                ],
            },
        )
    return case_no


@pytest.fixture
def county(root_node: ThisNode, tree: dict, admin: Actor) -> ThisNode:
    system = Actor.node_system(root_node.node_id)
    with transaction(root_node.engine) as session:
        publish_sample(session, root_node, system)
        for name, (node_id, role, dept) in USERS.items():
            provision_user(
                session,
                root_node,
                admin,
                node_id=node_id,
                username=name,
                display_name=f"测试{name}",
                role=role,
                department=dept,
                password=PASSWORD,
                head=name != "scjg2" and role.value in HEAD_ROLES,  # scjg heads 市场监管局
            )
    return root_node


@pytest.fixture
def staff(county: ThisNode, make_client: Callable[..., TestClient]) -> Callable[[str], TestClient]:
    clients: dict[str, TestClient] = {}

    def client(username: str) -> TestClient:
        if username not in clients:
            clients[username] = make_client(county, username)
        return clients[username]

    return client


def refused(response, status: int, code: str, field: str | None) -> None:  # type: ignore[no-untyped-def]
    body = response.json()
    assert (response.status_code, body["code"], body["field"]) == (status, code, field), body
    assert body["message"]


def test_parallel_approval_over_http(county: ThisNode, staff: Callable[[str], TestClient]):
    case_no = accepted_case(county, COMPANY)
    for user, department in (("scjg", SCJG), ("police", GA), ("tax", SW)):
        tasks = staff(user).get("/api/v1/tasks").json()["tasks"]
        assert [t["department"] for t in tasks] == [department]
        assert tasks[0]["case"]["applicant_id"].count("*") >= 8  # masked
        assert tasks[0]["case"]["clock_status"] in ("normal", "yellow", "red")
    refused(staff("window").get("/api/v1/tasks"), 403, "auth.role", "role")
    refused(
        staff("police").post(
            f"/api/v1/cases/{case_no}/tasks/review/3/opinion", json={"opinion": "agree"}
        ),
        403,
        "case.not_your_department",
        "task_id",
    )
    refused(
        staff("scjg").post(f"/api/v1/cases/{case_no}/decide", json={"decision": "approved"}),
        409,
        "case.opinions_pending",
        "tasks",
    )

    full = staff("scjg").post(
        f"/api/v1/cases/{case_no}/tasks/{case_no}/review/1/opinion",
        json={"opinion": "agree", "comment": "同意"},
    )
    assert full.status_code == 200, full.json()
    assert (full.json()["kind"], full.json()["by"], full.json()["state"]) == (
        "case.opinion_recorded",
        "scjg",
        "accepted",
    )
    short = staff("police").post(
        f"/api/v1/cases/{case_no}/tasks/review/2/opinion", json={"opinion": "agree"}
    )
    assert short.status_code == 200, short.json()
    by_body = staff("tax").post(
        f"/api/v1/cases/{case_no}/opinion", json={"task_id": "review/3", "opinion": "agree"}
    )
    assert by_body.status_code == 200, by_body.json()
    refused(
        staff("police").post(f"/api/v1/cases/{case_no}/decide", json={"decision": "approved"}),
        403,
        "case.not_lead_department",
        "role",
    )

    decided = staff("scjg").post(f"/api/v1/cases/{case_no}/decide", json={"decision": "approved"})
    assert decided.status_code == 200, decided.json()
    body = decided.json()
    assert body["state"] == "approved" and body["licence_id"].startswith("1.2.156.3005.2.YYZZ.")
    clock = staff("police").get(f"/api/v1/cases/{case_no}/clock").json()
    assert (clock["status"], clock["status_label"], clock["decided_on"]) == (
        "delivering",  # decided: the §44 window to deliver runs
        "待送达",
        body["decided_on"],
    )
    done = staff("police").get("/api/v1/tasks", params={"state": "done"}).json()["tasks"]
    assert [(t["department"], t["opinion"]) for t in done] == [(GA, "agree")]
    refused(
        staff("scjg").post(f"/api/v1/cases/{case_no}/decide", json={"decision": "approved"}),
        409,
        "case.illegal_transition",
        "state",
    )


def test_every_rejection_names_the_field(
    county: ThisNode, staff: Callable[[str], TestClient], make_client: Callable[..., TestClient]
):
    case_no = accepted_case(county, FOOD)
    lead = staff("scjg")
    refused(
        lead.post(f"/api/v1/cases/{case_no}/decide", json={"decision": "maybe"}),
        422,
        "request.invalid",
        "decision",
    )
    refused(
        lead.post(f"/api/v1/cases/{case_no}/tasks/review/1/opinion", json={"opinion": "disagree"}),
        400,
        "case.comment_required",
        "comment",
    )
    refused(
        lead.post(f"/api/v1/cases/{case_no}/tasks/review/7/opinion", json={"opinion": "agree"}),
        404,
        "case.task_not_found",
        "task_id",
    )
    refused(
        lead.post(f"/api/v1/cases/{case_no}/extension", json={"days": 0, "reason": "x"}),
        422,
        "request.invalid",
        "days",
    )
    refused(
        lead.post(f"/api/v1/cases/{case_no}/extension", json={"days": 11, "reason": "现场核查"}),
        400,
        "case.extension_too_long",
        "days",
    )
    refused(
        lead.post(
            f"/api/v1/cases/{case_no}/special-procedures",
            json={"kind": 3, "subkind": "hearing", "reason": "x"},
        ),
        422,
        "request.invalid",
        "kind",
    )
    refused(
        lead.post(
            f"/api/v1/cases/{case_no}/special-procedures",
            json={"kind": 1, "subkind": "hearing", "reason": "x"},
        ),
        400,
        "case.subkind_invalid",
        "subkind",
    )
    refused(
        lead.post(f"/api/v1/cases/{case_no}/special-procedures/4/end", json={"result": "x"}),
        404,
        "case.special_not_found",
        "seq",
    )
    refused(
        lead.get("/api/v1/cases/430424000000-20260101-9999/clock"), 404, "case.not_found", "case_no"
    )
    refused(lead.get("/api/v1/tasks", params={"state": "later"}), 422, "request.invalid", "state")
    refused(
        lead.post(f"/api/v1/cases/{case_no}/verification", json={"passed": True}),
        409,
        "case.illegal_transition",
        "state",
    )
    refused(make_client(county, None).get("/api/v1/tasks"), 401, "auth.missing", "Authorization")


def test_a_special_procedure_outside_section_45_is_refused_over_http(
    county: ThisNode, staff: Callable[[str], TestClient]
):
    case_no = accepted_case(county, COMPANY)
    answer = staff("scjg").post(
        f"/api/v1/cases/{case_no}/special-procedures",
        json={"kind": 2, "subkind": "inspection", "reason": "现场勘查经营场所"},
    )
    # The action's 400 today; the request model's 422 once it takes ``SpecialSubkind``.
    assert answer.status_code in (400, 422) and answer.json()["field"] == "subkind"
    assert staff("scjg").get(f"/api/v1/cases/{case_no}/clock").json()["status"] != "paused"


def test_special_procedure_and_extension_over_http(
    county: ThisNode, staff: Callable[[str], TestClient]
):
    case_no = accepted_case(
        county, COMPANY, accepted_on=today_on(county)
    )  # paused on the day of acceptance
    lead = staff("scjg")
    started = lead.post(
        f"/api/v1/cases/{case_no}/special-procedures",
        json={"kind": 2, "subkind": "appraisal", "reason": "鉴定经营场所的设备"},
    )
    assert started.status_code == 200, started.json()
    assert (started.json()["seq"], started.json()["state"]) == (1, "special")
    refused(
        staff("tax").post(
            f"/api/v1/cases/{case_no}/special-procedures",
            json={"kind": 2, "subkind": "test", "reason": "检测"},
        ),
        409,
        "case.special_open",
        "kind",
    )
    paused = lead.get(f"/api/v1/cases/{case_no}/clock").json()
    assert paused["status"] == "paused" and paused["days_used"] == 0
    procedures = lead.get(f"/api/v1/cases/{case_no}/special-procedures").json()["procedures"]
    assert [(p["seq"], p["subkind_label"], p["ended_on"]) for p in procedures] == [
        (1, "鉴定", None)
    ]
    ended = lead.post(
        f"/api/v1/cases/{case_no}/special-procedures/1/end", json={"result": "场所符合要求"}
    )
    assert ended.status_code == 200, ended.json()
    assert ended.json()["state"] == "accepted" and ended.json()["paused_days"] >= 0

    refused(
        lead.post(f"/api/v1/cases/{case_no}/extension", json={"days": 16, "reason": "联合审查"}),
        400,
        "case.extension_too_long",
        "days",
    )
    refused(
        staff("police").post(f"/api/v1/cases/{case_no}/extension", json={"days": 5, "reason": "x"}),
        403,
        "case.not_lead_department",
        "role",
    )
    before = lead.get(f"/api/v1/cases/{case_no}/clock").json()
    extended = lead.post(
        f"/api/v1/cases/{case_no}/extension", json={"days": 15, "reason": "三部门联合审查"}
    )
    assert extended.status_code == 200, extended.json()
    after = lead.get(f"/api/v1/cases/{case_no}/clock").json()
    assert (after["limit_days"], after["extension_days"]) == (before["limit_days"] + 15, 15)
    assert after["deadline"] == extended.json()["deadline"] > before["deadline"]
    assert (after["days_used"], after["days_left"], after["status"]) == (0, 16, "normal")
    later = lead.get(f"/api/v1/cases/{case_no}/clock", params={"on": after["deadline"]}).json()
    assert (later["days_used"], later["days_left"], later["status"]) == (16, 0, "yellow")


def test_commitment_verification_failure_over_http(
    county: ThisNode, staff: Callable[[str], TestClient]
):
    case_no = accepted_case(county, FOOD, commitment=True)
    lead = staff("scjg")
    assert (
        lead.post(
            f"/api/v1/cases/{case_no}/opinion",
            json={"task_id": f"{case_no}/review/1", "opinion": "agree"},
        ).status_code
        == 200
    )
    decided = lead.post(f"/api/v1/cases/{case_no}/decide", json={"decision": "approved"}).json()
    licence_id = decided["licence_id"]
    assert decided["verification"]["task_id"] == f"{case_no}/verification/1"
    tasks = lead.get("/api/v1/tasks").json()["tasks"]
    assert [(t["kind"], t["due_on"]) for t in tasks] == [
        ("verification", decided["verification"]["due_on"])
    ]
    refused(
        staff("police").post(
            f"/api/v1/cases/{case_no}/verification", json={"passed": False, "comment": "x"}
        ),
        403,
        "case.not_your_department",
        "task_id",
    )
    failed = lead.post(
        f"/api/v1/cases/{case_no}/verification",
        json={"passed": False, "comment": "未按承诺补交健康证明"},
    )
    assert failed.status_code == 200, failed.json()
    assert (failed.json()["revoked_licence"], failed.json()["passed"]) == (licence_id, False)
    refused(
        lead.post(f"/api/v1/cases/{case_no}/verification", json={"passed": True}),
        409,
        "case.task_done",
        "task_id",
    )


def test_immediate_and_township_cases_over_http(
    county: ThisNode,
    tree: dict,
    staff: Callable[[str], TestClient],
    make_client: Callable[..., TestClient],
):
    now = accepted_case(county, SOLE_TRADER)
    refused(
        staff("scjg").post(f"/api/v1/cases/{now}/decide", json={"decision": "approved"}),
        403,
        "auth.role",
        "role",
    )
    on_the_spot = staff("window").post(f"/api/v1/cases/{now}/decide", json={"decision": "approved"})
    assert on_the_spot.status_code == 200 and on_the_spot.json()["state"] == "approved"

    settings = county.settings.model_copy(update={"node_id": TOWNSHIP_ID, "tier": "township"})
    township = replace(county, settings=settings, key=tree[TOWNSHIP_ID])
    case_no = accepted_case(township, TOWNSHIP_2A)
    clerk, approver = make_client(township, "tclerk"), make_client(township, "tapprover")
    assert [t["department"] for t in clerk.get("/api/v1/tasks").json()["tasks"]] == ["乡镇审批"]
    assert (
        clerk.post(
            f"/api/v1/cases/{case_no}/tasks/review/1/opinion", json={"opinion": "agree"}
        ).status_code
        == 200
    )
    refused(
        clerk.post(f"/api/v1/cases/{case_no}/decide", json={"decision": "approved"}),
        403,
        "auth.role",
        "role",
    )
    refused(
        approver.post(f"/api/v1/cases/{case_no}/decide", json={"decision": "rejected"}),
        400,
        "case.reason_required",
        "reason",
    )
    decided = approver.post(
        f"/api/v1/cases/{case_no}/decide",
        json={"decision": "rejected", "reason": "不符合奖励扶助条件"},
    )
    assert decided.status_code == 200 and decided.json()["state"] == "rejected"
    assert staff("scjg").get("/api/v1/tasks").json()["tasks"] == []
