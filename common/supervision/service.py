"""督办 actions: a supervisor issues a notice to the node holding a case; that node's
staff answer it. Reads: the notices a node issued, and those addressed to it."""

from __future__ import annotations

from datetime import date
from typing import Literal

from sqlalchemy import func, select
from sqlmodel import Session, col

from common.cases.access import load_case
from common.cases.states import CaseState
from common.errors import Conflict, DomainError, Forbidden, NotFound
from common.identity.models import RegistryNode
from common.ledger.envelope import SignedEvent
from common.node import ThisNode
from common.supervision.models import Supervision
from common.supervision.projection import ANSWERED, ISSUED, notice_subject
from common.timeutil import local_today
from common.users.roles import Actor, Role, require_role

SUPERVISORS = (Role.AUDITOR,)
# Who answers for the node a notice is addressed to: its staff, not its supervisors.
ANSWERERS = tuple(role for role in Role if role not in SUPERVISORS)
CLOSED = {CaseState.DELIVERED, CaseState.REFUSED, CaseState.WITHDRAWN}
View = Literal["issued", "received"]
State = Literal["open", "overdue", "answered", "all"]


def above_or_at(session: Session, node_id: str, origin: str) -> bool:
    """``node_id`` is ``origin`` or one of its ancestors in the registry."""
    at: str | None = origin
    seen: set[str] = set()
    while at is not None and at not in seen:
        if at == node_id:
            return True
        seen.add(at)
        at = session.execute(
            select(col(RegistryNode.parent_id)).where(col(RegistryNode.node_id) == at)
        ).scalar_one_or_none()
    return False


def issue_supervision(
    session: Session, node: ThisNode, actor: Actor, case_no: str, message: str, reply_by: date
) -> SignedEvent:
    """督办: a notice to the node holding ``case_no`` (a case of this node's area, not
    closed), to be answered by ``reply_by``."""
    require_role(actor, *SUPERVISORS)
    case = load_case(session, case_no)
    if not above_or_at(session, node.node_id, case.origin_node):
        raise Forbidden("supervision.out_of_scope", "只能督办本级及下级区域的办件", field="case_no")
    if case.state in CLOSED:
        raise Conflict("supervision.case_closed", "办件已办结，无需督办", field="case_no")
    today = local_today(node.settings.tz)
    if reply_by < today:
        raise DomainError("supervision.reply_by", "答复期限不能早于今天", field="reply_by")
    if not message.strip():
        raise DomainError("supervision.message", "请写明督办事项", field="message")
    issued = session.execute(
        select(func.count()).where(
            col(Supervision.case_no) == case_no, col(Supervision.issuer_node) == node.node_id
        )
    ).scalar_one()
    notice_id = f"{case_no}:{node.node_id}:{issued + 1}"
    body = {
        "case_no": case_no,
        "to": case.custodian,
        "message": message.strip(),
        "reply_by": reply_by.isoformat(),
        "by": actor.username,
        "on": today.isoformat(),
    }
    return node.append(session, notice_subject(notice_id), ISSUED, body)


def answer_supervision(
    session: Session, node: ThisNode, actor: Actor, notice_id: str, answer: str
) -> SignedEvent:
    """The addressed node's answer to a notice (once)."""
    require_role(actor, *ANSWERERS)
    notice = get_supervision(session, notice_id)
    if notice.to_node != node.node_id:
        raise Forbidden("supervision.not_addressed", "督办对象不是本节点", field="notice_id")
    if notice.state != "open":
        raise Conflict("supervision.answered", "该督办已答复", field="notice_id")
    if not answer.strip():
        raise DomainError("supervision.answer", "请写明办理情况", field="answer")
    body = {
        "answer": answer.strip(),
        "by": actor.username,
        "on": local_today(node.settings.tz).isoformat(),
    }
    return node.append(session, notice_subject(notice_id), ANSWERED, body)


def get_supervision(session: Session, notice_id: str) -> Supervision:
    notice = session.get(Supervision, notice_id)
    if notice is None:
        raise NotFound("supervision.unknown", "没有这条督办", field="notice_id")
    return notice


def list_supervisions(
    session: Session, node: ThisNode, view: View, state: State, today: date
) -> list[Supervision]:
    """The notices this node issued, or those addressed to it, by state; an open notice
    past its date is overdue. Oldest answer date first."""
    mine = (
        col(Supervision.issuer_node) == node.node_id
        if view == "issued"
        else col(Supervision.to_node) == node.node_id
    )
    query = select(Supervision).where(mine)
    if state == "open":
        query = query.where(col(Supervision.state) == "open")
    elif state == "overdue":
        query = query.where(
            col(Supervision.state) == "open", col(Supervision.reply_by) < today.isoformat()
        )
    elif state == "answered":
        query = query.where(col(Supervision.state) == "answered")
    order = (col(Supervision.reply_by), col(Supervision.notice_id))
    return list(session.execute(query.order_by(*order)).scalars())


def open_for(session: Session, node: ThisNode) -> int:
    """Notices addressed to this node not yet answered (its work counter)."""
    return int(
        session.execute(
            select(func.count()).where(
                col(Supervision.to_node) == node.node_id, col(Supervision.state) == "open"
            )
        ).scalar_one()
    )
