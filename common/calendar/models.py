"""Calendar tables.

``calendar_days`` is local to each node: seeded at init from the ``chinesecalendar``
package (one row per day of every year it covers), it never travels and is not
rebuilt from the ledger. ``published_years`` is the projection of the root-signed
``calendar`` record: one row per year the county has published, which overrides the
seed for that year on every node.
"""

from __future__ import annotations

import json
from datetime import date

from sqlalchemy import Column, Text
from sqlmodel import Field, SQLModel

import common.db  # noqa: F401  (naming convention before any table)

SEED_SOURCE = "chinesecalendar"


def schedule_json(value: object) -> str:
    """Stored text of a date list or name map: sorted, compact, so equal data is equal text."""
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


class CalendarDay(SQLModel, table=True):
    """One day of a year the package covers, as the package says."""

    __tablename__ = "calendar_days"

    day: date = Field(primary_key=True)
    is_working_day: bool
    name: str | None = Field(default=None, max_length=60)  # 春节, 国庆节调休上班, ...
    source: str = Field(default=SEED_SOURCE, max_length=40)


class PublishedYear(SQLModel, table=True):
    """A year's official schedule as last published by the county; replaces the seed."""

    __tablename__ = "published_years"

    year: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    version: int = Field(index=True)  # sseq of the event in subject "calendar"
    source: str = Field(max_length=300)  # the State Council notice it was taken from
    holidays: str = Field(sa_column=Column(Text, nullable=False))  # JSON list of YYYY-MM-DD
    workdays: str = Field(sa_column=Column(Text, nullable=False))  # JSON list, make-up days
    names: str = Field(sa_column=Column(Text, nullable=False))  # JSON {YYYY-MM-DD: name}
    published_at: str = Field(max_length=40)  # the event's ``at`` (advisory author clock)
