"""Steps that chain several case actions, called alike by the API, the screens and the
simulation so that none of them writes the chain out again.

Each flow runs inside the caller's transaction (a refusal part-way leaves nothing: the
caller rolls back) and every step is an ordinary action function, so rights, custody
and state are checked at each step by the authority policy.
"""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from common.cases.handoff.service import return_if_decided
from common.cases.intake.service import accept_case, deliver_case
from common.cases.review.service import decide_case
from common.ledger.envelope import SignedEvent
from common.node import ThisNode
from common.users.roles import Actor

ON_THE_SPOT_REASON = "材料齐全，当场办结"


def decide_and_send_home(
    session: Session, node: ThisNode, actor: Actor, case_no: str, decision: str, reason: str | None
) -> SignedEvent:
    """办结, then the result starts home: a case decided away from the node it was filed
    at is offered back there for delivery (nothing to do when it was decided at home)."""
    event = decide_case(session, node, actor, case_no, decision, reason)
    return_if_decided(session, node, case_no)
    return event


def settle_on_the_spot(
    session: Session,
    node: ThisNode,
    actor: Actor,
    case_no: str,
    *,
    reason: str | None = ON_THE_SPOT_REASON,
    deliver: str | None = None,
    **delivery: Any,
) -> SignedEvent:
    """即办件 at the window that accepts it: accept, approve and (when ``deliver`` names a
    method) deliver at once. Returns the decision."""
    accept_case(session, node, actor, case_no)
    event = decide_case(session, node, actor, case_no, "approved", reason)
    if deliver:
        deliver_case(session, node, actor, case_no, deliver, **delivery)
    return event
