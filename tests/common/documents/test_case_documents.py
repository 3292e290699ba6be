"""Case notices render with their Chinese text (extracted again by pdftotext), the
applicant's identity number masked, and only when the case's state calls for them."""

from __future__ import annotations

import pytest

from common.cases.intake import service as intake
from common.cases.review import service as review
from common.db import transaction
from common.documents import (
    acceptance_notice,
    available_case_documents,
    case_document,
    delivery_receipt,
    one_time_notice,
    refusal_notice,
    special_procedure_notice,
)
from common.documents.layout import chinese_date
from common.errors import Conflict, DomainError, NotFound
from common.identifiers import mask_identifier


def test_chinese_dates_and_document_numbers():
    from datetime import date

    from common.documents.layout import document_number

    assert chinese_date("2026-11-27") == "2026年11月27日"
    assert chinese_date(date(2027, 1, 5)) == "2027年1月5日"
    assert chinese_date(None) == "　　　　年　　月　　日"
    assert (
        document_number("受", "2026-11-27", "430424000000-20261127-0001")
        == "受字〔2026〕430424000000-20261127-0001号"
    )
    assert document_number("补", "2026-11-27", "430424000000-20261127-0001", 2).endswith(
        "-0001-2号"
    )


def test_every_notice_of_a_case_from_filing_to_delivery(published, food_case, k, pdf, caplog):
    case_no, masked = food_case.case_no, mask_identifier(k.PERSON_ID)
    assert masked == k.PERSON_ID[:4] + "*" * 10 + k.PERSON_ID[-4:]
    caplog.set_level("DEBUG")

    notice = pdf.text(pdf.render(published, one_time_notice, case_no), "notice")
    for expected in (
        "一次性告知书",
        "补齐补正通知书",
        case_no,
        masked,
        "张三",
        "食品经营许可（新办）",
        "衡东县市场监督管理局",
        "第三十二条",
        "共4项",
        "市场监督管理部门",
        "原件1份、复印件1份",
        "已有电子证照的可免于提交纸质材料",
        "不再要求补正本告知书以外的材料",
        "0734-5225315",
        f"补字〔{food_case.accepted_on[:4]}〕{case_no}-1号",
    ):
        assert expected in notice, expected
    for name in food_case.missing:  # every missing material, each with its requirement
        assert name in notice, name
    assert "食品经营许可申请书" not in notice  # handed in at filing: not asked for again

    accepted = pdf.text(pdf.render(published, acceptance_notice, case_no), "acceptance")
    for expected in (
        "受理通知书",
        case_no,
        masked,
        "决定予以受理",
        "法定办理时限为20个工作日",
        "承诺办理时限为5个工作日",
        chinese_date(food_case.deadline),
        chinese_date(food_case.accepted_on),
        f"受字〔{food_case.accepted_on[:4]}〕{case_no}号",
        "衡东县政务服务中心",
    ):
        assert expected in accepted, expected

    special = pdf.text(pdf.render(published, special_procedure_notice, case_no), "special")
    for expected in (
        "特别程序告知书",
        case_no,
        masked,
        "种类2：其他特别程序（专家评审）",
        "经营场所布局需专家现场评审",
        "第四十五条",
        "不计算在办理时限内",
        "（已结束）",
        f"{case_no}-1号",
    ):
        assert expected in special, expected

    receipt = pdf.text(pdf.render(published, delivery_receipt, case_no), "receipt")
    for expected in (
        "送达回执",
        case_no,
        masked,
        "食品经营许可证",
        food_case.licence_id,
        "快递送达",
        "SF1234567890",
        "第四十四条",
    ):
        assert expected in receipt, expected

    for text in (notice, accepted, special, receipt):
        assert k.PERSON_ID not in text
    assert k.PERSON_ID not in caplog.text
    with transaction(published.engine) as session:
        kinds = available_case_documents(session, case_no)
    assert kinds == ["acceptance", "notice", "special-procedure", "delivery-receipt"]


