"""Projection handlers for review events: opinions, decisions, special procedures,
extensions and 告知承诺 verification (on the case's chain while the deciding node holds
the case, else on the verification chain ``verification:{case_no}``, which only the
deciding node may write).

Deterministic: every value comes from the event body (the action put the dates and
deadlines there), so a rebuild from the ledger gives identical rows.
"""

from __future__ import annotations

from sqlalchemy import insert, select, update
from sqlmodel import Session, col

from common.cases.models import Case, CaseTask, SpecialProcedure
from common.cases.projection import case_handler, cases_projection, set_case
from common.cases.states import CaseState
from common.ledger.envelope import EnvelopeError, SignedEvent

_set_case = set_case


def _finish_task(
    session: Session, task_id: str, opinion: str, comment: str | None, by: str, on: str
) -> None:
    session.execute(
        update(CaseTask)
        .where(col(CaseTask.task_id) == task_id)
        .values(state="done", opinion=opinion, comment=comment, done_by=by, done_on=on)
    )


@case_handler("case.opinion_recorded")
def _opinion_recorded(session: Session, event: SignedEvent, case_no: str) -> None:
    body = event.body
    _finish_task(
        session, body["task_id"], body["opinion"], body["comment"] or None, body["by"], body["on"]
    )


@case_handler("case.decided")
def _decided(session: Session, event: SignedEvent, case_no: str) -> None:
    body = event.body
    state = CaseState.APPROVED if body["decision"] == "approved" else CaseState.REJECTED
    _set_case(
        session,
        case_no,
        state=state.value,
        decision=body["decision"],
        decision_reason=body["reason"] or None,
        decided_on=body["decided_on"],
        licence_id=body.get("licence_id"),
    )
    verification = body.get("verification")
    if verification:
        session.execute(
            insert(CaseTask).values(
                task_id=verification["task_id"],
                case_no=case_no,
                kind="verification",
                department=verification["department"],
                lead=True,
                state="open",
                opened_on=body["decided_on"],
                due_on=verification["due_on"],
            )
        )


@case_handler("case.special_started")
def _special_started(session: Session, event: SignedEvent, case_no: str) -> None:
    body = event.body
    session.execute(
        insert(SpecialProcedure).values(
            case_no=case_no,
            seq=body["seq"],
            kind=body["kind"],
            subkind=body["subkind"],
            reason=body["reason"],
            started_on=body["started_on"],
        )
    )
    _set_case(session, case_no, state=CaseState.SPECIAL.value)


@case_handler("case.special_ended")
def _special_ended(session: Session, event: SignedEvent, case_no: str) -> None:
    body = event.body
    session.execute(
        update(SpecialProcedure)
        .where(col(SpecialProcedure.case_no) == case_no, col(SpecialProcedure.seq) == body["seq"])
        .values(ended_on=body["ended_on"], result=body["result"], paused_days=body["paused_days"])
    )
    _set_case(session, case_no, state=CaseState.ACCEPTED.value, deadline=body["deadline"])


@case_handler("case.extension_approved")
def _extension_approved(session: Session, event: SignedEvent, case_no: str) -> None:
    body = event.body
    _set_case(
        session,
        case_no,
        extension_days=Case.extension_days + body["days"],
        deadline=body["deadline"],
    )
    # An extension granted while an extension request (kind 1) is open belongs to it.
    session.execute(
        update(SpecialProcedure)
        .where(
            col(SpecialProcedure.case_no) == case_no,
            col(SpecialProcedure.ended_on).is_(None),
            col(SpecialProcedure.kind) == 1,
        )
        .values(extension_days=SpecialProcedure.extension_days + body["days"])
    )


VERIFICATION_ON_CASE = "case.verification_recorded"
VERIFICATION_RECORDED = "verification.recorded"
VERIFICATION_SUBJECT_PREFIX = "verification:"


def verification_subject(case_no: str) -> str:
    return VERIFICATION_SUBJECT_PREFIX + case_no


class VerificationViolation(EnvelopeError):
    """A verification event written by a node that did not decide the case."""

    def __init__(self, event: SignedEvent, message: str) -> None:
        super().__init__("verification.violation", f"{event.kind} {event.id}: {message}")


def _apply_verification(session: Session, case_no: str, body: dict) -> None:  # type: ignore[type-arg]
    _finish_task(
        session,
        body["task_id"],
        "passed" if body["passed"] else "failed",
        body["comment"] or None,
        body["by"],
        body["on"],
    )
    if not body["passed"]:
        _set_case(session, case_no, result_revoked=True)


@case_handler(VERIFICATION_ON_CASE)
def _verification_recorded(session: Session, event: SignedEvent, case_no: str) -> None:
    _apply_verification(session, case_no, event.body)


@cases_projection.on(VERIFICATION_RECORDED)
def _verification_on_own_chain(session: Session, event: SignedEvent) -> None:
    case_no = event.subject.removeprefix(VERIFICATION_SUBJECT_PREFIX)
    # Only the node that decided the case writes here: the authority policy's rule.
    # A Core read: an ORM object of the task in this session may be stale (rebuild).
    tasks = CaseTask.__table__  # type: ignore[attr-defined]
    open_task = session.execute(
        select(tasks.c.task_id).where(
            tasks.c.task_id == event.body["task_id"],
            tasks.c.case_no == case_no,
            tasks.c.kind == "verification",
            tasks.c.state == "open",
        )
    ).scalar()
    if open_task is None:
        raise VerificationViolation(event, "no open verification task of this case")
    _apply_verification(session, case_no, event.body)
