"""What is read about the network's health for the administrator's screens: every
registered node with its last report (silent ones first, refused events flagged), and
this node's own sync problems (dead letters, held events, rejects) as counts. The
reports themselves are kept by ``common.sync.telemetry``; nothing here writes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlmodel import Session, SQLModel

from common import __version__
from common.identity.queries import TIER_ORDER
from common.node import ThisNode
from common.sync.models import DeadLetter, HeldEvent, SyncReject
from common.sync.telemetry import health_overview


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
    """Every registered node, silent ones first, then by tier and code; revoked last."""
    rows = []
    for entry in health_overview(session):
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
            )
        )
    rank = {"silent": 0, "self": 1, "ok": 2, "revoked": 3}
    return sorted(
        rows,
        key=lambda r: (not r.flagged, rank[r.state], TIER_ORDER.get(r.tier, 9), r.node_id),
    )


def local_problem_counts(session: Session) -> dict[str, int]:
    def count(model: type[SQLModel]) -> int:
        return int(session.execute(select(func.count()).select_from(model)).scalar_one())

    return {
        "dead_letters": count(DeadLetter),
        "held": count(HeldEvent),
        "rejects": count(SyncReject),
    }
