"""The notices a window prints for a case (行政许可法 §32, §42, §44, §45).

受理通知书, 不予受理通知书, 一次性告知书（补齐补正通知书）, 特别程序告知书 and 送达回执.
Each function is ``(session, node, case_no, ...) -> PDF bytes``; given an ``actor`` it
checks that the actor may read the case. The applicant's identity number is printed
masked, as on every screen.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from reportlab.lib.units import mm
from sqlalchemy import select
from sqlmodel import Session, col

from common.cases.clock import KIND_EXTENSION, SPECIAL_KINDS
from common.cases.models import CaseNotice, SpecialProcedure
from common.cases.queries import notice_view
from common.cases.review.service import case_procedures
from common.cases.states import CaseState
from common.catalog.schema import Material
from common.documents.case_data import CaseContext, case_context, event_body, not_applicable
from common.documents.layout import Document, chinese_date, document_number
from common.errors import DomainError, NotFound
from common.node import ThisNode
from common.users.roles import Actor

LAW = "《中华人民共和国行政许可法》"
DELIVERY_LABELS = {
    "window": "窗口领取",
    "courier": "快递送达",
    "electronic": "电子送达",
    "agent": "代办员送达",
}
SPECIAL_KIND_LABELS = {1: "种类1：延长审批", 2: "种类2：其他特别程序"}
APPEAL = (
    "如对本决定不服，可以自收到本通知书之日起六十日内依法申请行政复议，"
    "或者自收到本通知书之日起六个月内依法向人民法院提起行政诉讼。"
)


def _applied(ctx: CaseContext) -> str:
    case = ctx.case
    return f"你（单位）于{chinese_date(case.filed_on)}提出的“{case.matter_name}”申请（办件编号：{case.case_no}）"


def _case_fields(ctx: CaseContext, *extra: tuple[str, Any]) -> list[tuple[str, Any]]:
    case = ctx.case
    return [
        ("办件编号", case.case_no),
        ("申请事项", case.matter_name),
        ("申请人", case.applicant_name),
        ("证件号码", ctx.id_masked),
        *extra,
    ]


def _contact(ctx: CaseContext) -> str:
    matter = ctx.matter
    parts = ["可凭办件编号和申请人证件号码后四位查询办理进度"]
    if matter and matter.consult_phone:
        parts.append(f"咨询电话：{matter.consult_phone}")
    if matter and matter.complaint_phone:
        parts.append(f"投诉电话：{matter.complaint_phone}")
    return "；".join(parts) + "。"


def _finish(doc: Document, ctx: CaseContext, title: str, on: str | None) -> bytes:
    doc.signature(ctx.office, on)
    doc.space(3)
    doc.note(f"出具窗口：{ctx.window}　　本文书一式两份，一份交申请人，一份存档。")
    return doc.render(
        title=f"{title} {ctx.case.case_no}",
        author=ctx.office,
        footer=f"办件编号 {ctx.case.case_no}",
    )


# -- 受理通知书 ----------------------------------------------------------------------------


def acceptance_notice(
    session: Session, node: ThisNode, case_no: str, *, actor: Actor | None = None
) -> bytes:
    """受理通知书: the case was accepted; the clock runs from the next working day."""
    ctx = case_context(session, node, case_no, actor)
    case = ctx.case
    if case.accepted_on is None:
        raise not_applicable(case, "受理通知书", "尚未受理")
    doc = Document(node.settings)
    title = "受理通知书"
    doc.header(ctx.office, title, document_number("受", case.accepted_on, case.case_no))
    doc.addressee(ctx.addressee)
    doc.paragraph(
        f"{_applied(ctx)}，经审查，申请事项属于本机关职权范围，申请材料齐全、符合法定形式。"
        f"根据{LAW}第三十二条第一款第（五）项的规定，本机关决定予以受理。"
    )
    if case.limit_days == 0:
        doc.paragraph("本事项为即办件，当场办结。")
    else:
        statutory = (
            f"法定办理时限为{ctx.matter.statutory_limit_days}个工作日，" if ctx.matter else ""
        )
        doc.paragraph(
            f"本事项{statutory}承诺办理时限为{case.limit_days}个工作日（自受理之日的次一工作日起计算），"
            f"本机关将于{chinese_date(case.deadline)}前作出决定。依法需要听证、检验、检测、鉴定、"
            f"专家评审的，所需时间不计算在办理时限内，本机关将另行书面告知。"
        )
    if case.commitment:
        doc.paragraph(
            "你（单位）选择以告知承诺方式办理，请按承诺如实提供相关材料；本机关将依法核查，"
            "承诺不实的，将依法撤销办理结果。"
        )
    doc.paragraph(_contact(ctx))
    doc.space(2)
    limit = (
        "当场办结"
        if case.limit_days == 0
        else f"{case.limit_days}个工作日，{chinese_date(case.deadline)}前"
    )
    doc.fields(_case_fields(ctx, ("受理日期", chinese_date(case.accepted_on)), ("办理时限", limit)))
    return _finish(doc, ctx, title, case.accepted_on)


# -- 不予受理通知书 --------------------------------------------------------------------------


def refusal_notice(
    session: Session, node: ThisNode, case_no: str, *, actor: Actor | None = None
) -> bytes:
    """不予受理通知书, with the reason recorded at refusal and the applicant's remedies."""
    ctx = case_context(session, node, case_no, actor)
    case = ctx.case
    if case.state != CaseState.REFUSED:
        raise not_applicable(case, "不予受理通知书", "未作出不予受理决定")
    body = event_body(session, node, case_no, "case.refused") or {}
    refused_on = body.get("refused_on")
    reason = body.get("reason") or case.closed_reason or ""
    doc = Document(node.settings)
    title = "不予受理通知书"
    doc.header(ctx.office, title, document_number("不受", refused_on, case.case_no))
    doc.addressee(ctx.addressee)
    doc.paragraph(
        f"{_applied(ctx)}，经审查，根据{LAW}第三十二条的规定，本机关决定不予受理。理由如下："
    )
    doc.paragraph(reason)
    doc.paragraph(APPEAL)
    doc.space(2)
    doc.fields(_case_fields(ctx, ("不予受理日期", chinese_date(refused_on))))
    return _finish(doc, ctx, title, refused_on)


