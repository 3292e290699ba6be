"""The public portal (no login): service guides, case progress, licence verification,
and the published catalogue's share of "at most one trip" matters. Every node serves it.

The progress and verification forms are POSTed (the last four characters of an identity
number stay out of addresses and logs); a licence QR code opens ``/verify?p=OT2:...``
directly by GET. Answers come from the same functions as the public REST endpoints.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import Response

from common.cases.access import today_on
from common.cases.queries import public_progress
from common.catalog import queries as catalogue_queries
from common.catalog.service import get_published, one_trip_share
from common.documents import guide_url
from common.errors import DomainError, NotFound
from common.licences.service import verify_licence, verify_qr_payload
from common.licences.verification import MAX_QR_PAYLOAD, STATUS_LABELS, VerificationResult
from common.web import queries_public as pq
from common.web.page import Page, PublicPage

router = APIRouter(include_in_schema=False)

OptionalText = Annotated[str | None, Query()]  # long text is cut, not refused
MAX_LICENCE_ID = 120


@router.get("/portal")
def portal(page: PublicPage) -> Response:
    return page.render(
        "public/portal.html", page_title="政务服务门户", share=one_trip_share(page.session)
    )


@router.get("/guides")
def guides(
    page: PublicPage,
    text: Annotated[str | None, Query(alias="q")] = None,
    window: OptionalText = None,
    service_object: Annotated[str | None, Query(alias="object")] = None,
    page_no: Annotated[str | None, Query(alias="page")] = None,
) -> Response:
    """Search by name, result (证照) or code, filter by integrated window and service
    object, a page at a time (``catalog.queries.search_guides``)."""
    text, window, service_object = (
        (text or "").strip()[: catalogue_queries.MAX_QUERY],
        window or "",
        service_object or "",
    )
    found = catalogue_queries.search_guides(
        page.session,
        q=text,
        window=window,
        service_object=service_object,
        page=pq.page_number(page_no),
    )
    return page.render(
        "public/guides.html",
        page_title="办事指南查询",
        found=found,
        q=text,
        window=window,
        service_object=service_object,
        window_options=pq.window_options(),
        object_options=pq.service_object_options(),
        pager_base=pq.search_base(text, window, service_object),
    )


@router.get("/guides/{code}")
def guide(page: PublicPage, code: str) -> Response:
    try:
        row = get_published(page.session, code[:40])
    except NotFound:
        return page.render(
            "public/guide_missing.html",
            status_code=404,
            page_title="未找到办事指南",
            code=code[:40],
        )
    matter = row.to_matter()
    return page.render(
        "public/guide.html",
        page_title=f"{matter.name} · 办事指南",
        matter=matter,
        row=row,
        labels=pq.guide_labels(matter),
        pdf_url=guide_url(row.implementation_code),
    )


# --- case progress ---------------------------------------------------------------------


def _progress_form(page: Page, status_code: int = 200, **context: Any) -> Response:
    context.setdefault("case_no", "")
    context.setdefault("progress", None)
    return page.render(
        "public/progress.html", status_code=status_code, page_title="办件进度查询", **context
    )


@router.get("/progress")
def progress_form(page: PublicPage) -> Response:
    return _progress_form(page)


@router.post("/progress")
def progress_lookup(page: PublicPage) -> Response:
    case_no = str(page.form.get("case_no", "")).strip()
    last4 = str(page.form.get("id_last4", "")).strip()
    errors: dict[str, str] = {}
    if not case_no or len(case_no) > pq.MAX_CASE_NO:
        errors["case_no"] = "请填写办件编号（见受理通知书或回执）"
    if not pq.LAST4_RE.match(last4):
        errors["id_last4"] = "请填写申请人身份证件号码的最后四位（4位数字或字母）"
    if errors:
        return _progress_form(page, 400, case_no=case_no[: pq.MAX_CASE_NO], errors=errors)
    today = date.fromisoformat(today_on(page.node))
    guard = page.request.app.state.lookup_guard
    client = page.request.client.host if page.request.client else ""
    result, error = page.attempt(guard.admit, client, case_no)
    if error is None:
        result, error = page.attempt(public_progress, page.session, case_no, last4, today)
        if isinstance(error, NotFound):
            guard.wrong(client, case_no)
    if error is not None or result is None:
        # One neutral answer for an unknown case and for wrong digits (not tied to a field).
        return _progress_form(
            page, error.status_code if error else 404, case_no=case_no, error=error
        )
    return _progress_form(
        page,
        case_no=case_no,
        progress=result,
        steps=pq.progress_steps(result),
        deadline_class=pq.DEADLINE_CLASSES.get(result["deadline_status"], ""),
    )


# --- licence verification --------------------------------------------------------------


def _verify_page(
    page: Page, result: VerificationResult | None = None, status_code: int = 200, **context: Any
) -> Response:
    context.setdefault("payload", "")
    context.setdefault("licence_id", "")
    return page.render(
        "public/verify.html",
        status_code=status_code,
        page_title="电子证照核验",
        result=result,
        status_label=STATUS_LABELS[result.status] if result else "",
        checks=pq.check_rows(result.checks) if result else [],
        **context,
    )


def _verify(page: Page, payload: str, licence_id: str) -> Response:
    network_id = page.node.network_id
    if payload:
        payload = pq.payload_of(payload)
        if len(payload) > MAX_QR_PAYLOAD:
            return _verify_page(
                page,
                status_code=400,
                licence_id=licence_id,
                errors={"payload": f"二维码内容过长（上限{MAX_QR_PAYLOAD}个字符）"},
            )
        result = verify_qr_payload(page.session, payload, network_id=network_id)
        return _verify_page(page, result)  # the payload (holder data inside) is not echoed
    if licence_id:
        if len(licence_id) > MAX_LICENCE_ID:
            return _verify_page(page, status_code=400, errors={"licence_id": "电子证照标识过长"})
        result = verify_licence(
            page.session, licence_id, network_id=network_id, node_id=page.node.node_id
        )
        return _verify_page(page, result, licence_id=licence_id)
    return _verify_page(page)


@router.get("/verify")
def verify_get(
    page: PublicPage,
    p: OptionalText = None,
    licence_id: Annotated[str | None, Query(alias="id")] = None,
) -> Response:
    """The form, or the verdict for the payload a licence's QR code opens (?p=OT2:..., or OT1:... on licences issued before credentials)."""
    return _verify(page, (p or "").strip(), (licence_id or "").strip())


@router.post("/verify")
def verify_post(page: PublicPage) -> Response:
    payload = str(page.form.get("payload", "")).strip()
    licence_id = str(page.form.get("licence_id", "")).strip()
    if not payload and not licence_id:
        error = DomainError("verify.empty", "请粘贴二维码内容，或填写电子证照标识", field="payload")
        return _verify_page(page, status_code=400, error=error, errors={"payload": error.message})
    return _verify(page, payload, licence_id)
