"""Who may read what: a case and everything hanging off it.

The rule, one place for endpoints, documents and screens to ask: every staff role
reads the cases this node holds (each endpoint keeps its own ``require_role``), except
a department reviewer, who reads a case only when its department leads the case's
matter or has a task on it (any kind, any state), and then sees only its own
department's tasks; the lead department sees every department's tasks and opinions,
since it decides on them (``visible_tasks``). What hangs off a case follows the case: a
stored file is readable when it is a material of a case the user may read; a licence
when its case is, or when the user's department issued it.

Whose figures a user sees (``require_figures_reader``): the staff of a node see its
area's and every area below it; a department reviewer's view is its tasks, not areas.

Which cases a node's staff see at all (``node_area``: the root everything, any other
node its own area and what it holds or is offered) is here too; lists and the case page
ask it.

A refusal is the case view's answer wherever it is met: 403 ``case.not_your_department``
(the field is the input that named what was refused: ``case_no``, ``sha256`` or
``licence_id``), so an endpoint never tells a department more than the case view does.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Select, or_, select
from sqlmodel import Session, col

from common.cases.access import load_case
from common.cases.models import Case, CaseMaterial, CaseTask
from common.errors import Forbidden
from common.identity.divisions import significant_digits
from common.identity.models import RegistryNode
from common.licences.models import Licence
from common.node import ThisNode
from common.users.roles import Actor, Role

NOT_YOUR_DEPARTMENT = "case.not_your_department"
NOT_YOUR_DEPARTMENT_MESSAGE = "本部门不参与办理此案件"


def _department_of(actor: Actor) -> str | None:
    """The department a reader is confined to, or None for a reader of every case held here."""
    if actor.system or actor.role is not Role.DEPARTMENT_REVIEWER:
        return None
    return actor.department or ""


def _refused(field: str, message: str = NOT_YOUR_DEPARTMENT_MESSAGE) -> Forbidden:
    return Forbidden(NOT_YOUR_DEPARTMENT, message, field=field)


def node_area(session: Session, node: ThisNode) -> ColumnElement[bool] | None:
    """The cases a node's staff see (a clause for ``where``, None for all): the root sees
    everything; any other node the cases filed in its own area (its division code prefix)
    and those it holds or is offered."""
    entry = session.get(RegistryNode, node.node_id)
    if entry is not None and entry.parent_id is None:
        return None
    prefix = node.node_id[: significant_digits(node.node_id)]
    return or_(
        col(Case.origin_node).startswith(prefix),
        col(Case.custodian) == node.node_id,
        col(Case.pending_offer_to) == node.node_id,
    )


def in_area(session: Session, node: ThisNode, case_no: str) -> bool:
    """Is this case one of the node's area (``node_area``)?"""
    area = node_area(session, node)
    if area is None:
        return True
    return (
        session.execute(select(col(Case.case_no)).where(col(Case.case_no) == case_no, area)).first()
        is not None
    )


def department_cases(department: str) -> Select[str]:
    """The numbers of the cases a department's reviewer may read (for ``IN`` filters)."""
    tasked = select(col(CaseTask.case_no)).where(col(CaseTask.department) == department)
    return select(col(Case.case_no)).where(
        or_(col(Case.lead_department) == department, col(Case.case_no).in_(tasked))
    )


def may_read_case(session: Session, node: ThisNode, actor: Actor, case: Case | str) -> bool:
    """May ``actor`` read this case (held on ``node``)? A case number not held here: False."""
    case_no = case.case_no if isinstance(case, Case) else case
    department = _department_of(actor)
    if department is None:
        return (case if isinstance(case, Case) else session.get(Case, case_no)) is not None
    if not department:
        return False
    return (
        session.execute(
            department_cases(department).where(col(Case.case_no) == case_no).limit(1)
        ).first()
        is not None
    )


def require_case_reader(session: Session, node: ThisNode, actor: Actor, case: Case | str) -> Case:
    """The case, when ``actor`` may read it: 404 ``case.not_found`` for a case not held
    here, 403 ``case.not_your_department`` for a department with no part in it."""
    row = case if isinstance(case, Case) else load_case(session, case)
    if not may_read_case(session, node, actor, row):
        raise _refused("case_no")
    return row


def visible_tasks(actor: Actor, tasks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The tasks of one case's view ``actor`` may see: a department sees only its own,
    except the lead department, which sees every department's task and opinion (it
    decides on them, and must give reasons for overriding an objection). The lead is
    the department of the case's lead review task: acceptance marks the matter's lead
    department's task (``lead``), the one ``decide_case`` asks for."""
    department = _department_of(actor)
    if department is None or any(t["lead"] and t["department"] == department for t in tasks):
        return tasks
    return [t for t in tasks if t["department"] == department]


def require_blob_reader(session: Session, node: ThisNode, actor: Actor, sha256: str) -> None:
    """A department reviewer fetches a file only when it is a material of a case it may read."""
    department = _department_of(actor)
    if department is None:
        return
    found = (
        department
        and session.execute(
            select(col(CaseMaterial.case_no))
            .where(
                col(CaseMaterial.blob_sha256) == sha256.lower(),
                col(CaseMaterial.case_no).in_(department_cases(department)),
            )
            .limit(1)
        ).first()
    )
    if not found:
        raise _refused("sha256", "本部门不参与办理使用该文件的案件")


def require_licence_reader(
    session: Session, node: ThisNode, actor: Actor, licence: Licence
) -> None:
    """A department reviewer reads a licence of a case it may read, or one it issued."""
    department = _department_of(actor)
    if department is None or (department and department == licence.issuer_body):
        return
    if licence.case_no is None or not may_read_case(session, node, actor, licence.case_no):
        raise _refused("licence_id", "本部门不参与办理该证照的案件，也不是颁发机构")


FIGURE_READERS = frozenset(Role) - {Role.DEPARTMENT_REVIEWER}


def require_figures_reader(session: Session, actor: Actor, node_id: str) -> None:
    """Refuse unless ``actor`` may see the figures of ``node_id``'s area: its own node's
    area or one below it (the node's own CLI sees everything)."""
    if actor.system:
        return
    if actor.role not in FIGURE_READERS:
        raise Forbidden("auth.role", "部门审批人员通过任务查看办件，不查看区域数据", field="role")
    at: str | None = node_id
    while at is not None:
        if at == actor.node_id:
            return
        entry = session.get(RegistryNode, at)
        at = entry.parent_id if entry is not None else None
    raise Forbidden("oversight.out_of_scope", "只能查看本级及下级区域的数据", field="scope")