# -- 一次性告知书 ----------------------------------------------------------------------------


def _notice(session: Session, case_no: str, notice_no: int | None) -> CaseNotice:
    row: CaseNotice | None
    if notice_no is None:
        row = (
            session.execute(
                select(CaseNotice)
                .where(col(CaseNotice.case_no) == case_no)
                .order_by(col(CaseNotice.notice_no).desc())
                .limit(1)
            )
            .scalars()
            .first()
        )
    else:
        row = session.get(CaseNotice, (case_no, notice_no))
    if row is None:
        which = f"第{notice_no}份" if notice_no is not None else ""
        raise NotFound(
            "document.notice_not_found", f"案件 {case_no} 没有{which}一次性告知记录", field="seq"
        )
    return row


def _requirement(material: Material | None) -> tuple[str, str, str]:
    """(issuer, copies needed, remarks) of a catalogue material."""
    if material is None:
        return "—", "按窗口要求提供", ""
    amounts = []
    if material.originals:
        amounts.append(f"原件{material.originals}份")
    if material.copies:
        amounts.append(f"复印件{material.copies}份")
    remarks = ["必要" if material.mandatory else "非必要（按需提供）"]
    if material.licence_type:
        remarks.append("已有电子证照的可免于提交纸质材料")
    return material.issuer, "、".join(amounts) or "—", "；".join(remarks)


