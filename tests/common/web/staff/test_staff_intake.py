"""Window acceptance on the screens: the county's per-window queues, accepting,
refusing with a reason, the one-time notice and receiving the supplement."""

from __future__ import annotations

import json

from onetrip_testing import COUNTY_ID
from sqlalchemy import select
from web_testing import csrf_of, post_form

from common.cases.models import CaseNotice
from common.db import transaction
from common.identifiers import mask_identifier


def food_case(k, published, actors, pdf: str | None = None) -> str:
    """食品经营许可 (county 承诺件, 商事登记窗口) filed at the county window."""
    materials = [{"position": i, "blob_sha256": pdf} for i in range(5)] if pdf else []
    return k.file(published, actors["clerk"], k.FOOD_LICENCE, materials=materials)


def test_clerk_accepts_from_the_business_window_queue(
    published, actors, browser, k, stored_pdf, case_of
):
    case_no = food_case(k, published, actors, stored_pdf)
    clerk = browser(published, "clerk")
    home = clerk.get("/", follow_redirects=False)
    assert home.headers["location"] == "/staff/queue"
    queue = clerk.get("/staff/queue")  # the first window with cases waiting
    assert queue.status_code == 200
    assert (
        'data-testid="window-tab-business"' in queue.text
        and 'aria-current="page">商事登记（1）' in queue.text
    )
    assert case_no in queue.text and k.PERSON_ID not in queue.text
    assert case_no not in clerk.get("/staff/queue?window=social").text

    answer = post_form(
        clerk, f"/staff/cases/{case_no}/accept", {}, page="/staff/queue?window=business"
    )
    assert answer.status_code == 303 and answer.headers["location"] == f"/staff/cases/{case_no}"
    case = case_of(case_no)
    assert (case.state, case.accepted_on is not None) == ("accepted", True)
    page = clerk.get(answer.headers["location"])
    assert "已受理，已开始计时" in page.text
    assert f"/api/v1/cases/{case_no}/documents/acceptance.pdf" in page.text
    assert 'data-testid="accept-button"' not in page.text  # nothing left to accept
    assert case_no not in clerk.get("/staff/queue?window=business").text


def test_one_time_notice_must_list_every_missing_material(published, actors, browser, k, case_of):
    case_no = food_case(k, published, actors)  # nothing handed in yet
    clerk = browser(published, "clerk")
    page = clerk.get(f"/staff/cases/{case_no}")
    assert page.text.count('data-testid="notice-material"') == 6  # one checkbox per material
    # Accepting with materials missing is refused at the field, nothing written.
    refused = post_form(clerk, f"/staff/cases/{case_no}/accept", {}, page=f"/staff/cases/{case_no}")
    assert refused.status_code == 400 and "必要材料不齐" in refused.text
    assert case_of(case_no).state == "filed"

    # Leaving a mandatory material out of the notice: 400, named at the list, nothing issued.
    partial = post_form(
        clerk,
        f"/staff/cases/{case_no}/notice",
        {"missing": ["食品经营许可申请书", "营业执照"]},
        page=f"/staff/cases/{case_no}",
    )
    assert partial.status_code == 400
    assert "一次性告知须列全所缺材料" in partial.text and 'id="d-notice-missing"' in partial.text
    assert (case_of(case_no).state, case_of(case_no).notices) == ("filed", 0)

    names = [
        "食品经营许可申请书",
        "营业执照",
        "法定代表人（负责人）居民身份证",
        "与食品经营相适应的主要设备设施布局、操作流程等文件",
        "食品安全自查、从业人员健康管理、进货查验记录等食品安全管理制度",
    ]
    answer = post_form(
        clerk, f"/staff/cases/{case_no}/notice", {"missing": names}, page=f"/staff/cases/{case_no}"
    )
    assert answer.status_code == 303
    case = case_of(case_no)
    assert (case.state, case.notices, case.notice_breaches) == ("supplement", 1, 0)
    with transaction(published.engine) as session:
        notice = session.execute(
            select(CaseNotice).where(CaseNotice.case_no == case_no)
        ).scalar_one()
        assert json.loads(notice.missing) == names and notice.issued_by == "clerk"
    page = clerk.get(f"/staff/cases/{case_no}")
    assert "已出具一次性告知书" in page.text
    assert f"/api/v1/cases/{case_no}/documents/notice.pdf?seq=1" in page.text
    assert 'data-testid="supplement-button"' in page.text

    # The applicant brings everything: one file per material, uploaded with the form.
    files = {
        f"file_{i}": (
            f"材料{i}.pdf",
            k.PDF_BYTES[:-6] + f"%{i}\n%%EOF\n".encode(),
            "application/pdf",
        )
        for i in range(5)
    }
    token = csrf_of(page.text)
    received = clerk.post(
        f"/staff/cases/{case_no}/supplement",
        data={"csrf_token": token},
        files=files,
        follow_redirects=False,
    )
    assert received.status_code == 303, received.text
    assert case_of(case_no).state == "filed"
    accepted = post_form(
        clerk, f"/staff/cases/{case_no}/accept", {}, page=f"/staff/cases/{case_no}"
    )
    assert accepted.status_code == 303 and case_of(case_no).state == "accepted"


