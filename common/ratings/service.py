"""Rating action functions: rate a delivered case, call back, close the rectification.

The staff member who delivers at the custodian node records the resident's rating
(village agent at a village, window clerks at a township or the county) as
``case.rated`` on the case's chain (``append_case_event``: custody and state).

A bad rating's rectification is worked on its own chain ``rectification:{case_no}``
by one node, the *responsible node* named in ``case.rated``: the node that decided the
case, or, when a village decided it (a village 即办件), the village's township, since a
village has no staff who may rectify. So a case whose result went home to its village
is still called back and closed, without handing the case anywhere. There a township
approver acts; at the county an administrator or a reviewer of the case's lead
department. Who may is the authority policy's (``check_case_action``), asked before
the input is read. Actions never commit.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import or_, select
from sqlmodel import Session, col

from common.authority.actions import check_case_action
from common.calendar.service import add_working_days
from common.cases.access import append_case_event, case_subject, load_case, today_on
from common.cases.models import Case
from common.errors import Conflict, DomainError, NotFound
from common.identity.models import RegistryNode
from common.ledger.envelope import SignedEvent
from common.ledger.models import Event
from common.ledger.service import lock_writer
from common.node import ThisNode
from common.ratings.models import Rating, Rectification
from common.ratings.projection import BAD_LEVELS, RATING_LABELS, rectification_subject
from common.users.roles import Actor, Role, require_role

# DOMAIN.md: a bad rating's rectification deadline is locally 5-15 working days.
RECTIFICATION_DAYS = 10
RECTIFICATION_DAYS_RANGE = range(5, 16)
MAX_TEXT = 500

# Who sees rectifications (list_rectifications); who works them is the policy's.
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


def responsible_node(session: Session, case: Case) -> str:
    """The node that works a bad rating of ``case``: its decider, or a village
    decider's township (registry parent). Read from the signed ``case.decided``."""
    decider: str | None = (
        session.execute(
            select(col(Event.author))
            .where(
                col(Event.subject) == case_subject(case.case_no),
                col(Event.kind) == "case.decided",
            )
            .order_by(col(Event.sseq).desc())
        )
        .scalars()
        .first()
    )
    if decider is None:  # delivery needs a decision; a case without one cannot be rated
        raise Conflict(
            "rating.undecided", f"案件 {case.case_no} 尚未作出决定，不能评价", field="case_no"
        )
    registered = session.get(RegistryNode, decider)
    if registered is None or registered.tier != "village":
        return decider
    if not registered.parent_id:
        raise Conflict(
            "rating.no_township",
            f"村级节点 {decider} 没有上级乡镇节点，无法办理差评整改",
            field="case_no",
        )
    return registered.parent_id


def _text(value: str | None, code: str, field: str, label: str, *, required: bool) -> str:
    text = (value or "").strip()
    if required and not text:
        raise DomainError(code, f"请填写{label}", field=field)
    if len(text) > MAX_TEXT:
        raise DomainError(
            f"{code.split('.')[0]}.too_long", f"{label}不能超过{MAX_TEXT}字", field=field
        )
    return text


def _level(level: Any) -> int:
    if isinstance(level, bool) or not isinstance(level, int) or level not in RATING_LABELS:
        raise DomainError(
            "rating.level", "评价等级应为1（非常满意）至5（非常不满意）", field="level"
        )
    return level


