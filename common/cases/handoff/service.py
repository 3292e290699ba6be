"""Custody handoff (移交): the two-phase, signed move of a case between nodes.

The custodian appends ``handoff.offered`` {to, reason, head_sseq, offered_by, offered_on};
the node it names appends ``handoff.accepted`` {offer_seq, accepted_by, accepted_on} and
becomes the custodian, or ``handoff.declined`` {offer_seq, reason, declined_by,
declined_on} and custody stays where it was. Between the two nobody may change the case
(``access.require_no_open_offer``), and each step is signed by the node that wrote it,
so ``custody_chain`` can prove who held the case from the events alone.

Who may offer or answer, and where a case may go, is the authority policy's
(``common.authority.actions``), from the registry's parent links:
- escalation (a filed case whose matter is handled above this node's tier): to the
  ancestor whose tier is the matter's handling level, directly. A county matter filed
  at a village goes village → county in one handoff; the township on the path is not
  a custodian but sees every event pass (sync routes a case along the paths from the
  root to its origin and its custodians). An explicit ``to`` may name any ancestor at
  or below the handling level (e.g. the township, which then escalates again).
- return (a decided case held by a node that is not its origin): to the origin node,
  which delivers the result to the resident.

Automatic custody, for sync after it ingests events and for the decision path:
``settle_custody`` accepts a decided case coming home and ``return_if_decided`` offers a
decided case back to its origin; escalations wait in ``handoff_inbox`` for staff.
Nothing here commits; every refusal is a DomainError naming the field.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import literal, select
from sqlmodel import Session, col

from common.authority.actions import check_case_action
from common.authority.case_checks import ESCALATE, RETURN, escalation_path, offer_route
from common.cases.access import (
    CASE_SUBJECT_PREFIX,
    append_case_event,
    case_subject,
    load_case,
    today_on,
)
from common.cases.handoff.projection import CustodyViolation
from common.cases.intake.filing import text
from common.cases.models import Case
from common.cases.states import HANDOFF_REPLIES, CaseState
from common.errors import DomainError, NotFound
from common.identity.models import RegistryNode
from common.ledger.envelope import SignedEvent, parse_event, verify_signature
from common.ledger.models import Event
from common.ledger.rebuild import stored_event
from common.ledger.service import KeyResolver
from common.node import ThisNode
from common.users.roles import Actor

OFFERED, ACCEPTED, DECLINED = "handoff.offered", "handoff.accepted", "handoff.declined"
TRANSFER = "transfer"  # declared, unused (see docs/architecture.md)
REASONS = (ESCALATE, RETURN, TRANSFER)
DECIDED = frozenset({CaseState.APPROVED.value, CaseState.REJECTED.value})
MAX_REASON = 500
# settle_custody's answers
SETTLED_ACCEPTED, SETTLED_OFFERED = "accepted", "offered"


# -- targets ---------------------------------------------------------------------------


def _live_node(session: Session, node_id: str) -> RegistryNode | None:
    entry = session.get(RegistryNode, node_id)
    return entry if entry is not None and entry.revoked_version is None else None


def _route(session: Session, node: ThisNode, case: Case) -> tuple[str, list[str]]:
    """(reason, allowed targets; the last one is the default), once the policy allowed the offer."""
    if offer_route(case) == ESCALATE:
        return ESCALATE, escalation_path(session, node, case.handling_level)
    return RETURN, [case.origin_node]


def _target(session: Session, node: ThisNode, to: object, allowed: list[str]) -> str:
    if to is None:
        to = allowed[-1]
    elif not isinstance(to, str) or not to.strip():
        raise DomainError("handoff.target_unknown", "请填写接收节点编号", field="to")
    to = to.strip()
    if _live_node(session, to) is None:
        raise DomainError(
            "handoff.target_unknown", f"节点 {to} 未登记或已注销，不能接收移交", field="to"
        )
    if to == node.node_id:
        raise DomainError("handoff.target_self", "不能移交给本节点", field="to")
    if to not in allowed:
        raise DomainError(
            "handoff.target_not_allowed", f"该案件只能移交给：{'、'.join(allowed)}", field="to"
        )
    return to


# -- actions ---------------------------------------------------------------------------


def offer_handoff(
    session: Session,
    node: ThisNode,
    actor: Actor,
    case_no: str,
    *,
    to: str | None = None,
    reason: str | None = None,
) -> SignedEvent:
    """移交: offer the case this node holds to ``to`` (by default the node the rule names)."""
    case = load_case(session, case_no)
    check_case_action(session, node, actor, case, "offer_handoff")
    rule_reason, allowed = _route(session, node, case)
    if reason is not None and reason != rule_reason:
        expected = "上报（escalate）" if rule_reason == ESCALATE else "退回来源节点（return）"
        raise DomainError("handoff.reason_mismatch", f"该案件当前只能{expected}", field="reason")
    target = _target(session, node, to, allowed)
    return append_case_event(
        session,
        node,
        case,
        OFFERED,
        {
            "to": target,
            "reason": rule_reason,
            "head_sseq": case.version,
            "offered_by": actor.username,
            "offered_on": today_on(node),
        },
    )


def accept_handoff(session: Session, node: ThisNode, actor: Actor, case_no: str) -> SignedEvent:
    """接收: this node becomes the case's custodian."""
    case = load_case(session, case_no)
    check_case_action(session, node, actor, case, "accept_handoff")
    return append_case_event(
        session,
        node,
        case,
        ACCEPTED,
        {
            "offer_seq": case.pending_offer_seq,
            "accepted_by": actor.username,
            "accepted_on": today_on(node),
        },
    )


