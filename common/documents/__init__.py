"""Documents (文书) as PDF: the paper a window prints and hands over.

This package owns the rendering, with reportlab, of the case notices (受理通知书,
不予受理通知书, 一次性告知书/补齐补正通知书, 特别程序告知书, 送达回执), the printed electronic
licence with its verification QR code (the licence's signed ``OT2:`` credential), and
the 办事指南 of a published matter; plus the Chinese font choice and the endpoints that
serve them. It writes nothing: every document is read from projections and signed
events, so the same case prints the same notice on any node that holds it. Identity
numbers are always printed masked.

Public functions all take ``(session, node, ...)`` and return PDF bytes; a bad input
raises ``NotFound``/``DomainError``/``Conflict`` naming the field.
"""

from __future__ import annotations

from datetime import date
from typing import Any, Protocol
from urllib.parse import quote

from sqlalchemy import select
from sqlmodel import Session, col

from common.cases.access import load_case
from common.cases.models import SpecialProcedure
from common.cases.states import CaseState
from common.documents.case_documents import (
    acceptance_notice,
    delivery_receipt,
    one_time_notice,
    refusal_notice,
    special_procedure_notice,
)
from common.documents.fonts import DocumentFont, document_font
from common.documents.guide import service_guide
from common.documents.licence_document import licence_document
from common.errors import DomainError, NotFound
from common.node import ThisNode
from common.users.roles import Actor

__all__ = [
    "CASE_DOCUMENTS",
    "DocumentFont",
    "acceptance_notice",
    "available_case_documents",
    "case_document",
    "case_document_url",
    "delivery_receipt",
    "document_font",
    "guide_url",
    "licence_document",
    "licence_document_url",
    "one_time_notice",
    "refusal_notice",
    "service_guide",
    "special_procedure_notice",
]


class _CaseRenderer(Protocol):
    def __call__(
        self, session: Session, node: ThisNode, case_no: str, *args: Any, **kwargs: Any
    ) -> bytes: ...


# kind (the URL's file name) -> (Chinese title, renderer)
CASE_DOCUMENTS: dict[str, tuple[str, _CaseRenderer]] = {
    "acceptance": ("受理通知书", acceptance_notice),
    "refusal": ("不予受理通知书", refusal_notice),
    "notice": ("一次性告知书", one_time_notice),
    "special-procedure": ("特别程序告知书", special_procedure_notice),
    "delivery-receipt": ("送达回执", delivery_receipt),
}


def case_document(
    session: Session,
    node: ThisNode,
    case_no: str,
    kind: str,
    *,
    seq: int | None = None,
    expected_end: date | None = None,
    actor: Actor | None = None,
) -> bytes:
    """Any case document by ``kind``; ``seq`` picks a notice or special procedure (default:
    the latest), ``expected_end`` goes on a special-procedure notice."""
    if kind not in CASE_DOCUMENTS:
        raise NotFound(
            "document.kind_unknown",
            f"文书种类“{kind}”不存在，可选：{'、'.join(CASE_DOCUMENTS)}",
            field="kind",
        )
    if seq is not None and kind not in ("notice", "special-procedure"):
        raise DomainError(
            "document.seq_not_applicable",
            "只有一次性告知书和特别程序告知书可以指定序号",
            field="seq",
        )
    if expected_end is not None and kind != "special-procedure":
        raise DomainError(
            "document.expected_end_not_applicable",
            "只有特别程序告知书有预计结束日期",
            field="expected_end",
        )
    if kind == "notice":
        return one_time_notice(session, node, case_no, seq, actor=actor)
    if kind == "special-procedure":
        return special_procedure_notice(
            session, node, case_no, seq, expected_end=expected_end, actor=actor
        )
    return CASE_DOCUMENTS[kind][1](session, node, case_no, actor=actor)


def available_case_documents(session: Session, case_no: str) -> list[str]:
    """The kinds that apply to the case now (for links on a case page)."""
    case = load_case(session, case_no)
    kinds = []
    if case.accepted_on is not None:
        kinds.append("acceptance")
    if case.state == CaseState.REFUSED:
        kinds.append("refusal")
    if case.notices:
        kinds.append("notice")
    if session.execute(
        select(col(SpecialProcedure.seq)).where(col(SpecialProcedure.case_no) == case_no).limit(1)
    ).first():
        kinds.append("special-procedure")
    if case.state in (CaseState.APPROVED, CaseState.REJECTED, CaseState.DELIVERED):
        kinds.append("delivery-receipt")
    return kinds


def case_document_url(case_no: str, kind: str, seq: int | None = None) -> str:
    url = f"/api/v1/cases/{quote(case_no)}/documents/{quote(kind)}.pdf"
    return f"{url}?seq={seq}" if seq is not None else url


def licence_document_url(licence_id: str) -> str:
    return f"/api/v1/licences/{quote(licence_id)}.pdf"


def guide_url(code: str) -> str:
    return f"/api/v1/catalogue/matters/{quote(code)}/guide.pdf"
