"""Review on the screens: parallel department tasks (each department sees and works only
its own), the decision that issues the licence, special procedures and extensions."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select
from web_testing import post_form

from common.cases.intake import service as intake
from common.cases.models import CaseTask, SpecialProcedure
from common.cases.review import service as review
from common.db import transaction


@pytest.fixture
def company_case(published, actors, k, stored_pdf) -> str:
    """企业设立登记: accepted at the county, three departments review in parallel."""
    case_no = k.file(
        published,
        actors["clerk"],
        k.COMPANY,
        materials=[{"position": i, "blob_sha256": stored_pdf} for i in range(5)],
    )
    k.do(published, intake.accept_case, actors["clerk"], case_no)
    return case_no


def tasks_of(published, case_no: str) -> dict[str, Any]:
    with transaction(published.engine) as session:
        rows = session.execute(select(CaseTask).where(CaseTask.case_no == case_no)).scalars().all()
        return {
            t.task_id.split("/", 1)[1]: (t.department, t.state, t.opinion, t.done_by) for t in rows
        }


def test_parallel_review_each_department_sees_only_its_own_task(
    published, company_case, browser, case_of
):
    case_no, page = company_case, f"/staff/cases/{company_case}"
    scjg, police = browser(published, "scjg"), browser(published, "police")

    mine = scjg.get("/staff/tasks")
    assert mine.status_code == 200
    assert (
        mine.text.count('data-testid="task-row"') == 1
        and f'data-task-id="{case_no}/review/1"' in mine.text
    )
    assert "衡东县公安局" not in mine.text
    theirs = police.get("/staff/tasks").text
    assert f'data-task-id="{case_no}/review/2"' in theirs and f"{case_no}/review/1" not in theirs

    bench = scjg.get(page)
    assert bench.status_code == 200
    # The lead lists the police's task (it decides on every opinion) but has no form for it.
    assert f'value="{case_no}/review/1"' in bench.text
    assert f'value="{case_no}/review/2"' not in bench.text
    # The market reviewer posts an opinion on the police's task: refused, nothing written.
    refused = post_form(
        scjg, f"{page}/opinion", {"task_id": f"{case_no}/review/2", "opinion": "agree"}, page=page
    )
    assert refused.status_code == 403 and "不是本部门的任务" in refused.text
    assert tasks_of(published, case_no)["review/2"][1:] == ("open", None, None)

    # 不同意 needs the reason, shown at the comment field of that task's form.
    empty = post_form(
        police,
        f"{page}/opinion",
        {"task_id": f"{case_no}/review/2", "opinion": "disagree"},
        page=page,
    )
    assert empty.status_code == 400 and "请填写审查意见说明" in empty.text
    assert tasks_of(published, case_no)["review/2"][1] == "open"
    assert (
        post_form(
            police,
            f"{page}/opinion",
            {"task_id": f"{case_no}/review/2", "opinion": "agree", "comment": "无异议"},
            page=page,
        ).status_code
        == 303
    )
    tax = browser(published, "tax")
    assert (
        post_form(
            tax,
            f"{page}/opinion",
            {"task_id": f"{case_no}/review/3", "opinion": "agree"},
            page=page,
        ).status_code
        == 303
    )

    # The lead department cannot decide while its own task is open.
    early = post_form(scjg, f"{page}/decide", {"decision": "approved"}, page=page)
    assert early.status_code == 409 and "尚未提出审查意见" in early.text
    assert case_of(case_no).state == "accepted"
    assert (
        post_form(
            scjg,
            f"{page}/opinion",
            {"task_id": f"{case_no}/review/1", "opinion": "agree"},
            page=page,
        ).status_code
        == 303
    )
    assert [v[1:3] for v in tasks_of(published, case_no).values()] == [("done", "agree")] * 3

    # A department that is not the lead may not decide.
    assert (
        post_form(police, f"{page}/decide", {"decision": "approved"}, page=page).status_code == 403
    )
    decided = post_form(scjg, f"{page}/decide", {"decision": "approved"}, page=page)
    assert decided.status_code == 303
    case = case_of(case_no)
    assert (case.state, case.decision) == ("approved", "approved") and case.licence_id
    after = scjg.get(page)
    assert "已签发电子证照" in after.text
    assert f'data-testid="licence-id">{case.licence_id}<' in after.text
    assert f"/api/v1/licences/{case.licence_id}.pdf" in after.text
    assert 'data-testid="licence-state">有效' in after.text


def test_reject_needs_reasons(published, company_case, browser, case_of, k, staff_actor):
    case_no, page = company_case, f"/staff/cases/{company_case}"
    for user, n in (("scjg", 1), ("police", 2), ("tax", 3)):
        k.do(
            published, review.record_opinion, staff_actor(user), case_no, f"review/{n}", "agree", ""
        )
    scjg = browser(published, "scjg")
    empty = post_form(scjg, f"{page}/decide", {"decision": "rejected", "reason": ""}, page=page)
    assert empty.status_code == 400 and 'id="d-decide-reason"' in empty.text
    assert case_of(case_no).state == "accepted"


def test_special_procedure_stops_the_clock_and_an_extension_is_capped(
    published, company_case, browser, case_of
):
    case_no, page = company_case, f"/staff/cases/{company_case}"
    scjg = browser(published, "scjg")
    bench = scjg.get(page).text
    assert (
        'data-testid="special-start-button"' in bench and 'data-testid="extension-button"' in bench
    )

    empty = post_form(
        scjg, f"{page}/special", {"subkind": "expert_review", "reason": ""}, page=page
    )
    assert empty.status_code == 400 and 'id="d-special-reason"' in empty.text
    assert case_of(case_no).state == "accepted"

    started = post_form(
        scjg,
        f"{page}/special",
        {"subkind": "expert_review", "reason": "组织专家评审经营范围"},
        page=page,
    )
    assert started.status_code == 303
    assert case_of(case_no).state == "special"
    bench = scjg.get(page).text
    assert "不计入办理时限" in bench and 'data-status="paused"' in bench
    assert f"/api/v1/cases/{case_no}/documents/special-procedure.pdf?seq=1" in bench
    assert (
        'data-testid="special-end-button"' in bench
        and 'data-testid="special-start-button"' not in bench
    )

    # §42: joint handling may be extended by at most 15 working days.
    too_long = post_form(
        scjg, f"{page}/extension", {"days": "20", "reason": "联合审查需要"}, page=page
    )
    assert too_long.status_code == 400 and "最多延长15个工作日" in too_long.text
    assert 'id="d-extension-days"' in too_long.text
    not_a_number = post_form(
        scjg, f"{page}/extension", {"days": "五", "reason": "联合审查需要"}, page=page
    )
    assert not_a_number.status_code == 400
    assert case_of(case_no).extension_days == 0
    assert (
        post_form(
            scjg, f"{page}/extension", {"days": "5", "reason": "联合审查需要"}, page=page
        ).status_code
        == 303
    )
    assert case_of(case_no).extension_days == 5

    ended = post_form(scjg, f"{page}/special/1/end", {"result": "专家评审通过"}, page=page)
    assert ended.status_code == 303
    assert case_of(case_no).state == "accepted"
    with transaction(published.engine) as session:
        procedure = session.get(SpecialProcedure, (case_no, 1))
        assert (procedure.kind, procedure.subkind, procedure.result) == (
            2,
            "expert_review",
            "专家评审通过",
        )
