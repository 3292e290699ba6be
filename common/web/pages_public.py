"""The public portal (no login): service guides, case progress, licence verification,
and the published catalogue's share of "at most one trip" matters. Every node serves it."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response

from common.catalog.service import one_trip_share
from common.web.page import PublicPage

router = APIRouter(include_in_schema=False)


@router.get("/portal")
def portal(page: PublicPage) -> Response:
    return page.render("public/portal.html", page_title="政务服务门户", share=one_trip_share(page.session))
