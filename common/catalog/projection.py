"""Catalogue projection: batches and the current published matters.

Handlers read only the event (body, ``sseq``, ``at``), never the wall clock or other
local state beyond the rows they own, so a rebuild gives identical rows on every node.
The matter data is taken as signed, without re-validation: a node running an older
schema must still apply the county's catalogue.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, insert, update
from sqlmodel import Session, col

from common.catalog.models import CatalogueBatch, PublishedMatter, matter_data_json
from common.ledger.envelope import SignedEvent
from common.ledger.projection import Projection, register_projection

CATALOGUE_SUBJECT = "catalogue"
BATCH_PUBLISHED = "catalogue.batch_published"
MATTER_WITHDRAWN = "catalogue.matter_withdrawn"

catalogue_projection = register_projection(
    Projection(
        "catalogue",
        tables=[CatalogueBatch.__table__, PublishedMatter.__table__],  # type: ignore[attr-defined]
    )
)


def _published_row(matter: dict[str, Any], batch_no: int, version: int) -> dict[str, Any]:
    return {
        "implementation_code": matter["implementation_code"],
        "basic_code": matter["basic_code"],
        "name": matter["name"],
        "window": matter["window"],
        "handling_level": matter["handling_level"],
        "case_type": matter["case_type"],
        "required_visits": matter["required_visits"],
        "batch_no": batch_no,
        "version": version,
        "data": matter_data_json(matter),
        "withdrawn": False,
        "withdrawn_version": None,
        "withdrawn_reason": None,
    }


@catalogue_projection.on(BATCH_PUBLISHED)
def _batch_published(session: Session, event: SignedEvent) -> None:
    body = event.body
    version = event.envelope["sseq"]
    matters = body["matters"]
    session.execute(
        insert(CatalogueBatch).values(
            batch_no=body["batch_no"],
            name=body["name"],
            published_on=body["published_on"],
            version=version,
            published_at=event.envelope["at"],
            matter_count=len(matters),
            one_trip_count=sum(1 for m in matters if m["required_visits"] <= 1),
        )
    )
    codes = [m["implementation_code"] for m in matters]
    # A code published again replaces its earlier version (chunks keep the IN list short).
    for start in range(0, len(codes), 500):
        chunk = codes[start : start + 500]
        session.execute(
            delete(PublishedMatter).where(col(PublishedMatter.implementation_code).in_(chunk))
        )
    if matters:
        session.execute(
            insert(PublishedMatter), [_published_row(m, body["batch_no"], version) for m in matters]
        )


@catalogue_projection.on(MATTER_WITHDRAWN)
def _matter_withdrawn(session: Session, event: SignedEvent) -> None:
    session.execute(
        update(PublishedMatter)
        .where(col(PublishedMatter.implementation_code) == event.body["implementation_code"])
        .values(
            withdrawn=True,
            withdrawn_version=event.envelope["sseq"],
            withdrawn_reason=event.body.get("reason"),
        )
    )
