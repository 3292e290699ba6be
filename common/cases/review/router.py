"""Review endpoints: my tasks, opinions, decisions, special procedures, extensions,
告知承诺 verification and the case clock. Thin wrappers over ``cases.review.service``; the
rights are checked there. Task ids contain "/", so the opinion endpoint takes the id
as a trailing path (full id or the part after the case number, e.g. ``review/1``) or,
at ``/cases/{case_no}/opinion``, in the body.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlmodel import col

from common.api.deps import CurrentUser, NodeDep, SessionDep
from common.authority.reading import require_case_reader
from common.cases.access import load_case, today_on
from common.cases.api import CaseAt, taking
from common.cases.flows import decide_and_send_home
from common.cases.models import Case
from common.cases.review import service
from common.cases.states import STATE_LABELS, CaseState
from common.ledger.envelope import SignedEvent

router = APIRouter(prefix="/api/v1", tags=["review"])


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid")


class OpinionRequest(_Request):
    opinion: Literal["agree", "disagree"] = Field(description="同意 agree / 不同意 disagree")
    comment: str | None = Field(
        default=None, max_length=500, description="意见说明（不同意时必填）"
    )


class OpinionWithTask(OpinionRequest):
    task_id: str = Field(
        min_length=1, max_length=60, description="任务编号（完整或 review/1 形式）"
    )


class DecisionRequest(_Request):
    decision: Literal["approved", "rejected"] = Field(description="准予 approved / 不予 rejected")
    reason: str | None = Field(default=None, max_length=500, description="理由（不予许可时必填）")


class SpecialStartRequest(_Request):
    kind: Literal[1, 2] = Field(
        description="1 延长审批（第四十二条）；2 行政许可法第四十五条规定的特别程序"
        "（听证、招标、拍卖、检验、检测、检疫、鉴定、专家评审）"
    )
    subkind: service.SpecialSubkind
    reason: str = Field(min_length=1, max_length=500)


class SpecialEndRequest(_Request):
    result: str = Field(min_length=1, max_length=500, description="特别程序结果")


class ExtensionRequest(_Request):
    days: int = Field(ge=1, le=365, description="延长的工作日数")
    reason: str = Field(min_length=1, max_length=500)


class VerificationRequest(_Request):
    task_id: str | None = Field(
        default=None, max_length=60, description="核查任务编号（默认该案件的核查任务）"
    )
    passed: bool
    comment: str | None = Field(
        default=None, max_length=500, description="核查情况（不通过时必填）"
    )


def _at(session: SessionDep, node: NodeDep, user: CurrentUser, case_no: str) -> CaseAt:
    return CaseAt(session, node, user, case_no)


OnCase = Annotated[CaseAt, Depends(_at)]


def _answer(at: CaseAt, event: SignedEvent) -> dict[str, Any]:
    case = load_case(at.session, at.case_no)
    return {
        "case_no": at.case_no,
        "state": case.state,
        "state_label": STATE_LABELS[CaseState(case.state)],
        "version": case.version,
        "event_id": event.id,
        "kind": event.kind,
        **event.body,
    }


@router.get("/tasks")
def my_tasks(
    session: SessionDep,
    node: NodeDep,
    user: CurrentUser,
    state: Annotated[Literal["open", "done", "all"], Query()] = "open",
) -> dict[str, Any]:
    """我的任务: a department reviewer sees only its own department's tasks."""
    tasks = service.tasks_for(session, user, state=state)
    numbers = sorted({t.case_no for t in tasks})
    cases = {
        c.case_no: c
        for c in session.execute(select(Case).where(col(Case.case_no).in_(numbers))).scalars()
    }
    clocks = service.clocks_of(session, list(cases.values()), date.fromisoformat(today_on(node)))
    rows = []
    for task in tasks:
        case, clock = cases[task.case_no], clocks[task.case_no]
        rows.append(
            {
                **service.task_summary(task),
                "case": {
                    "case_no": case.case_no,
                    "matter_code": case.matter_code,
                    "matter_name": case.matter_name,
                    "case_type": case.case_type,
                    "state": case.state,
                    "applicant_name": case.applicant_name,
                    "applicant_id": case.applicant_id_masked,
                    "deadline": case.deadline,
                    "clock_status": clock.status,
                    "days_left": clock.days_left,
                },
            }
        )
    return {"tasks": rows}


