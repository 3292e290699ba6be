"""Rebuilding every projection from the ledger (``onetrip rebuild``).

The tables screens read are derived data: emptying them and replaying the stored
events in local order (``lseq``) must give the same rows. The replay runs in the
caller's transaction, so a failure half-way leaves the old tables in place, and
``verify`` can run it inside a savepoint it rolls back.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session, col

from common.ledger.envelope import FIELDS, EnvelopeError, SignedEvent
from common.ledger.models import Event
from common.ledger.projection import apply_event, clear_projections, event_rows

# progress(stage, done, total): called every few hundred events and at the end.
Progress = Callable[[str, int, int], None]
REBUILD_STAGE = "重建投影"
BATCH = 1000
PROGRESS_EVERY = 250


class RebuildError(RuntimeError):
    """A stored event cannot be replayed; names it so that ``verify`` can be run."""

    def __init__(
        self, lseq: int, event_id: str, problem: str, code: str = "projection.rebuild_failed"
    ) -> None:
        super().__init__(f"事件 lseq={lseq} id={event_id} 无法重放：{problem}")
        self.lseq = lseq
        self.event_id = event_id
        self.problem = problem
        self.code = code


def count_events(session: Session) -> int:
    return int(session.execute(select(func.count()).select_from(Event)).scalar() or 0)


def stored_bytes(value: object) -> bytes:
    """The ``raw`` column as bytes even if someone stored text in it (SQLite allows that)."""
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value)
    return str(value).encode("utf-8")


def stored_event(lseq: int, event_id: str, raw: bytes) -> SignedEvent:
    """The stored event as projections see it, its id taken from the events table.

    Only the shape is checked here (JSON, the v1 fields): every stored event passed the
    full checks on entry, and ``verify`` repeats them (canonical bytes, id, signature).
    Skipping the re-encoding halves a rebuild: catalogue batches are large.
    """
    raw = stored_bytes(raw)
    try:
        envelope = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise RebuildError(lseq, event_id, f"存储的字节不是 JSON：{exc}") from exc
    if not isinstance(envelope, dict) or set(envelope) != set(FIELDS):
        raise RebuildError(lseq, event_id, "事件信封字段不正确")
    return SignedEvent(id=event_id, raw=raw, envelope=envelope)


def rebuild_projections(session: Session, *, progress: Progress | None = None) -> int:
    """Empty every projection table and replay all events in ``lseq`` order.

    Returns the number of events replayed. Never commits: the caller owns the
    transaction (one transaction for the whole rebuild, so readers never see it half done).
    """
    total = count_events(session) if progress else 0
    clear_projections(session)
    done = 0
    for lseq, event_id, raw in event_rows(session, col(Event.id), col(Event.raw), batch=BATCH):
        event = stored_event(lseq, event_id, raw)
        try:
            apply_event(session, event)
        except EnvelopeError as exc:  # the authority policy refuses it (or a handler does)
            raise RebuildError(lseq, event_id, exc.message, exc.code) from exc
        except (KeyError, TypeError, ValueError, SQLAlchemyError) as exc:
            # A handler choked on a body it should have accepted: name the event.
            raise RebuildError(lseq, event_id, f"{type(exc).__name__}: {exc}") from exc
        done += 1
        if progress and done % PROGRESS_EVERY == 0:
            progress(REBUILD_STAGE, done, total)
    if progress:
        progress(REBUILD_STAGE, done, max(total, done))
    return done


@contextmanager
def console_progress() -> Iterator[Progress]:
    """A rich progress bar on stderr (one line per stage) for the ``onetrip`` commands."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn
    from rich.progress import Progress as Bar

    bar = Bar(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=Console(stderr=True),
    )
    tasks: dict[str, Any] = {}

    def update(stage: str, done: int, total: int) -> None:
        if stage not in tasks:
            tasks[stage] = bar.add_task(stage, total=total)
        bar.update(tasks[stage], completed=done, total=total)

    with bar:
        yield update
