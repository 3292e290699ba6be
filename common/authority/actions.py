"""Who may take which action on a case now: one table for action functions and screens.

``ACTIONS`` (the end of this module: read it first) has a row per case action, named
after its action function (``decide_case`` and ``offer_handoff`` have two rows each;
the case says which one applies). A row says who may act on each tier and lists its
checks in the order they run. Every check belongs to one column of the rule:

- roles: who may, per tier (a tier the row does not name: nobody there),
- states: the case states (``ALLOWED_FROM`` of the event the action appends), or the
  state of the task, procedure, rectification or licence it acts on,
- custody: whose record it is (the custodian, an offer's target, the decider, ...),
- level: the handling-level rule,
- department: which department a department reviewer must be,
- special: the rest (the filing agent at a village, 一审一核 by two people, ...).

The checks themselves live in ``common.authority.case_checks``, by column.

``check_case_action`` runs a row's checks and raises the first refusal: the exception,
code and field the action functions have always raised, in their order (the windows'
actions check the role first, the review actions custody and state first).
``allowed_case_actions`` runs every row without writing anything and says what a user
may do now; screens offer exactly that. Input values (a reason, a number of days, an
opinion) are the action functions' to validate, after the policy let the actor through.
"""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from common.authority.case_checks import (
    AFTER_REVIEW,
    AGENT_DELIVERS_AT_ORIGIN,
    AT_OR_ABOVE_LEVEL,
    BACK_TO_THE_ORIGIN,
    CALL_BACK_DUE,
    CALLED_BACK_FIRST,
    COUNTY,
    CUSTODIAN,
    CUSTODIAN_OR_DECIDER,
    DEPARTMENT,
    ESCALATE,
    EXTENSION_APPLIES,
    FILING_AGENT_AT_A_VILLAGE,
    HANDLED_HERE,
    ISSUER_OR_LEAD,
    LEAD,
    LEAD_RECTIFIES,
    LEVEL_FITS,
    LICENCE_ISSUER,
    LICENCE_VALID,
    MATTER_NOT_ABOVE_HERE,
    NO_OPEN_PROCEDURE,
    OFFER_TARGET,
    ON_THE_CASE,
    ON_THE_CASE_VISITS,
    ON_THE_SPOT,
    ORGAN_HEAD,
    OWN_TASK,
    PROCEDURE,
    PROCEDURE_OPEN,
    RATED_ONCE,
    RECTIFICATION,
    RECTIFICATION_OPEN,
    RESPONSIBLE_NODE,
    RETURN,
    REVIEWS_DONE,
    ROLE,
    STATE,
    TIER_RANK,
    TOWNSHIP,
    UP_TO_THE_HANDLING_LEVEL,
    VILLAGE,
    Ask,
    CaseAction,
    Roles,
    _its_licence,
    _its_rectification,
    _no_intake_here,
    _not_below_township,
    _open_procedures,
    _open_task,
    _open_tasks_of,
    is_on_the_spot,
    offer_route,
)
from common.cases.access import load_case
from common.cases.models import Case
from common.errors import DomainError
from common.node import ThisNode
from common.users.roles import ROLE_LABELS, Actor, Role

# -- the table -------------------------------------------------------------------------------