def decline_handoff(
    session: Session, node: ThisNode, actor: Actor, case_no: str, reason: str
) -> SignedEvent:
    """拒收 (with the reason): custody stays with the node that offered the case."""
    case = load_case(session, case_no)
    check_case_action(session, node, actor, case, "decline_handoff")
    why = text(reason, "reason", max_len=MAX_REASON, label="拒收理由")
    return append_case_event(
        session,
        node,
        case,
        DECLINED,
        {
            "offer_seq": case.pending_offer_seq,
            "reason": why,
            "declined_by": actor.username,
            "declined_on": today_on(node),
        },
    )


def return_if_decided(session: Session, node: ThisNode, case_no: str) -> SignedEvent | None:
    """Offer a decided case this node holds back to its origin node (system actor).

    To be called by the decision path (the review router after ``decide_case``) and by
    sync after ingest; does nothing when there is nothing to return.
    """
    case = session.get(Case, case_no)
    if (
        case is None
        or case.pending_offer_to is not None
        or case.custodian != node.node_id
        or case.state not in DECIDED
        or case.origin_node == node.node_id
        or _live_node(session, case.origin_node) is None
    ):
        return None
    return offer_handoff(session, node, Actor.node_system(node.node_id), case_no)


def settle_custody(session: Session, node: ThisNode, case_no: str) -> str | None:
    """Automatic custody after sync ingested a case's events here (same transaction).

    - an open offer to this node of a decided case whose origin is this node: accept it
      (the result comes home for delivery) -> "accepted";
    - a decided case held here whose origin is another node: offer it back -> "offered";
    - anything else (escalations wait for staff in the inbox) -> None.
    """
    case = session.get(Case, case_no)
    if case is None:
        return None
    if (
        case.pending_offer_to == node.node_id
        and case.state in DECIDED
        and case.origin_node == node.node_id
    ):
        accept_handoff(session, node, Actor.node_system(node.node_id), case_no)
        return SETTLED_ACCEPTED
    return SETTLED_OFFERED if return_if_decided(session, node, case_no) is not None else None


# -- reading ---------------------------------------------------------------------------