def one_time_notice(
    session: Session,
    node: ThisNode,
    case_no: str,
    notice_no: int | None = None,
    *,
    actor: Actor | None = None,
) -> bytes:
    """一次性告知书（补齐补正通知书）: every missing material, what is wrong with it where
    the window said so, what is needed for each, and the notice's note; the latest
    notice unless ``notice_no`` is given."""
    ctx = case_context(session, node, case_no, actor)
    case = ctx.case
    if case.notices == 0:
        raise not_applicable(case, "一次性告知书", "未发出补齐补正告知")
    notice = _notice(session, case_no, notice_no)
    items = notice_view(notice)["items"]
    catalogue = {m.name: m for m in ctx.matter.materials} if ctx.matter else {}
    doc = Document(node.settings)
    title = "一次性告知书"
    doc.header(
        ctx.office,
        f"{title}（补齐补正通知书）",
        document_number("补", notice.issued_on, case.case_no, notice.notice_no),
    )
    doc.addressee(ctx.addressee)
    doc.paragraph(
        f"{_applied(ctx)}，经审查，申请材料不齐全或者不符合法定形式。根据{LAW}第三十二条第一款"
        f"第（四）项的规定，现一次性告知你（单位）需要补齐补正的全部材料（共{len(items)}项）如下："
    )
    # The 补正要求 column only when the window wrote one: a notice of names alone keeps
    # the wider layout that fits one page.
    with_reasons = any(item["reason"] for item in items)
    rows = []
    for index, item in enumerate(items, start=1):
        issuer, amounts, remarks = _requirement(catalogue.get(item["name"]))
        reason = [item["reason"] or "—"] if with_reasons else []
        rows.append([index, item["name"], *reason, issuer, amounts, remarks])
    if with_reasons:
        doc.table(
            ["序号", "材料名称", "补正要求", "出具单位（来源）", "份数要求", "说明"],
            rows,
            [0.08, 0.25, 0.25, 0.15, 0.12, 0.15],
        )
    else:
        doc.table(
            ["序号", "材料名称", "出具单位（来源）", "份数要求", "说明"],
            rows,
            [0.08, 0.34, 0.2, 0.16, 0.22],
        )
    if notice.note:
        doc.space(1)
        doc.paragraph(f"其他说明：{notice.note}")
    doc.space(2)
    place = f"到{ctx.matter.place}" if ctx.matter and ctx.matter.place else "到本窗口"
    doc.paragraph(
        f"请按上述要求一次补齐补正全部材料后，{place}或者通过所在村（社区）代办点提交，"
        f"本机关收到后依法受理。本告知书已列明全部所缺材料，本机关不再要求补正本告知书以外的材料。"
    )
    doc.paragraph(_contact(ctx))
    doc.fields(_case_fields(ctx, ("告知日期", chinese_date(notice.issued_on))))
    return _finish(doc, ctx, title, notice.issued_on)


# -- 特别程序告知书 --------------------------------------------------------------------------


def _procedure(session: Session, case_no: str, seq: int | None) -> SpecialProcedure:
    procedures = case_procedures(session, case_no)
    if seq is None and procedures:
        return procedures[-1]
    found = next((p for p in procedures if p.seq == seq), None)
    if found is None:
        raise NotFound(
            "document.special_not_found", f"案件 {case_no} 没有第{seq}个特别程序", field="seq"
        )
    return found


def _expected_end(ctx: CaseContext, procedure: SpecialProcedure, expected_end: date | None) -> str:
    if expected_end is not None:
        if expected_end < date.fromisoformat(procedure.started_on):
            raise DomainError(
                "document.expected_end_before_start",
                "预计结束日期不能早于特别程序开始日期",
                field="expected_end",
            )
        return chinese_date(expected_end)
    if procedure.ended_on:
        return f"{chinese_date(procedure.ended_on)}（已结束）"
    if procedure.kind == KIND_EXTENSION and procedure.extension_days and ctx.case.deadline:
        return chinese_date(ctx.case.deadline)
    return "特别程序结束后另行书面告知"