def test_refusal_needs_a_reason(published, actors, browser, k, stored_pdf, case_of):
    case_no = food_case(k, published, actors, stored_pdf)
    clerk = browser(published, "clerk")
    empty = post_form(
        clerk, f"/staff/cases/{case_no}/refuse", {"reason": "   "}, page=f"/staff/cases/{case_no}"
    )
    assert empty.status_code == 400
    assert 'id="d-refuse-reason"' in empty.text and "请填写不予受理理由" in empty.text
    assert 'aria-invalid="true"' in empty.text
    assert case_of(case_no).state == "filed"

    reason = "申请事项依法不属于本机关职权范围"
    answer = post_form(
        clerk, f"/staff/cases/{case_no}/refuse", {"reason": reason}, page=f"/staff/cases/{case_no}"
    )
    assert answer.status_code == 303
    case = case_of(case_no)
    assert (case.state, case.closed_reason) == ("refused", reason)
    page = clerk.get(f"/staff/cases/{case_no}")
    assert f"/api/v1/cases/{case_no}/documents/refusal.pdf" in page.text
    assert 'data-testid="refuse-button"' not in page.text


def test_a_department_reviewer_cannot_open_the_queue(published, browser):
    reviewer = browser(published, "scjg")
    answer = reviewer.get("/staff/queue")
    assert answer.status_code == 403 and "此页面仅限" in answer.text
    assert reviewer.get("/staff/inbox").status_code == 403


def test_the_auditor_reads_but_is_offered_nothing(
    published, actors, browser, k, stored_pdf, case_of
):
    case_no = food_case(k, published, actors, stored_pdf)
    auditor = browser(published, "auditor")
    page = auditor.get(f"/staff/cases/{case_no}")
    assert page.status_code == 200 and 'data-testid="case-actions"' not in page.text
    assert k.PERSON_ID not in page.text and mask_identifier(k.PERSON_ID) in page.text
    refused = post_form(
        auditor, f"/staff/cases/{case_no}/accept", {}, page=f"/staff/cases/{case_no}"
    )
    assert refused.status_code == 403 and case_of(case_no).state == "filed"
    assert COUNTY_ID in page.text


UNREADABLE = "身份证复印件不清晰，请提供原件扫描件"


def test_the_notice_says_what_is_wrong_with_each_material(
    published, actors, browser, k, stored_pdf, case_of
):
    # 个体工商户设立登记 with all three materials handed in; the ID card copy is unreadable.
    case_no = k.file(
        published,
        actors["clerk"],
        k.SOLE_TRADER,
        materials=[{"position": i, "blob_sha256": stored_pdf} for i in range(3)],
    )
    path = f"/staff/cases/{case_no}"
    clerk = browser(published, "clerk")
    page = clerk.get(path)
    # Every material is offered, handed-in ones unticked, each with a labelled reason box.
    assert page.text.count('data-testid="notice-material"') == 3 and " checked>" not in page.text
    for position in range(3):
        assert f'<label for="f-notice-reason_{position}">补正要求（选填）</label>' in page.text
        assert f'name="reason_{position}"' in page.text
    assert '<label for="f-notice-note">' in page.text

    # A reason next to an unticked material, a reason too long, a note too long: each
    # refused at its own box, nothing written.
    unticked = post_form(clerk, f"{path}/notice", {"reason_1": UNREADABLE}, page=path)
    assert (
        unticked.status_code == 400
        and 'id="d-notice-reason_1">已填写补正要求，请同时勾选这项材料' in unticked.text
    )
    assert f'value="{UNREADABLE}"' in unticked.text  # what was typed comes back
    too_long = post_form(
        clerk,
        f"{path}/notice",
        {"missing": ["申请人居民身份证"], "reason_1": "很" * 201},
        page=path,
    )
    assert (
        too_long.status_code == 400
        and 'id="d-notice-reason_1">补正要求不得超过200个字' in too_long.text
    )
    long_note = post_form(
        clerk, f"{path}/notice", {"missing": ["申请人居民身份证"], "note": "说" * 501}, page=path
    )
    assert (
        long_note.status_code == 400
        and 'id="d-notice-note">告知说明不得超过500个字' in long_note.text
    )
    assert (case_of(case_no).state, case_of(case_no).notices) == ("filed", 0)

    answer = post_form(
        clerk,
        f"{path}/notice",
        {
            "missing": ["申请人居民身份证"],
            "reason_1": UNREADABLE,
            "reason_2": "",
            "note": "补正时请带身份证原件核对",
        },
        page=path,
    )
    assert answer.status_code == 303, answer.text
    assert (case_of(case_no).state, case_of(case_no).notices) == ("supplement", 1)
    with transaction(published.engine) as session:
        notice = session.execute(
            select(CaseNotice).where(CaseNotice.case_no == case_no)
        ).scalar_one()
    assert json.loads(notice.missing) == ["申请人居民身份证"]
    assert (json.loads(notice.reasons), notice.note) == (
        {"申请人居民身份证": UNREADABLE},
        "补正时请带身份证原件核对",
    )
    page = clerk.get(path)
    assert f'data-testid="notice-reason-text">{UNREADABLE}<' in page.text
    assert 'data-testid="notice-note">说明：补正时请带身份证原件核对<' in page.text
    assert 'name="file_1"' in page.text  # the re-listed material is wanted again