def test_a_refused_case_gets_a_refusal_notice_and_nothing_it_does_not_call_for(
    published, actors, k, pdf
):
    clerk = actors["clerk"]
    case_no = k.file(
        published,
        clerk,
        k.FOOD_LICENCE,
        applicant=k.applicant(name="李四", id_number=k.OTHER_PERSON_ID),
    )
    k.do(
        published,
        intake.refuse_case,
        clerk,
        case_no,
        "申请事项依法不属于本机关职权范围，请向<衡阳市>主管部门申请",
    )

    text = pdf.text(pdf.render(published, refusal_notice, case_no), "refusal")
    for expected in (
        "不予受理通知书",
        case_no,
        "李四",
        mask_identifier(k.OTHER_PERSON_ID),
        "决定不予受理",
        "申请事项依法不属于本机关职权范围，请向<衡阳市>主管部门申请",
        "行政复议",
        "行政诉讼",
    ):
        assert expected in text, expected
    assert k.OTHER_PERSON_ID not in text

    for function, document in (
        (acceptance_notice, "受理通知书"),
        (one_time_notice, "一次性告知书"),
        (special_procedure_notice, "特别程序告知书"),
        (delivery_receipt, "送达回执"),
    ):
        with pytest.raises(Conflict) as refused:
            pdf.render(published, function, case_no)
        assert refused.value.field == "kind"
        assert document in refused.value.message and "不予受理" in refused.value.message


def test_the_one_time_notice_prints_each_reason_and_the_note(published, actors, k, pdf, stored_pdf):
    clerk = actors["clerk"]
    id_card, premises = "申请人居民身份证", "经营场所使用证明（产权证明或租赁协议）"
    reason = "身份证复印件不清晰（<300dpi），请提供原件扫描件"
    case_no = k.file(
        published, clerk, k.SOLE_TRADER, materials=[{"position": 0, "blob_sha256": stored_pdf}]
    )
    k.do(
        published, intake.request_supplement, clerk, case_no, [id_card, premises]
    )  # no reasons: as before
    k.do(
        published,
        intake.receive_supplement,
        clerk,
        case_no,
        [{"position": 1, "blob_sha256": stored_pdf}, {"position": 2, "blob_sha256": stored_pdf}],
    )
    k.do(
        published,
        intake.request_supplement,
        clerk,
        case_no,
        [{"name": id_card, "reason": reason}, premises],
        "补正时请携带申请人本人身份证原件核对",
    )

    second = pdf.text(pdf.render(published, one_time_notice, case_no), "second")
    for expected in (
        "一次性告知书",
        "补正要求",
        id_card,
        reason,
        premises,
        "共2项",
        "其他说明：补正时请携带申请人本人身份证原件核对",
        f"{case_no}-2号",
    ):
        assert expected in second, expected
    assert k.PERSON_ID not in second

    first = pdf.text(pdf.render(published, one_time_notice, case_no, 1), "first")
    assert id_card in first and premises in first  # the first layout: no column of reasons
    assert "补正要求" not in first and reason not in first and "其他说明" not in first


def test_an_accepted_case_has_no_refusal_notice_and_a_blank_receipt_before_delivery(
    published, actors, k, pdf, stored_pdf
):
    clerk = actors["clerk"]
    case_no = k.file(
        published,
        clerk,
        k.SOLE_TRADER,
        materials=[
            {"position": p, "blob_sha256": stored_pdf}
            for p in range(len(_mandatory(published, k.SOLE_TRADER)))
        ],
    )
    k.do(published, intake.accept_case, clerk, case_no)
    with pytest.raises(Conflict) as refused:
        pdf.render(published, refusal_notice, case_no)
    assert (refused.value.code, refused.value.field) == ("document.not_applicable", "kind")
    assert "已受理" in refused.value.message
    with pytest.raises(Conflict):
        pdf.render(published, delivery_receipt, case_no)  # not decided yet

    assert "本事项为即办件，当场办结" in pdf.text(pdf.render(published, acceptance_notice, case_no))
    k.do(published, review.decide_case, clerk, case_no, "approved", None)
    blank = pdf.text(pdf.render(published, delivery_receipt, case_no), "blank")
    assert "□窗口领取□快递送达□电子送达□代办员送达" in blank
    assert "年月日" in blank  # the date is left for the hand


