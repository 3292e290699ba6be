"""A node that lost its own writes stops writing until it has them back.

When a node's own author chain is shorter than what its parent holds of it (a disk
that lost its last writes, a restore from a backup), the next event it wrote would
reuse a chain position — and a case number — that already exists upstream: a fork.
``common.sync.recovery`` finds this out and holds the node's writes here; every
``append_event`` of the node asks ``refuse_if_held`` first. Held per engine (the
node's database), in memory: at start the node asks its parent again.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sqlalchemy.engine import Engine
from sqlmodel import Session

from common.errors import Conflict

Why = Literal["recovering", "forked"]


@dataclass(frozen=True)
class WriteHold:
    why: Why
    own_head: int  # the last position of this node's own chain held here
    parent_head: int  # ... and at the parent
    since: datetime

    @property
    def message(self) -> str:
        if self.why == "recovering":
            return (
                f"本节点丢失了最近写入的数据（本地记录到第{self.own_head}条，上级已有第"
                f"{self.parent_head}条），正在从上级取回；取回前暂停办理，完成后自动恢复。"
            )
        return (
            "本节点的记录与上级已有的记录冲突（在丢失数据后又写入了新记录），已暂停办理。"
            "请勿继续使用本节点，联系县管理员处理。"
        )

    @property
    def next_step(self) -> str:
        if self.why == "recovering":
            return "保持与上级联网，下一次同步完成后自动恢复办理"
        return "县管理员从上级节点的备份恢复本节点数据后重新启动"

    def as_dict(self) -> dict[str, object]:
        return {
            "held": True,
            "why": self.why,
            "own_head": self.own_head,
            "parent_head": self.parent_head,
            "since": self.since.isoformat(),
            "message": self.message,
            "next": self.next_step,
        }


_HOLDS: weakref.WeakKeyDictionary[Engine, WriteHold] = weakref.WeakKeyDictionary()
# Engines whose own chain the parent has confirmed since this process opened them. A
# running node cannot lose what it committed — only a restart (a crash, a restore) can —
# so once confirmed, sync rounds need not ask again until the next start.
_CONFIRMED: weakref.WeakSet[Engine] = weakref.WeakSet()


def confirm_chain(engine: Engine) -> None:
    _CONFIRMED.add(engine)


def chain_confirmed(engine: Engine) -> bool:
    return engine in _CONFIRMED


def hold_writes(engine: Engine, hold: WriteHold) -> None:
    _HOLDS[engine] = hold


def release_writes(engine: Engine) -> WriteHold | None:
    return _HOLDS.pop(engine, None)


def write_hold(engine: Engine) -> WriteHold | None:
    return _HOLDS.get(engine)


class WritesHeld(Conflict):
    def __init__(self, hold: WriteHold) -> None:
        super().__init__("node.writes_held", hold.message, field=None)
        self.hold = hold


def refuse_if_held(session: Session) -> None:
    """Raise ``WritesHeld`` when this session's node may not extend its own chain now."""
    bind = session.get_bind()
    engine = bind if isinstance(bind, Engine) else bind.engine
    hold = _HOLDS.get(engine)
    if hold is not None:
        raise WritesHeld(hold)
