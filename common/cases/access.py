"""Loading a case and writing to it: custody, state and the subject name in one place.

Only the custodian appends to a case (one writer per record); every append goes
through ``append_case_event`` which checks the transition first, so an illegal move is
refused before anything is written.
"""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from common.cases.models import Case
from common.cases.states import check_transition
from common.errors import Forbidden, NotFound
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


def require_custody(node: ThisNode, case: Case) -> None:
    if case.custodian != node.node_id:
        raise Forbidden(
            "case.not_custodian",
            f"案件 {case.case_no} 当前由节点 {case.custodian} 办理，本节点不能修改",
            field="case_no",
        )


def append_case_event(session: Session, node: ThisNode, case: Case, kind: str, body: dict[str, Any]) -> SignedEvent:
    """Check custody and the state machine, then append to the case's chain."""
    require_custody(node, case)
    check_transition(case.state, kind)
    event = node.append(session, case_subject(case.case_no), kind, body)
    session.expire(case)  # the projection changed underneath the ORM object
    return event


def today_on(node: ThisNode) -> str:
    """Today's date where people are (Asia/Shanghai), as stored in case events."""
    return local_today(node.settings.tz).isoformat()
