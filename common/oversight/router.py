"""Oversight API: the dashboard of an area for a period, the cases behind each number
(paged, searchable), and the dashboard as an XLSX workbook."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import Response
from sqlalchemy import select
from sqlmodel import Session, col

from common.api.deps import CurrentUser, NodeDep, SessionDep
from common.authority.reading import require_figures_reader
from common.cases.models import Case
from common.cases.queries import case_summary
from common.errors import DomainError
from common.identity.models import RegistryNode
from common.node import ThisNode
from common.oversight.export import XLSX, dashboard_workbook
from common.oversight.figures import (
    DRILLS,
    FIGURES,
    Area,
    Dashboard,
    DrillName,
    Period,
    area_of,
    cases_behind,
    dashboard,
)
from common.timeutil import local_today, utcnow
from common.users.roles import Actor

router = APIRouter(prefix="/api/v1/oversight", tags=["oversight"])

MAX_DAYS = 3 * 366 + 1  # the longest period asked for at once
Scope = Annotated[
    str | None, Query(pattern=r"^\d{12}$", description="区域的节点编号（默认本节点）")
]
From = Annotated[date | None, Query(alias="from", description="期间起（默认本月1日）")]
To = Annotated[date | None, Query(alias="to", description="期间止（含，默认今天）")]


def period_of(start: date | None, end: date | None, today: date) -> Period:
    """The period asked for; by default this month to today."""
    end = end or today
    start = start or end.replace(day=1)
    if start > end:
        raise DomainError("oversight.period", "期间的起始日期不能晚于截止日期", field="from")
    if (end - start).days >= MAX_DAYS:
        raise DomainError("oversight.period", "期间不能超过三年", field="to")
    return Period(start, end)


def area_for(session: Session, node: ThisNode, actor: Actor, scope: str | None) -> Area:
    """The area asked for (default: this node's), if ``actor`` may see its figures."""
    node_id = scope or node.node_id
    require_figures_reader(session, actor, node_id)
    return area_of(session, node_id)


def board_for(
    session: Session,
    node: ThisNode,
    actor: Actor,
    scope: str | None,
    start: date | None,
    end: date | None,
) -> Dashboard:
    today = local_today(node.settings.tz)
    area = area_for(session, node, actor, scope)
    return dashboard(session, area, period_of(start, end, today), today)


@router.get("/dashboard")
def get_dashboard(
    actor: CurrentUser,
    session: SessionDep,
    node: NodeDep,
    scope: Scope = None,
    start: From = None,
    end: To = None,
) -> dict[str, Any]:
    """数据看板：一个区域一个期间的主要指标、下级区域的同一组指标、申请件的分类统计，
    以及每个指标的口径。"""
    board = board_for(session, node, actor, scope, start, end)
    definitions = {
        key: {"label": f.label, "formula": f.formula, "share": f.share}
        for key, f in FIGURES.items()
    }
    return board.as_dict() | {"definitions": definitions}


@router.get("/dashboard.xlsx", response_class=Response, responses={200: {"content": {XLSX: {}}}})
def export_dashboard(
    actor: CurrentUser,
    session: SessionDep,
    node: NodeDep,
    scope: Scope = None,
    start: From = None,
    end: To = None,
) -> Response:
    """数据看板导出为XLSX（含标题、范围、期间、生成时间）。"""
    board = board_for(session, node, actor, scope, start, end)
    county = area_of(session, _root_of(session, node)).name
    content = dashboard_workbook(board, county, utcnow().astimezone(node.settings.tz))
    name = f"dashboard-{board.area.node_id}-{board.period.start}-{board.period.end}.xlsx"
    return Response(
        content, media_type=XLSX, headers={"Content-Disposition": f'attachment; filename="{name}"'}
    )


@router.get("/monthly.xlsx", response_class=Response, responses={200: {"content": {XLSX: {}}}})
def monthly_report(
    actor: CurrentUser,
    session: SessionDep,
    node: NodeDep,
    month: Annotated[
        str, Query(pattern=r"^\d{4}-(0[1-9]|1[0-2])$", description="月份，如 2026-11")
    ],
    scope: Scope = None,
) -> Response:
    """月报：一个月的主要指标，本区域以下每个区域一行（乡镇、村），及申请件分类；XLSX。"""
    start = date.fromisoformat(f"{month}-01")
    end = (start.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
    today = local_today(node.settings.tz)
    area = area_for(session, node, actor, scope)
    board = dashboard(session, area, Period(start, end), today, every_area=True)
    county = area_of(session, _root_of(session, node)).name
    made_at = utcnow().astimezone(node.settings.tz)
    content = dashboard_workbook(
        board, county, made_at, title=f"{month[:4]}年{int(month[5:])}月月报"
    )
    name = f"monthly-{area.node_id}-{month}.xlsx"
    return Response(
        content, media_type=XLSX, headers={"Content-Disposition": f'attachment; filename="{name}"'}
    )


@router.get("/cases")
def cases_of_a_figure(
    actor: CurrentUser,
    session: SessionDep,
    node: NodeDep,
    drill: Annotated[DrillName, Query(description="哪个指标背后的办件")],
    scope: Scope = None,
    start: From = None,
    end: To = None,
    q: Annotated[
        str | None, Query(max_length=40, description="办件编号、申请人姓名、事项名称或完整证件号码")
    ] = None,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    per_page: Annotated[int, Query(ge=1, le=200)] = 50,
) -> dict[str, Any]:
    """一个指标背后的办件（分页、可检索；证件号码脱敏）。"""
    today = local_today(node.settings.tz)
    area = area_for(session, node, actor, scope)
    chosen = search(cases_behind(session, area, period_of(start, end, today), today, drill), q)
    rows = chosen[(page - 1) * per_page : page * per_page]
    return {
        "drill": drill,
        "label": DRILLS[drill][0],
        "total": len(chosen),
        "page": page,
        "per_page": per_page,
        "cases": [case_summary(case) | {"clock_status": clock.status} for case, clock in rows],
    }


def search(chosen: list[tuple[Case, Any]], q: str | None) -> list[tuple[Case, Any]]:
    """Cases whose number, applicant's name or matter's name contains ``q``, or whose
    applicant's identity number is ``q`` (whole: a masked number finds nothing)."""
    if not q or not q.strip():
        return chosen
    q = q.strip()
    return [
        (case, clock)
        for case, clock in chosen
        if q in case.case_no
        or q in case.applicant_name
        or q in case.matter_name
        or q.upper() == case.applicant_id
    ]


def _root_of(session: Session, node: ThisNode) -> str:
    root = session.execute(
        select(col(RegistryNode.node_id)).where(col(RegistryNode.parent_id).is_(None)).limit(1)
    ).scalar_one_or_none()
    return root or node.node_id
