"""Recording a visit and withdrawing a case on the staff workbench: offered only where
the case's state and the user's role allow, refusals at the field with nothing written,
and the same rules as the REST API behind them."""

from __future__ import annotations

from sqlalchemy import select
from web_testing import post_form

from common.cases.intake import service as intake
from common.cases.models import CaseTask, CaseVisit
from common.cases.review import service as review
from common.db import transaction


def food_case(k, published, actors, pdf: str) -> str:
    """食品经营许可 (county 承诺件, one trip promised) filed with every material, no visit."""
    return k.file(
        published,
        actors["clerk"],
        k.FOOD_LICENCE,
        materials=[{"position": i, "blob_sha256": pdf} for i in range(5)],
    )


def visits_of(published, case_no: str) -> list[tuple[str, str, bool]]:
    with transaction(published.engine) as session:
        rows = (
            session.execute(
                select(CaseVisit).where(CaseVisit.case_no == case_no).order_by(CaseVisit.seq)
            )
            .scalars()
            .all()
        )
        return [(v.who, v.purpose, v.counts) for v in rows]


def test_the_window_clerk_records_the_applicants_visits(
    published, actors, browser, k, stored_pdf, case_of
):
    case_no = food_case(k, published, actors, stored_pdf)
    path = f"/staff/cases/{case_no}"
    clerk = browser(published, "clerk")
    page = clerk.get(path)
    assert 'data-testid="visit-button"' in page.text
    for field in ("who", "place", "purpose"):
        assert f'<label for="f-visit-{field}">' in page.text
    assert 'value="县政务服务中心综合窗口"' in page.text  # the place defaults to this node's window

    empty = post_form(
        clerk,
        f"{path}/visit",
        {"who": "applicant", "place": "县政务服务中心", "purpose": " "},
        page=path,
    )
    assert empty.status_code == 400 and 'id="d-visit-purpose">请填写到场事由' in empty.text
    assert 'aria-invalid="true"' in empty.text and 'value="县政务服务中心"' in empty.text
    stranger = post_form(
        clerk,
        f"{path}/visit",
        {"who": "neighbour", "place": "县政务服务中心", "purpose": "陪同"},
        page=path,
    )
    assert stranger.status_code == 400 and 'id="d-visit-who"' in stranger.text
    assert visits_of(published, case_no) == [] and case_of(case_no).visits == 0

    first = post_form(
        clerk,
        f"{path}/visit",
        {"who": "applicant", "place": "县政务服务中心", "purpose": "咨询办理进度"},
        page=path,
    )
    assert first.status_code == 303 and first.headers["location"] == path
    assert "计入申请人跑动次数（第1次）" in clerk.get(path).text
    assert (case_of(case_no).visits, case_of(case_no).over_visit_limit) == (1, False)

    staff = post_form(
        clerk,
        f"{path}/visit",
        {"who": "staff", "place": "经营场所", "purpose": "现场核查"},
        page=path,
    )
    assert (
        staff.status_code == 303 and case_of(case_no).visits == 1
    )  # a staff journey is not a trip

    second = post_form(
        clerk,
        f"{path}/visit",
        {"who": "applicant", "place": "县政务服务中心", "purpose": "补签申请书"},
        page=path,
    )
    assert second.status_code == 303
    page = clerk.get(path)
    assert "第2次）" in page.text and "已超过承诺的跑动次数" in page.text
    case = case_of(case_no)
    assert (case.visits, case.over_visit_limit) == (
        2,
        True,
    ) and "补签申请书" in case.over_limit_reason
    assert visits_of(published, case_no) == [
        ("applicant", "咨询办理进度", True),
        ("staff", "现场核查", False),
        ("applicant", "补签申请书", True),
    ]


def test_departments_record_visits_only_on_cases_they_work_on(
    published, actors, browser, k, stored_pdf
):
    # 企业设立登记: three departments review in parallel once accepted.
    case_no = k.file(
        published,
        actors["clerk"],
        k.COMPANY,
        materials=[{"position": i, "blob_sha256": stored_pdf} for i in range(5)],
    )
    k.do(published, intake.accept_case, actors["clerk"], case_no)
    path = f"/staff/cases/{case_no}"
    police = browser(published, "police")  # a department with a task, not the lead
    page = police.get(path)
    assert (
        'data-testid="visit-button"' in page.text
        and 'data-testid="withdraw-button"' not in page.text
    )
    answer = post_form(
        police,
        f"{path}/visit",
        {"who": "applicant", "place": "县公安局", "purpose": "现场采集指纹"},
        page=path,
    )
    assert answer.status_code == 303 and visits_of(published, case_no) == [
        ("applicant", "现场采集指纹", True)
    ]

    auditor = browser(published, "auditor")
    page = auditor.get(path)
    assert (
        'data-testid="visit-button"' not in page.text
        and 'data-testid="case-actions"' not in page.text
    )
    refused = post_form(
        auditor,
        f"{path}/visit",
        {"who": "applicant", "place": "县政务服务中心", "purpose": "咨询"},
        page=path,
    )
    assert refused.status_code == 403 and len(visits_of(published, case_no)) == 1


