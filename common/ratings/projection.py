"""The ratings projection: its tables, filled by case-event handlers.

``Projection("ratings")`` owns the tables (so rebuild clears them) but has no handlers
of its own: ``case.rated`` and friends are case events, registered through
``case_handler`` so that ``cases.version`` follows them. Handlers read only the event.
"""

from __future__ import annotations

from sqlalchemy import insert, update
from sqlmodel import Session

from common.cases.models import Case
from common.cases.projection import case_handler
from common.ledger.envelope import SignedEvent
from common.ledger.projection import Projection, register_projection
from common.ratings.models import Rating, Rectification

RATING_LABELS = {1: "非常满意", 2: "满意", 3: "基本满意", 4: "不满意", 5: "非常不满意"}
BAD_LEVELS = frozenset({4, 5})

ratings_projection = register_projection(
    Projection("ratings", tables=[t.__table__ for t in (Rating, Rectification)])  # type: ignore[attr-defined]
)


@case_handler("case.rated")
def _rated(session: Session, event: SignedEvent, case_no: str) -> None:
    body = event.body
    level = body["level"]
    session.execute(
        insert(Rating).values(
            case_no=case_no, level=level, label=RATING_LABELS.get(level, str(level)),
            comment=body.get("comment") or "", real_name=bool(body["real_name"]), rated_on=body["rated_on"],
        )
    )
    session.execute(update(Case).where(Case.case_no == case_no).values(rating=level))
    task = body.get("rectification")
    if task:
        session.execute(
            insert(Rectification).values(
                task_id=task["task_id"], case_no=case_no, opened_on=body["rated_on"], due_on=task["due_on"],
                state="open", callback_required=bool(body["real_name"]), callback_done=False,
            )
        )


@case_handler("case.callback_recorded")
def _callback_recorded(session: Session, event: SignedEvent, case_no: str) -> None:
    body = event.body
    session.execute(
        update(Rectification)
        .where(Rectification.task_id == body["task_id"])
        .values(callback_done=True, callback_note=body["note"], callback_by=body["by"], callback_on=body["on"])
    )


@case_handler("case.rectification_closed")
def _rectification_closed(session: Session, event: SignedEvent, case_no: str) -> None:
    body = event.body
    session.execute(
        update(Rectification)
        .where(Rectification.task_id == body["task_id"])
        .values(state="closed", closed_on=body["on"], closed_by=body["by"], result=body["result"])
    )