def special_procedure_notice(
    session: Session,
    node: ThisNode,
    case_no: str,
    seq: int | None = None,
    *,
    expected_end: date | None = None,
    actor: Actor | None = None,
) -> bytes:
    """特别程序告知书: kind, legal basis, reason, start, expected end; the latest
    procedure unless ``seq``.

    §45: hearings, tendering, auctions, tests, quarantine, appraisals and expert reviews
    do not count in the time limit and must be notified in writing; §42: an approved
    extension is notified likewise. A 现场勘查 or "other" procedure from before §45 was
    applied strictly prints that its days count.
    """
    ctx = case_context(session, node, case_no, actor)
    case = ctx.case
    if not case_procedures(session, case_no):
        raise not_applicable(case, "特别程序告知书", "没有特别程序")
    procedure = _procedure(session, case_no, seq)
    end = _expected_end(ctx, procedure, expected_end)
    known = SPECIAL_KINDS.get(procedure.subkind)
    what = procedure.subkind_label
    basis = known.basis if known else "—"
    doc = Document(node.settings)
    title = "特别程序告知书"
    doc.header(
        ctx.office, title, document_number("特", procedure.started_on, case.case_no, procedure.seq)
    )
    doc.addressee(ctx.addressee)
    accepted = f"，本机关已于{chinese_date(case.accepted_on)}受理" if case.accepted_on else ""
    if procedure.kind == KIND_EXTENSION:
        days = (
            f"延长{procedure.extension_days}个工作日"
            if procedure.extension_days
            else "延长办理期限"
        )
        doc.paragraph(
            f"{_applied(ctx)}{accepted}。因{procedure.reason}，本机关不能在规定期限内作出决定。"
            f"根据{LAW}第四十二条的规定，经本机关负责人批准，办理期限{days}。"
        )
    elif procedure.pauses_clock:
        doc.paragraph(
            f"{_applied(ctx)}{accepted}。因{procedure.reason}，需要进行{what}。根据{LAW}第四十五条的规定，"
            f"{what}所需时间不计算在办理时限内，特此书面告知。"
        )
    else:  # 现场勘查 / other, written before §45 was applied strictly
        doc.paragraph(
            f"{_applied(ctx)}{accepted}。因{procedure.reason}，需要进行{what}。{what}不属于{LAW}"
            "第四十五条规定的情形，所需时间计入办理时限，特此书面告知。"
        )
    doc.space(2)
    deadline = chinese_date(case.deadline) if case.deadline else "—"
    if procedure.kind == KIND_EXTENSION:
        clock = f"延长后于{deadline}前作出决定"
    elif procedure.pauses_clock:
        clock = "特别程序期间暂停计时，所需时间不计算在办理时限内，办理时限相应顺延"
    elif procedure.paused_days:  # ended by older software, which paused it: as signed
        clock = f"按原记录未计入{procedure.paused_days}个工作日，于{deadline}前作出决定"
    else:
        clock = f"所需时间计入办理时限，于{deadline}前作出决定"
    doc.fields(
        _case_fields(
            ctx,
            (
                "特别程序种类",
                f"{SPECIAL_KIND_LABELS.get(procedure.kind, procedure.kind)}（{what}）",
            ),
            ("法律依据", basis),
            ("原因", procedure.reason),
            ("开始日期", chinese_date(procedure.started_on)),
            ("预计结束日期", end),
            ("办理时限", clock),
        )
    )
    doc.space(2)
    doc.paragraph(_contact(ctx))
    return _finish(doc, ctx, title, procedure.started_on)


# -- 送达回执 ---------------------------------------------------------------------------


def _result_document(ctx: CaseContext) -> str:
    case = ctx.case
    if case.decision == "rejected":
        return f"不予许可决定书（{case.matter_name}）"
    name = (
        ctx.matter.result_name if ctx.matter and ctx.matter.result_name else ""
    ) or f"准予{case.matter_name}决定书"
    return f"{name}（电子证照标识：{case.licence_id}）" if case.licence_id else name


def delivery_receipt(
    session: Session, node: ThisNode, case_no: str, *, actor: Actor | None = None
) -> bytes:
    """送达回执: filled in from ``case.delivered`` once delivered; before that a blank
    receipt for the applicant to sign when the result is handed over."""
    ctx = case_context(session, node, case_no, actor)
    case = ctx.case
    if case.state not in (CaseState.APPROVED, CaseState.REJECTED, CaseState.DELIVERED):
        raise not_applicable(case, "送达回执", "尚未办结")
    body: dict[str, Any] = event_body(session, node, case_no, "case.delivered") or {}
    on = body.get("delivered_on")
    method = DELIVERY_LABELS.get(body.get("method", ""), "")
    if body.get("tracking_no"):
        method += f"（快递单号：{body['tracking_no']}）"
    doc = Document(node.settings)
    title = "送达回执"
    doc.header(ctx.office, title, document_number("送", on or case.decided_on, case.case_no))
    doc.fields(
        [
            ("送达文书", _result_document(ctx)),
            ("办件编号", case.case_no),
            ("申请事项", case.matter_name),
            ("受送达人", case.applicant_name),
            ("证件号码", ctx.id_masked),
            ("办结日期", chinese_date(case.decided_on)),
            ("送达方式", method or "□窗口领取 □快递送达 □电子送达 □代办员送达"),
            ("送达地点", ctx.window),
            ("送达时间", chinese_date(on)),
            ("签收人", body.get("receiver") or ""),
            ("受送达人（签名）", "\n\n\n"),
            ("送达人", body.get("delivered_by") or ""),
            ("备注", "代收的，请注明与受送达人的关系"),
        ],
        label_width=30 * mm,
    )
    doc.space(3)
    if case.decision == "approved":
        doc.paragraph(
            f"根据{LAW}第四十四条，准予许可的，应当自作出决定之日起十日内向申请人颁发、送达证件。"
        )
    doc.paragraph("受送达人签收后，本回执存档。")
    return _finish(doc, ctx, title, on or case.decided_on)
