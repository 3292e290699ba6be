"""Document endpoints: PDFs of case notices and licences (staff), and the public 办事指南.

Thin: the renderers check the case, its state and the reader (a licence's reader is
checked here). Both ask ``common.authority.reading``. Case documents carry
personal data, so they are never cached; the guide is public and may be.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Path, Query, Response

from common.api.deps import CurrentUser, NodeDep, SessionDep
from common.authority.reading import require_licence_reader
from common.documents import CASE_DOCUMENTS, case_document, licence_document, service_guide
from common.licences.service import get_licence

router = APIRouter(prefix="/api/v1", tags=["documents"])

PDF = "application/pdf"
PDF_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {"content": {PDF: {}}, "description": "PDF"},
    400: {"description": "参数错误（code、message、field）"},
    401: {"description": "未登录"},
    403: {"description": "无权查看"},
    404: {"description": "案件、文书、证照或事项不存在"},
    409: {"description": "案件当前状态不出具该文书"},
}
CaseNo = Annotated[str, Path(max_length=40, description="办件编号：节点编号-日期-当日序号")]
Kind = Annotated[str, Path(max_length=40, description=f"文书种类：{'、'.join(CASE_DOCUMENTS)}")]


def _pdf(content: bytes, filename: str, title: str, *, private: bool) -> Response:
    disposition = f"inline; filename=\"{filename}\"; filename*=UTF-8''{quote(title)}.pdf"
    cache = "no-store" if private else "public, max-age=300"
    return Response(
        content,
        media_type=PDF,
        headers={"Content-Disposition": disposition, "Cache-Control": cache},
    )


@router.get(
    "/cases/{case_no}/documents/{kind}.pdf", response_class=Response, responses=PDF_RESPONSE
)
def case_document_pdf(
    case_no: CaseNo,
    kind: Kind,
    actor: CurrentUser,
    session: SessionDep,
    node: NodeDep,
    seq: Annotated[
        int | None, Query(ge=1, le=999, description="第几份告知书或第几个特别程序（默认最近一份）")
    ] = None,
    expected_end: Annotated[date | None, Query(description="特别程序预计结束日期")] = None,
) -> Response:
    """案件文书（受理通知书、不予受理通知书、一次性告知书、特别程序告知书、送达回执），证件号码脱敏。"""
    content = case_document(
        session, node, case_no, kind, seq=seq, expected_end=expected_end, actor=actor
    )
    return _pdf(
        content, f"{kind}-{case_no}.pdf", f"{CASE_DOCUMENTS[kind][0]}-{case_no}", private=True
    )


@router.get(
    "/licences/{licence_id}.pdf", response_class=Response, responses=PDF_RESPONSE, tags=["licences"]
)
def licence_pdf(
    licence_id: Annotated[
        str, Path(min_length=1, max_length=120, description="电子证照标识（GB/T 36904）")
    ],
    actor: CurrentUser,
    session: SessionDep,
    node: NodeDep,
) -> Response:
    """电子证照打印件，含可离线核验的签名二维码（证件号码脱敏）。"""
    licence = get_licence(session, licence_id)
    require_licence_reader(session, node, actor, licence)
    content = licence_document(session, node, licence.licence_id)
    name = licence.name
    return _pdf(content, f"licence-{licence_id}.pdf", f"{name}-{licence_id}", private=True)


@router.get(
    "/catalogue/matters/{code}/guide.pdf",
    response_class=Response,
    responses=PDF_RESPONSE,
    tags=["public"],
)
def guide_pdf(
    code: Annotated[str, Path(min_length=1, max_length=33, description="事项实施编码")],
    session: SessionDep,
    node: NodeDep,
) -> Response:
    """办事指南（无需登录）：已公布事项的全部要素。"""
    return _pdf(
        service_guide(session, node, code), f"guide-{code}.pdf", f"办事指南-{code}", private=False
    )
