"""Routing: which neighbours need an event, decided locally (DESIGN.md "Routing").

- Every event travels up: the root holds everything.
- Registry, catalogue and calendar records reach every node.
- ``user:{node}:{name}`` reaches the node it concerns.
- A case (and its licences) reaches every node on the paths from the root to its origin
  and to each node it was offered to; ``subject_interest`` keeps those nodes, derived
  from the record's own events so that every node computes the same answer.
- A bad rating's rectification (``rectification:{case_no}``) goes wherever its case
  goes, and the node responsible for it gets the case too; so does a 告知承诺 case's
  verification chain (``verification:{case_no}``), opened by its decision.
- A 督办 (``supervision:{case_no}:{issuer}:{n}``) reaches the node it is addressed to
  and the node that issued it.
- Anything else (alerts, reports) only goes up.
An event is never sent back to the neighbour it came from.

Hot path: the tree (parents and live children) is read once per registry version and
cached per engine, keyed on the registry's head event, which changes with every node
added or revoked; a batch being received preloads the interest of its subjects
(``preload_interest``) and keeps it current as its events add interest.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, insert, select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from common.db import core
from common.identity.models import RegistryNode
from common.ledger.envelope import SignedEvent
from common.ledger.models import Event
from common.ledger.projection import Projection, register_projection
from common.ledger.write_behind import write_behind
from common.sync.models import SubjectInterest

BROADCAST_SUBJECTS = frozenset({"registry", "catalogue", "calendar"})
ALL = "*"
_INTEREST = SubjectInterest.__table__  # type: ignore[attr-defined]
_NODES = RegistryNode.__table__  # type: ignore[attr-defined]
_EVENTS = Event.__table__  # type: ignore[attr-defined]
_REGISTRY_HEAD = (
    select(_EVENTS.c.sseq, _EVENTS.c.id)
    .where(_EVENTS.c.subject == "registry")
    .order_by(_EVENTS.c.sseq.desc())
    .limit(1)
)
_INSERT_INTEREST = insert(_INTEREST)
_HAS_INTEREST = select(_INTEREST.c.node_id).where(
    _INTEREST.c.subject == bindparam("subject"), _INTEREST.c.node_id == bindparam("node_id")
)
_INTEREST_OF = select(_INTEREST.c.node_id).where(_INTEREST.c.subject == bindparam("subject"))
_INTEREST_KEY = (
    "onetrip.sync.interest"  # session.info: {subject: {node ids}} while a batch is received
)
_TREE_KEY = "onetrip.sync.tree"  # session.info: the tree, while a batch is received

interest_projection = register_projection(Projection("routing", tables=[_INTEREST]))


def _add_interest(session: Session, subject: str, node_id: str | None) -> None:
    if not node_id:
        return
    known = session.info.get(_INTEREST_KEY, {}).get(subject)
    if known is not None:
        exists = node_id in known
    else:
        exists = (
            core(session).execute(_HAS_INTEREST, {"subject": subject, "node_id": node_id}).first()
            is not None
        )
    if exists:
        return
    buffer = write_behind(session) if known is not None else None
    if buffer is not None:  # a batch being applied: written with the batch's other rows
        buffer.insert(_INSERT_INTEREST, {"subject": subject, "node_id": node_id})
    else:
        core(session).execute(_INSERT_INTEREST, {"subject": subject, "node_id": node_id})
    if known is not None:
        known.add(node_id)


def preload_interest(session: Session, subjects: Iterable[str]) -> None:
    """Remember the interest of these subjects for the rest of the batch (one query);
    ``end_batch_caches`` forgets it."""
    cache = session.info.setdefault(_INTEREST_KEY, {})
    wanted = sorted(
        {s for s in subjects if s not in BROADCAST_SUBJECTS and not s.startswith("user:")}
        - set(cache)
    )
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        for subject in chunk:
            cache[subject] = set()
        for subject, node_id in core(session).execute(
            select(_INTEREST.c.subject, _INTEREST.c.node_id).where(_INTEREST.c.subject.in_(chunk))
        ):
            cache[subject].add(node_id)
    session.info[_TREE_KEY] = tree(session)


def end_batch_caches(session: Session) -> None:
    session.info.pop(_INTEREST_KEY, None)
    session.info.pop(_TREE_KEY, None)


@interest_projection.on("case.filed")
def _case_filed(session: Session, event: SignedEvent) -> None:
    _add_interest(session, event.subject, event.body.get("origin_node") or event.author)


@interest_projection.on("handoff.offered")
def _handoff_offered(session: Session, event: SignedEvent) -> None:
    _add_interest(session, event.subject, event.body.get("to"))


@interest_projection.on("licence.issued")
def _licence_issued(session: Session, event: SignedEvent) -> None:
    # A licence goes wherever its case goes: the origin village delivers and verifies it.
    case_subject = f"case:{event.body.get('case_no')}"
    for node_id in interested_in(session, case_subject):
        _add_interest(session, event.subject, node_id)
    _add_interest(session, event.subject, event.author)


@interest_projection.on("case.decided")
def _case_decided(session: Session, event: SignedEvent) -> None:
    # A 告知承诺 approval is verified later by the deciding node, on a chain of its own
    # that must reach the village holding the delivered case.
    if not event.body.get("verification"):
        return
    verification = "verification:" + event.subject.removeprefix("case:")
    for node_id in interested_in(session, event.subject):
        _add_interest(session, verification, node_id)
    _add_interest(session, verification, event.author)


@interest_projection.on("case.rated")
def _case_rated(session: Session, event: SignedEvent) -> None:
    # A bad rating names the node that works its rectification (a village case's
    # township, or the deciding node): it needs the rating and the case, and the
    # rectification's own chain reaches everyone the case reaches.
    task = event.body.get("rectification")
    if not task:
        return
    _add_interest(session, event.subject, task.get("responsible_node"))
    rectification = "rectification:" + event.subject.removeprefix("case:")
    for node_id in interested_in(session, event.subject):
        _add_interest(session, rectification, node_id)
    _add_interest(session, rectification, event.author)


@interest_projection.on("supervision.issued")
def _supervision_issued(session: Session, event: SignedEvent) -> None:
    _add_interest(session, event.subject, event.body.get("to"))
    _add_interest(session, event.subject, event.author)


def interested_in(session: Session, subject: str) -> set[str]:
    """The nodes (besides the root) a record must reach; ``{"*"}`` for every node."""
    if subject in BROADCAST_SUBJECTS:
        return {ALL}
    if subject.startswith("user:"):
        return {subject.split(":")[1]}
    known = session.info.get(_INTEREST_KEY, {}).get(subject)
    if known is not None:
        return set(known)
    return {row[0] for row in core(session).execute(_INTEREST_OF, {"subject": subject})}


@dataclass(frozen=True)
class Tree:
    """The registry's parent links (every node) and live children (revoked left out)."""

    parent: dict[str, str | None]
    children: dict[str, list[str]]

    def path_up(self, node_id: str) -> list[str]:
        path: list[str] = []
        current: str | None = node_id
        while current is not None and current not in path:
            path.append(current)
            current = self.parent.get(current)
        return path


