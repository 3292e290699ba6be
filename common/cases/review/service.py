"""Review and decision of accepted cases: the action functions of 承办/审核/办结.

- Opinions: each department's reviewer records an opinion on its own task only
  (parallel approval, 并联审批); at a township the township staff review.
- Decisions: a 即办件 is decided on the spot by whoever accepts cases on the tier; any
  other case by the lead department (county) or a township approver, once every task
  has an opinion. 一审一核 needs two different people for 审 and 核.
- 告知承诺制: approval on the applicant's commitment opens a verification task; a failed
  verification revokes the result (and its licence).
- Special procedures (§45) stop the clock; an approved extension (§42) adds days.

Who may do what is the authority policy's (``common.authority.actions``): every
function asks ``check_case_action`` before it reads its input or writes anything,
computes dates with the working calendar of the day, puts them in the event body, and
never commits (the request owns the transaction).
"""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from sqlalchemy import func, select
from sqlmodel import Session, col

from common.authority.actions import check_case_action
from common.authority.case_checks import case_task, review_tasks
from common.calendar.service import working_calendar
from common.cases.access import append_case_event, load_case, today_on
from common.cases.clock import (
    KIND_EXTENSION,
    SECTION_45_SUBKINDS,
    SPECIAL_KINDS,
    ClockView,
    as_date,
    clock_status,
    deadline_after_pause,
    pauses_clock,
)
from common.cases.models import Case, CaseTask, SpecialProcedure
from common.cases.review.projection import (
    VERIFICATION_ON_CASE,
    VERIFICATION_RECORDED,
    verification_subject,
)
from common.errors import DomainError
from common.ledger.envelope import SignedEvent
from common.node import ThisNode
from common.users.roles import Actor, Role, require_role

VERIFICATION_DAYS = (
    20  # working days to verify a 告知承诺 approval (node setting verification_days)
)
EXTENSION_LIMIT_SINGLE = 10  # §42: one department
EXTENSION_LIMIT_JOINT = 15  # §42: joint or centralised handling (several departments)
# Labels of every special-procedure kind a ledger may hold, retired ones included (a
# procedure started before stays readable); ``OFFERED_SUBKINDS`` is what screens offer.
SUBKINDS = {code: kind.label for code, kind in SPECIAL_KINDS.items()}
OFFERED_SUBKINDS = {code: kind.label for code, kind in SPECIAL_KINDS.items() if kind.offered}
# What the API accepts (``clock.STARTABLE_SUBKINDS``, as a type for request models;
# a test keeps the two equal).
SpecialSubkind = Literal[
    "extension",
    "hearing",
    "tendering",
    "auction",
    "examination",
    "testing",
    "quarantine",
    "appraisal",
    "expert_review",
    "test",
]


# -- small checks --------------------------------------------------------------------


def _text(value: str | None, field: str, label: str, *, required: bool, max_len: int = 500) -> str:
    text = (value or "").strip()
    if required and not text:
        raise DomainError(f"case.{field}_required", f"请填写{label}", field=field)
    if len(text) > max_len:
        raise DomainError(f"case.{field}_too_long", f"{label}不能超过{max_len}字", field=field)
    return text


def _choice(value: str, allowed: tuple[str, ...], field: str) -> str:
    if value not in allowed:
        raise DomainError(
            f"case.{field}_invalid", f"{field} 的取值只能是 {' / '.join(allowed)}", field=field
        )
    return value


def _startable_subkind(subkind: str) -> None:
    """A kind the law allows (§42 extension or one of §45's eight), or a 4xx at ``subkind``."""
    known = SPECIAL_KINDS.get(subkind)
    if known is not None and known.startable:
        return
    listed = "、".join(SPECIAL_KINDS[code].label for code in SECTION_45_SUBKINDS)
    if known is None:
        raise DomainError(
            "case.subkind_invalid",
            f"特别程序种类只能是延长审批或行政许可法第四十五条规定的{listed}",
            field="subkind",
        )
    on_site = "（第三十四条规定的实地核查）" if subkind == "inspection" else ""
    raise DomainError(
        "case.subkind_not_statutory",
        f"“{known.label}”{on_site}不是行政许可法第四十五条规定的特别程序，所需时间计入办理时限；"
        f"不计入时限的只有{listed}",
        field="subkind",
    )


