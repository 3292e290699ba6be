"""Ratings API: record a rating, call back, close a rectification, list them.

Task ids contain "/" ({case_no}/rectification/1), so the call-back and close
endpoints take the task id in the body rather than the path. They act on the node
that serves the request, which must be the task's responsible node (a village case's
township, or the deciding node); ``responsible_node`` in every answer says which.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, Field

from common.api.deps import CurrentUser, NodeDep, SessionDep
from common.authority.reading import require_case_reader
from common.cases.access import today_on
from common.cases.api import taking
from common.ratings import service
from common.ratings.models import Rating, Rectification

router = APIRouter(prefix="/api/v1", tags=["ratings"])

CaseNoPath = Annotated[str, Path(min_length=1, max_length=40, description="案件编号")]


class RatingRequest(BaseModel):
    level: int = Field(
        ge=1, le=5, description="1 非常满意、2 满意、3 基本满意、4 不满意、5 非常不满意"
    )
    comment: str = Field(default="", max_length=500)
    real_name: bool = Field(default=False, description="实名评价（差评须回访）")


class RectificationOut(BaseModel):
    task_id: str
    case_no: str
    responsible_node: str = Field(description="负责回访与整改的节点")
    opened_on: str
    due_on: str
    state: str
    overdue: bool
    callback_required: bool
    callback_done: bool
    callback_note: str | None
    callback_by: str | None
    callback_on: str | None
    closed_on: str | None
    closed_by: str | None
    result: str | None

    @classmethod
    def of(cls, task: Rectification, today: str) -> RectificationOut:
        return cls(
            task_id=task.task_id,
            case_no=task.case_no,
            responsible_node=task.responsible_node,
            opened_on=task.opened_on,
            due_on=task.due_on,
            state=task.state,
            overdue=task.state == "open" and task.due_on < today,
            callback_required=task.callback_required,
            callback_done=task.callback_done,
            callback_note=task.callback_note,
            callback_by=task.callback_by,
            callback_on=task.callback_on,
            closed_on=task.closed_on,
            closed_by=task.closed_by,
            result=task.result,
        )


class RatingOut(BaseModel):
    case_no: str
    level: int
    label: str
    comment: str
    real_name: bool
    rated_on: str
    bad: bool
    rectification: RectificationOut | None

    @classmethod
    def of(cls, rating: Rating, task: Rectification | None, today: str) -> RatingOut:
        return cls(
            case_no=rating.case_no,
            level=rating.level,
            label=rating.label,
            comment=rating.comment,
            real_name=rating.real_name,
            rated_on=rating.rated_on,
            bad=rating.level >= 4,
            rectification=RectificationOut.of(task, today) if task else None,
        )


class CallbackRequest(BaseModel):
    task_id: str = Field(min_length=1, max_length=60)
    note: str = Field(min_length=1, max_length=500, description="回访情况")


class CloseRequest(BaseModel):
    task_id: str = Field(min_length=1, max_length=60)
    result: str = Field(min_length=1, max_length=500, description="整改结果")


def _rating_out(session: SessionDep, node: NodeDep, case_no: str) -> RatingOut:
    rating = service.get_rating(session, case_no)
    task = session.get(Rectification, service.rectification_task_id(rating.case_no))
    return RatingOut.of(rating, task, today_on(node))


@router.post(
    "/cases/{case_no}/rating", response_model=RatingOut, status_code=201, **taking("rate_case")
)
def rate_case(
    case_no: CaseNoPath, body: RatingRequest, actor: CurrentUser, session: SessionDep, node: NodeDep
) -> RatingOut:
    service.rate_case(session, node, actor, case_no, body.level, body.comment, body.real_name)
    return _rating_out(session, node, case_no)


@router.get("/cases/{case_no}/rating", response_model=RatingOut)
def read_rating(
    case_no: CaseNoPath, actor: CurrentUser, session: SessionDep, node: NodeDep
) -> RatingOut:
    require_case_reader(session, node, actor, case_no)
    return _rating_out(session, node, case_no)


@router.post(
    "/rectifications/callback", response_model=RectificationOut, **taking("record_callback")
)
def record_callback(
    body: CallbackRequest, actor: CurrentUser, session: SessionDep, node: NodeDep
) -> RectificationOut:
    service.record_callback(session, node, actor, body.task_id, body.note)
    return RectificationOut.of(service.get_rectification(session, body.task_id), today_on(node))


@router.post(
    "/rectifications/close", response_model=RectificationOut, **taking("close_rectification")
)
def close_rectification(
    body: CloseRequest, actor: CurrentUser, session: SessionDep, node: NodeDep
) -> RectificationOut:
    service.close_rectification(session, node, actor, body.task_id, body.result)
    return RectificationOut.of(service.get_rectification(session, body.task_id), today_on(node))


@router.get("/rectifications", response_model=list[RectificationOut])
def list_rectifications(
    actor: CurrentUser,
    session: SessionDep,
    node: NodeDep,
    state: Annotated[
        Literal["open", "closed"] | None, Query(description="open 待整改 / closed 已办结")
    ] = None,
    due_by: Annotated[date | None, Query(description="只列出截止日期不晚于该日的任务")] = None,
) -> list[RectificationOut]:
    today = today_on(node)
    tasks = service.list_rectifications(
        session, actor, state=state, due_by=due_by.isoformat() if due_by else None
    )
    return [RectificationOut.of(task, today) for task in tasks]
