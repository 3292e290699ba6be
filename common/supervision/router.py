"""督办 API: issue a notice on a case, answer one, list those issued or received."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, Field

from common.api.deps import CurrentUser, NodeDep, SessionDep, only
from common.cases.api import CASE_NO_PATTERN
from common.supervision import service
from common.supervision.models import Supervision
from common.timeutil import local_today
from common.users.roles import require_role

router = APIRouter(prefix="/api/v1", tags=["supervision"])
NoticeId = Annotated[
    str, Path(pattern=r"^\d{12}-\d{8}-\d{4,6}:\d{12}:\d{1,6}$", description="督办编号")
]


class IssueRequest(BaseModel):
    message: str = Field(min_length=2, max_length=500, description="督办事项")
    reply_by: date = Field(description="答复期限")


class AnswerRequest(BaseModel):
    answer: str = Field(min_length=2, max_length=500, description="办理情况")


def notice_view(notice: Supervision, today: date) -> dict[str, Any]:
    overdue = notice.state == "open" and notice.reply_by < today.isoformat()
    return {
        "notice_id": notice.notice_id,
        "case_no": notice.case_no,
        "issuer_node": notice.issuer_node,
        "issued_by": notice.issued_by,
        "issued_on": notice.issued_on,
        "to_node": notice.to_node,
        "message": notice.message,
        "reply_by": notice.reply_by,
        "state": "overdue" if overdue else notice.state,
        "state_label": "逾期未答复"
        if overdue
        else {"open": "待答复", "answered": "已答复"}[notice.state],
        "answer": notice.answer,
        "answered_by": notice.answered_by,
        "answered_on": notice.answered_on,
    }


@router.post("/cases/{case_no}/supervisions", status_code=201, **only(*service.SUPERVISORS))
def issue(
    case_no: Annotated[str, Path(pattern=CASE_NO_PATTERN)],
    body: IssueRequest,
    actor: CurrentUser,
    session: SessionDep,
    node: NodeDep,
) -> dict[str, Any]:
    """督办：向办件当前的办理节点发出督办，写明事项和答复期限。"""
    event = service.issue_supervision(session, node, actor, case_no, body.message, body.reply_by)
    notice = service.get_supervision(session, event.subject.removeprefix("supervision:"))
    return notice_view(notice, local_today(node.settings.tz))


@router.post("/supervisions/{notice_id}/answer", **only(*service.ANSWERERS))
def answer(
    notice_id: NoticeId, body: AnswerRequest, actor: CurrentUser, session: SessionDep, node: NodeDep
) -> dict[str, Any]:
    """答复督办（被督办节点）。"""
    service.answer_supervision(session, node, actor, notice_id, body.answer)
    return notice_view(service.get_supervision(session, notice_id), local_today(node.settings.tz))


@router.get("/supervisions")
def supervisions(
    actor: CurrentUser,
    session: SessionDep,
    node: NodeDep,
    view: Annotated[service.View, Query(description="issued 本节点发出 / received 本节点收到")],
    state: Annotated[service.State, Query()] = "open",
) -> list[dict[str, Any]]:
    """督办清单：本节点发出的或收到的，按状态（逾期：过了答复期限仍未答复）。"""
    require_role(actor, *(service.SUPERVISORS if view == "issued" else service.ANSWERERS))
    today = local_today(node.settings.tz)
    return [
        notice_view(n, today) for n in service.list_supervisions(session, node, view, state, today)
    ]