R = Role
# The window (窗口): files, issues notices, accepts or refuses, delivers, records the rating.
WINDOW: Roles = {
    VILLAGE: (R.VILLAGE_AGENT,),
    TOWNSHIP: (R.TOWNSHIP_CLERK,),
    COUNTY: (R.COUNTY_WINDOW_CLERK,),
}
MEET_APPLICANTS: Roles = {
    VILLAGE: (R.VILLAGE_AGENT,),
    TOWNSHIP: (R.TOWNSHIP_CLERK, R.TOWNSHIP_APPROVER),
    COUNTY: (R.COUNTY_WINDOW_CLERK, R.DEPARTMENT_REVIEWER),
}
REVIEWERS: Roles = {
    TOWNSHIP: (R.TOWNSHIP_APPROVER, R.TOWNSHIP_CLERK),
    COUNTY: (R.DEPARTMENT_REVIEWER,),
}
DECIDERS: Roles = {TOWNSHIP: (R.TOWNSHIP_APPROVER,), COUNTY: (R.DEPARTMENT_REVIEWER,)}
ANSWERERS: Roles = {
    VILLAGE: (R.VILLAGE_AGENT,),
    TOWNSHIP: (R.TOWNSHIP_CLERK, R.TOWNSHIP_APPROVER),
    COUNTY: (R.COUNTY_WINDOW_CLERK,),
}
RETURNERS: Roles = {
    VILLAGE: (R.VILLAGE_AGENT,),
    TOWNSHIP: (R.TOWNSHIP_CLERK, R.TOWNSHIP_APPROVER),
    COUNTY: (R.COUNTY_WINDOW_CLERK, R.DEPARTMENT_REVIEWER),
}
RECTIFIERS: Roles = {
    TOWNSHIP: (R.TOWNSHIP_APPROVER,),
    COUNTY: (R.COUNTY_ADMIN, R.DEPARTMENT_REVIEWER),
}

WINDOW_CHECKS = (ROLE, CUSTODIAN, STATE)
REVIEW_CHECKS = (CUSTODIAN, STATE, AT_OR_ABOVE_LEVEL)
NO_REVIEW = _not_below_township

