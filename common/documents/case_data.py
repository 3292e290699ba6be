"""What a case document needs, read from the projections and the case's signed events.

Dates and facts not kept on the projection rows (the refusal's date, who signed for a
delivery) come from the body of the event that recorded them, the same bytes every
node holds. A document that does not fit the case's state is refused with a 409 naming
the state, so a refusal notice of an accepted case is never printed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlmodel import Session, col

from common.authority.reading import require_case_reader
from common.cases.access import case_subject, load_case
from common.cases.models import Case
from common.cases.states import STATE_LABELS, CaseState
from common.catalog.models import PublishedMatter
from common.catalog.schema import Matter
from common.errors import Conflict
from common.identity.models import RegistryNode
from common.ledger.envelope import parse_event
from common.ledger.models import Event
from common.node import ThisNode
from common.users.roles import Actor, Role, require_role

# Everyone with a staff role reads case documents; a department only through its tasks.
READERS = tuple(Role)


@dataclass(frozen=True)
class CaseContext:
    case: Case
    matter: Matter | None  # the published matter (None if this node no longer holds it)
    office: str  # issuing office: the matter's implementing body
    window: str  # the node where the paper is printed (its registry name)

    @property
    def addressee(self) -> str:
        return self.case.applicant_name

    @property
    def id_masked(self) -> str:
        return self.case.applicant_id_masked


def node_name(session: Session, node_id: str) -> str:
    entry = session.get(RegistryNode, node_id)
    return entry.name if entry is not None else node_id


def published_matter_or_none(session: Session, code: str) -> Matter | None:
    row = session.get(PublishedMatter, code)
    return row.to_matter() if row is not None else None


def require_reader(session: Session, node: ThisNode, actor: Actor, case: Case) -> None:
    """Any staff role; a department reviewer only for the cases the reading policy allows."""
    require_role(actor, *READERS)
    require_case_reader(session, node, actor, case)


def case_context(
    session: Session, node: ThisNode, case_no: str, actor: Actor | None = None
) -> CaseContext:
    case = load_case(session, case_no)
    if actor is not None:
        require_reader(session, node, actor, case)
    matter = published_matter_or_none(session, case.matter_code)
    window = node_name(session, node.node_id)
    office = matter.implementing_body if matter is not None else window
    return CaseContext(case=case, matter=matter, office=office, window=window)


def event_body(session: Session, node: ThisNode, case_no: str, kind: str) -> dict[str, Any] | None:
    """The body of the case's latest event of ``kind``, or None."""
    raw = session.execute(
        select(col(Event.raw))
        .where(col(Event.subject) == case_subject(case_no), col(Event.kind) == kind)
        .order_by(col(Event.sseq).desc())
        .limit(1)
    ).scalar()
    return parse_event(node.network_id, raw).body if raw is not None else None


def not_applicable(case: Case, document: str, why: str) -> Conflict:
    """409: the case's state does not call for this document (field ``kind``)."""
    label = STATE_LABELS.get(CaseState(case.state), case.state)
    return Conflict(
        "document.not_applicable",
        f"案件 {case.case_no} 当前状态为“{label}”，{why}，不能出具{document}",
        field="kind",
    )
