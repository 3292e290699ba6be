"""The cases projection: one ``Projection`` whose handlers live in the modules that
own each part of the lifecycle (projection_intake, projection_review, and the ratings
package). ``case_handler`` registers a handler and keeps ``cases.version`` equal to the
case's last event sequence.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import update
from sqlmodel import Session

from common.cases.models import Case, CaseMaterial, CaseNotice, CaseTask, CaseVisit, SpecialProcedure
from common.ledger.envelope import SignedEvent
from common.ledger.projection import Projection, register_projection

cases_projection = register_projection(
    Projection(
        "cases",
        tables=[t.__table__ for t in (Case, CaseMaterial, CaseNotice, CaseTask, CaseVisit, SpecialProcedure)],  # type: ignore[attr-defined]
    )
)

CaseHandler = Callable[[Session, SignedEvent, str], None]


def case_no_of(event: SignedEvent) -> str:
    return event.subject.removeprefix("case:")


def case_handler(kind: str) -> Callable[[CaseHandler], CaseHandler]:
    """Register ``handler(session, event, case_no)`` for ``kind``; bumps the version."""

    def register(handler: CaseHandler) -> CaseHandler:
        def apply(session: Session, event: SignedEvent) -> None:
            case_no = case_no_of(event)
            handler(session, event, case_no)
            session.execute(
                update(Case).where(Case.case_no == case_no).values(version=event.envelope["sseq"])
            )

        cases_projection.on(kind)(apply)
        return handler

    return register


# Importing the handler modules registers their handlers.
from common.cases import projection_intake, projection_review  # noqa: E402,F401
