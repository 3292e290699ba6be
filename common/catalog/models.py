"""Catalogue tables.

``matter_drafts`` is the county's local working copy (imported, edited, not yet
published); it never travels. ``catalogue_batches`` and ``published_matters`` are
projections of the root-signed ``catalogue`` record and exist on every node.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

from sqlalchemy import Column, Text
from sqlmodel import Field, SQLModel

import common.db  # noqa: F401  (naming convention before any table)
from common.catalog.schema import Matter
from common.db import AwareDateTime


def matter_data_json(data: dict[str, object]) -> str:
    """The stored text of a matter: sorted keys, compact, so equal data is equal text."""
    return json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


class MatterDraft(SQLModel, table=True):
    """A matter as imported by a county administrator, before publication."""

    __tablename__ = "matter_drafts"

    implementation_code: str = Field(primary_key=True, max_length=33)
    basic_code: str = Field(max_length=12, index=True)
    name: str = Field(max_length=100)
    window: str = Field(max_length=20, index=True)
    # The whole Matter as canonical JSON (sorted keys), so "unchanged" is a string compare.
    data: str = Field(sa_column=Column(Text, nullable=False))
    imported_at: datetime = Field(sa_column=Column(AwareDateTime(), nullable=False))
    updated_by: str = Field(max_length=64)

    @property
    def imported_at_utc(self) -> datetime:
        # SQLite hands AwareDateTime() back naive; what was stored is UTC.
        moment = self.imported_at
        return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)

    def to_matter(self) -> Matter:
        return Matter.model_validate(json.loads(self.data))


class CatalogueBatch(SQLModel, table=True):
    """One published batch (成熟一批、公布一批): counts as they were at publication."""

    __tablename__ = "catalogue_batches"

    batch_no: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    name: str = Field(max_length=100)
    published_on: str = Field(max_length=10)  # YYYY-MM-DD, the date announced to the public
    version: int = Field(index=True)  # sseq of the event in subject "catalogue"
    published_at: str = Field(max_length=40)  # the event's ``at`` (advisory author clock)
    matter_count: int
    one_trip_count: int


class PublishedMatter(SQLModel, table=True):
    """The current published version of a matter; a later batch replaces the row."""

    __tablename__ = "published_matters"

    implementation_code: str = Field(primary_key=True, max_length=33)
    basic_code: str = Field(max_length=12, index=True)
    name: str = Field(max_length=100)
    window: str = Field(max_length=20, index=True)
    handling_level: str = Field(max_length=20)
    case_type: str = Field(max_length=4)
    required_visits: int
    batch_no: int = Field(index=True)
    version: int  # sseq of the event that published this version
    data: str = Field(sa_column=Column(Text, nullable=False))
    withdrawn: bool = False
    withdrawn_version: int | None = None
    withdrawn_reason: str | None = Field(default=None, max_length=300)

    def to_matter(self) -> Matter:
        return Matter.model_validate(json.loads(self.data))
