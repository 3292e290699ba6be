"""One case of each shape, end to end, through the HTTP API only (issue 3, "Done when").

1. a village 即办件 filed, accepted, decided and delivered by the agent on the spot;
2. a township 承诺件 with a one-time notice, a return visit and a supplement;
3. a county matter with three departments in parallel and a special procedure;
4. a county 告知承诺制 matter whose verification fails and revokes the licence.

Every action is a request of a real provisioned user (fixtures only set up the nodes,
the catalogue and the users). The product reads "today" through ``access.today_on``
and the licence module's ``local_today``; the ``today`` fixture pins those to chosen
dates so that the days between steps are real working days (a special procedure that
lasts, a deadline across the National Day holidays) and every date can be asserted.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

import pytest
from fastapi.testclient import TestClient
from onetrip_testing import COUNTY_ID, TOWNSHIP_ID, VILLAGE_ID

from common.calendar.service import working_calendar
from common.calendar.workdays import WorkingCalendar
from common.cases import access
from common.db import transaction
from common.identifiers import make_licence_id, mask_identifier
from common.licences import service as licence_service
from common.licences import verification as licence_verification
from common.node import ThisNode

MARKET, POLICE, TAX = "衡东县市场监督管理局", "衡东县公安局", "国家税务总局衡东县税务局"
MARKET_USCC = "11430424MB1C595315"  # implementing body of the county's business matters
PASSWORD = "Dept-review-2026"


class Today:
    """The date the product sees as today (Asia/Shanghai), set step by step."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.day: date | None = None
        for module in (access, licence_service, licence_verification):
            monkeypatch.setattr(module, "local_today", self._local_today)

    def _local_today(self, tz: Any = None) -> date:
        assert self.day is not None, "set the day first"
        return self.day

    def __call__(self, day: str) -> str:
        self.day = date.fromisoformat(day)
        return day


@pytest.fixture
def today(monkeypatch: pytest.MonkeyPatch) -> Today:
    return Today(monkeypatch)


def calendar_of(node: ThisNode) -> WorkingCalendar:
    with transaction(node.engine) as session:
        return working_calendar(session)


def call(client: TestClient, method: str, url: str, expect: int = 200, **kwargs: Any) -> Any:
    response = client.request(method, url, **kwargs)
    assert response.status_code == expect, f"{method} {url}: {response.status_code} {response.text}"
    return response.json()


def refused(
    client: TestClient, method: str, url: str, expect: int, code: str, **kwargs: Any
) -> dict[str, Any]:
    body = call(client, method, url, expect, **kwargs)
    assert body["code"] == code, body
    return body


def upload(client: TestClient, content: bytes, name: str = "材料.pdf") -> str:
    media = "image/png" if name.endswith(".png") else "application/pdf"
    blob = call(client, "POST", "/api/v1/blobs", 201, files={"file": (name, content, media)})
    assert blob["size"] == len(content)
    return blob["sha256"]


def pdf(tag: str) -> bytes:
    """A small valid-looking PDF whose hash differs per tag."""
    return f"%PDF-1.7\n% {tag}\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n".encode()


def person(k: Any, name: str = "张三") -> dict[str, Any]:
    return {"kind": "person", "name": name, "id_number": k.PERSON_ID, "phone": "13800000000"}


def cases_path(case_no: str, rest: str = "") -> str:
    return f"/api/v1/cases/{case_no}{rest}"


# -- 1. a village 即办件 ------------------------------------------------------------------


