"""Intake API: file, list, view, notify, supplement, accept, refuse, withdraw, visits,
deliver, window queues; plus the resident's public progress query.

Thin views: pydantic checks the shape, the action functions check rights and rules.
The router's prefix is /api/v1 (not /api/v1/cases) so that the public progress query
can live at /api/v1/public/cases/... in the same module.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.types import DecoratedCallable
from pydantic import BaseModel, Field

from common.api.deps import CurrentUser, NodeDep, SessionDep
from common.authority.reading import require_case_reader, visible_tasks
from common.cases.access import load_case, today_on
from common.cases.api import CASE_NO_PATTERN, WORK_LIST_READERS, CaseAt, case_errors, taking
from common.cases.intake import service as intake
from common.cases.intake.schemas import (
    CaseSummaryOut,
    CaseViewOut,
    DeliverRequest,
    FileCaseRequest,
    NoticeOut,
    NoticeRequest,
    PublicProgressOut,
    ReasonRequest,
    RecordedVisitOut,
    SupplementRequest,
    VisitIn,
)
from common.cases.queries import case_summary, notice_view, public_progress
from common.catalog.schema import IntegratedWindow
from common.errors import NotFound
from common.users.roles import Role, require_role

router = APIRouter(prefix="/api/v1")

CaseNo = Annotated[
    str, Path(pattern=CASE_NO_PATTERN, description="办件编号：节点编号-日期-当日序号")
]
STAFF = tuple(Role)
ERRORS = case_errors("规则不允许（code、message、field）", "案件当前状态不允许此操作")


def _at(case_no: CaseNo, actor: CurrentUser, session: SessionDep, node: NodeDep) -> CaseAt:
    return CaseAt(session, node, actor, case_no)


OnCase = Annotated[CaseAt, Depends(_at)]


def _acts_on_case(
    path: str, action: str, answer: type[BaseModel] = CaseViewOut, status_code: int | None = None
) -> Callable[[DecoratedCallable], DecoratedCallable]:
    """The case action ``action`` at ``/cases/{case_no}/{path}``: by default answered
    with the case's view."""
    return router.post(
        f"/cases/{{case_no}}/{path}",
        response_model=answer,
        status_code=status_code,
        tags=["cases"],
        responses=ERRORS,
        **taking(action),
    )


def _view(at: CaseAt) -> CaseViewOut:
    require_case_reader(at.session, at.node, at.actor, at.case_no)
    view = intake.get_case_view(at.session, at.case_no, today_on(at.node))
    view["tasks"] = visible_tasks(at.actor, view["tasks"])
    return CaseViewOut.model_validate(view)


def _materials(items: list[Any]) -> list[dict[str, Any]]:
    return [item.model_dump(exclude_none=True) for item in items]


@router.post(
    "/cases",
    response_model=CaseViewOut,
    status_code=201,
    tags=["cases"],
    responses=ERRORS,
    **taking("file_case"),
)
def file_case(
    body: FileCaseRequest, actor: CurrentUser, session: SessionDep, node: NodeDep
) -> CaseViewOut:
    """申请：建立办件，生成办件编号。"""
    case = intake.file_case(
        session,
        node,
        actor,
        matter_code=body.matter_code,
        applicant=body.applicant.model_dump(),
        materials=_materials(body.materials),
        commitment=body.commitment,
        visit=body.visit.model_dump() if body.visit else None,
        agent=body.agent,
    )
    return _view(CaseAt(session, node, actor, case.case_no))