@router.post("/cases/{case_no}/tasks/{task_id:path}/opinion", **taking("record_opinion"))
def record_opinion(at: OnCase, task_id: str, request: OpinionRequest) -> dict[str, Any]:
    return _answer(at, at.take(service.record_opinion, task_id, request.opinion, request.comment))


@router.post("/cases/{case_no}/opinion", **taking("record_opinion"))
def record_opinion_by_body(at: OnCase, request: OpinionWithTask) -> dict[str, Any]:
    event = at.take(service.record_opinion, request.task_id, request.opinion, request.comment)
    return _answer(at, event)


@router.post("/cases/{case_no}/decide", **taking("decide_case"))
def decide(at: OnCase, request: DecisionRequest) -> dict[str, Any]:
    return _answer(at, at.take(decide_and_send_home, request.decision, request.reason))


@router.get("/cases/{case_no}/special-procedures")
def special_procedures(
    session: SessionDep, node: NodeDep, user: CurrentUser, case_no: str
) -> dict[str, Any]:
    require_case_reader(session, node, user, case_no)
    return {
        "case_no": case_no,
        "procedures": [
            {
                "seq": p.seq,
                "kind": p.kind,
                "subkind": p.subkind,
                "subkind_label": service.SUBKINDS[p.subkind],
                "reason": p.reason,
                "started_on": p.started_on,
                "ended_on": p.ended_on,
                "result": p.result,
                "paused_days": p.paused_days,
                "extension_days": p.extension_days,
            }
            for p in service.case_procedures(session, case_no)
        ],
    }


@router.post("/cases/{case_no}/special-procedures", **taking("start_special_procedure"))
def start_special_procedure(at: OnCase, request: SpecialStartRequest) -> dict[str, Any]:
    event = at.take(service.start_special_procedure, request.kind, request.subkind, request.reason)
    return _answer(at, event)


@router.post("/cases/{case_no}/special-procedures/{seq}/end", **taking("end_special_procedure"))
def end_special_procedure(at: OnCase, seq: int, request: SpecialEndRequest) -> dict[str, Any]:
    return _answer(at, at.take(service.end_special_procedure, seq, request.result))


@router.post("/cases/{case_no}/extension", **taking("approve_extension"))
def approve_extension(at: OnCase, request: ExtensionRequest) -> dict[str, Any]:
    return _answer(at, at.take(service.approve_extension, request.days, request.reason))


@router.post("/cases/{case_no}/verification", **taking("record_verification"))
def record_verification(at: OnCase, request: VerificationRequest) -> dict[str, Any]:
    event = at.take(service.record_verification, request.task_id, request.passed, request.comment)
    return _answer(at, event)


@router.get("/cases/{case_no}/clock")
def case_clock(
    session: SessionDep,
    node: NodeDep,
    user: CurrentUser,
    case_no: str,
    on: Annotated[date | None, Query(description="按哪一天计算（默认今天）")] = None,
) -> dict[str, Any]:
    """The statutory clock (used / left / status) and the resident's wait."""
    case = require_case_reader(session, node, user, case_no)
    view = service.case_clock(session, case_no, on or date.fromisoformat(today_on(node)))
    warning = None
    if view.fallback_years:
        from common.calendar.workdays import WorkingCalendar

        warning = WorkingCalendar().fallback_notice(view.fallback_years)
    return {
        "case_no": case_no,
        "state": case.state,
        "accepted_on": case.accepted_on,
        "decided_on": case.decided_on,
        "delivered_on": case.delivered_on,
        **view.as_dict(),
        "fallback_warning": warning,
    }