def test_village_immediate_case_is_done_in_one_trip(village, staff_client, make_client, today, k):
    day = today("2026-11-20")
    agent = staff_client(village, "agent")
    card = upload(agent, pdf("身份证"))
    filed = call(
        agent,
        "POST",
        "/api/v1/cases",
        201,
        json={
            "matter_code": k.VILLAGE_PENSION,
            "applicant": person(k),
            "materials": [{"position": 0, "blob_sha256": card}],
            "visit": {"who": "applicant", "place": "新民村代办点", "purpose": "申请参保登记"},
        },
    )
    case_no = filed["case_no"]
    assert case_no == f"{VILLAGE_ID}-20261120-0001"
    assert (filed["state"], filed["agent"], filed["case_type"], filed["handling_level"]) == (
        "filed",
        "agent",
        "1",
        "village",
    )
    assert filed["applicant"]["id_masked"] == mask_identifier(k.PERSON_ID) != k.PERSON_ID

    accepted = call(agent, "POST", cases_path(case_no, "/accept"))
    assert accepted["tasks"] == []  # 即办件: decided on the spot, nothing to review
    assert (accepted["dates"]["accepted_on"], accepted["deadline"], accepted["limit_days"]) == (
        day,
        day,
        0,
    )

    decided = call(agent, "POST", cases_path(case_no, "/decide"), json={"decision": "approved"})
    assert (
        decided["state"],
        decided["decided_on"],
        decided["licence_id"],
        decided["verification"],
    ) == ("approved", day, None, None)
    view = call(agent, "POST", cases_path(case_no, "/deliver"), json={"method": "agent"})
    assert (view["state"], view["delivery"]["method"], view["dates"]["delivered_on"]) == (
        "delivered",
        "agent",
        day,
    )

    rating = call(
        agent, "POST", cases_path(case_no, "/rating"), 201, json={"level": 1, "comment": "办得快"}
    )
    assert (rating["level"], rating["label"], rating["bad"], rating["rectification"]) == (
        1,
        "非常满意",
        False,
        None,
    )
    assert call(agent, "GET", cases_path(case_no, "/rating"))["rated_on"] == day

    view = call(agent, "GET", cases_path(case_no))
    assert view["state_label"] == "已送达" and view["rating"] == 1
    assert view["trips"] == {"count": 1, "limit": 1, "over_limit": False, "reason": None}
    assert [(v["who"], v["counts"]) for v in view["visit_list"]] == [("applicant", True)]
    assert view["tasks"] == [] and view["notices"] == 0
    assert view["clock"]["status"] == "stopped"
    assert (
        view["clock"]["days_used"],
        view["clock"]["days_left"],
        view["clock"]["wait_calendar_days"],
    ) == (0, 0, 0)

    public = make_client(village, None)
    url = f"/api/v1/public/cases/{case_no}/progress"
    progress = call(public, "POST", url, json={"id_last4": k.PERSON_ID[-4:]})
    assert progress == {
        "case_no": case_no,
        "state_label": "已送达",
        "matter_name": filed["matter_name"],
        "filed_on": day,
        "accepted_on": day,
        "deadline": day,
        "decided_on": day,
        "delivered_on": day,
        "deadline_status": "stopped",
        "deadline_status_label": "已停止计时",
        "days_left": None,
        "result_revoked": False,
    }
    wrong = "0000" if k.PERSON_ID[-4:] != "0000" else "1111"
    not_found = refused(public, "POST", url, 404, "case.not_found", json={"id_last4": wrong})
    # The same answer for a case that does not exist: the endpoint is no case-number oracle.
    other_case = url.replace(f"{case_no}/", f"{case_no[:-1]}9/")
    assert call(public, "POST", other_case, 404, json={"id_last4": k.PERSON_ID[-4:]}) == not_found


# -- 2. a township 承诺件 with a one-time notice and a supplement ---------------------------