@router.get("/cases", response_model=list[CaseSummaryOut], tags=["cases"])
def list_cases(
    actor: CurrentUser,
    session: SessionDep,
    node: NodeDep,
    state: Annotated[
        str | None, Query(max_length=20, description="案件状态，如 filed、accepted")
    ] = None,
    window: Annotated[IntegratedWindow | None, Query(description="综合窗口")] = None,
    origin: Annotated[str | None, Query(pattern=r"^\d{12}$", description="来源节点")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> list[CaseSummaryOut]:
    """办件列表（证件号码脱敏）。乡镇和县级看本节点全部办件，村级只看本村的，部门只看有本部门任务的。"""
    require_role(actor, *STAFF)
    department = None
    if node.tier == "village":
        origin = node.node_id
    if actor.role is Role.DEPARTMENT_REVIEWER:
        department = actor.department or ""
    cases = intake.list_cases(
        session,
        origin=origin,
        state=state,
        window=window.value if window else None,
        department=department,
        limit=limit,
        offset=offset,
    )
    return [CaseSummaryOut.model_validate(case_summary(c)) for c in cases]


@router.get("/cases/queues/{window}", response_model=list[CaseSummaryOut], tags=["cases"])
def window_queue(
    window: IntegratedWindow, actor: CurrentUser, session: SessionDep, node: NodeDep
) -> list[CaseSummaryOut]:
    """综合窗口排队：本节点待受理、待补正的办件，先到先办。"""
    require_role(actor, *WORK_LIST_READERS)
    return [
        CaseSummaryOut.model_validate(case_summary(c))
        for c in intake.window_queue(session, node, window.value)
    ]


@router.get("/cases/{case_no}", response_model=CaseViewOut, tags=["cases"], responses=ERRORS)
def get_case(at: OnCase) -> CaseViewOut:
    require_role(at.actor, *STAFF)
    return _view(at)


@_acts_on_case("supplement-notice", "request_supplement", NoticeOut, status_code=201)
def request_supplement(at: OnCase, body: NoticeRequest) -> NoticeOut:
    """一次性告知（补齐补正通知书）：一次列出全部所缺材料，可逐项写明补正要求并附说明；
    同一案件再次告知记为违规。"""
    missing: list[str | dict[str, Any]] = [
        item.model_dump(exclude_none=True) for item in body.missing
    ]
    notice = at.take(intake.request_supplement, missing, body.note)
    return NoticeOut.model_validate(notice_view(notice))


@_acts_on_case("supplement", "receive_supplement")
def receive_supplement(at: OnCase, body: SupplementRequest) -> CaseViewOut:
    """补齐补正：收到所缺材料，案件回到“已申请”。"""
    at.take(intake.receive_supplement, _materials(body.materials))
    return _view(at)


@_acts_on_case("accept", "accept_case")
def accept_case(at: OnCase) -> CaseViewOut:
    """受理：开始计时，按部门生成审查任务（即办件当场办结，无任务）。"""
    at.take(intake.accept_case)
    return _view(at)


@_acts_on_case("refuse", "refuse_case")
def refuse_case(at: OnCase, body: ReasonRequest) -> CaseViewOut:
    """不予受理（须说明理由）。"""
    at.take(intake.refuse_case, body.reason)
    return _view(at)


@_acts_on_case("withdraw", "withdraw_case")
def withdraw_case(at: OnCase, body: ReasonRequest) -> CaseViewOut:
    """撤回（申请人要求）。"""
    at.take(intake.withdraw_case, body.reason)
    return _view(at)


@_acts_on_case("visits", "record_visit", RecordedVisitOut, status_code=201)
def record_visit(at: OnCase, body: VisitIn) -> RecordedVisitOut:
    """记录一次到场；申请人本人到场计入跑动次数，超过承诺次数的标记并说明原因。"""
    visit = at.take(intake.record_visit, who=body.who, place=body.place, purpose=body.purpose)
    case = load_case(at.session, at.case_no)
    return RecordedVisitOut(
        case_no=at.case_no,
        seq=visit.seq,
        who=visit.who,
        place=visit.place,
        purpose=visit.purpose,
        visited_on=visit.visited_on,
        counts=visit.counts,
        visits=case.visits,
        over_visit_limit=case.over_visit_limit,
        over_limit_reason=case.over_limit_reason,
    )


@_acts_on_case("deliver", "deliver_case")
def deliver_case(at: OnCase, body: DeliverRequest) -> CaseViewOut:
    """送达：窗口领取、快递、电子送达或代办员送达；送达回执办结案件。"""
    at.take(
        intake.deliver_case,
        body.method,
        body.tracking_no,
        body.receiver,
        pickup_visit=body.pickup_visit,
        place=body.place,
    )
    return _view(at)


class ProgressLookup(BaseModel):
    id_last4: str = Field(pattern=r"^[0-9A-Za-z]{4}$", description="申请人证件号码后四位")


@router.post(
    "/public/cases/{case_no}/progress",
    response_model=PublicProgressOut,
    tags=["public"],
    responses={
        404: {"description": "办件编号或证件号码后四位不符（两者答复相同）"},
        429: {"description": "错误查询过多：稍后再试（Retry-After 秒数）"},
    },
)
def public_case_progress(
    case_no: Annotated[str, Path(max_length=40)],
    lookup: ProgressLookup,
    session: SessionDep,
    node: NodeDep,
    request: Request,
) -> PublicProgressOut:
    """办件进度查询（无需登录）：只返回状态、事项名称、日期和时限状态，不含个人信息。
    证件号码后四位放在请求正文中（不进网址和访问日志）；错误的查询越多，再次查询前须等待越久（429）。"""
    guard = request.app.state.lookup_guard
    client = request.client.host if request.client else ""
    guard.admit(client, case_no)
    try:
        progress = public_progress(
            session, case_no, lookup.id_last4, date.fromisoformat(today_on(node))
        )
    except NotFound:
        guard.wrong(client, case_no)
        raise
    return PublicProgressOut.model_validate(progress)