def _add_days(session: Session, start: str, days: int) -> str:
    return working_calendar(session).add_working_days(date.fromisoformat(start), days).isoformat()


# -- opinions and decisions ----------------------------------------------------------


def record_opinion(
    session: Session,
    node: ThisNode,
    actor: Actor,
    case_no: str,
    task_id: str,
    opinion: str,
    comment: str | None,
) -> SignedEvent:
    """A department's (or the township's) review opinion on its task."""
    case = load_case(session, case_no)
    check_case_action(session, node, actor, case, "record_opinion", task_id=task_id)
    task = case_task(session, case, task_id, "review")
    opinion = _choice(opinion, ("agree", "disagree"), "opinion")
    comment = _text(
        comment, "comment", "审查意见说明（不同意时必填）", required=opinion == "disagree"
    )
    return append_case_event(
        session,
        node,
        case,
        "case.opinion_recorded",
        {
            "task_id": task.task_id,
            "department": task.department,
            "opinion": opinion,
            "comment": comment,
            "by": actor.username,
            "on": today_on(node),
        },
    )


def _licence_type(session: Session, case: Case) -> str:
    from common.catalog.service import get_published

    return get_published(session, case.matter_code).to_matter().result_licence_type


def _verification_days(node: ThisNode, days: int | None) -> int:
    if days is None:
        days = getattr(node.settings, "verification_days", None) or VERIFICATION_DAYS
    if days < 1:
        raise DomainError(
            "case.verification_days", "核查期限至少为1个工作日", field="verification_days"
        )
    return days


def decide_case(
    session: Session,
    node: ThisNode,
    actor: Actor,
    case_no: str,
    decision: str,
    reason: str | None,
    *,
    verification_days: int | None = None,
) -> SignedEvent:
    """办结: approve or reject; issues the licence and opens the 告知承诺 verification."""
    case = load_case(session, case_no)
    check_case_action(session, node, actor, case, "decide_case")
    tasks = review_tasks(session, case_no)
    decision = _choice(decision, ("approved", "rejected"), "decision")
    disagreed = [t.department for t in tasks if t.opinion == "disagree"]
    label = "不予许可的理由" if decision == "rejected" else "不采纳不同意见的理由"
    reason = _text(reason, "reason", label, required=decision == "rejected" or bool(disagreed))
    decided_on = today_on(node)
    licence_id = verification = None
    if decision == "approved":
        if _licence_type(session, case):
            from common.licences.service import issue_licence

            licence_id = issue_licence(session, node, actor, case)
        if case.commitment:
            due_on = _add_days(session, decided_on, _verification_days(node, verification_days))
            verification = {
                "task_id": f"{case_no}/verification/1",
                "department": case.lead_department,
                "due_on": due_on,
            }
    return append_case_event(
        session,
        node,
        case,
        "case.decided",
        {
            "decision": decision,
            "reason": reason,
            "decided_on": decided_on,
            "decided_by": actor.username,
            "licence_id": licence_id,
            "verification": verification,
        },
    )


# -- special procedures and extensions -------------------------------------------------


