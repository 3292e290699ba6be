"""The cases projection: one ``Projection`` whose handlers live in the modules that
own each part of the lifecycle (intake.projection, review.projection, handoff.projection, and the ratings
package). ``case_handler`` registers a handler and keeps ``cases.version`` equal to the
case's last event sequence.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import bindparam, update
from sqlalchemy.sql import ClauseElement
from sqlmodel import Session, col

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
from common.ledger.write_behind import write_behind

_TABLES = (Case, CaseMaterial, CaseNotice, CaseTask, CaseVisit, SpecialProcedure, CaseCustody)
cases_projection = register_projection(
    Projection(
        "cases",
        # SQLModel's typing declares no ``__table__`` on table models.
        tables=[t.__table__ for t in _TABLES],  # type: ignore[union-attr]
    )
)

_CASES = Case.__table__  # type: ignore[attr-defined]

CaseHandler = Callable[[Session, SignedEvent, str], None]
_SET_CASE: dict[tuple[str, ...], Any] = {}
# session.info while a case handler runs: (case_no, sseq) whose version is still to write.
_VERSION_KEY = "onetrip.cases.version"


def update_case(session: Session, case_no: str, values: dict[str, Any]) -> None:
    """UPDATE one case row with plain values: a Core statement compiled once per set of
    columns. Folds in the version bump of the event being applied (``case_handler``)."""
    pending = session.info.get(_VERSION_KEY)
    if pending is not None and pending[0] == case_no:
        values = {**values, "version": pending[1]}
        del session.info[_VERSION_KEY]
    buffer = write_behind(session)
    if buffer is not None:  # a batch being applied: written with the batch's other updates
        buffer.update(_CASES, "case_no", case_no, values)
        return
    connection = core(session)
    columns = tuple(sorted(values))
    statement = _SET_CASE.get(columns)
    if statement is None:
        statement = _SET_CASE[columns] = (
            update(_CASES)
            .where(_CASES.c.case_no == bindparam("_case_no"))
            .values({name: bindparam(name) for name in columns})
        )
    connection.execute(statement, {"_case_no": case_no, **values})


def set_case(session: Session, case_no: str, **values: Any) -> None:
    """UPDATE one case row (the projections' most frequent statement).

    Plain values go through ``update_case`` (sync ingest applies thousands of events a
    second); SQL expressions (``Case.visits + 1``) through the ORM as before. Either way a
    ``Case`` loaded in this session sees the new values, as the ORM's own UPDATE would
    arrange."""
    if any(isinstance(value, ClauseElement) for value in values.values()):
        session.execute(update(Case).where(col(Case.case_no) == case_no).values(**values))
        return
    update_case(session, case_no, values)
    loaded = (
        session.identity_map.get(session.identity_key(Case, case_no))
        if session.identity_map
        else None
    )
    if loaded is not None:
        session.expire(loaded, list(values))


def case_no_of(event: SignedEvent) -> str:
    return event.subject.removeprefix("case:")


def version_written(session: Session) -> None:
    """The handler wrote the case's version itself (``case.filed`` inserts the row)."""
    session.info.pop(_VERSION_KEY, None)


def case_handler(kind: str) -> Callable[[CaseHandler], CaseHandler]:
    """Register ``handler(session, event, case_no)`` for ``kind``; bumps the version."""

    def register(handler: CaseHandler) -> CaseHandler:
        def apply(session: Session, event: SignedEvent) -> None:
            case_no = case_no_of(event)
            # The version goes into the handler's own UPDATE of the row when it makes one
            # (``update_case``); otherwise it is written here, after the handler, as always.
            session.info[_VERSION_KEY] = (case_no, event.envelope["sseq"])
            try:
                handler(session, event, case_no)
            except BaseException:
                session.info.pop(_VERSION_KEY, None)
                raise
            if session.info.pop(_VERSION_KEY, None) is not None:
                update_case(session, case_no, {"version": event.envelope["sseq"]})

        cases_projection.on(kind)(apply)
        return handler

    return register