def test_township_promised_case_with_one_time_notice(township, staff_client, today, k):
    clerk, approver = staff_client(township, "tclerk"), staff_client(township, "tapprover")
    filed_on = today("2026-09-28")
    request = pdf("最低生活保障申请书")
    filed = call(
        clerk,
        "POST",
        "/api/v1/cases",
        201,
        json={
            "matter_code": k.MINIMUM_LIVING,
            "applicant": person(k, "李桂兰"),
            "materials": [
                {"position": 0, "blob_sha256": upload(clerk, request)},
                {"position": 1, "blob_sha256": upload(clerk, pdf("身份证"))},
            ],
            "visit": {"who": "applicant", "place": "洣水镇便民服务中心", "purpose": "申请低保"},
        },
    )
    case_no = filed["case_no"]
    assert case_no == f"{TOWNSHIP_ID}-20260928-0001"
    assert (filed["matter"]["required_visits"], filed["limit_days"], filed["trips"]["count"]) == (
        1,
        10,
        1,
    )
    missing = ["居民户口簿", "家庭经济状况核对授权书"]
    assert [m["name"] for m in filed["materials"] if not m["provided"]] == missing
    refused(clerk, "POST", cases_path(case_no, "/accept"), 400, "case.materials_missing")

    # 一次性告知: a notice that leaves out a missing material is refused, and leaves no trace.
    incomplete = refused(
        clerk,
        "POST",
        cases_path(case_no, "/supplement-notice"),
        400,
        "case.notice_incomplete",
        json={"missing": missing[:1]},
    )
    assert incomplete["field"] == "missing" and missing[1] in incomplete["message"]
    notice = call(
        clerk, "POST", cases_path(case_no, "/supplement-notice"), 201, json={"missing": missing}
    )
    assert notice == {
        "notice_no": 1,
        "missing": missing,
        "issued_on": filed_on,
        "breach": False,
        "issued_by": "tclerk",
        "items": [{"name": name, "reason": None} for name in missing],
        "note": None,
    }

    # Two days later the resident comes back with the two papers: a second trip.
    accepted_on = today("2026-09-30")
    visit = call(
        clerk,
        "POST",
        cases_path(case_no, "/visits"),
        201,
        json={"who": "applicant", "place": "洣水镇便民服务中心", "purpose": "补交材料"},
    )
    second_trip_reason = "跑动次数超过承诺的1次：第2次到现场（原因：补交材料）"
    assert (
        visit["seq"],
        visit["counts"],
        visit["visits"],
        visit["over_visit_limit"],
        visit["over_limit_reason"],
    ) == (2, True, 2, True, second_trip_reason)
    view = call(
        clerk,
        "POST",
        cases_path(case_no, "/supplement"),
        json={
            "materials": [
                {"position": 2, "blob_sha256": upload(clerk, k.PNG_BYTES, "户口簿.png")},
                {"name": missing[1], "blob_sha256": upload(clerk, pdf("授权书"))},
            ]
        },
    )
    assert view["state"] == "filed" and all(m["provided"] for m in view["materials"])

    view = call(clerk, "POST", cases_path(case_no, "/accept"))
    deadline = (
        calendar_of(township).add_working_days(date.fromisoformat(accepted_on), 10).isoformat()
    )
    assert deadline == "2026-10-20"  # 国庆 1-7 Oct off, Saturday 10 Oct a make-up working day
    assert (view["state"], view["dates"]["accepted_on"], view["deadline"]) == (
        "accepted",
        accepted_on,
        deadline,
    )
    task_id = f"{case_no}/review/1"
    assert [(t["task_id"], t["department"], t["lead"], t["state"]) for t in view["tasks"]] == [
        (task_id, "乡镇审批", True, "open")
    ]
    clock = call(clerk, "GET", cases_path(case_no, "/clock"))
    assert (
        clock["accepted_on"],
        clock["deadline"],
        clock["limit_days"],
        clock["days_used"],
        clock["status"],
    ) == (accepted_on, deadline, 10, 0, "normal")

    decided_on = today("2026-10-12")
    opinion = call(
        clerk,
        "POST",
        cases_path(case_no, "/tasks/review/1/opinion"),
        json={"opinion": "agree", "comment": "家庭收入低于保障标准"},
    )
    assert (opinion["task_id"], opinion["by"], opinion["on"]) == (task_id, "tclerk", decided_on)
    refused(
        clerk,
        "POST",
        cases_path(case_no, "/decide"),
        403,
        "auth.role",
        json={"decision": "approved"},
    )
    decided = call(approver, "POST", cases_path(case_no, "/decide"), json={"decision": "approved"})
    assert (decided["state"], decided["decided_by"], decided["licence_id"]) == (
        "approved",
        "tapprover",
        None,
    )
    clock = call(clerk, "GET", cases_path(case_no, "/clock"))
    assert (clock["status"], clock["days_used"], clock["days_left"]) == ("delivering", 4, 6)

    # The resident collects the decision at the window: a third trip, on another day.
    delivered_on = today("2026-10-13")
    view = call(clerk, "POST", cases_path(case_no, "/deliver"), json={"method": "window"})
    assert (view["state"], view["delivery"]["method"], view["dates"]["delivered_on"]) == (
        "delivered",
        "window",
        delivered_on,
    )
    assert (view["notices"], view["notice_breaches"]) == (1, 0)
    assert view["trips"] == {
        "count": 3,
        "limit": 1,
        "over_limit": True,
        "reason": second_trip_reason,
    }
    assert [(v["seq"], v["who"], v["visited_on"], v["counts"]) for v in view["visit_list"]] == [
        (1, "applicant", filed_on, True),
        (2, "applicant", accepted_on, True),
        (3, "applicant", delivered_on, True),
    ]
    assert view["visit_list"][2]["purpose"] == "领取办理结果"
    waited = calendar_of(township).working_days_between(
        date.fromisoformat(filed_on), date.fromisoformat(delivered_on)
    )
    assert (view["clock"]["wait_calendar_days"], view["clock"]["wait_working_days"]) == (
        15,
        waited,
    ) and waited == 7

    # A bad real-name rating opens a rectification; it closes only after the call-back.
    rating = call(
        clerk,
        "POST",
        cases_path(case_no, "/rating"),
        201,
        json={"level": 4, "comment": "跑了三趟", "real_name": True},
    )
    rectification_id = f"{case_no}/rectification/1"
    due_on = (
        calendar_of(township).add_working_days(date.fromisoformat(delivered_on), 10).isoformat()
    )
    assert (rating["label"], rating["bad"], rating["real_name"]) == ("不满意", True, True)
    assert {
        key: rating["rectification"][key]
        for key in ("task_id", "opened_on", "due_on", "state", "callback_required", "callback_done")
    } == {
        "task_id": rectification_id,
        "opened_on": delivered_on,
        "due_on": due_on,
        "state": "open",
        "callback_required": True,
        "callback_done": False,
    }
    assert due_on == "2026-10-27"
    today("2026-10-14")
    refused(
        approver,
        "POST",
        "/api/v1/rectifications/close",
        409,
        "rating.callback_required",
        json={"task_id": rectification_id, "result": "已整改"},
    )
    callback = call(
        approver,
        "POST",
        "/api/v1/rectifications/callback",
        json={"task_id": rectification_id, "note": "已电话回访，申请人表示理解"},
    )
    assert (callback["callback_done"], callback["callback_by"], callback["callback_on"]) == (
        True,
        "tapprover",
        "2026-10-14",
    )
    closed = call(
        approver,
        "POST",
        "/api/v1/rectifications/close",
        json={"task_id": rectification_id, "result": "窗口改为一次性告知并当场收件"},
    )
    assert (closed["state"], closed["closed_on"], closed["overdue"]) == (
        "closed",
        "2026-10-14",
        False,
    )
    assert call(clerk, "GET", cases_path(case_no))["rating"] == 4


