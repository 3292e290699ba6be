"""The cases of the area and the township's own flow: overdue first with the deadline
colour, filters and search; a township case accepted, reviewed, decided, delivered."""

from __future__ import annotations

import re

from web_testing import post_form

from common.cases.intake import service as intake
from common.cases.review import service as review


def listed(html: str) -> list[tuple[str, str]]:
    return re.findall(r'data-testid="case-row" data-case-no="([^"]+)" data-status="([^"]+)"', html)


def test_overdue_cases_come_first(published, actors, browser, k, stored_pdf, today):
    clerk = actors["clerk"]
    every = [{"position": i, "blob_sha256": stored_pdf} for i in range(5)]
    today("2026-11-02")  # a 即办件 decided at once: the earliest deadline, but finished
    done = k.file(published, clerk, k.SOLE_TRADER, materials=every[:3])
    k.do(published, intake.accept_case, clerk, done)
    k.do(published, review.decide_case, clerk, done, "approved", "")
    today("2026-11-10")  # 企业设立登记, one working day: overdue by the 20th
    late = k.file(published, clerk, k.COMPANY, materials=every)
    k.do(published, intake.accept_case, clerk, late)
    today("2026-11-18")  # 食品经营许可, five working days: still in time
    fresh = k.file(published, clerk, k.FOOD_LICENCE, materials=every)
    k.do(published, intake.accept_case, clerk, fresh)
    waiting = k.file(published, clerk, k.FOOD_LICENCE, materials=every)  # not accepted yet
    today("2026-11-20")

    auditor = browser(published, "auditor")
    page = auditor.get("/staff/cases")
    assert page.status_code == 200
    assert listed(page.text) == [
        (late, "red"),
        (done, "red"),  # decided 11-02, not delivered by 11-20: past §44's ten working days
        (fresh, "normal"),
        (waiting, "not_started"),
    ]
    assert 'class="deadline-over"' in page.text and 'class="deadline-ok"' in page.text
    assert k.PERSON_ID not in page.text

    assert [n for n, _ in listed(auditor.get("/staff/cases?state=filed").text)] == [waiting]
    assert [n for n, _ in listed(auditor.get(f"/staff/cases?number={late[-8:]}").text)] == [late]
    assert listed(auditor.get("/staff/cases?window=social").text) == []
    # A department sees the cases it has tasks in, and the workbench of no other case.
    police = browser(published, "police")
    assert [n for n, _ in listed(police.get("/staff/cases").text)] == [late]
    assert police.get(f"/staff/cases/{fresh}").status_code == 403


def test_township_case_from_queue_to_delivery(
    published, township, actors, browser, k, stored_pdf, case_of
):
    case_no = k.file(
        township,
        actors["tclerk"],
        k.MINIMUM_LIVING,
        materials=[{"position": i, "blob_sha256": stored_pdf} for i in range(4)],
    )
    tclerk = browser(township, "tclerk")
    assert tclerk.get("/", follow_redirects=False).headers["location"] == "/staff/inbox"
    queue = tclerk.get("/staff/queue")
    assert queue.status_code == 200 and case_no in queue.text
    assert (
        post_form(tclerk, f"/staff/cases/{case_no}/accept", {}, page="/staff/queue").status_code
        == 303
    )
    assert case_of(case_no).state == "accepted"
    # The clerk does not decide a township 承诺件.
    assert 'data-testid="decide-button"' not in tclerk.get(f"/staff/cases/{case_no}").text

    approver = browser(township, "tapprover")
    tasks = approver.get("/staff/tasks").text
    assert f'data-task-id="{case_no}/review/1"' in tasks
    page = f"/staff/cases/{case_no}"
    assert (
        post_form(
            approver,
            f"{page}/opinion",
            {
                "task_id": f"{case_no}/review/1",
                "opinion": "agree",
                "comment": "经入户核查，符合条件",
            },
            page=page,
        ).status_code
        == 303
    )
    assert (
        post_form(approver, f"{page}/decide", {"decision": "approved"}, page=page).status_code
        == 303
    )
    assert (case_of(case_no).state, case_of(case_no).licence_id) == ("approved", None)
    assert "data-task-id" not in approver.get("/staff/tasks").text  # nothing open any more
    assert 'data-testid="deliver-button"' in tclerk.get(page).text
    courier = post_form(
        tclerk, f"{page}/deliver", {"method": "courier", "tracking_no": ""}, page=page
    )
    assert courier.status_code == 400 and 'id="d-deliver-tracking_no"' in courier.text
    assert (
        post_form(tclerk, f"{page}/deliver", {"method": "electronic"}, page=page).status_code == 303
    )
    assert case_of(case_no).state == "delivered"
    cases = tclerk.get("/staff/cases").text
    assert case_no in cases and "<h1>辖区办件</h1>" in cases