def start_special_procedure(
    session: Session,
    node: ThisNode,
    actor: Actor,
    case_no: str,
    kind: int,
    subkind: str,
    reason: str | None,
) -> SignedEvent:
    """特别程序: kind 1 extension of approval (§42), kind 2 one of the eight of §45 (the
    clock stops). 现场勘查 and "other" are refused: their days count (§34)."""
    case = load_case(session, case_no)
    check_case_action(session, node, actor, case, "start_special_procedure")
    if kind not in (1, 2) or isinstance(kind, bool):
        raise DomainError(
            "case.kind_invalid",
            "特别程序种类只能是 1（延长审批）或 2（行政许可法第四十五条规定的程序）",
            field="kind",
        )
    _startable_subkind(subkind)
    if (kind == KIND_EXTENSION) != (subkind == "extension"):
        raise DomainError(
            "case.subkind_invalid",
            "种类1（延长审批）对应 extension，种类2对应第四十五条规定的特别程序",
            field="subkind",
        )
    reason = _text(reason, "reason", "特别程序的原因", required=True)
    seq = (
        session.execute(
            select(func.max(col(SpecialProcedure.seq))).where(
                col(SpecialProcedure.case_no) == case_no
            )
        ).scalar()
        or 0
    ) + 1
    return append_case_event(
        session,
        node,
        case,
        "case.special_started",
        {
            "seq": seq,
            "kind": kind,
            "subkind": subkind,
            "reason": reason,
            "started_on": today_on(node),
        },
    )


def end_special_procedure(
    session: Session, node: ThisNode, actor: Actor, case_no: str, seq: int, result: str | None
) -> SignedEvent:
    """End a special procedure; the working days it took move the deadline."""
    case = load_case(session, case_no)
    check_case_action(session, node, actor, case, "end_special_procedure", seq=seq)
    procedure = session.get(SpecialProcedure, (case_no, seq))
    assert procedure is not None  # the policy found it
    result = _text(result, "result", "特别程序的结果", required=True)
    ended_on = today_on(node)
    started_on = date.fromisoformat(procedure.started_on)
    if date.fromisoformat(ended_on) < started_on:
        raise DomainError("case.special_end_before_start", "结束日期早于开始日期", field="ended_on")
    calendar = working_calendar(session)
    # A 现场勘查 or "other" procedure started before §45 was applied strictly ends
    # without pausing: its days count.
    paused = (
        calendar.working_days_between(started_on, date.fromisoformat(ended_on))
        if pauses_clock(procedure.kind, procedure.subkind)
        else 0
    )
    deadline = (
        deadline_after_pause(case.deadline, paused, calendar).isoformat() if case.deadline else None
    )
    return append_case_event(
        session,
        node,
        case,
        "case.special_ended",
        {
            "seq": seq,
            "ended_on": ended_on,
            "result": result,
            "paused_days": paused,
            "deadline": deadline,
        },
    )


def approve_extension(
    session: Session, node: ThisNode, actor: Actor, case_no: str, days: int, reason: str | None
) -> SignedEvent:
    """§42: extend the limit by at most 10 (one department) or 15 (several) working days."""
    case = load_case(session, case_no)
    check_case_action(session, node, actor, case, "approve_extension")
    assert case.deadline is not None  # the policy refuses cases without a deadline
    if isinstance(days, bool) or not isinstance(days, int) or days < 1:
        raise DomainError("case.extension_days", "延长的天数应为正整数（工作日）", field="days")
    joint = len(review_tasks(session, case_no)) > 1
    limit = EXTENSION_LIMIT_JOINT if joint else EXTENSION_LIMIT_SINGLE
    if case.extension_days + days > limit:
        already = f"（已延长{case.extension_days}个）" if case.extension_days else ""
        raise DomainError(
            "case.extension_too_long",
            f"{'联合办理' if joint else '单一部门办理'}的事项最多延长{limit}个工作日{already}",
            field="days",
        )
    reason = _text(reason, "reason", "延长的理由", required=True)
    return append_case_event(
        session,
        node,
        case,
        "case.extension_approved",
        {
            "days": days,
            "reason": reason,
            "approved_by": actor.username,
            "on": today_on(node),
            "deadline": _add_days(session, case.deadline, days),
        },
    )