ACTIONS: tuple[CaseAction, ...] = (
    # -- at the window: the role first, then custody and state
    CaseAction(
        "file_case", "申请", WINDOW, None, (ROLE, MATTER_NOT_ABOVE_HERE), nobody=_no_intake_here
    ),
    CaseAction(
        "request_supplement",
        "一次性告知",
        WINDOW,
        "case.supplement_requested",
        WINDOW_CHECKS,
        nobody=_no_intake_here,
    ),
    CaseAction(
        "receive_supplement",
        "接收补正材料",
        WINDOW,
        "case.supplement_received",
        WINDOW_CHECKS,
        nobody=_no_intake_here,
    ),
    CaseAction(
        "accept_case",
        "受理",
        WINDOW,
        "case.accepted",
        (*WINDOW_CHECKS, HANDLED_HERE),
        nobody=_no_intake_here,
    ),
    CaseAction(
        "refuse_case",
        "不予受理",
        WINDOW,
        "case.refused",
        (*WINDOW_CHECKS, HANDLED_HERE),
        nobody=_no_intake_here,
    ),
    CaseAction(
        "withdraw_case",
        "撤回申请",
        WINDOW,
        "case.withdrawn",
        (*WINDOW_CHECKS, FILING_AGENT_AT_A_VILLAGE),
        nobody=_no_intake_here,
    ),
    CaseAction(
        "record_visit",
        "记录到场",
        MEET_APPLICANTS,
        "case.visit_recorded",
        (*WINDOW_CHECKS, DEPARTMENT),
        department=ON_THE_CASE_VISITS,
    ),
    CaseAction(
        "deliver_case",
        "送达",
        WINDOW,
        "case.delivered",
        (*WINDOW_CHECKS, AGENT_DELIVERS_AT_ORIGIN),
        nobody=_no_intake_here,
    ),
    CaseAction("rate_case", "记录评价", WINDOW, "case.rated", (ROLE, RATED_ONCE, CUSTODIAN, STATE)),
    # -- custody handoff: up to the handling level while filed, home to the origin once decided
    CaseAction(
        "offer_handoff",
        "上报",
        WINDOW,
        "handoff.offered",
        (CUSTODIAN, STATE, UP_TO_THE_HANDLING_LEVEL, ROLE),
        variant=ESCALATE,
        applies=lambda session, case: offer_route(case) == ESCALATE,
    ),
    CaseAction(
        "offer_handoff",
        "退回来源节点",
        RETURNERS,
        "handoff.offered",
        (CUSTODIAN, STATE, BACK_TO_THE_ORIGIN, ROLE, DEPARTMENT),
        department=ON_THE_CASE,
        variant=RETURN,
    ),
    CaseAction("accept_handoff", "接收移交", ANSWERERS, None, (OFFER_TARGET, ROLE)),
    CaseAction("decline_handoff", "拒收移交", ANSWERERS, None, (OFFER_TARGET, ROLE)),
    # -- review and decision: custody, state and level first, then who
    CaseAction(
        "record_opinion",
        "审查意见",
        REVIEWERS,
        "case.opinion_recorded",
        (*REVIEW_CHECKS, _open_task("review"), ROLE, DEPARTMENT),
        department=OWN_TASK,
        nobody=NO_REVIEW,
        each=_open_tasks_of("review"),
        lists=True,
    ),
    CaseAction(
        "decide_case",
        "当场办结（即办件）",
        WINDOW,
        "case.decided",
        (*REVIEW_CHECKS, ROLE),
        variant=ON_THE_SPOT,
        applies=is_on_the_spot,
    ),
    CaseAction(
        "decide_case",
        "审查后决定（承诺件）",
        DECIDERS,
        "case.decided",
        (*REVIEW_CHECKS, ROLE, DEPARTMENT, REVIEWS_DONE),
        department=LEAD,
        nobody=NO_REVIEW,
        variant=AFTER_REVIEW,
    ),
    CaseAction(
        "start_special_procedure",
        "开始特别程序",
        REVIEWERS,
        "case.special_started",
        (CUSTODIAN, NO_OPEN_PROCEDURE, *REVIEW_CHECKS, ROLE, DEPARTMENT),
        department=ON_THE_CASE,
        nobody=NO_REVIEW,
    ),
    CaseAction(
        "end_special_procedure",
        "结束特别程序",
        REVIEWERS,
        "case.special_ended",
        (PROCEDURE, CUSTODIAN, PROCEDURE_OPEN, *REVIEW_CHECKS, ROLE, DEPARTMENT),
        department=ON_THE_CASE,
        nobody=NO_REVIEW,
        each=_open_procedures,
        lists=True,
    ),
    CaseAction(
        "approve_extension",
        "批准延长",
        DECIDERS,
        "case.extension_approved",
        (*REVIEW_CHECKS, ROLE, DEPARTMENT, ORGAN_HEAD, EXTENSION_APPLIES),
        department=LEAD,
        nobody=NO_REVIEW,
    ),
    CaseAction(
        "record_verification",
        "告知承诺核查",
        DECIDERS,
        "case.verification_recorded",
        (
            CUSTODIAN_OR_DECIDER,
            STATE,
            AT_OR_ABOVE_LEVEL,
            _open_task("verification"),
            ROLE,
            DEPARTMENT,
        ),
        department=OWN_TASK,
        nobody=NO_REVIEW,
        each=_open_tasks_of("verification"),
        lists=True,
    ),
    CaseAction(
        "revoke_licence",
        "撤销证照",
        DECIDERS,
        None,
        (LICENCE_ISSUER, ROLE, DEPARTMENT, LICENCE_VALID),
        department=ISSUER_OR_LEAD,
        each=_its_licence,
    ),
    # -- a bad rating's rectification: its own record, worked by the responsible node
    CaseAction(
        "record_callback",
        "差评回访",
        RECTIFIERS,
        None,
        (ROLE, RECTIFICATION, RESPONSIBLE_NODE, DEPARTMENT, RECTIFICATION_OPEN, CALL_BACK_DUE),
        department=LEAD_RECTIFIES,
        each=_its_rectification,
    ),
    CaseAction(
        "close_rectification",
        "办结整改",
        RECTIFIERS,
        None,
        (ROLE, RECTIFICATION, RESPONSIBLE_NODE, DEPARTMENT, RECTIFICATION_OPEN, CALLED_BACK_FIRST),
        department=LEAD_RECTIFIES,
        each=_its_rectification,
    ),
)
CASE_ACTIONS = tuple(dict.fromkeys(row.action for row in ACTIONS if row.action != "file_case"))


# -- asking ----------------------------------------------------------------------------------


def rule_of(session: Session, case: Case | str | None, action: str) -> CaseAction:
    """The row that decides ``action`` on ``case``: of two, the first the case is for."""
    rows = [row for row in ACTIONS if row.action == action]
    if not rows:
        raise ValueError(f"no case action {action}")
    if len(rows) == 1 or case is None:
        return rows[0]
    case = load_case(session, case) if isinstance(case, str) else case
    return next(row for row in rows if row.applies is None or row.applies(session, case))


