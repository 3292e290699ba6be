"""What is read about the network's health for the administrator's screens: every
registered node with its last report (silent ones first, refused events flagged), and
this node's own sync problems (dead letters, held events, rejects) as counts. The
reports themselves are kept by ``common.sync.telemetry``; nothing here writes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlmodel import Session, SQLModel, col

from common import __version__
from common.identity.models import RegistryNode
from common.identity.queries import TIER_ORDER
from common.node import ThisNode
from common.sync.models import DeadLetter, HeldEvent, OutboxEntry, SyncCursor, SyncReject
from common.sync.telemetry import health_overview, node_silent_after


@dataclass(frozen=True)
class NodeRow:
    node_id: str
    name: str
    tier: str
    parent_id: str | None
    state: str  # self / ok / silent / revoked
    last_contact: str | None
    backlog: int | None
    held: int | None
    version: str | None
    clock_offset: str
    violations: dict[str, Any] | None = (
        None  # events refused as not its to write (count, rule, event_id, at)
    )
    writes_held: str | None = None  # "recovering" / "forked": it lost its own last writes
    forks: int = 0  # its events set aside upstream as forks of its chain
    down: int | None = None  # events this node waits to send it (a direct child only)
    last_error: dict[str, str] | None = None  # its last failed sync round: message, at

    @property
    def flagged(self) -> bool:
        return bool(self.violations or self.writes_held or self.forks)

    @property
    def state_label(self) -> str:
        return {"self": "本节点", "ok": "正常", "silent": "失联", "revoked": "已注销"}[self.state]


def _offset_text(ms: int | None) -> str:
    if ms is None:
        return "—"
    return f"{ms / 1000:+.1f} 秒"


def node_overview(session: Session, node: ThisNode) -> list[NodeRow]:
    """Every registered node, silent ones first, then by tier and code; revoked last.
    A node is silent after ``silent_after_rounds`` sync intervals without contact."""
    rows = []
    down = waiting_down(session, node.node_id)
    for entry in health_overview(session, silent_after=node_silent_after(node)):
        if entry["node_id"] == node.node_id:
            state = "self"
        elif entry["revoked"]:
            state = "revoked"
        else:
            state = "silent" if entry["silent"] else "ok"
        rows.append(
            NodeRow(
                node_id=entry["node_id"],
                name=entry["name"],
                tier=entry["tier"],
                parent_id=entry["parent_id"],
                state=state,
                last_contact=entry["last_contact"],
                backlog=entry["backlog"],
                held=entry["held"],
                version=__version__ if state == "self" else entry["version"],
                clock_offset=_offset_text(0 if state == "self" else entry["clock_offset_ms"]),
                violations=entry["violations"],
                writes_held=entry["writes_held"],
                forks=entry["forks"],
                down=down.get(entry["node_id"]),
                last_error=entry["last_error"],
            )
        )
    rank = {"silent": 0, "self": 1, "ok": 2, "revoked": 3}
    return sorted(
        rows,
        key=lambda r: (not r.flagged, rank[r.state], TIER_ORDER.get(r.tier, 9), r.node_id),
    )


def waiting_down(session: Session, own_id: str) -> dict[str, int]:
    """Per direct child: the events this node holds for it that it has not acknowledged."""
    children = select(col(RegistryNode.node_id)).where(col(RegistryNode.parent_id) == own_id)
    acked = (
        select(func.coalesce(func.max(SyncCursor.sent_acked), 0))
        .where(col(SyncCursor.peer) == col(OutboxEntry.peer))
        .scalar_subquery()
    )
    rows = session.execute(
        select(col(OutboxEntry.peer), func.count())
        .where(col(OutboxEntry.peer).in_(children), col(OutboxEntry.seq) > acked)
        .group_by(col(OutboxEntry.peer))
    )
    found = {peer: int(n) for peer, n in rows}
    return {child: found.get(child, 0) for child in session.execute(children).scalars()}


def local_problem_counts(session: Session) -> dict[str, int]:
    def count(model: type[SQLModel]) -> int:
        return int(session.execute(select(func.count()).select_from(model)).scalar_one())

    return {
        "dead_letters": count(DeadLetter),
        "held": count(HeldEvent),
        "rejects": count(SyncReject),
    }
