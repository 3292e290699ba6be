"""The supervision projection: a notice opens its row, the answer closes it.

Handlers read only the event and rows earlier events made; an answer that does not fit
its notice (answered twice, or naming another notice) is refused, not applied. Who may
write each (the issuing node's area, the notice's addressee) is the authority policy's.
"""

from __future__ import annotations

from sqlalchemy import insert, select, update
from sqlmodel import Session, col

from common.ledger.envelope import EnvelopeError, SignedEvent
from common.ledger.projection import Projection, register_projection
from common.ledger.service import IngestRefused
from common.supervision.models import Supervision

SUBJECT_PREFIX = "supervision:"
ISSUED = "supervision.issued"
ANSWERED = "supervision.answered"

supervision_projection = register_projection(
    Projection("supervision", tables=[Supervision.__table__])  # type: ignore[attr-defined]
)


def notice_subject(notice_id: str) -> str:
    return SUBJECT_PREFIX + notice_id


class SupervisionViolation(EnvelopeError):
    """An answer its notice does not allow."""

    def __init__(self, event: SignedEvent, message: str) -> None:
        super().__init__("supervision.violation", f"{event.kind} {event.id}: {message}")


@supervision_projection.on(ISSUED)
def _issued(session: Session, event: SignedEvent) -> None:
    body = event.body
    session.execute(
        insert(Supervision).values(
            notice_id=event.subject.removeprefix(SUBJECT_PREFIX),
            case_no=body["case_no"],
            issuer_node=event.author,
            issued_by=body["by"],
            issued_on=body["on"],
            to_node=body["to"],
            message=body["message"],
            reply_by=body["reply_by"],
            state="open",
        )
    )


@supervision_projection.on(ANSWERED)
def _answered(session: Session, event: SignedEvent) -> None:
    notice_id = event.subject.removeprefix(SUBJECT_PREFIX)
    state = session.execute(
        select(col(Supervision.state)).where(col(Supervision.notice_id) == notice_id)
    ).scalar_one_or_none()
    if state is None:
        raise IngestRefused(
            "supervision.unissued", f"{event.kind} {event.id} arrives before its notice"
        )
    if state != "open":
        raise SupervisionViolation(event, f"notice {notice_id} is already answered")
    body = event.body
    session.execute(
        update(Supervision)
        .where(col(Supervision.notice_id) == notice_id)
        .values(
            state="answered", answer=body["answer"], answered_by=body["by"], answered_on=body["on"]
        )
    )
