"""督办: the county's auditor sends a notice to the node holding a case, with a date to
answer by; that node's staff answer it once; the auditor's list shows it open, overdue
or answered. Over the API, with the refusals each step has."""

from __future__ import annotations

from datetime import date, timedelta

from case_fixtures import MINIMUM_LIVING, file_case
from onetrip_testing import COUNTY_ID, TOWNSHIP_ID

from common.db import transaction
from common.errors import Forbidden
from common.supervision.service import issue_supervision, list_supervisions
from common.timeutil import local_today
from common.users.roles import Actor, Role


def test_a_notice_goes_to_the_holder_and_is_answered_once(
    published, township, village, actors, staff_client
):
    case_no = file_case(township, actors["tclerk"], MINIMUM_LIVING)  # held at 洣水镇
    auditor = staff_client(published, "auditor")
    clerk = staff_client(township, "tclerk")
    due = local_today() + timedelta(days=3)
    issued = auditor.post(
        f"/api/v1/cases/{case_no}/supervisions",
        json={"message": "请说明为何尚未受理", "reply_by": due.isoformat()},
    )
    assert issued.status_code == 201, issued.text
    notice = issued.json()
    assert (notice["to_node"], notice["issuer_node"], notice["state"]) == (
        TOWNSHIP_ID,
        COUNTY_ID,
        "open",
    )
    assert notice["notice_id"] == f"{case_no}:{COUNTY_ID}:1"
    received = clerk.get("/api/v1/supervisions", params={"view": "received"}).json()
    assert [n["notice_id"] for n in received] == [notice["notice_id"]]

    # Only the addressed node answers; the supervisor does not answer its own notice.
    url = f"/api/v1/supervisions/{notice['notice_id']}/answer"
    elsewhere = staff_client(village, "agent").post(url, json={"answer": "不是本村的"})
    assert (elsewhere.status_code, elsewhere.json()["code"]) == (403, "supervision.not_addressed")
    own = auditor.post(url, json={"answer": "自问自答"})
    assert (own.status_code, own.json()["code"]) == (403, "auth.role")
    answered = clerk.post(url, json={"answer": "材料已齐，今日受理"})
    assert answered.status_code == 200 and answered.json()["state"] == "answered"
    again = clerk.post(url, json={"answer": "再答一次"})
    assert (again.status_code, again.json()["code"]) == (409, "supervision.answered")
    listed = auditor.get("/api/v1/supervisions", params={"view": "issued", "state": "answered"})
    assert [n["answer"] for n in listed.json()] == ["材料已齐，今日受理"]


def test_the_refusals_of_issuing(published, township, village, actors, staff_client):
    case_no = file_case(township, actors["tclerk"], MINIMUM_LIVING)
    auditor = staff_client(published, "auditor")
    url = f"/api/v1/cases/{case_no}/supervisions"
    today = local_today()
    past = auditor.post(url, json={"message": "请加快", "reply_by": str(today - timedelta(1))})
    assert (past.status_code, past.json()["field"]) == (400, "reply_by")
    clerk = staff_client(published, "clerk").post(
        url, json={"message": "请加快", "reply_by": str(today)}
    )
    assert (clerk.status_code, clerk.json()["code"]) == (403, "auth.role")
    unknown = auditor.post(
        "/api/v1/cases/430424000000-20260101-9999/supervisions",
        json={"message": "请加快", "reply_by": str(today)},
    )
    assert unknown.status_code == 404
    # The township's own auditor may not supervise a county case (above it).
    county_case = file_case(published, actors["clerk"])
    township_auditor = Actor(username="taud", node_id=TOWNSHIP_ID, role=Role.AUDITOR)
    try:
        with transaction(township.engine) as session:
            issue_supervision(session, township, township_auditor, county_case, "越级", today)
    except Forbidden as refused:
        assert refused.code == "supervision.out_of_scope"
    else:
        raise AssertionError("a township supervised a county case")


def test_an_open_notice_past_its_date_is_overdue(published, township, actors, staff_client):
    case_no = file_case(township, actors["tclerk"], MINIMUM_LIVING)
    today = local_today()
    with transaction(published.engine) as session:
        issue_supervision(session, published, actors["auditor"], case_no, "请加快", today)
    with transaction(published.engine) as session:
        tomorrow = today + timedelta(days=1)
        assert len(list_supervisions(session, published, "issued", "overdue", tomorrow)) == 1
        assert list_supervisions(session, published, "issued", "overdue", today) == []
    auditor = staff_client(published, "auditor")
    shown = auditor.get("/api/v1/supervisions", params={"view": "issued", "state": "all"}).json()
    assert shown[0]["state"] == "open" and shown[0]["reply_by"] == today.isoformat()
    assert date.fromisoformat(shown[0]["issued_on"]) == today