# -- 3. a county matter with three departments and a special procedure ---------------------


def _department_reviewers(
    published: ThisNode, make_client: Callable[..., TestClient]
) -> dict[str, TestClient]:
    """One reviewer per department, provisioned by the administrator and logged in."""
    admin = make_client(published, "admin")
    clients = {}
    for username, department in (("scjg", MARKET), ("police", POLICE), ("tax", TAX)):
        user = call(
            admin,
            "POST",
            "/api/v1/users",
            201,
            json={
                "node_id": COUNTY_ID,
                "username": username,
                "display_name": f"{department}审批员",
                "role": "department_reviewer",
                "department": department,
                "password": PASSWORD,
            },
        )
        assert (user["role"], user["department"]) == ("department_reviewer", department)
        client = make_client(published, None)
        token = call(
            client, "POST", "/api/v1/auth/token", json={"username": username, "password": PASSWORD}
        )
        client.headers["Authorization"] = f"Bearer {token['token']}"
        clients[username] = client
    return clients


def test_county_parallel_approval_with_special_procedure(
    published, staff_client, make_client, today, k
):
    clerk = staff_client(published, "clerk")
    filed_on = today("2026-11-02")
    materials = [
        {"position": n, "blob_sha256": upload(clerk, pdf(f"设立登记材料{n}"))} for n in range(5)
    ]
    filed = call(
        clerk,
        "POST",
        "/api/v1/cases",
        201,
        json={
            "matter_code": k.COMPANY,
            "applicant": person(k, "王五"),
            "materials": materials,
            "visit": {
                "who": "applicant",
                "place": "县政务服务中心商事登记窗口",
                "purpose": "申请企业设立登记",
            },
        },
    )
    case_no = filed["case_no"]
    queue = call(clerk, "GET", "/api/v1/cases/queues/business")
    assert [(c["case_no"], c["state"]) for c in queue] == [(case_no, "filed")]
    view = call(clerk, "POST", cases_path(case_no, "/accept"))
    assert call(clerk, "GET", "/api/v1/cases/queues/business") == []
    deadline = calendar_of(published).add_working_days(date.fromisoformat(filed_on), 1).isoformat()
    assert (view["deadline"], view["limit_days"]) == (deadline, 1) and deadline == "2026-11-03"
    assert [(t["department"], t["lead"]) for t in view["tasks"]] == [
        (MARKET, True),
        (POLICE, False),
        (TAX, False),
    ]

    reviewers = _department_reviewers(published, make_client)
    for number, (username, department) in enumerate(
        (("scjg", MARKET), ("police", POLICE), ("tax", TAX)), 1
    ):
        mine = call(reviewers[username], "GET", "/api/v1/tasks")["tasks"]
        assert [(t["task_id"], t["department"], t["case"]["applicant_id"]) for t in mine] == [
            (f"{case_no}/review/{number}", department, mask_identifier(k.PERSON_ID))
        ]
        seen = call(reviewers[username], "GET", cases_path(case_no))["tasks"]
        # The lead department reads every department's task (it decides on them).
        expected = [MARKET, POLICE, TAX] if department == MARKET else [department]
        assert [t["department"] for t in seen] == expected
    refused(
        reviewers["police"],
        "POST",
        cases_path(case_no, "/tasks/review/3/opinion"),
        403,
        "case.not_your_department",
        json={"opinion": "agree"},
    )

    call(
        reviewers["scjg"],
        "POST",
        cases_path(case_no, "/tasks/review/1/opinion"),
        json={"opinion": "agree"},
    )
    pending = refused(
        reviewers["scjg"],
        "POST",
        cases_path(case_no, "/decide"),
        409,
        "case.opinions_pending",
        json={"decision": "approved"},
    )
    assert pending["field"] == "tasks" and f"{POLICE}、{TAX}" in pending["message"]
    refused(
        reviewers["tax"],
        "POST",
        cases_path(case_no, "/decide"),
        403,
        "case.not_lead_department",
        json={"decision": "approved"},
    )

    # 专家评审 from the deadline day to three working days later: the clock stops meanwhile.
    started_on = today("2026-11-03")
    special = call(
        reviewers["scjg"],
        "POST",
        cases_path(case_no, "/special-procedures"),
        json={
            "kind": 2,
            "subkind": "expert_review",
            "reason": "经营范围涉及前置审批，组织专家评审",
        },
    )
    assert (special["state"], special["seq"], special["started_on"]) == ("special", 1, started_on)
    today("2026-11-05")
    clock = call(clerk, "GET", cases_path(case_no, "/clock"))
    assert (clock["status"], clock["days_used"], clock["paused_days"], clock["deadline"]) == (
        "paused",
        1,
        2,
        deadline,
    )
    refused(
        reviewers["tax"],
        "POST",
        cases_path(case_no, "/tasks/review/3/opinion"),
        409,
        "case.illegal_transition",
        json={"opinion": "agree"},
    )
    ended_on = today("2026-11-06")
    ended = call(
        reviewers["scjg"],
        "POST",
        cases_path(case_no, "/special-procedures/1/end"),
        json={"result": "专家评审通过"},
    )
    moved = calendar_of(published).add_working_days(date.fromisoformat(deadline), 3).isoformat()
    assert (ended["state"], ended["paused_days"], ended["deadline"]) == ("accepted", 3, moved)
    assert moved == ended_on
    clock = call(clerk, "GET", cases_path(case_no, "/clock"))
    assert (
        clock["status"],
        clock["days_used"],
        clock["days_left"],
        clock["paused_days"],
        clock["deadline"],
    ) == ("yellow", 1, 0, 3, moved)
    procedures = call(clerk, "GET", cases_path(case_no, "/special-procedures"))["procedures"]
    assert [
        (p["subkind_label"], p["started_on"], p["ended_on"], p["paused_days"]) for p in procedures
    ] == [("专家评审", started_on, ended_on, 3)]

    call(
        reviewers["police"],
        "POST",
        cases_path(case_no, "/tasks/review/2/opinion"),
        json={"opinion": "agree"},
    )
    call(
        reviewers["tax"],
        "POST",
        cases_path(case_no, "/opinion"),
        json={"task_id": "review/3", "opinion": "agree", "comment": "已完成税务登记信息确认"},
    )
    decided = call(
        reviewers["scjg"], "POST", cases_path(case_no, "/decide"), json={"decision": "approved"}
    )
    licence_id = make_licence_id("YYZZ", MARKET_USCC, "2026000001", version=1)
    assert (decided["state"], decided["decided_on"], decided["licence_id"]) == (
        "approved",
        ended_on,
        licence_id,
    )

    licence = call(clerk, "GET", f"/api/v1/licences/{licence_id}")
    assert (
        licence["type_code"],
        licence["name"],
        licence["holder_name"],
        licence["holder_id_masked"],
    ) == ("YYZZ", "营业执照", "王五", mask_identifier(k.PERSON_ID))
    assert k.PERSON_ID not in str(licence)
    assert (licence["case_no"], licence["valid_from"], licence["valid_to"], licence["state"]) == (
        case_no,
        ended_on,
        None,
        "valid",
    )
    public = make_client(published, None)
    verdict = call(public, "GET", f"/api/v1/public/licences/{licence_id}/verify")
    assert (verdict["status"], verdict["holder_name"], verdict["issuer_node"]) == (
        "valid",
        "王*",
        COUNTY_ID,
    )
    payload = call(clerk, "GET", f"/api/v1/licences/{licence_id}/qr")["payload"]
    assert (
        call(public, "POST", "/api/v1/public/licences/verify", json={"payload": payload})["status"]
        == "valid"
    )

    delivered_on = today("2026-11-09")
    view = call(
        clerk,
        "POST",
        cases_path(case_no, "/deliver"),
        json={"method": "courier", "tracking_no": "SF1234567890"},
    )
    assert view["delivery"] == {
        "method": "courier",
        "tracking_no": "SF1234567890",
        "delivered_on": delivered_on,
    }
    assert view["trips"] == {"count": 1, "limit": 1, "over_limit": False, "reason": None}
    assert (
        view["clock"]["status"],
        view["clock"]["days_used"],
        view["clock"]["wait_working_days"],
    ) == ("stopped", 1, 5)
    assert all(t["state"] == "done" and t["opinion"] == "agree" for t in view["tasks"])
    rating = call(clerk, "POST", cases_path(case_no, "/rating"), 201, json={"level": 2})
    assert (rating["label"], rating["rectification"]) == ("满意", None)