def check_case_action(
    session: Session,
    node: ThisNode,
    actor: Actor,
    case: Case | str | None,
    action: str,
    **details: Any,
) -> None:
    """Refuse ``action`` unless ``actor`` may take it on ``case`` at ``node`` now.

    ``case`` is the case or its number (read when a check first needs it), or None for
    filing and for a rectification (found by its ``task_id``). ``details`` name what the
    action works on: ``task_id``, ``seq``, ``licence``, ``matter`` (filing), ``method``
    (delivery)."""
    row = rule_of(session, case, action)
    ask = Ask(session, node, actor, case, row, details)
    for check in row.checks:
        check.run(ask)


def refuse_by_role(node: ThisNode, actor: Actor, action: str) -> None:
    """Refuse ``actor`` if its role takes ``action`` under none of the action's rules on
    ``node``'s tier: the refusal the full check would give, before the request's input
    is read, so a caller without the right learns nothing of what the input should be."""
    rows = [row for row in ACTIONS if row.action == action]
    if not rows:
        raise ValueError(f"no case action {action}")
    if any(actor.role in row.roles.get(node.tier, ()) for row in rows):
        return
    ROLE.run(Ask(None, node, actor, None, rows[0], {}))  # type: ignore[arg-type]  # no case read


def roles_taking(action: str, tier: str) -> frozenset[Role]:
    """The roles that take ``action`` on ``tier`` under any of its rules."""
    return frozenset(r for row in ACTIONS if row.action == action for r in row.roles.get(tier, ()))


def may(
    session: Session,
    node: ThisNode,
    actor: Actor,
    case: Case | str | None,
    action: str,
    **details: Any,
) -> bool:
    """``check_case_action`` as a yes or no."""
    try:
        check_case_action(session, node, actor, case, action, **details)
    except DomainError:
        return False
    return True


def allowed_case_actions(
    session: Session, node: ThisNode, actor: Actor, case: Case
) -> dict[str, bool | list[Any]]:
    """What ``actor`` may do with ``case`` now, by action: True/False, or for tasks and
    special procedures the ones it may work (task ids, procedure numbers). Writes nothing."""
    answer: dict[str, bool | list[Any]] = {}
    for action in CASE_ACTIONS:
        row = rule_of(session, case, action)
        if row.each is None:
            answer[action] = may(session, node, actor, case, action)
            continue
        allowed = [
            key
            for key, details in row.each(session, case)
            if may(session, node, actor, case, action, **details)
        ]
        answer[action] = allowed if row.lists else bool(allowed)
    return answer


def roles_allowed(
    action: str, tier: str, *, variant: str = "", handling_level: str | None = None
) -> frozenset[Role]:
    """The roles the table lets take ``action`` on ``tier`` (for a case handled at
    ``handling_level``, when given, by the row's level rule): what lists, docs and tests
    read. ``variant`` picks one of an action's two rules (default: the first)."""
    row = next(
        row for row in ACTIONS if row.action == action and (row.variant == variant or not variant)
    )
    if handling_level is not None and not _level_allows(row, tier, handling_level):
        return frozenset()
    return frozenset(row.roles.get(tier, ()))


def _level_allows(row: CaseAction, tier: str, level: str) -> bool:
    return all(fits(tier, level) for check, fits in LEVEL_FITS.items() if check in row.checks)


def describe() -> list[dict[str, str]]:
    """The table in words, one row per action (and variant): for docs and reviews."""
    return [
        {
            "action": row.name,
            "label": row.label,
            **{
                tier: "、".join(ROLE_LABELS[r] for r in row.roles.get(tier, ())) or "—"
                for tier in TIER_RANK
            },
            **{
                column: row.says(column)
                for column in ("states", "custody", "level", "department", "special")
            },
            "order": " → ".join(dict.fromkeys(check.column for check in row.checks)),
        }
        for row in ACTIONS
    ]
