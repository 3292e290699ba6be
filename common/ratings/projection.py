"""The ratings projection: ratings and rectifications, from two kinds of chain.

- ``case.rated`` is a case event (written by the custodian at delivery), registered
  through ``case_handler`` so that ``cases.version`` follows it; a bad rating opens the
  ``rectifications`` row and names the responsible node.
- ``rectification.callback_recorded`` and ``rectification.closed`` live on the
  rectification's own subject ``rectification:{case_no}``, written by that responsible
  node only, so the case's custody does not matter (a village case's rectification is
  worked at its township). Their handlers belong to ``Projection("ratings")`` itself
  and do not touch the case's version.

Handlers read only the event and rows earlier events made. Like the custody handoff
projection, they refuse an event that does not fit instead of applying it: one
written by another node, or not in the task's order, raises ``RectificationViolation``
(an ``EnvelopeError``: sync dead-letters it); one that arrives before the rating that
opened the task raises ``IngestRefused`` so that sync holds it until the rating is here.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import insert, select, update
from sqlmodel import Session, col

from common.cases.models import Case
from common.cases.projection import case_handler
from common.db import core
from common.ledger.envelope import EnvelopeError, SignedEvent
from common.ledger.projection import Projection, register_projection
from common.ledger.service import IngestRefused
from common.ratings.models import Rating, Rectification

RATING_LABELS = {1: "非常满意", 2: "满意", 3: "基本满意", 4: "不满意", 5: "非常不满意"}
BAD_LEVELS = frozenset({4, 5})
RECTIFICATION_SUBJECT_PREFIX = "rectification:"

_RECTIFICATIONS = Rectification.__table__  # type: ignore[attr-defined]

ratings_projection = register_projection(
    # SQLModel's typing declares no ``__table__`` on table models.
    Projection("ratings", tables=[t.__table__ for t in (Rating, Rectification)])  # type: ignore[union-attr]
)


def rectification_subject(case_no: str) -> str:
    return RECTIFICATION_SUBJECT_PREFIX + case_no


class RectificationViolation(EnvelopeError):
    """A rectification event its task does not allow (wrong author, wrong order)."""

    def __init__(self, event: SignedEvent, message: str) -> None:
        super().__init__("rectification.violation", f"{event.kind} {event.id}: {message}")


@case_handler("case.rated")
def _rated(session: Session, event: SignedEvent, case_no: str) -> None:
    body = event.body
    level = body["level"]
    session.execute(
        insert(Rating).values(
            case_no=case_no,
            level=level,
            label=RATING_LABELS.get(level, str(level)),
            comment=body.get("comment") or "",
            real_name=bool(body["real_name"]),
            rated_on=body["rated_on"],
        )
    )
    session.execute(update(Case).where(col(Case.case_no) == case_no).values(rating=level))
    task = body.get("rectification")
    if task:
        session.execute(
            insert(Rectification).values(
                task_id=task["task_id"],
                case_no=case_no,
                # A rating recorded before responsible nodes existed was worked by its rater.
                responsible_node=task.get("responsible_node") or event.author,
                opened_on=body["rated_on"],
                due_on=task["due_on"],
                state="open",
                callback_required=bool(body["real_name"]),
                callback_done=False,
            )
        )


def _open_task(session: Session, event: SignedEvent) -> Any:
    """The task this event works on, after checking author, task id and state."""
    case_no = event.subject.removeprefix(RECTIFICATION_SUBJECT_PREFIX)
    task = (
        core(session)
        .execute(select(_RECTIFICATIONS).where(_RECTIFICATIONS.c.case_no == case_no))
        .first()
    )
    if task is None:
        raise IngestRefused(
            "rectification.unrated",
            f"{event.kind} {event.id} arrives before the rating of {case_no}",
        )
    # Written by the task's responsible node: the authority policy's rule.
    if event.body.get("task_id") != task.task_id:
        raise RectificationViolation(
            event, f"names task {event.body.get('task_id')}, the case's is {task.task_id}"
        )
    if task.state != "open":
        raise RectificationViolation(event, f"task {task.task_id} is already closed")
    return task


def _set(session: Session, task_id: str, **values: Any) -> None:
    core(session).execute(
        update(_RECTIFICATIONS).where(_RECTIFICATIONS.c.task_id == task_id).values(**values)
    )


@ratings_projection.on("rectification.callback_recorded")
def _callback_recorded(session: Session, event: SignedEvent) -> None:
    task, body = _open_task(session, event), event.body
    if not task.callback_required or task.callback_done:
        raise RectificationViolation(
            event, "no call-back is due (anonymous rating, or already called back)"
        )
    _set(
        session,
        task.task_id,
        callback_done=True,
        callback_note=body["note"],
        callback_by=body["by"],
        callback_on=body["on"],
    )


@ratings_projection.on("rectification.closed")
def _closed(session: Session, event: SignedEvent) -> None:
    task, body = _open_task(session, event), event.body
    if task.callback_required and not task.callback_done:
        raise RectificationViolation(event, "a real-name bad rating is closed before its call-back")
    _set(
        session,
        task.task_id,
        state="closed",
        closed_on=body["on"],
        closed_by=body["by"],
        result=body["result"],
    )
