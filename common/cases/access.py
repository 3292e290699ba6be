"""Loading a case and writing to it: custody, state and the subject name in one place.

Only the custodian appends to a case (one writer per record); every append goes
through ``append_case_event`` which checks the transition first, so an illegal move is
refused before anything is written.

The one exception is the two-phase handoff: while an offer is open nobody may change
the case (not even the custodian who offered it), and the only events allowed are the
offer's answer (``handoff.accepted`` / ``handoff.declined``) written by the node it was
offered to, which is not yet the custodian.
"""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from common.cases.models import Case
from common.cases.states import HANDOFF_REPLIES, check_transition
from common.errors import Conflict, Forbidden, NotFound
from common.ledger.envelope import SignedEvent
from common.node import ThisNode
from common.timeutil import local_today

CASE_SUBJECT_PREFIX = "case:"


def case_subject(case_no: str) -> str:
    return CASE_SUBJECT_PREFIX + case_no


def load_case(session: Session, case_no: str) -> Case:
    case = session.get(Case, case_no)
    if case is None:
        raise NotFound("case.not_found", f"案件 {case_no} 不存在", field="case_no")
    return case


def require_no_open_offer(case: Case) -> None:
    """Between ``handoff.offered`` and its answer the case is frozen for everyone."""
    if case.pending_offer_to is not None:
        raise Conflict(
            "case.handoff_pending",
            f"案件 {case.case_no} 已移交节点 {case.pending_offer_to}，等待对方接收，期间不能修改",
            field="case_no",
        )


def require_offer_target(node: ThisNode, case: Case) -> None:
    """Only the node an open offer names may accept or decline it."""
    if case.pending_offer_to is None:
        raise Conflict("handoff.no_offer", f"案件 {case.case_no} 没有待接收的移交", field="case_no")
    if case.pending_offer_to != node.node_id:
        raise Forbidden(
            "handoff.not_target",
            f"案件 {case.case_no} 移交给节点 {case.pending_offer_to}，本节点不能接收或拒收",
            field="case_no",
        )


def require_custody(node: ThisNode, case: Case) -> None:
    """This node holds the case and has not offered it away (an open offer: 409)."""
    require_no_open_offer(case)
    if case.custodian != node.node_id:
        raise Forbidden(
            "case.not_custodian",
            f"案件 {case.case_no} 当前由节点 {case.custodian} 办理，本节点不能修改",
            field="case_no",
        )


def append_case_event(
    session: Session, node: ThisNode, case: Case, kind: str, body: dict[str, Any]
) -> SignedEvent:
    """Check custody and the state machine (for an offer's answer: the open offer),
    then append to the case's chain."""
    if kind in HANDOFF_REPLIES:
        require_offer_target(node, case)
    else:
        require_custody(node, case)
        check_transition(case.state, kind)
    event = node.append(session, case_subject(case.case_no), kind, body)
    session.expire(case)  # the projection changed underneath the ORM object
    return event


def today_on(node: ThisNode) -> str:
    """Today's date where people are (Asia/Shanghai), as stored in case events."""
    return local_today(node.settings.tz).isoformat()
