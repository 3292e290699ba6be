"""Calendar projection: the county's published year schedules.

The handler reads only the event (body, ``sseq``, ``at``), never the wall clock, so a
rebuild gives identical rows on every node. A later record for a year replaces the
earlier one (the State Council occasionally corrects a schedule). The body is taken
as signed; ``service.working_calendar`` validates it again when it builds a calendar.
"""

from __future__ import annotations

from sqlalchemy import delete, insert
from sqlmodel import Session

from common.calendar.models import PublishedYear, schedule_json
from common.ledger.envelope import SignedEvent
from common.ledger.projection import Projection, register_projection

CALENDAR_SUBJECT = "calendar"
YEAR_PUBLISHED = "calendar.year_published"

calendar_projection = register_projection(
    Projection("calendar", tables=[PublishedYear.__table__])  # type: ignore[attr-defined]
)


@calendar_projection.on(YEAR_PUBLISHED)
def _year_published(session: Session, event: SignedEvent) -> None:
    body = event.body
    year = body["year"]
    session.execute(delete(PublishedYear).where(PublishedYear.year == year))
    session.execute(
        insert(PublishedYear).values(
            year=year,
            version=event.envelope["sseq"],
            source=body["source"],
            holidays=schedule_json(sorted(body["holidays"])),
            workdays=schedule_json(sorted(body["workdays"])),
            names=schedule_json(body.get("names") or {}),
            published_at=event.envelope["at"],
        )
    )