def test_unknown_cases_kinds_and_sequence_numbers(published, food_case, pdf):
    with pytest.raises(NotFound) as unknown:
        pdf.render(published, acceptance_notice, "430424000000-20260101-9999")
    assert unknown.value.field == "case_no"
    with pytest.raises(NotFound) as kind:
        pdf.render(published, case_document, food_case.case_no, "approval")
    assert kind.value.field == "kind"
    with pytest.raises(NotFound) as notice:
        pdf.render(published, one_time_notice, food_case.case_no, 2)
    assert notice.value.field == "seq"
    with pytest.raises(NotFound) as procedure:
        pdf.render(published, special_procedure_notice, food_case.case_no, 7)
    assert procedure.value.field == "seq"
    with pytest.raises(DomainError) as seq:
        pdf.render(published, case_document, food_case.case_no, "acceptance", seq=1)
    assert seq.value.field == "seq"


def test_special_procedure_notice_with_an_expected_end_and_an_extension(
    published, actors, k, pdf, stored_pdf
):
    from datetime import date

    lead = actors["reviewer"]
    accepted = _accepted_food_case(published, actors, k, stored_pdf)
    k.do(
        published,
        review.start_special_procedure,
        lead,
        accepted,
        2,
        "hearing",
        "涉及相邻权人重大利益，依法组织听证",
    )
    text = pdf.text(
        pdf.render(
            published, case_document, accepted, "special-procedure", expected_end=date(2031, 3, 9)
        )
    )
    assert "听证" in text and "2031年3月9日" in text and "第四十五条" in text
    with pytest.raises(DomainError) as early:
        pdf.render(
            published, case_document, accepted, "special-procedure", expected_end=date(2000, 1, 1)
        )
    assert early.value.field == "expected_end"
    k.do(published, review.end_special_procedure, lead, accepted, 1, "听证结束")
    k.do(
        published,
        review.start_special_procedure,
        lead,
        accepted,
        1,
        "extension",
        "现场核查需要延长",
    )
    k.do(published, review.approve_extension, lead, accepted, 10, "负责人批准延长")
    extension = pdf.text(pdf.render(published, special_procedure_notice, accepted), "extension")
    assert (
        "第四十二条" in extension
        and "延长10个工作日" in extension
        and "种类1：延长审批" in extension
    )
    first = pdf.text(pdf.render(published, special_procedure_notice, accepted, 1), "first")
    assert "涉及相邻权人重大利益" in first


def test_special_procedure_notice_names_the_legal_basis_and_the_kind(
    published, actors, k, pdf, stored_pdf
):
    """Every §45 kind is notified in writing with its basis: 行政许可法第四十五条."""
    accepted = _accepted_food_case(published, actors, k, stored_pdf)
    k.do(
        published,
        review.start_special_procedure,
        actors["reviewer"],
        accepted,
        2,
        "quarantine",
        "经营的食用农产品需经动物检疫",
    )
    text = pdf.text(pdf.render(published, special_procedure_notice, accepted))
    assert "法律依据《中华人民共和国行政许可法》第四十五条" in text
    assert "种类2：其他特别程序（检疫）" in text and "需要进行检疫" in text
    assert "不计算在办理时限内" in text


def test_notice_of_a_retired_kind_says_its_days_count(published, actors, k, pdf, stored_pdf):
    """A 现场勘查 procedure signed by older software prints that it counts (§34), never §45."""
    from common.cases.access import append_case_event, load_case

    accepted = _accepted_food_case(published, actors, k, stored_pdf)
    body = {
        "seq": 1,
        "kind": 2,
        "subkind": "inspection",
        "reason": "核实经营场所",
        "started_on": "2026-11-04",
    }
    with transaction(published.engine) as session:
        case = load_case(session, accepted)
        append_case_event(session, published, case, "case.special_started", body)
    text = pdf.text(pdf.render(published, special_procedure_notice, accepted))
    assert "现场勘查不属于《中华人民共和国行政许可法》第四十五条规定的情形" in text
    assert "法律依据《中华人民共和国行政许可法》第三十四条" in text
    assert "所需时间计入办理时限" in text and "暂停计时" not in text


def _mandatory(node, code):
    from common.catalog.service import get_published

    with transaction(node.engine) as session:
        return [m for m in get_published(session, code).to_matter().materials if m.mandatory]


def _accepted_food_case(published, actors, k, sha):
    """A food licence case with every mandatory material, accepted."""
    case_no = k.file(
        published,
        actors["clerk"],
        materials=[{"position": p, "blob_sha256": sha} for p in range(5)],
    )
    k.do(published, intake.accept_case, actors["clerk"], case_no)
    return case_no
