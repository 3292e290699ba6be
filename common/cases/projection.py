"""The cases projection: one ``Projection`` whose handlers live in the modules that
own each part of the lifecycle (projection_intake, projection_review, and the ratings
package). ``case_handler`` registers a handler and keeps ``cases.version`` equal to the
case's last event sequence.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import bindparam, update
from sqlmodel import Session

from common.cases.models import (
    Case,
    CaseCustody,
    CaseMaterial,
    CaseNotice,
    CaseTask,
    CaseVisit,
    SpecialProcedure,
)
from common.db import core
from common.ledger.envelope import SignedEvent
from common.ledger.projection import Projection, register_projection

_TABLES = (Case, CaseMaterial, CaseNotice, CaseTask, CaseVisit, SpecialProcedure, CaseCustody)
cases_projection = register_projection(
    Projection(
        "cases",
        tables=[t.__table__ for t in _TABLES],  # type: ignore[attr-defined]
    )
)

_CASES = Case.__table__  # type: ignore[attr-defined]
_BUMP_VERSION = update(_CASES).where(_CASES.c.case_no == bindparam("no")).values(version=bindparam("version"))

CaseHandler = Callable[[Session, SignedEvent, str], None]


def case_no_of(event: SignedEvent) -> str:
    return event.subject.removeprefix("case:")


def case_handler(kind: str) -> Callable[[CaseHandler], CaseHandler]:
    """Register ``handler(session, event, case_no)`` for ``kind``; bumps the version."""

    def register(handler: CaseHandler) -> CaseHandler:
        def apply(session: Session, event: SignedEvent) -> None:
            case_no = case_no_of(event)
            handler(session, event, case_no)
            core(session).execute(_BUMP_VERSION, {"no": case_no, "version": event.envelope["sseq"]})

        cases_projection.on(kind)(apply)
        return handler

    return register


# Importing the handler modules registers their handlers.
from common.cases import projection_handoff, projection_intake, projection_review  # noqa: E402,F401
