"""A node that lost its own writes finds out from its parent and takes them back.

At start, and at the beginning of every sync round until the parent has once confirmed
the chain since this process started (a running node cannot lose what it committed;
only a restart can), a child tells its parent the last position of its own author chain (``POST /api/v1/sync/standing``); the parent answers
with what it holds of that chain. Three outcomes:

- the parent holds no more than the child, and the same event at its last position:
  all is well (a hold from an earlier round is released);
- the parent holds more, and the child's last event is the parent's at that position:
  the child lost its last writes (a disk, a crash, a restore). Its writes are held
  (``common.ledger.hold``), the parent queues the missing events for the child's next
  pull, and once they are applied — case rows and serials with them, so numbering goes
  on above them — the hold is released;
- the two disagree at a position: the child wrote new events over lost ones (it
  restarted while its parent was out of reach). Its writes stay held and the county
  sees it in node health; repairing a forked chain is an administrator's job.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from common.db import core
from common.ledger.hold import (
    Why,
    WriteHold,
    confirm_chain,
    hold_writes,
    release_writes,
    write_hold,
)
from common.ledger.models import Event
from common.ledger.service import ChainHead, author_head, id_at
from common.sync.models import OutboxEntry
from common.sync.outbox import enqueue
from common.sync.telemetry import fork_counts
from common.timeutil import utcnow

log = logging.getLogger("onetrip.sync.recovery")

_EVENTS = Event.__table__  # type: ignore[attr-defined]  # SQLModel declares no __table__
_OUTBOX = OutboxEntry.__table__  # type: ignore[attr-defined]  # SQLModel declares no __table__


# --- the parent's side ---------------------------------------------------------------


def answer_standing(session: Session, child: str, own_head: int) -> dict[str, Any]:
    """What this node holds of ``child``'s own chain; the events above ``own_head`` are
    queued for the child's next pull when the child holds fewer than this node."""
    head = author_head(session, child)
    queued = _queue_own_events(session, child, own_head) if head.seq > own_head else 0
    if queued:
        log.warning(
            "a child lost events it had written; queued them for it again",
            extra={"peer": child, "code": "sync.child_lost_writes"},
        )
    return {
        "head": head.seq,
        "head_id": head.id,
        "at_your_head": id_at(session, child, own_head) if own_head else None,
        "queued": queued,
        "forks": fork_counts(session).get(child, 0),
    }


def _queue_own_events(session: Session, child: str, own_head: int) -> int:
    connection = core(session)
    waiting = set(
        connection.execute(select(_OUTBOX.c.lseq).where(_OUTBOX.c.peer == child)).scalars()
    )
    rows = connection.execute(
        select(_EVENTS.c.lseq)
        .where(_EVENTS.c.author == child, _EVENTS.c.aseq > own_head)
        .order_by(_EVENTS.c.aseq)
    ).scalars()
    count = 0
    for lseq in rows:
        if lseq not in waiting:
            enqueue(session, child, lseq)
            count += 1
    return count


# --- the child's side ----------------------------------------------------------------


def own_standing(session: Session, own_id: str) -> ChainHead:
    return author_head(session, own_id)


def judge_standing(
    engine: Engine, session: Session, own_id: str, own: ChainHead, answer: dict[str, Any]
) -> WriteHold | None:
    """Hold or release this node's writes by the parent's answer; the hold now in force."""
    head, head_id = int(answer["head"]), answer.get("head_id")
    why: Why | None
    if head > own.seq:
        agrees = own.seq == 0 or answer.get("at_your_head") == own.id
        why = "recovering" if agrees else "forked"
    else:
        agrees = head == 0 or id_at(session, own_id, head) == head_id
        why = None if agrees else "forked"
    if why is None:
        confirm_chain(engine)
        released = release_writes(engine)
        if released is not None:
            log.warning(
                "own events taken back from the parent; writing again",
                extra={"code": "sync.recovered"},
            )
        return None
    current = write_hold(engine)
    if current is None or current.why != why or current.parent_head != head:
        hold = WriteHold(why, own.seq, head, current.since if current else utcnow())
        hold_writes(engine, hold)
        log.error(
            "own chain behind the parent's copy: writes held"
            if why == "recovering"
            else "own chain forked from the parent's copy: writes held",
            extra={"code": f"sync.{why}"},
        )
        return hold
    return current
