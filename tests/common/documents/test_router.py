"""The document endpoints: PDFs for staff, the guide for anyone, clear 4xx otherwise."""

from __future__ import annotations

from common.cases.intake import service as intake
from common.documents import case_document_url, guide_url, licence_document_url


def test_case_documents_over_http(published, food_case, staff_client, pdf, k):
    clerk = staff_client(published, "clerk")
    for kind in ("acceptance", "notice", "special-procedure", "delivery-receipt"):
        response = clerk.get(case_document_url(food_case.case_no, kind))
        assert response.status_code == 200, (kind, response.text)
        assert response.headers["content-type"] == "application/pdf"
        assert response.headers["cache-control"] == "no-store"
        assert f"{kind}-{food_case.case_no}.pdf" in response.headers["content-disposition"]
        assert food_case.case_no in pdf.text(response.content, kind)
    first = clerk.get(case_document_url(food_case.case_no, "notice", seq=1))
    assert first.status_code == 200 and "营业执照" in pdf.text(first.content, "first")

    refusal = clerk.get(case_document_url(food_case.case_no, "refusal"))
    assert refusal.status_code == 409
    assert refusal.json()["field"] == "kind" and "不予受理通知书" in refusal.json()["message"]
    bad_kind = clerk.get(f"/api/v1/cases/{food_case.case_no}/documents/approval.pdf")
    assert bad_kind.status_code == 404 and bad_kind.json()["field"] == "kind"
    unknown = clerk.get("/api/v1/cases/430424000000-20260101-9999/documents/acceptance.pdf")
    assert unknown.status_code == 404 and unknown.json()["field"] == "case_no"
    no_notice = clerk.get(case_document_url(food_case.case_no, "notice", seq=5))
    assert no_notice.status_code == 404 and no_notice.json()["field"] == "seq"
    bad_seq = clerk.get(case_document_url(food_case.case_no, "notice") + "?seq=0")
    assert bad_seq.status_code == 422
    wrong_seq = clerk.get(case_document_url(food_case.case_no, "acceptance", seq=1))
    assert wrong_seq.status_code == 400 and wrong_seq.json()["field"] == "seq"

    anonymous = staff_client(published, "clerk")
    del anonymous.headers["Authorization"]
    assert anonymous.get(case_document_url(food_case.case_no, "acceptance")).status_code == 401


def test_a_department_reads_only_the_cases_it_works_on(
    published, food_case, staff_client, actors, k
):
    reviewer = staff_client(published, "reviewer")  # 衡东县市场监督管理局
    assert reviewer.get(case_document_url(food_case.case_no, "acceptance")).status_code == 200
    welfare = k.file(
        published, actors["clerk"], "11430424006813635C4000504001001"
    )  # 最低生活保障审批: 民政局
    k.do(published, intake.refuse_case, actors["clerk"], welfare, "申请人户籍不在本县")
    response = reviewer.get(case_document_url(welfare, "refusal"))
    assert response.status_code == 403 and response.json()["field"] == "case_no"
    assert (
        staff_client(published, "auditor").get(case_document_url(welfare, "refusal")).status_code
        == 200
    )


def test_the_licence_pdf_needs_a_login_and_scans(published, food_case, staff_client, pdf):
    clerk = staff_client(published, "clerk")
    response = clerk.get(licence_document_url(food_case.licence_id))
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/pdf"
    assert pdf.qr(response.content)[0].startswith("OT2:")
    assert (
        clerk.get(f"/api/v1/licences/{food_case.licence_id}").json()["licence_id"]
        == food_case.licence_id
    )
    bad = clerk.get("/api/v1/licences/1.2.156.3005.2.X.pdf")
    assert bad.status_code == 400 and bad.json()["field"] == "licence_id"
    del clerk.headers["Authorization"]
    assert clerk.get(licence_document_url(food_case.licence_id)).status_code == 401


def test_the_guide_is_public(published, make_client, pdf, k):
    public = make_client(published, None)
    response = public.get(guide_url(k.FOOD_LICENCE))
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/pdf"
    assert "public" in response.headers["cache-control"]
    text = pdf.text(response.content, "guide")
    assert "办事指南" in text and "食品经营许可申请书" in text
    missing = public.get(guide_url("11430424MB1C5953154000119999001"))
    assert missing.status_code == 404 and missing.json()["field"] == "implementation_code"


def test_the_endpoints_are_in_the_api_description(published, make_client):
    paths = make_client(published, None).get("/openapi.json").json()["paths"]
    for path in (
        "/api/v1/cases/{case_no}/documents/{kind}.pdf",
        "/api/v1/licences/{licence_id}.pdf",
        "/api/v1/catalogue/matters/{code}/guide.pdf",
    ):
        assert "get" in paths[path], path
