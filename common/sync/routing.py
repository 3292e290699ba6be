"""Routing: which neighbours need an event, decided locally (DESIGN.md "Routing").

- Every event travels up: the root holds everything.
- Registry, catalogue and calendar records reach every node.
- ``user:{node}:{name}`` reaches the node it concerns.
- A case (and its licences) reaches every node on the paths from the root to its origin
  and to each node it was offered to; ``subject_interest`` keeps those nodes, derived
  from the record's own events so that every node computes the same answer.
- A bad rating's rectification (``rectification:{case_no}``) goes wherever its case
  goes, and the node responsible for it gets the case too.
- Anything else (alerts, reports) only goes up.
An event is never sent back to the neighbour it came from.
"""

from __future__ import annotations

from sqlalchemy import insert, select
from sqlmodel import Session

from common.db import core
from common.identity.models import RegistryNode
from common.ledger.envelope import SignedEvent
from common.ledger.projection import Projection, register_projection
from common.sync.models import SubjectInterest

BROADCAST_SUBJECTS = frozenset({"registry", "catalogue", "calendar"})
ALL = "*"
_INTEREST = SubjectInterest.__table__  # type: ignore[attr-defined]
_NODES = RegistryNode.__table__  # type: ignore[attr-defined]

interest_projection = register_projection(Projection("routing", tables=[_INTEREST]))


def _add_interest(session: Session, subject: str, node_id: str | None) -> None:
    if not node_id:
        return
    exists = core(session).execute(
        select(_INTEREST.c.node_id).where(_INTEREST.c.subject == subject, _INTEREST.c.node_id == node_id)
    ).first()
    if not exists:
        core(session).execute(insert(_INTEREST), {"subject": subject, "node_id": node_id})


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


def interested_in(session: Session, subject: str) -> set[str]:
    """The nodes (besides the root) a record must reach; ``{"*"}`` for every node."""
    if subject in BROADCAST_SUBJECTS:
        return {ALL}
    if subject.startswith("user:"):
        return {subject.split(":")[1]}
    rows = core(session).execute(select(_INTEREST.c.node_id).where(_INTEREST.c.subject == subject))
    return {row[0] for row in rows}


def parent_of(session: Session, node_id: str) -> str | None:
    row = core(session).execute(select(_NODES.c.parent_id).where(_NODES.c.node_id == node_id)).first()
    return row[0] if row else None


def children_of(session: Session, node_id: str) -> list[str]:
    rows = core(session).execute(
        select(_NODES.c.node_id).where(_NODES.c.parent_id == node_id, _NODES.c.revoked_version.is_(None))
        .order_by(_NODES.c.node_id)
    )
    return [row[0] for row in rows]


def path_up(session: Session, node_id: str) -> list[str]:
    """[node, parent, ..., root] by registry parent links."""
    path: list[str] = []
    current: str | None = node_id
    while current is not None and current not in path:
        path.append(current)
        current = parent_of(session, current)
    return path


def in_subtree(session: Session, root_of_subtree: str, node_id: str) -> bool:
    return root_of_subtree in path_up(session, node_id)


def peers_for(session: Session, own_id: str, event: SignedEvent, source: str | None) -> list[str]:
    """The neighbours of ``own_id`` that should receive ``event``."""
    peers: list[str] = []
    parent = parent_of(session, own_id)
    if parent is not None and source != parent:
        peers.append(parent)
    children = [c for c in children_of(session, own_id) if c != source]
    if not children:
        return peers
    wanted = interested_in(session, event.subject)
    if ALL in wanted:
        return peers + children
    # A child needs the event when an interested node lies in the child's subtree.
    via_children: set[str] = set()
    for node_id in wanted:
        path = path_up(session, node_id)
        via_children.update(c for c in children if c in path)
    return peers + [c for c in children if c in via_children]