# Per engine: (registry head (sseq, id), Tree). A weak map, so a closed node's engine goes.
_TREES: weakref.WeakKeyDictionary[Engine, tuple[tuple[Any, ...], Tree]] = (
    weakref.WeakKeyDictionary()
)


def tree(session: Session) -> Tree:
    """The tree as of the registry this transaction sees (one small query when cached)."""
    held: Tree | None = session.info.get(_TREE_KEY)
    if held is not None:
        return held
    connection = core(session)
    head = tuple(connection.execute(_REGISTRY_HEAD).first() or (0, None))
    engine = connection.engine
    cached = _TREES.get(engine)
    if cached is not None and cached[0] == head:
        return cached[1]
    parent: dict[str, str | None] = {}
    children: dict[str, list[str]] = {}
    for node_id, parent_id, revoked in connection.execute(
        select(_NODES.c.node_id, _NODES.c.parent_id, _NODES.c.revoked_version).order_by(
            _NODES.c.node_id
        )
    ):
        parent[node_id] = parent_id
        if parent_id is not None and revoked is None:
            children.setdefault(parent_id, []).append(node_id)
    result = Tree(parent=parent, children=children)
    _TREES[engine] = (head, result)
    return result


def parent_of(session: Session, node_id: str) -> str | None:
    return tree(session).parent.get(node_id)


def children_of(session: Session, node_id: str) -> list[str]:
    return list(tree(session).children.get(node_id, []))


def path_up(session: Session, node_id: str) -> list[str]:
    """[node, parent, ..., root] by registry parent links."""
    return tree(session).path_up(node_id)


def in_subtree(session: Session, root_of_subtree: str, node_id: str) -> bool:
    return root_of_subtree in path_up(session, node_id)


def peers_for(session: Session, own_id: str, event: SignedEvent, source: str | None) -> list[str]:
    """The neighbours of ``own_id`` that should receive ``event``."""
    nodes = tree(session)
    peers: list[str] = []
    parent = nodes.parent.get(own_id)
    if parent is not None and source != parent:
        peers.append(parent)
    children = [c for c in nodes.children.get(own_id, []) if c != source]
    if not children:
        return peers
    wanted = interested_in(session, event.subject)
    if ALL in wanted:
        return peers + children
    # A child needs the event when an interested node lies in the child's subtree.
    via_children: set[str] = set()
    for node_id in wanted:
        path = nodes.path_up(node_id)
        via_children.update(c for c in children if c in path)
    return peers + [c for c in children if c in via_children]