def rate_case(
    session: Session,
    node: ThisNode,
    actor: Actor,
    case_no: str,
    level: int,
    comment: str = "",
    real_name: bool = False,
) -> SignedEvent:
    """Record the resident's rating of a delivered case; a bad one opens a rectification."""
    # The role, one rating per case, custody and state, before the rating itself is read.
    check_case_action(session, node, actor, case_no, "rate_case")
    case = load_case(session, case_no)
    level = _level(level)
    comment = _text(comment, "rating.comment", "comment", "评价内容", required=False)
    rated_on = today_on(node)
    rectification = None
    if level in BAD_LEVELS:
        due = add_working_days(session, date.fromisoformat(rated_on), rectification_days(node))
        rectification = {
            "task_id": rectification_task_id(case.case_no),
            "due_on": due.isoformat(),
            "responsible_node": responsible_node(session, case),
        }
    body = {
        "level": level,
        "comment": comment,
        "real_name": bool(real_name),
        "rated_on": rated_on,
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


# Per action on a task: the event it appends, and the body field (with its label for
# people) holding the text the action requires.
_TASK_ACTIONS = {
    "record_callback": ("rectification.callback_recorded", "note", "回访情况"),
    "close_rectification": ("rectification.closed", "result", "整改结果"),
}


def _work_task(
    session: Session, node: ThisNode, actor: Actor, task_id: str, action: str, text: str
) -> SignedEvent:
    """Append ``action``'s event on the task's chain, once the policy lets ``actor`` take
    it (the responsible node, the lead department, still open, the call-back done or
    due) and its required ``text`` is there."""
    kind, field, label = _TASK_ACTIONS[action]
    # Serialise this node's writers before the policy reads the task's state (two call-backs at once).
    lock_writer(session, node.node_id)
    check_case_action(session, node, actor, None, action, task_id=task_id)
    task = get_rectification(session, task_id)
    text = _text(text, f"rectification.{field}_required", field, label, required=True)
    body = {"task_id": task.task_id, "by": actor.username, "on": today_on(node), field: text}
    event = node.append(session, rectification_subject(task.case_no), kind, body)
    session.expire(task)  # the projection changed underneath the ORM object
    return event


def record_callback(
    session: Session, node: ThisNode, actor: Actor, task_id: str, note: str
) -> SignedEvent:
    """回访: record the call-back to the resident who gave a bad rating."""
    return _work_task(session, node, actor, task_id, "record_callback", note)


def close_rectification(
    session: Session, node: ThisNode, actor: Actor, task_id: str, result: str
) -> SignedEvent:
    """Close a rectification with its result; a real-name bad rating needs its call-back first."""
    return _work_task(session, node, actor, task_id, "close_rectification", result)


def rectifications_due(
    session: Session, today: date | str, responsible_node: str | None = None
) -> list[Rectification]:
    """Open rectifications whose deadline is today or already past (for reminders),
    optionally only those one node must work."""
    day = today if isinstance(today, str) else today.isoformat()
    query = select(Rectification).where(
        col(Rectification.state) == "open", col(Rectification.due_on) <= day
    )
    if responsible_node is not None:
        query = query.where(col(Rectification.responsible_node) == responsible_node)
    return list(
        session.execute(
            query.order_by(col(Rectification.due_on), col(Rectification.task_id))
        ).scalars()
    )


def list_rectifications(
    session: Session, actor: Actor, *, state: str | None = None, due_by: str | None = None
) -> list[Rectification]:
    """Rectifications an actor may see. Administrators, auditors and county window
    clerks see all this node holds; township staff those their node works or whose case
    it holds; a department reviewer those of its lead department its node works."""
    require_role(
        actor, *RECTIFYING_ROLES, Role.AUDITOR, Role.TOWNSHIP_CLERK, Role.COUNTY_WINDOW_CLERK
    )
    query = select(Rectification).order_by(col(Rectification.due_on), col(Rectification.task_id))
    if state:
        query = query.where(col(Rectification.state) == state)
    if due_by:
        query = query.where(col(Rectification.due_on) <= due_by)
    if actor.role in (Role.TOWNSHIP_CLERK, Role.TOWNSHIP_APPROVER):
        query = query.join(Case, col(Case.case_no) == col(Rectification.case_no)).where(
            or_(
                col(Rectification.responsible_node) == actor.node_id,
                col(Case.custodian) == actor.node_id,
            )
        )
    elif actor.role == Role.DEPARTMENT_REVIEWER:
        query = query.join(Case, col(Case.case_no) == col(Rectification.case_no)).where(
            col(Case.lead_department) == actor.department,
            col(Rectification.responsible_node) == actor.node_id,
        )
    return list(session.execute(query).scalars())