# -- 4. 告知承诺制 whose verification fails -------------------------------------------------


def test_commitment_case_whose_verification_fails(published, staff_client, make_client, today, k):
    clerk, reviewer = staff_client(published, "clerk"), staff_client(published, "reviewer")
    company = k.uscc("91430424MA4T5K8P2")
    filed_on = today("2026-11-16")
    given = [
        {"position": n, "blob_sha256": upload(clerk, pdf(f"食品经营许可材料{n}"))} for n in range(4)
    ]
    filed = call(
        clerk,
        "POST",
        "/api/v1/cases",
        201,
        json={
            "matter_code": k.FOOD_LICENCE,
            "commitment": True,
            "materials": given,
            "applicant": {
                "kind": "enterprise",
                "name": "衡东县好味餐饮有限公司",
                "id_number": company,
            },
        },
    )
    case_no = filed["case_no"]
    assert filed["commitment"] is True and filed["applicant"]["id_masked"] == mask_identifier(
        company
    )
    promised = [
        (m["position"], m["provided"], m["promised"]) for m in filed["materials"] if m["mandatory"]
    ]
    assert promised == [
        (0, True, False),
        (1, True, False),
        (2, True, False),
        (3, True, False),
        (4, False, True),
    ]
    view = call(clerk, "POST", cases_path(case_no, "/accept"))
    deadline = calendar_of(published).add_working_days(date.fromisoformat(filed_on), 5).isoformat()
    assert (view["state"], view["deadline"]) == ("accepted", deadline) and deadline == "2026-11-23"

    decided_on = today("2026-11-18")
    call(
        reviewer, "POST", cases_path(case_no, "/tasks/review/1/opinion"), json={"opinion": "agree"}
    )
    decided = call(reviewer, "POST", cases_path(case_no, "/decide"), json={"decision": "approved"})
    licence_id = make_licence_id("SPJYXKZ", MARKET_USCC, "2026000001", version=1)
    due_on = calendar_of(published).add_working_days(date.fromisoformat(decided_on), 20).isoformat()
    assert due_on == "2026-12-16"
    assert (decided["state"], decided["licence_id"], decided["verification"]) == (
        "approved",
        licence_id,
        {"task_id": f"{case_no}/verification/1", "department": k.MARKET_DEPT, "due_on": due_on},
    )
    mine = call(reviewer, "GET", "/api/v1/tasks")["tasks"]
    assert [(t["kind"], t["state"], t["due_on"]) for t in mine] == [
        ("verification", "open", due_on)
    ]
    licence = call(clerk, "GET", f"/api/v1/licences/{licence_id}")
    assert (
        licence["holder_id_masked"],
        licence["valid_from"],
        licence["valid_to"],
        licence["state"],
    ) == (mask_identifier(company), decided_on, "2031-11-17", "valid")
    public = make_client(published, None)
    assert call(public, "GET", f"/api/v1/public/licences/{licence_id}/verify")["status"] == "valid"
    payload = call(clerk, "GET", f"/api/v1/licences/{licence_id}/qr")["payload"]
    view = call(clerk, "POST", cases_path(case_no, "/deliver"), json={"method": "electronic"})
    assert (view["state"], view["trips"]["count"]) == ("delivered", 0)

    # The on-site check finds the promise broken: the licence is revoked.
    revoked_on = today("2026-11-25")
    refused(
        reviewer,
        "POST",
        cases_path(case_no, "/verification"),
        400,
        "case.comment_required",
        json={"passed": False},
    )
    verified = call(
        reviewer,
        "POST",
        cases_path(case_no, "/verification"),
        json={"passed": False, "comment": "现场核查：未建立进货查验记录制度"},
    )
    assert (verified["passed"], verified["revoked_licence"], verified["on"]) == (
        False,
        licence_id,
        revoked_on,
    )
    verdict = call(public, "GET", f"/api/v1/public/licences/{licence_id}/verify")
    assert (verdict["status"], verdict["revoked_on"]) == ("revoked", revoked_on)
    assert (
        call(public, "POST", "/api/v1/public/licences/verify", json={"payload": payload})["status"]
        == "revoked"
    )
    licence = call(clerk, "GET", f"/api/v1/licences/{licence_id}")
    assert (licence["state"], licence["revoked_on"]) == ("revoked", revoked_on)
    assert "告知承诺核查不通过" in licence["revoked_reason"]
    view = call(clerk, "GET", cases_path(case_no))
    assert view["state"] == "delivered"
    assert view["decision"] == {
        "decision": "approved",
        "reason": None,
        "decided_on": decided_on,
        "licence_id": licence_id,
        "result_revoked": True,
    }
    verification = [t for t in view["tasks"] if t["kind"] == "verification"]
    assert [(t["state"], t["opinion"], t["done_on"]) for t in verification] == [
        ("done", "failed", revoked_on)
    ]
    assert call(reviewer, "GET", "/api/v1/tasks")["tasks"] == []
    # The applicant following the case sees that the result no longer stands.
    progress = call(
        public, "POST", f"/api/v1/public/cases/{case_no}/progress", json={"id_last4": company[-4:]}
    )
    assert (progress["state_label"], progress["result_revoked"]) == ("已送达", True)