def test_the_window_withdraws_a_case_at_the_applicants_request(
    published, actors, browser, k, stored_pdf, case_of
):
    case_no = food_case(k, published, actors, stored_pdf)
    k.do(published, intake.accept_case, actors["clerk"], case_no)
    path = f"/staff/cases/{case_no}"
    scjg = browser(published, "scjg")  # the lead department reviews, but does not withdraw
    assert 'data-testid="withdraw-button"' not in scjg.get(path).text
    refused = post_form(scjg, f"{path}/withdraw", {"reason": "申请人要求撤回"}, page=path)
    assert refused.status_code == 403 and case_of(case_no).state == "accepted"

    clerk = browser(published, "clerk")
    page = clerk.get(path)
    assert (
        'data-testid="withdraw-button"' in page.text
        and '<label for="f-withdraw-reason">' in page.text
    )
    empty = post_form(clerk, f"{path}/withdraw", {"reason": "  "}, page=path)
    assert empty.status_code == 400 and 'id="d-withdraw-reason">请填写撤回原因' in empty.text
    too_long = post_form(clerk, f"{path}/withdraw", {"reason": "因" * 501}, page=path)
    assert (
        too_long.status_code == 400
        and 'id="d-withdraw-reason">撤回原因不得超过500个字' in too_long.text
    )
    assert case_of(case_no).state == "accepted"

    answer = post_form(clerk, f"{path}/withdraw", {"reason": "申请人书面申请撤回"}, page=path)
    assert answer.status_code == 303 and answer.headers["location"] == path
    case = case_of(case_no)
    assert (case.state, case.closed_reason) == ("withdrawn", "申请人书面申请撤回")
    with transaction(published.engine) as session:
        states = (
            session.execute(select(CaseTask.state).where(CaseTask.case_no == case_no))
            .scalars()
            .all()
        )
    assert states == ["cancelled"]  # nobody keeps working on a withdrawn case
    page = clerk.get(path)
    assert (
        "已按申请人要求撤回" in page.text
        and 'data-testid="closed-reason">申请人书面申请撤回<' in page.text
    )
    assert 'data-testid="case-actions"' not in page.text  # no visit, no second withdrawal
    again = post_form(clerk, f"{path}/withdraw", {"reason": "再撤一次"}, page=path)
    assert again.status_code == 409 and case_of(case_no).closed_reason == "申请人书面申请撤回"


def test_a_decided_case_is_not_withdrawn_but_visits_are_still_recorded(
    published, actors, browser, k, stored_pdf
):
    # 个体工商户设立登记: a county 即办件, decided at the window.
    case_no = k.file(
        published,
        actors["clerk"],
        k.SOLE_TRADER,
        materials=[{"position": i, "blob_sha256": stored_pdf} for i in range(3)],
    )
    k.do(published, intake.accept_case, actors["clerk"], case_no)
    k.do(published, review.decide_case, actors["clerk"], case_no, "approved", None)
    page = browser(published, "clerk").get(f"/staff/cases/{case_no}")
    assert 'data-testid="deliver-button"' in page.text and 'data-testid="visit-button"' in page.text
    assert 'data-testid="withdraw-button"' not in page.text


def test_township_clerk_withdraws_and_the_approver_records_visits(
    published, township, actors, browser, k, case_of
):
    case_no = k.file(
        township, actors["tclerk"], k.MINIMUM_LIVING
    )  # 最低生活保障, nothing handed in yet
    path = f"/staff/cases/{case_no}"
    approver = browser(township, "tapprover")
    page = approver.get(path)
    assert (
        'data-testid="visit-button"' in page.text
        and 'data-testid="withdraw-button"' not in page.text
    )
    assert 'value="乡镇便民服务中心窗口"' in page.text
    tclerk = browser(township, "tclerk")
    assert 'data-testid="withdraw-button"' in tclerk.get(path).text
    answer = post_form(tclerk, f"{path}/withdraw", {"reason": "申请人已在外地办理"}, page=path)
    assert answer.status_code == 303 and case_of(case_no).state == "withdrawn"
