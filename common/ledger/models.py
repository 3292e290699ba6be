"""Ledger tables: the events themselves and the quarantine for forks and rejects."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, Index, LargeBinary, UniqueConstraint
from sqlmodel import Field, SQLModel

import common.db  # noqa: F401  (naming convention before any table)
from common.db import AwareDateTime


class Event(SQLModel, table=True):
    """One signed event, stored as its exact canonical bytes.

    ``lseq`` is this node's local arrival order: projections are (re)built in it and
    outboxes refer to it. The other columns repeat envelope fields for lookups.
    """

    __tablename__ = "events"
    __table_args__ = (
        UniqueConstraint("author", "aseq"),
        UniqueConstraint("subject", "sseq"),
        Index("ix_events_kind", "kind"),
    )

    lseq: int | None = Field(default=None, primary_key=True)
    id: str = Field(max_length=64, unique=True)
    author: str = Field(max_length=32)
    kid: str = Field(max_length=64)
    aseq: int
    aprev: str | None = Field(default=None, max_length=64)
    subject: str = Field(max_length=120)
    sseq: int
    sprev: str | None = Field(default=None, max_length=64)
    kind: str = Field(max_length=64)
    at: str = Field(max_length=40)
    raw: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    received_at: datetime = Field(sa_column=Column(AwareDateTime(), nullable=False))


class QuarantinedEvent(SQLModel, table=True):
    """An event refused or set aside: a fork, a bad signature, an unknown key.

    Forks are never resolved silently: both ids are kept and the county is told.
    """

    __tablename__ = "quarantined_events"

    qid: int | None = Field(default=None, primary_key=True)
    event_id: str = Field(max_length=64, index=True)
    reason_code: str = Field(max_length=64)
    reason: str = Field(max_length=500)
    conflicts_with: str | None = Field(default=None, max_length=64)
    raw: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    detected_at: datetime = Field(sa_column=Column(AwareDateTime(), nullable=False))
