"""Projections: the tables screens read, derived from events and rebuildable.

A domain package registers a ``Projection``: the tables it owns and a handler per
event kind. ``apply_event`` runs the handlers for one event inside the caller's
transaction; ``rebuild`` empties every projection table and replays the ledger in
local order, which must give the same rows.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Row, Table, delete, select
from sqlmodel import Session, col

from common.ledger.envelope import SignedEvent
from common.ledger.models import Event

Handler = Callable[[Session, SignedEvent], None]
# The authority policy (``common.authority.events``) checks every event before any
# handler runs: at append, ingest (both paths) and rebuild alike. The ledger cannot
# import the policy (the policy reads the domains' tables), so the policy installs
# itself here when the domains are loaded, and no event is applied without it.
AuthorityCheck = Callable[[Session, SignedEvent], None]
_AUTHORITY: list[AuthorityCheck] = []


@dataclass
class Projection:
    name: str
    tables: list[Table]
    handlers: dict[str, Handler] = field(default_factory=dict)

    def on(self, kind: str) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            self.handlers[kind] = handler
            return handler

        return register


_PROJECTIONS: dict[str, Projection] = {}


def register_projection(projection: Projection) -> Projection:
    _PROJECTIONS[projection.name] = projection
    return projection


def projections() -> list[Projection]:
    return list(_PROJECTIONS.values())


def install_authority_check(check: AuthorityCheck) -> None:
    _AUTHORITY[:] = [check]


def apply_event(session: Session, event: SignedEvent) -> None:
    if not _AUTHORITY:
        raise RuntimeError(
            "no authority policy installed: load the domains (common.domains.load_projections)"
        )
    _AUTHORITY[0](session, event)
    for projection in _PROJECTIONS.values():
        handler = projection.handlers.get(event.kind)
        if handler is not None:
            handler(session, event)


def projection_tables() -> list[Table]:
    tables: list[Table] = []
    for projection in _PROJECTIONS.values():
        tables.extend(projection.tables)
    return tables


def event_rows(
    session: Session, *columns: Any, batch: int = 1000
) -> Iterator[Row[*tuple[Any, ...]]]:
    """``(lseq, *columns)`` of every stored event in local order, read ``batch`` rows at
    a time (keyset pages on ``lseq``: a long ledger is never held in memory at once)."""
    last = 0
    while True:
        rows = session.execute(
            select(col(Event.lseq), *columns)
            .where(col(Event.lseq) > last)
            .order_by(col(Event.lseq))
            .limit(batch)
        ).all()
        if not rows:
            return
        yield from rows
        last = rows[-1][0]


def iter_events(session: Session, batch: int = 1000) -> Iterable[bytes]:
    for _lseq, raw in event_rows(session, col(Event.raw), batch=batch):
        yield raw


def clear_projections(session: Session) -> None:
    # Children before parents: reverse registration order of tables.
    for table in reversed(projection_tables()):
        session.execute(delete(table))


def snapshot(session: Session) -> dict[str, list[tuple[Any, ...]]]:
    """Every projection row, sorted, for comparing a live database with a rebuild."""
    result: dict[str, list[tuple[Any, ...]]] = {}
    for table in projection_tables():
        rows = session.execute(select(table)).all()
        result[table.name] = sorted((tuple(row) for row in rows), key=repr)
    return result