# -- a bad rating of a case whose result went home to its village ----------------------------


def test_a_bad_rating_of_a_village_case_can_be_called_back(
    village, township, published, staff_client, today, k
):
    """The village holds the case and rates it; the rectification is the township's
    (the village decided, and a village has no staff who may rectify): its approver calls
    back and closes on the rectification's own chain, without custody of the case."""
    today("2026-11-20")
    agent = staff_client(village, "agent")
    case_no = call(
        agent,
        "POST",
        "/api/v1/cases",
        201,
        json={
            "matter_code": k.VILLAGE_PENSION,
            "applicant": person(k),
            "materials": [{"position": 0, "blob_sha256": upload(agent, pdf("身份证"))}],
        },
    )["case_no"]
    for step, body in (
        ("/accept", None),
        ("/decide", {"decision": "approved"}),
        ("/deliver", {"method": "agent"}),
    ):
        call(agent, "POST", cases_path(case_no, step), json=body)
    rating = call(
        agent, "POST", cases_path(case_no, "/rating"), 201, json={"level": 5, "real_name": True}
    )
    task_id = rating["rectification"]["task_id"]
    assert (
        rating["rectification"]["responsible_node"],
        rating["rectification"]["callback_required"],
    ) == (TOWNSHIP_ID, True)
    approver = staff_client(township, "tapprover")
    assert [t["task_id"] for t in call(approver, "GET", "/api/v1/rectifications?state=open")] == [
        task_id
    ]
    refused(
        approver,
        "POST",
        "/api/v1/rectifications/close",
        409,
        "rating.callback_required",
        json={"task_id": task_id, "result": "已整改"},
    )
    today("2026-11-23")
    answers = {}
    for node, username in ((village, "agent"), (published, "admin"), (township, "tapprover")):
        response = staff_client(node, username).post(
            "/api/v1/rectifications/callback", json={"task_id": task_id, "note": "已电话回访"}
        )
        answers[username] = (response.status_code, response.json().get("code"))
    assert answers == {
        "agent": (403, "auth.role"),
        "admin": (403, "rectification.not_responsible"),
        "tapprover": (200, None),
    }
    closed = call(
        approver,
        "POST",
        "/api/v1/rectifications/close",
        json={"task_id": task_id, "result": "代办员服务规范已整改"},
    )
    assert (
        closed["state"],
        closed["callback_by"],
        closed["callback_on"],
        closed["closed_by"],
        closed["closed_on"],
    ) == ("closed", "tapprover", "2026-11-23", "tapprover", "2026-11-23")
    # The village still sees its case's rating, now with the task closed; the case never moved.
    view = call(agent, "GET", cases_path(case_no, "/rating"))
    assert view["rectification"]["state"] == "closed"
    case = call(agent, "GET", cases_path(case_no))
    assert (case["state"], case["rating"]) == ("delivered", 5)
