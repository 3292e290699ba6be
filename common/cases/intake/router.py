"""Intake API: file, list, view, notify, supplement, accept, refuse, withdraw, visits,
deliver, window queues; plus the resident's public progress query.

Thin views: pydantic checks the shape, the action functions check rights and rules.
The router's prefix is /api/v1 (not /api/v1/cases) so that the public progress query
can live at /api/v1/public/cases/... in the same module.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from sqlmodel import Session

from common.api.deps import CurrentUser, NodeDep, SessionDep
from common.authority.reading import require_case_reader, visible_tasks
from common.cases.access import load_case, today_on
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
from common.node import ThisNode
from common.users.roles import Actor, Role, require_role

router = APIRouter(prefix="/api/v1")

CASE_NO_PATTERN = r"^\d{12}-\d{8}-\d{4,6}$"
CaseNo = Annotated[
    str, Path(pattern=CASE_NO_PATTERN, description="办件编号：节点编号-日期-当日序号")
]
STAFF = tuple(Role)
QUEUE_READERS = (
    Role.VILLAGE_AGENT,
    Role.TOWNSHIP_CLERK,
    Role.TOWNSHIP_APPROVER,
    Role.COUNTY_WINDOW_CLERK,
    Role.COUNTY_ADMIN,
    Role.AUDITOR,
)
ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"description": "规则不允许（code、message、field）"},
    403: {"description": "无权办理"},
    404: {"description": "案件不存在"},
    409: {"description": "案件当前状态不允许此操作"},
}


def _view(session: Session, node: ThisNode, actor: Actor, case_no: str) -> CaseViewOut:
    require_case_reader(session, node, actor, case_no)
    view = intake.get_case_view(session, case_no, today_on(node))
    view["tasks"] = visible_tasks(actor, view["tasks"])
    return CaseViewOut.model_validate(view)


def _materials(items: list[Any]) -> list[dict[str, Any]]:
    return [item.model_dump(exclude_none=True) for item in items]


@router.post(
    "/cases", response_model=CaseViewOut, status_code=201, tags=["cases"], responses=ERRORS
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
    return _view(session, node, actor, case.case_no)


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
    require_role(actor, *QUEUE_READERS)
    return [
        CaseSummaryOut.model_validate(case_summary(c))
        for c in intake.window_queue(session, node, window.value)
    ]


@router.get("/cases/{case_no}", response_model=CaseViewOut, tags=["cases"], responses=ERRORS)
def get_case(
    case_no: CaseNo, actor: CurrentUser, session: SessionDep, node: NodeDep
) -> CaseViewOut:
    require_role(actor, *STAFF)
    return _view(session, node, actor, case_no)


@router.post(
    "/cases/{case_no}/supplement-notice",
    response_model=NoticeOut,
    status_code=201,
    tags=["cases"],
    responses=ERRORS,
)
def request_supplement(
    case_no: CaseNo, body: NoticeRequest, actor: CurrentUser, session: SessionDep, node: NodeDep
) -> NoticeOut:
    """一次性告知（补齐补正通知书）：一次列出全部所缺材料，可逐项写明补正要求并附说明；
    同一案件再次告知记为违规。"""
    missing: list[str | dict[str, Any]] = [
        item.model_dump(exclude_none=True) for item in body.missing
    ]
    notice = intake.request_supplement(session, node, actor, case_no, missing, body.note)
    return NoticeOut.model_validate(notice_view(notice))


@router.post(
    "/cases/{case_no}/supplement", response_model=CaseViewOut, tags=["cases"], responses=ERRORS
)
def receive_supplement(
    case_no: CaseNo, body: SupplementRequest, actor: CurrentUser, session: SessionDep, node: NodeDep
) -> CaseViewOut:
    """补齐补正：收到所缺材料，案件回到“已申请”。"""
    intake.receive_supplement(session, node, actor, case_no, _materials(body.materials))
    return _view(session, node, actor, case_no)


@router.post(
    "/cases/{case_no}/accept", response_model=CaseViewOut, tags=["cases"], responses=ERRORS
)
def accept_case(
    case_no: CaseNo, actor: CurrentUser, session: SessionDep, node: NodeDep
) -> CaseViewOut:
    """受理：开始计时，按部门生成审查任务（即办件当场办结，无任务）。"""
    intake.accept_case(session, node, actor, case_no)
    return _view(session, node, actor, case_no)


@router.post(
    "/cases/{case_no}/refuse", response_model=CaseViewOut, tags=["cases"], responses=ERRORS
)
def refuse_case(
    case_no: CaseNo, body: ReasonRequest, actor: CurrentUser, session: SessionDep, node: NodeDep
) -> CaseViewOut:
    """不予受理（须说明理由）。"""
    intake.refuse_case(session, node, actor, case_no, body.reason)
    return _view(session, node, actor, case_no)


@router.post(
    "/cases/{case_no}/withdraw", response_model=CaseViewOut, tags=["cases"], responses=ERRORS
)
def withdraw_case(
    case_no: CaseNo, body: ReasonRequest, actor: CurrentUser, session: SessionDep, node: NodeDep
) -> CaseViewOut:
    """撤回（申请人要求）。"""
    intake.withdraw_case(session, node, actor, case_no, body.reason)
    return _view(session, node, actor, case_no)


@router.post(
    "/cases/{case_no}/visits",
    response_model=RecordedVisitOut,
    status_code=201,
    tags=["cases"],
    responses=ERRORS,
)
def record_visit(
    case_no: CaseNo, body: VisitIn, actor: CurrentUser, session: SessionDep, node: NodeDep
) -> RecordedVisitOut:
    """记录一次到场；申请人本人到场计入跑动次数，超过承诺次数的标记并说明原因。"""
    visit = intake.record_visit(
        session, node, actor, case_no, who=body.who, place=body.place, purpose=body.purpose
    )
    case = load_case(session, case_no)
    return RecordedVisitOut(
        case_no=case_no,
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


@router.post(
    "/cases/{case_no}/deliver", response_model=CaseViewOut, tags=["cases"], responses=ERRORS
)
def deliver_case(
    case_no: CaseNo, body: DeliverRequest, actor: CurrentUser, session: SessionDep, node: NodeDep
) -> CaseViewOut:
    """送达：窗口领取、快递、电子送达或代办员送达；送达回执办结案件。"""
    intake.deliver_case(
        session,
        node,
        actor,
        case_no,
        body.method,
        body.tracking_no,
        body.receiver,
        pickup_visit=body.pickup_visit,
        place=body.place,
    )
    return _view(session, node, actor, case_no)


@router.get(
    "/public/cases/{case_no}",
    response_model=PublicProgressOut,
    tags=["public"],
    responses={404: {"description": "办件编号或证件号码后四位不符（两者答复相同）"}},
)
def public_case_progress(
    case_no: Annotated[str, Path(max_length=40)],
    id_last4: Annotated[
        str, Query(pattern=r"^[0-9A-Za-z]{4}$", description="申请人证件号码后四位")
    ],
    session: SessionDep,
    node: NodeDep,
    request: Request,
) -> PublicProgressOut:
    """办件进度查询（无需登录）：只返回状态、事项名称、日期和时限状态，不含个人信息。
    错误的查询过多时暂停查询（429）。"""
    guard = request.app.state.lookup_guard
    guard.admit(request.client.host if request.client else "", case_no)
    try:
        progress = public_progress(session, case_no, id_last4, date.fromisoformat(today_on(node)))
    except NotFound:
        guard.wrong(case_no)
        raise
    return PublicProgressOut.model_validate(progress)