def handoff_inbox(session: Session, node: ThisNode) -> list[dict[str, Any]]:
    """Open offers to this node, oldest first (by the offer's arrival here)."""
    rows = session.execute(
        select(Case, col(Event.raw), col(Event.author))
        .join(
            Event,
            (col(Event.subject) == literal(CASE_SUBJECT_PREFIX) + col(Case.case_no))
            & (col(Event.sseq) == col(Case.pending_offer_seq)),
        )
        .where(col(Case.pending_offer_to) == node.node_id)
        .order_by(col(Event.lseq))
    ).all()
    items = []
    for case, raw, author in rows:
        body = parse_event(node.network_id, bytes(raw)).body
        items.append(
            {
                "case_no": case.case_no,
                "matter_code": case.matter_code,
                "matter_name": case.matter_name,
                "handling_level": case.handling_level,
                "state": case.state,
                "origin_node": case.origin_node,
                "applicant_name": case.applicant_name,
                "applicant_id_masked": case.applicant_id_masked,
                "filed_on": case.filed_on,
                "from_node": author,
                "reason": body["reason"],
                "offered_by": body["offered_by"],
                "offered_on": body["offered_on"],
                "offer_seq": case.pending_offer_seq,
            }
        )
    return items


def _case_events(session: Session, case_no: str) -> list[SignedEvent]:
    rows = session.execute(
        select(col(Event.lseq), col(Event.id), col(Event.raw))
        .where(col(Event.subject) == case_subject(case_no))
        .order_by(col(Event.sseq))
    ).all()
    if not rows:
        raise NotFound("case.not_found", f"案件 {case_no} 不存在", field="case_no")
    return [stored_event(lseq, event_id, raw) for lseq, event_id, raw in rows]


def _step(node: str, since: int, offer: str | None, accept: str | None) -> dict[str, Any]:
    return {"node": node, "since_sseq": since, "offer_event_id": offer, "accept_event_id": accept}


def _walk(events: list[SignedEvent]) -> list[dict[str, Any]]:
    """The chain of custody, checking every event was written by the node allowed to."""
    first = events[0]
    if first.kind != "case.filed" or first.envelope["sseq"] != 1:
        raise CustodyViolation(first, "a case's first event must be case.filed")
    chain = [_step(first.author, 1, None, None)]
    custodian, offer = first.author, None
    for event in events[1:]:
        env = event.envelope
        if offer is not None:
            if (
                event.kind not in HANDOFF_REPLIES
                or event.author != offer.body["to"]
                or env["sprev"] != offer.id
                or event.body.get("offer_seq") != offer.envelope["sseq"]
            ):
                raise CustodyViolation(event, f"written while the offer {offer.id} was open")
            if event.kind == ACCEPTED:
                custodian = event.author
                chain.append(_step(custodian, env["sseq"], offer.id, event.id))
            offer = None
        elif event.kind in HANDOFF_REPLIES:
            raise CustodyViolation(event, "answers no open offer")
        elif event.author != custodian:
            raise CustodyViolation(event, f"written by {event.author}, custodian was {custodian}")
        elif event.kind == OFFERED:
            offer = event
    return chain


def custody_chain(session: Session, case_no: str) -> list[dict[str, Any]]:
    """[{node, since_sseq, offer_event_id, accept_event_id}], the origin first (filed at
    sseq 1, no offer) then one step per accepted handoff, derived from the case's events.

    Each step is checked: the offer's author was the custodian, the acceptance's author
    was the offer's target and it answered that offer directly. Raises
    ``CustodyViolation`` when the events do not prove it.
    """
    return _walk(_case_events(session, case_no))


def prove_custody(
    session: Session, network_id: str, case_no: str, resolve_key: KeyResolver
) -> list[dict[str, Any]]:
    """``custody_chain`` plus the signature of every event it rests on (the filing, each
    offer and each acceptance) checked against the key ``resolve_key`` gives for its
    author, e.g. ``RegistryKeyResolver(root_fingerprint, allow_revoked=True)``."""
    events = _case_events(session, case_no)
    chain = _walk(events)
    needed = {events[0].id} | {
        step[k] for step in chain[1:] for k in ("offer_event_id", "accept_event_id")
    }
    for stored in events:
        if stored.id in needed:
            event = parse_event(network_id, stored.raw)  # canonical form and id, from the bytes
            if event.id != stored.id:
                raise CustodyViolation(stored, "stored id does not match the event's bytes")
            verify_signature(network_id, event, resolve_key(session, event))
    return chain
