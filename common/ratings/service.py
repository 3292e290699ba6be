"""Rating action functions: rate a delivered case, call back, close the rectification.

The staff member who delivers at the custodian node records the resident's rating
(village agent at a village, window clerks at a township or the county). Call-backs and
closing are for a township approver, a county administrator, or a reviewer of the
case's lead department. Every append goes through ``append_case_event`` (custody and
state); actions never commit.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import select
from sqlmodel import Session

from common.calendar.service import add_working_days
from common.cases.access import append_case_event, load_case, today_on
from common.cases.models import Case
from common.errors import Conflict, DomainError, Forbidden, NotFound
from common.ledger.envelope import SignedEvent
from common.node import ThisNode
from common.ratings.models import Rating, Rectification
from common.ratings.projection import BAD_LEVELS, RATING_LABELS
from common.users.roles import Actor, Role, require_role, require_role_here

# DOMAIN.md: a bad rating's rectification deadline is locally 5-15 working days.
RECTIFICATION_DAYS = 10
RECTIFICATION_DAYS_RANGE = range(5, 16)
MAX_TEXT = 500

RATING_ROLES = (Role.VILLAGE_AGENT, Role.TOWNSHIP_CLERK, Role.COUNTY_WINDOW_CLERK)
RECTIFYING_ROLES = (Role.TOWNSHIP_APPROVER, Role.COUNTY_ADMIN, Role.DEPARTMENT_REVIEWER)


def rectification_days(node: ThisNode) -> int:
    """The node's setting ``rectification_days`` when it has one, else the default."""
    days = getattr(node.settings, "rectification_days", None)
    days = RECTIFICATION_DAYS if days is None else int(days)
    if days not in RECTIFICATION_DAYS_RANGE:
        raise ValueError(f"rectification_days must be 5..15 working days, not {days}")
    return days


def rectification_task_id(case_no: str) -> str:
    return f"{case_no}/rectification/1"  # one rating per case, so at most one task


def _text(value: str | None, code: str, field: str, label: str, *, required: bool) -> str:
    text = (value or "").strip()
    if required and not text:
        raise DomainError(code, f"请填写{label}", field=field)
    if len(text) > MAX_TEXT:
        raise DomainError(f"{code.split('.')[0]}.too_long", f"{label}不能超过{MAX_TEXT}字", field=field)
    return text


def _level(level: Any) -> int:
    if isinstance(level, bool) or not isinstance(level, int) or level not in RATING_LABELS:
        raise DomainError("rating.level", "评价等级应为1（非常满意）至5（非常不满意）", field="level")
    return level


def rate_case(
    session: Session, node: ThisNode, actor: Actor, case_no: str, level: int, comment: str = "",
    real_name: bool = False,
) -> SignedEvent:
    """Record the resident's rating of a delivered case; a bad one opens a rectification."""
    require_role_here(node.tier, actor, *RATING_ROLES)
    level = _level(level)
    comment = _text(comment, "rating.comment", "comment", "评价内容", required=False)
    case = load_case(session, case_no)
    if session.get(Rating, case.case_no) is not None:
        raise Conflict("rating.exists", f"案件 {case.case_no} 已评价，不能重复评价", field="case_no")
    rated_on = today_on(node)
    rectification = None
    if level in BAD_LEVELS:
        due = add_working_days(session, date.fromisoformat(rated_on), rectification_days(node))
        rectification = {"task_id": rectification_task_id(case.case_no), "due_on": due.isoformat()}
    body = {
        "level": level, "comment": comment, "real_name": bool(real_name), "rated_on": rated_on,
        "rectification": rectification,
    }
    return append_case_event(session, node, case, "case.rated", body)


def get_rating(session: Session, case_no: str) -> Rating:
    rating = session.get(Rating, case_no)
    if rating is None:
        raise NotFound("rating.not_found", f"案件 {case_no} 尚无评价", field="case_no")
    return rating


def get_rectification(session: Session, task_id: str) -> Rectification:
    task = session.get(Rectification, (task_id or "").strip())
    if task is None:
        raise NotFound("rectification.not_found", f"整改任务 {task_id} 不存在", field="task_id")
    return task


def _may_rectify(node: ThisNode, actor: Actor, case: Case) -> None:
    require_role_here(node.tier, actor, *RECTIFYING_ROLES)
    if actor.role == Role.DEPARTMENT_REVIEWER and actor.department != case.lead_department:
        raise Forbidden("rectification.department", "只有牵头部门的审批人员可以办理此整改任务", field="department")


def _open_task(session: Session, node: ThisNode, actor: Actor, task_id: str) -> tuple[Rectification, Case]:
    task = get_rectification(session, task_id)
    case = load_case(session, task.case_no)
    _may_rectify(node, actor, case)
    if task.state != "open":
        raise Conflict("rectification.closed", f"整改任务 {task.task_id} 已办结", field="task_id")
    return task, case


def record_callback(session: Session, node: ThisNode, actor: Actor, task_id: str, note: str) -> SignedEvent:
    """回访: record the call-back to the resident who gave a bad rating."""
    task, case = _open_task(session, node, actor, task_id)
    note = _text(note, "rectification.note_required", "note", "回访情况", required=True)
    if not task.callback_required:
        # The resident rated anonymously: calling them back would undo that choice.
        raise Conflict("rectification.anonymous", "匿名评价不进行回访", field="task_id")
    if task.callback_done:
        raise Conflict("rectification.callback_exists", f"整改任务 {task.task_id} 已记录回访", field="task_id")
    body = {"task_id": task.task_id, "by": actor.username, "on": today_on(node), "note": note}
    event = append_case_event(session, node, case, "case.callback_recorded", body)
    session.expire(task)
    return event


def close_rectification(session: Session, node: ThisNode, actor: Actor, task_id: str, result: str) -> SignedEvent:
    """Close a rectification with its result; a real-name bad rating needs its call-back first."""
    task, case = _open_task(session, node, actor, task_id)
    result = _text(result, "rectification.result_required", "result", "整改结果", required=True)
    if task.callback_required and not task.callback_done:
        raise Conflict("rating.callback_required", "实名差评须先完成回访，才能办结整改", field="task_id")
    body = {"task_id": task.task_id, "by": actor.username, "on": today_on(node), "result": result}
    event = append_case_event(session, node, case, "case.rectification_closed", body)
    session.expire(task)
    return event


def rectifications_due(session: Session, today: date | str) -> list[Rectification]:
    """Open rectifications whose deadline is today or already past (for reminders)."""
    day = today if isinstance(today, str) else today.isoformat()
    return list(
        session.execute(
            select(Rectification)
            .where(Rectification.state == "open", Rectification.due_on <= day)
            .order_by(Rectification.due_on, Rectification.task_id)
        ).scalars()
    )


def list_rectifications(
    session: Session, actor: Actor, *, state: str | None = None, due_by: str | None = None
) -> list[Rectification]:
    """Rectifications an actor may see: a department reviewer only its lead department's."""
    require_role(actor, *RECTIFYING_ROLES, Role.AUDITOR, Role.TOWNSHIP_CLERK, Role.COUNTY_WINDOW_CLERK)
    query = select(Rectification).order_by(Rectification.due_on, Rectification.task_id)
    if state:
        query = query.where(Rectification.state == state)
    if due_by:
        query = query.where(Rectification.due_on <= due_by)
    if actor.role == Role.DEPARTMENT_REVIEWER:
        query = query.join(Case, Case.case_no == Rectification.case_no).where(
            Case.lead_department == actor.department
        )
    return list(session.execute(query).scalars())
