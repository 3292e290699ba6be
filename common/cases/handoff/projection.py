"""Projection handlers for the two-phase custody handoff.

- ``handoff.offered``: the case is frozen (``pending_offer_to`` / ``pending_offer_seq``).
- ``handoff.accepted``: the acceptance's author becomes the custodian, the offer is
  cleared and a ``case_custody`` row records the step (seq 2, 3, ...).
- ``handoff.declined``: the offer is cleared; custody stays with the offerer.

The origin's custody (seq 1, from ``case.filed``) has no row: ``case.filed`` is handled
by intake, and ``handoff.service.custody_chain`` derives the whole chain from the
events anyway. A projection must never invent custody, so an event that does not fit
the open offer (wrong author, wrong offer, something written in between) raises
``CustodyViolation`` instead of being applied. Local actions check all of this before
appending; for events from other nodes ingest must refuse them (the error is an
``EnvelopeError`` so that it is dead-lettered like any other invalid event).
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from sqlalchemy import bindparam, func, insert, select
from sqlmodel import Session

from common.cases.models import Case, CaseCustody
from common.cases.projection import case_handler, update_case
from common.db import core
from common.ledger.envelope import EnvelopeError, SignedEvent
from common.ledger.write_behind import write_behind

CUSTODY = CaseCustody.__table__  # type: ignore[attr-defined]
_CASES = Case.__table__  # type: ignore[attr-defined]


class CustodyViolation(EnvelopeError):
    """A handoff event that the case's custody does not allow."""

    def __init__(self, event: SignedEvent, message: str) -> None:
        super().__init__("case.custody_violation", f"{event.kind} {event.id}: {message}")


_CUSTODY_OF = select(
    _CASES.c.custodian, _CASES.c.pending_offer_to, _CASES.c.pending_offer_seq
).where(_CASES.c.case_no == bindparam("case_no"))


# A case row filed in the batch being applied and not written yet is read from the
# batch's buffer: these columns have no default, so a value not set there is NULL.
assert all(
    _CASES.c[name].default is None and _CASES.c[name].server_default is None
    for name in ("custodian", "pending_offer_to", "pending_offer_seq")
)


def _case(session: Session, event: SignedEvent, case_no: str) -> Any:
    buffer = write_behind(session)
    pending = buffer.pending_row(_CASES, case_no) if buffer is not None else None
    if pending is not None:
        return SimpleNamespace(
            custodian=pending.get("custodian"),
            pending_offer_to=pending.get("pending_offer_to"),
            pending_offer_seq=pending.get("pending_offer_seq"),
        )
    row = core(session).execute(_CUSTODY_OF, {"case_no": case_no}).first()
    if row is None:
        raise CustodyViolation(event, f"case {case_no} is not held here")
    return row


def _set(session: Session, case_no: str, **values: Any) -> None:
    update_case(session, case_no, values)


def _check_answer(event: SignedEvent, case: Any) -> None:
    """The answer names the open offer and follows it directly (that its author is the
    offer's target is the authority policy's rule, checked before any handler)."""
    env = event.envelope
    if (
        event.body.get("offer_seq") != case.pending_offer_seq
        or env["sseq"] != case.pending_offer_seq + 1
    ):
        raise CustodyViolation(
            event, f"does not answer the open offer at sseq {case.pending_offer_seq}"
        )


@case_handler("handoff.offered")
def on_offered(session: Session, event: SignedEvent, case_no: str) -> None:
    body, sseq = event.body, event.envelope["sseq"]
    # Written by the custodian with no offer open: the authority policy's rule.
    if (
        not isinstance(body.get("to"), str)
        or body["to"] == event.author
        or body.get("head_sseq") != sseq - 1
    ):
        raise CustodyViolation(event, "offered to its own author or not at the case's head")
    _set(session, case_no, pending_offer_to=body["to"], pending_offer_seq=sseq)


@case_handler("handoff.accepted")
def on_accepted(session: Session, event: SignedEvent, case_no: str) -> None:
    case = _case(session, event, case_no)
    _check_answer(event, case)
    last = (
        core(session)
        .execute(select(func.max(CUSTODY.c.seq)).where(CUSTODY.c.case_no == case_no))
        .scalar()
    )
    # Nothing may be written between offer and answer, so the answer's sprev is the offer.
    core(session).execute(
        insert(CUSTODY),
        {
            "case_no": case_no,
            "seq": (last or 1) + 1,
            "node_id": event.author,
            "from_sseq": event.envelope["sseq"],
            "offer_event_id": event.envelope["sprev"],
            "accept_event_id": event.id,
        },
    )
    _set(session, case_no, custodian=event.author, pending_offer_to=None, pending_offer_seq=None)


@case_handler("handoff.declined")
def on_declined(session: Session, event: SignedEvent, case_no: str) -> None:
    _check_answer(event, _case(session, event, case_no))
    _set(session, case_no, pending_offer_to=None, pending_offer_seq=None)
