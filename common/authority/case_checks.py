"""The checks of the case-action table (``common.authority.actions``), by column.

Each ``Check`` is one requirement of a rule — a role, a state, custody, the handling
level, a department, a special condition — and raises the exception, code and field
the action functions have always raised. ``Ask`` is the question being checked. The
helpers the action functions share with the checks (the escalation path, a case's open
task, the deciding node, the tier rank) live here too, so that no module re-derives them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlmodel import Session, col

from common.cases.access import load_case, require_custody, require_offer_target
from common.cases.models import Case, CaseTask, SpecialProcedure
from common.cases.states import ALLOWED_FROM, STATE_LABELS, CaseState, check_transition
from common.catalog.schema import CaseType
from common.errors import Conflict, DomainError, Forbidden, NotFound
from common.identity.models import RegistryNode
from common.identity.registry import path_to_root
from common.labels import TIER_LABELS
from common.ledger.models import Event
from common.licences.models import Licence
from common.node import ThisNode
from common.ratings.models import Rating, Rectification
from common.users.roles import ROLE_LABELS, Actor, Role

# -- tiers and levels -----------------------------------------------------------------------

VILLAGE, TOWNSHIP, COUNTY = "village", "township", "county"
# How high a tier is. A matter is handled (accepted) at its level and decided there or above.
TIER_RANK = {VILLAGE: 0, TOWNSHIP: 1, COUNTY: 2}
TASK_KIND_LABELS = {"review": "审查", "verification": "核查", "rectification": "整改"}
ESCALATE, RETURN = "escalate", "return"  # the two rules of a handoff offer
OPINIONS_PENDING = "case.opinions_pending"  # a decision refused until every opinion is in
ON_THE_SPOT, AFTER_REVIEW = "on_the_spot", "after_review"  # the two rules of a decision


def tier_rank(tier: str, unknown: int = -1) -> int:
    return TIER_RANK.get(tier, unknown)


# -- the question being asked ----------------------------------------------------------------


@dataclass
class Ask:
    """One question to the policy: may ``actor`` take ``row`` on ``case`` at ``node``?
    The case is read when a check first needs it (a window's role comes before it);
    the task, procedure, rectification or licence acted on are found by their checks."""

    session: Session
    node: ThisNode
    actor: Actor
    case_or_no: Case | str | None
    row: CaseAction
    details: dict[str, Any]
    task: CaseTask | None = None
    procedure: SpecialProcedure | None = None
    rectification: Rectification | None = None

    @property
    def case(self) -> Case:
        if not isinstance(self.case_or_no, Case):
            assert self.case_or_no is not None, f"{self.row.action} needs a case"
            self.case_or_no = load_case(self.session, self.case_or_no)
        return self.case_or_no

    @property
    def licence(self) -> Licence:
        licence: Licence = self.details["licence"]  # passed by the licence actions' callers
        return licence

    @property
    def user(self) -> bool:
        """A person, not the node acting on its own behalf (CLI, jobs)."""
        return not self.actor.system


@dataclass(frozen=True)
class Check:
    """One check of a rule: its column, what it requires (for people), how it refuses."""

    column: str  # roles | states | custody | level | department | special
    says: str
    run: Callable[[Ask], None]


@dataclass(frozen=True)
class Department:
    """Which department a department reviewer must be, and the refusal otherwise."""

    says: str
    of: Callable[[Ask], set[str | None]]
    refusal: Callable[[Ask], Forbidden]


Roles = dict[str, tuple[Role, ...]]


@dataclass(frozen=True)
class CaseAction:
    """One row of the table: an action function (or one of its two rules)."""

    action: str  # the action function
    label: str
    roles: Roles  # tier -> who may
    event: str | None  # the case event it appends: its states are ALLOWED_FROM[event]
    checks: tuple[Check, ...]  # in the order they run
    department: Department | None = None
    nobody: Callable[[Ask], None] | None = None  # a tier where no role may: its own refusal
    variant: str = ""  # which of an action's two rules
    applies: Callable[[Session, Case], bool] | None = None  # the cases this variant is for
    each: Callable[[Session, Case], list[tuple[Any, dict[str, Any]]]] | None = None  # its objects
    lists: bool = False  # answers which objects (tasks, procedures), not just whether

    @property
    def name(self) -> str:
        return f"{self.action}[{self.variant}]" if self.variant else self.action

    def says(self, column: str) -> str:
        """What the row requires in ``column``, in words (``describe``)."""
        texts = [check.says for check in self.checks if check.column == column and check.says]
        if column == "states" and self.event in ALLOWED_FROM:
            texts.insert(
                0, "、".join(STATE_LABELS[s] for s in CaseState if s in ALLOWED_FROM[self.event])
            )
        if column == "department" and self.department is not None:
            texts = [self.department.says]
        return "；".join(dict.fromkeys(texts)) or "—"


# -- the checks: roles, states, department (read from the row) ---------------------------------


def _role_refusal(ask: Ask) -> Forbidden:
    role, here = ask.actor.role, ask.row.roles.get(ask.node.tier, ())
    if role is not None and any(role in roles for roles in ask.row.roles.values()):
        return Forbidden("auth.role", f"{ROLE_LABELS[role]}不能在本级节点办理此操作", field="role")
    named = here or tuple(dict.fromkeys(r for roles in ask.row.roles.values() for r in roles))
    return Forbidden(
        "auth.role", f"此操作仅限{'、'.join(ROLE_LABELS[r] for r in named)}", field="role"
    )


def _role(ask: Ask) -> None:
    roles = ask.row.roles.get(ask.node.tier, ())
    if not roles and ask.row.nobody is not None:
        ask.row.nobody(ask)
    if ask.user and ask.actor.role not in roles:
        raise _role_refusal(ask)


def _state(ask: Ask) -> None:
    assert ask.row.event is not None
    check_transition(ask.case.state, ask.row.event)


def _department(ask: Ask) -> None:
    rule = ask.row.department
    if rule is None or not ask.user or ask.actor.role is not Role.DEPARTMENT_REVIEWER:
        return
    if ask.actor.department not in rule.of(ask):
        raise rule.refusal(ask)


ROLE = Check("roles", "", _role)
STATE = Check("states", "", _state)
DEPARTMENT = Check("department", "", _department)


def _no_intake_here(ask: Ask) -> None:
    raise Forbidden("case.tier_no_intake", f"本节点（{ask.node.tier}）不办理申请受理", field="node")


def _not_below_township(ask: Ask) -> None:
    # A village agent files and hands off; it decides nothing but a village 即办件.
    if ask.user:
        raise Forbidden(
            "case.village_cannot_review",
            "村级节点不审查、不决定承诺件，请移交乡镇或县级办理",
            field="role",
        )


# -- custody ---------------------------------------------------------------------------------


def deciding_node(session: Session, case_no: str) -> str | None:
    """The node that decided the case: the author of its ``case.decided`` event."""
    return session.execute(
        select(col(Event.author)).where(
            col(Event.subject) == f"case:{case_no}", col(Event.kind) == "case.decided"
        )
    ).scalar()


def _held_here(ask: Ask) -> bool:
    return ask.case.custodian == ask.node.node_id and ask.case.pending_offer_to is None


def _custodian(ask: Ask) -> None:
    require_custody(ask.node, ask.case)


def _offer_target(ask: Ask) -> None:
    case = ask.case
    if case.pending_offer_to is not None and case.custodian == ask.node.node_id:
        raise Forbidden("handoff.own_offer", "不能接收或拒收本节点发出的移交", field="case_no")
    require_offer_target(ask.node, case)


def _custodian_or_decider(ask: Ask) -> None:
    # Once the result went home the decider verifies on the case's verification chain.
    if not _held_here(ask) and deciding_node(ask.session, ask.case.case_no) != ask.node.node_id:
        raise Forbidden(
            "case.not_decider", "告知承诺核查由作出决定的节点办理，本节点不能办理", field="case_no"
        )


def _licence_issuer(ask: Ask) -> None:
    issuer = ask.licence.issuer_node
    if issuer != ask.node.node_id:
        raise Forbidden(
            "licence.not_issuer",
            f"该证照由节点 {issuer} 颁发，只有颁发节点可以撤销",
            field="licence_id",
        )


def _rectification(ask: Ask) -> None:
    task_id = (ask.details.get("task_id") or "").strip()
    # populate_existing: read again after the writer lock the action took (two call-backs at once).
    task = ask.session.get(Rectification, task_id, populate_existing=True)
    if task is None:
        raise NotFound("rectification.not_found", f"整改任务 {task_id} 不存在", field="task_id")
    ask.rectification, ask.case_or_no = task, load_case(ask.session, task.case_no)


def _responsible_node(ask: Ask) -> None:
    task = ask.rectification
    assert task is not None
    if task.responsible_node != ask.node.node_id:
        # One writer per record: only the responsible node appends to the task's chain.
        raise Forbidden(
            "rectification.not_responsible",
            f"整改任务 {task.task_id} 由节点 {task.responsible_node} 办理，本节点不能办理",
            field="task_id",
        )


CUSTODIAN = Check("custody", "本节点持有案件，且没有待接收的移交", _custodian)
OFFER_TARGET = Check("custody", "移交指向本节点（不是本节点发出的）", _offer_target)
CUSTODIAN_OR_DECIDER = Check(
    "custody", "本节点持有案件，或作出了决定（结果已送回来源节点）", _custodian_or_decider
)
LICENCE_ISSUER = Check("custody", "本节点颁发了该证照", _licence_issuer)
RECTIFICATION = Check("custody", "整改任务存在", _rectification)
RESPONSIBLE_NODE = Check(
    "custody", "本节点是整改责任节点（作出决定的节点，村的为其乡镇）", _responsible_node
)


# -- states of what the action works on ----------------------------------------------------------


def review_tasks(session: Session, case_no: str) -> list[CaseTask]:
    return list(
        session.execute(
            select(CaseTask)
            .where(col(CaseTask.case_no) == case_no, col(CaseTask.kind) == "review")
            .order_by(col(CaseTask.task_id))
        ).scalars()
    )


def case_task(session: Session, case: Case, task_id: str, kind: str) -> CaseTask:
    """An open task of the case, by its full id or the part after the case number."""
    task_id = str(task_id or "")
    full = (
        task_id
        if task_id.startswith(case.case_no + "/")
        else f"{case.case_no}/{task_id.strip('/')}"
    )
    task = session.get(CaseTask, full)
    if task is None or task.case_no != case.case_no:
        raise NotFound(
            "case.task_not_found", f"案件 {case.case_no} 没有任务 {task_id}", field="task_id"
        )
    if task.kind != kind:
        raise DomainError(
            "case.task_kind", f"任务 {task_id} 不是{TASK_KIND_LABELS[kind]}任务", field="task_id"
        )
    if task.state != "open":
        raise Conflict("case.task_done", f"任务 {task_id} 已办结", field="task_id")
    return task


def _open_task(kind: str) -> Check:
    def run(ask: Ask) -> None:
        ask.task = case_task(ask.session, ask.case, ask.details.get("task_id") or "", kind)

    return Check("states", f"本案未办结的{TASK_KIND_LABELS[kind]}任务", run)


def open_procedure(session: Session, case_no: str) -> SpecialProcedure | None:
    return (
        session.execute(
            select(SpecialProcedure).where(
                col(SpecialProcedure.case_no) == case_no,
                col(SpecialProcedure.ended_on).is_(None),
            )
        )
        .scalars()
        .first()
    )


def _no_open_procedure(ask: Ask) -> None:
    if open_procedure(ask.session, ask.case.case_no) is not None:
        raise Conflict("case.special_open", "该案件已有未结束的特别程序，请先结束", field="kind")


def _procedure(ask: Ask) -> None:
    case_no, seq = ask.case.case_no, ask.details.get("seq")
    ask.procedure = ask.session.get(SpecialProcedure, (case_no, seq))
    if ask.procedure is None:
        raise NotFound(
            "case.special_not_found", f"案件 {case_no} 没有第{seq}个特别程序", field="seq"
        )


def _procedure_open(ask: Ask) -> None:
    procedure = ask.procedure
    assert procedure is not None
    if procedure.ended_on is not None:
        raise Conflict(
            "case.special_ended",
            f"第{procedure.seq}个特别程序已于{procedure.ended_on}结束",
            field="seq",
        )


def _rectification_open(ask: Ask) -> None:
    task = ask.rectification
    assert task is not None
    if task.state != "open":
        raise Conflict("rectification.closed", f"整改任务 {task.task_id} 已办结", field="task_id")


def _licence_valid(ask: Ask) -> None:
    licence = ask.licence
    if licence.state == "revoked":
        raise Conflict(
            "licence.already_revoked",
            f"电子证照 {licence.licence_id} 已于 {licence.revoked_on} 撤销",
            field="licence_id",
        )


NO_OPEN_PROCEDURE = Check("states", "没有未结束的特别程序", _no_open_procedure)
PROCEDURE = Check("states", "本案的这个特别程序", _procedure)
PROCEDURE_OPEN = Check("states", "特别程序尚未结束", _procedure_open)
RECTIFICATION_OPEN = Check("states", "整改任务未办结", _rectification_open)
LICENCE_VALID = Check("states", "证照未撤销", _licence_valid)


# -- levels ----------------------------------------------------------------------------------


def escalation_path(session: Session, node: ThisNode, level: str) -> list[str]:
    """Ancestors from the parent up to the first whose tier is ``level`` (the node that
    handles the matter, last); empty when this node handles it or none above does.
    A case may be offered to any of them: a township on the way passes it further up."""
    if node.tier == level:
        return []
    targets: list[str] = []
    for ancestor in path_to_root(session, node.node_id)[1:]:
        entry = session.get(RegistryNode, ancestor)
        if entry is None:
            break
        targets.append(ancestor)
        if entry.tier == level:
            return targets
    return []


def _matter_not_above_here(ask: Ask) -> None:
    matter = ask.details.get("matter")  # read by file_case after the role is checked
    if matter is None:
        return
    level = matter.handling_level.value
    if TIER_RANK[level] < TIER_RANK[ask.node.tier]:
        raise DomainError(
            "case.level_mismatch",
            f"“{matter.name}”由{TIER_LABELS[level]}办理，不能在{TIER_LABELS[ask.node.tier]}申请",
            field="matter_code",
        )


def handled_here(tier: str, level: str) -> bool:
    return tier == level


def at_or_above_level(tier: str, level: str) -> bool:
    return tier_rank(tier) >= tier_rank(level, 0)


def _level_rule(fits: Callable[[str, str], bool], code: str, refusal: str) -> Callable[[Ask], None]:
    """Refuse unless ``fits(this node's tier, the case's handling level)``; the message
    is "该事项由{level}" and the ``refusal``."""

    def run(ask: Ask) -> None:
        level = ask.case.handling_level
        if not fits(ask.node.tier, level):
            raise Conflict(
                code, f"该事项由{TIER_LABELS.get(level, level)}{refusal}", field="handling_level"
            )

    return run


def _up_to_the_handling_level(ask: Ask) -> None:
    level = ask.case.handling_level
    label = TIER_LABELS.get(level, level)
    if ask.node.tier == level:
        raise Conflict(
            "handoff.not_needed", f"该事项由{label}办理，本节点即可受理，无需移交", field="to"
        )
    if not escalation_path(ask.session, ask.node, level):
        raise Conflict("handoff.no_handler", f"本节点的上级中没有{label}节点，无法移交", field="to")


def _back_to_the_origin(ask: Ask) -> None:
    if ask.case.origin_node == ask.node.node_id:
        raise Conflict("handoff.already_home", "案件已在来源节点，可直接送达，无需移交", field="to")


MATTER_NOT_ABOVE_HERE = Check("level", "事项的办理层级不低于本节点", _matter_not_above_here)
HANDLED_HERE = Check(
    "level",
    "本节点是事项的办理层级",
    _level_rule(handled_here, "case.handoff_required", "受理办理，须移交后再受理"),
)
AT_OR_ABOVE_LEVEL = Check(
    "level",
    "本节点不低于事项的办理层级",
    _level_rule(at_or_above_level, "case.wrong_level", "办理，本节点不能审批"),
)
# What a level check lets through, by check: for the roles a listing may name.
LEVEL_FITS = {HANDLED_HERE: handled_here, AT_OR_ABOVE_LEVEL: at_or_above_level}
UP_TO_THE_HANDLING_LEVEL = Check(
    "level", "事项在本节点之上办理，且上级中有该层级的节点", _up_to_the_handling_level
)
BACK_TO_THE_ORIGIN = Check("level", "本节点不是来源节点", _back_to_the_origin)


# -- departments -----------------------------------------------------------------------------


def _case_departments(ask: Ask) -> set[str | None]:
    tasked = ask.session.execute(
        select(col(CaseTask.department)).where(col(CaseTask.case_no) == ask.case.case_no)
    ).scalars()
    return {ask.case.lead_department, *tasked}


def _not_taking_part(
    field: str, message: str = "本部门不参与办理此案件"
) -> Callable[[Ask], Forbidden]:
    return lambda ask: Forbidden("case.not_your_department", message, field=field)


def _assert_task(ask: Ask) -> CaseTask:
    assert ask.task is not None
    return ask.task


OWN_TASK = Department(
    "任务所属部门",
    lambda ask: {_assert_task(ask).department},
    lambda ask: Forbidden(
        "case.not_your_department",
        f"此任务属于{_assert_task(ask).department}，不是本部门的任务",
        field="task_id",
    ),
)
ON_THE_CASE = Department(
    "牵头部门或在本案有任务的部门", _case_departments, _not_taking_part("case_no")
)
ON_THE_CASE_VISITS = Department(
    "牵头部门或在本案有任务的部门",
    _case_departments,
    _not_taking_part("department", "本部门在该案件中没有审查任务"),
)
LEAD = Department(
    "牵头部门",
    lambda ask: {ask.case.lead_department},
    lambda ask: Forbidden(
        "case.not_lead_department",
        f"只有牵头部门（{ask.case.lead_department}）可以作出决定",
        field="role",
    ),
)
LEAD_RECTIFIES = Department(
    "牵头部门",
    lambda ask: {ask.case.lead_department},
    lambda ask: Forbidden(
        "rectification.department", "只有牵头部门的审批人员可以办理此整改任务", field="department"
    ),
)
ISSUER_OR_LEAD = Department(
    "颁发机构或案件的牵头部门",
    lambda ask: {ask.licence.issuer_body, ask.case.lead_department if ask.case_or_no else None},
    lambda ask: Forbidden(
        "licence.department", "只有颁发该证照的牵头部门审批人员可以撤销", field="department"
    ),
)


# -- special conditions ----------------------------------------------------------------------


def is_on_the_spot(session: Session, case: Case) -> bool:
    """即办件 without review tasks: decided at the window that accepts it."""
    return case.case_type == CaseType.IMMEDIATE.value and not review_tasks(session, case.case_no)


def offer_route(case: Case) -> str:
    """Where an offer of ``case`` goes: up while it is filed, home once decided."""
    return ESCALATE if case.state == CaseState.FILED.value else RETURN


def _filing_agent_at_a_village(ask: Ask) -> None:
    if ask.node.tier == VILLAGE and ask.user and ask.case.agent != ask.actor.username:
        raise Forbidden("case.not_filing_agent", "只有代办该案件的代办员可以撤回", field="case_no")


def _agent_delivers_at_origin(ask: Ask) -> None:
    if ask.details.get("method") == "agent" and (
        ask.node.tier != VILLAGE or ask.node.node_id != ask.case.origin_node
    ):
        raise Forbidden(
            "case.delivery_agent_origin_only",
            "代办员送达只能由案件来源村的代办员办理",
            field="method",
        )


def _reviews_done(ask: Ask) -> None:
    # Parallel approval: the decision weighs every department's opinion, so it waits for
    # the last one (a task not done has none, whatever its state).
    tasks = review_tasks(ask.session, ask.case.case_no)
    pending = [t.department for t in tasks if t.state != "done"]
    if pending:
        raise Conflict(
            OPINIONS_PENDING,
            f"以下部门尚未提出审查意见：{'、'.join(pending)}",
            field="tasks",
        )
    if ask.case.case_type == CaseType.REVIEW_APPROVE.value:
        lead = next((t for t in tasks if t.lead), tasks[0] if tasks else None)
        if lead is None:
            raise Conflict(OPINIONS_PENDING, "一审一核件须先审查（审）后决定（核）", field="tasks")
        if lead.done_by == ask.actor.username:
            raise Forbidden(
                "case.same_reviewer", "一审一核件的审查人与决定人不能是同一人", field="decided_by"
            )


def _extension_applies(ask: Ask) -> None:
    if ask.case.case_type == CaseType.IMMEDIATE.value or ask.case.deadline is None:
        raise DomainError(
            "case.extension_not_applicable", "即办件没有办理时限，不能延长", field="days"
        )


def _rated_once(ask: Ask) -> None:
    if ask.session.get(Rating, ask.case.case_no) is not None:
        raise Conflict(
            "rating.exists", f"案件 {ask.case.case_no} 已评价，不能重复评价", field="case_no"
        )


def _call_back_due(ask: Ask) -> None:
    task = ask.rectification
    assert task is not None
    if not task.callback_required:
        # The resident rated anonymously: calling them back would undo that choice.
        raise Conflict("rectification.anonymous", "匿名评价不进行回访", field="task_id")
    if task.callback_done:
        raise Conflict(
            "rectification.callback_exists", f"整改任务 {task.task_id} 已记录回访", field="task_id"
        )


def _called_back_first(ask: Ask) -> None:
    task = ask.rectification
    assert task is not None
    if task.callback_required and not task.callback_done:
        raise Conflict(
            "rating.callback_required", "实名差评须先完成回访，才能办结整改", field="task_id"
        )


FILING_AGENT_AT_A_VILLAGE = Check(
    "special", "在村：只有代办该案件的代办员", _filing_agent_at_a_village
)
AGENT_DELIVERS_AT_ORIGIN = Check("special", "代办员送达：只在案件来源村", _agent_delivers_at_origin)
REVIEWS_DONE = Check(
    "special",
    "本案每个审查任务都已办结（各部门都已提出意见）；一审一核：审、核不是同一人",
    _reviews_done,
)
EXTENSION_APPLIES = Check("special", "承诺件，有办理时限", _extension_applies)


def _organ_head(ask: Ask) -> None:
    if ask.user and not ask.actor.head:
        raise Forbidden(
            "case.not_organ_head",
            "延长办理期限须经本行政机关负责人批准（行政许可法第四十二条）",
            field="role",
        )


ORGAN_HEAD = Check("special", "本行政机关负责人（行政许可法第四十二条）", _organ_head)
RATED_ONCE = Check("special", "尚未评价（每案一次）", _rated_once)
CALL_BACK_DUE = Check("special", "实名差评，尚未回访（匿名的不回访）", _call_back_due)
CALLED_BACK_FIRST = Check("special", "实名差评须先回访", _called_back_first)


# -- what an action may be taken on, for allowed_case_actions -------------------------------------


def _open_tasks_of(kind: str) -> Callable[[Session, Case], list[tuple[Any, dict[str, Any]]]]:
    def found(session: Session, case: Case) -> list[tuple[Any, dict[str, Any]]]:
        tasks = session.execute(
            select(col(CaseTask.task_id))
            .where(
                col(CaseTask.case_no) == case.case_no,
                col(CaseTask.kind) == kind,
                col(CaseTask.state) == "open",
            )
            .order_by(col(CaseTask.task_id))
        ).scalars()
        return [(task_id, {"task_id": task_id}) for task_id in tasks]

    return found


def _open_procedures(session: Session, case: Case) -> list[tuple[Any, dict[str, Any]]]:
    procedure = open_procedure(session, case.case_no)
    return [(procedure.seq, {"seq": procedure.seq})] if procedure else []


def _its_rectification(session: Session, case: Case) -> list[tuple[Any, dict[str, Any]]]:
    found = session.execute(
        select(col(Rectification.task_id)).where(col(Rectification.case_no) == case.case_no)
    ).scalars()
    return [(task_id, {"task_id": task_id}) for task_id in found]


def _its_licence(session: Session, case: Case) -> list[tuple[Any, dict[str, Any]]]:
    licence = session.get(Licence, case.licence_id) if case.licence_id else None
    return [(licence.licence_id, {"licence": licence})] if licence else []