def record_verification(
    session: Session,
    node: ThisNode,
    actor: Actor,
    case_no: str,
    task_id: str | None,
    passed: bool,
    comment: str | None,
) -> SignedEvent:
    """告知承诺 verification after approval; a failure revokes the result and its licence.

    The deciding node verifies. While it still holds the case the event goes on the
    case's chain; once the result has gone home for delivery (custody at the village),
    on the case's verification chain ``verification:{case_no}``, which only the deciding
    node writes (like a rectification), so the case need not travel back."""
    case = load_case(session, case_no)
    task_id = task_id or f"{case_no}/verification/1"
    # The decider verifies (at a township the approver: a failure revokes the result).
    check_case_action(session, node, actor, case, "record_verification", task_id=task_id)
    held_here = case.custodian == node.node_id and case.pending_offer_to is None
    task = case_task(session, case, task_id, "verification")
    if not isinstance(passed, bool):
        raise DomainError("case.passed_invalid", "核查结果只能是通过或不通过", field="passed")
    comment = _text(comment, "comment", "核查情况（不通过时必填）", required=not passed)
    revoked = None
    if not passed and case.licence_id and not case.result_revoked:
        from common.licences.service import revoke_licence

        revoked = case.licence_id
        revoke_licence(session, node, actor, revoked, f"告知承诺核查不通过：{comment}", case_no)
    body = {
        "task_id": task.task_id,
        "passed": passed,
        "comment": comment,
        "by": actor.username,
        "on": today_on(node),
        "revoked_licence": revoked,
    }
    if held_here:
        return append_case_event(session, node, case, VERIFICATION_ON_CASE, body)
    event = node.append(session, verification_subject(case_no), VERIFICATION_RECORDED, body)
    session.expire(case)
    return event


# -- reading ----------------------------------------------------------------------------

TASK_STATES = ("open", "done", "all")


def tasks_for(session: Session, actor: Actor, *, state: str = "open") -> list[CaseTask]:
    """My tasks: a department reviewer sees only its own department's; township staff
    the tasks of cases their node holds; the county administrator and auditors all."""
    _choice(state, TASK_STATES, "state")
    require_role(
        actor,
        Role.DEPARTMENT_REVIEWER,
        Role.TOWNSHIP_APPROVER,
        Role.TOWNSHIP_CLERK,
        Role.COUNTY_ADMIN,
        Role.AUDITOR,
    )
    query = select(CaseTask).join(Case, col(Case.case_no) == col(CaseTask.case_no))
    if actor.role == Role.DEPARTMENT_REVIEWER:
        query = query.where(
            col(CaseTask.department) == actor.department, col(Case.custodian) == actor.node_id
        )
    elif actor.role in (Role.TOWNSHIP_APPROVER, Role.TOWNSHIP_CLERK):
        query = query.where(col(Case.custodian) == actor.node_id)
    if state != "all":
        query = query.where(col(CaseTask.state) == state)
    return list(
        session.execute(
            query.order_by(col(CaseTask.due_on), col(CaseTask.opened_on), col(CaseTask.task_id))
        ).scalars()
    )


def case_procedures(session: Session, case_no: str) -> list[SpecialProcedure]:
    return list(
        session.execute(
            select(SpecialProcedure)
            .where(col(SpecialProcedure.case_no) == case_no)
            .order_by(col(SpecialProcedure.seq))
        ).scalars()
    )


def case_clock(session: Session, case_no: str, today: date | str) -> ClockView:
    """Both clocks of a case as of ``today`` (the statutory one and the resident's wait)."""
    case = load_case(session, case_no)
    day = as_date(today)
    assert day is not None
    return clock_status(case, working_calendar(session), day, case_procedures(session, case_no))


def clocks_of(session: Session, cases: list[Case], today: date) -> dict[str, ClockView]:
    """Clocks of several cases with one calendar (task lists)."""
    calendar = working_calendar(session)
    return {
        case.case_no: clock_status(case, calendar, today, case_procedures(session, case.case_no))
        for case in cases
    }


def task_summary(task: CaseTask) -> dict[str, Any]:
    return {
        "task_id": task.task_id,
        "case_no": task.case_no,
        "kind": task.kind,
        "department": task.department,
        "lead": task.lead,
        "state": task.state,
        "opinion": task.opinion,
        "comment": task.comment,
        "done_by": task.done_by,
        "opened_on": task.opened_on,
        "due_on": task.due_on,
        "done_on": task.done_on,
    }
