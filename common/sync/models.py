"""Sync tables. All are local to the node: none of them is a projection of the ledger,
except ``subject_interest`` which routing derives from events (and is rebuilt with them)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, LargeBinary, Text
from sqlmodel import Field, SQLModel

import common.db  # noqa: F401  (naming convention before any table)
from common.db import AwareDateTime


class OutboxEntry(SQLModel, table=True):
    """An event waiting to go to one neighbour; written in the event's own transaction."""

    __tablename__ = "sync_outbox"

    peer: str = Field(primary_key=True, max_length=12)
    seq: int = Field(primary_key=True)
    lseq: int = Field(index=True)  # the event's local sequence (events.lseq)


class SyncCursor(SQLModel, table=True):
    """Per neighbour: how far delivery has been acknowledged in each direction.

    ``sent_acked``: the highest outbox seq the neighbour has acknowledged (we send).
    ``received``: the highest of the neighbour's outbox seqs we have applied (pulled from
    the parent, or pushed by a child and acknowledged).
    """

    __tablename__ = "sync_cursors"

    peer: str = Field(primary_key=True, max_length=12)
    sent_acked: int = 0
    received: int = 0
    backfilled: bool = False


class HeldEvent(SQLModel, table=True):
    """An event that arrived before its predecessor (or its blob); applied when the gap closes."""

    __tablename__ = "sync_held"

    event_id: str = Field(primary_key=True, max_length=64)
    raw: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    waiting_for: str = Field(max_length=200)
    from_peer: str | None = Field(default=None, max_length=12)
    held_at: datetime = Field(sa_column=Column(AwareDateTime(), nullable=False))


class DeadLetter(SQLModel, table=True):
    """An event refused by validation: kept for administrators, never retried."""

    __tablename__ = "sync_dead_letters"

    id: int | None = Field(default=None, primary_key=True)
    event_id: str = Field(max_length=64, index=True)
    code: str = Field(max_length=64)
    reason: str = Field(max_length=500)
    from_peer: str | None = Field(default=None, max_length=12)
    raw: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    received_at: datetime = Field(sa_column=Column(AwareDateTime(), nullable=False))


class SyncReject(SQLModel, table=True):
    """What a neighbour told us it refused of ours (the sender's side of a dead letter)."""

    __tablename__ = "sync_rejects"

    id: int | None = Field(default=None, primary_key=True)
    peer: str = Field(max_length=12)
    event_id: str = Field(max_length=64)
    code: str = Field(max_length=64)
    reason: str = Field(max_length=500)
    reported_at: datetime = Field(sa_column=Column(AwareDateTime(), nullable=False))


class SubjectInterest(SQLModel, table=True):
    """Nodes a record must reach besides the root: a case's origin and every node it was
    offered to (custodians), derived from the record's events."""

    __tablename__ = "subject_interest"

    subject: str = Field(primary_key=True, max_length=120)
    node_id: str = Field(primary_key=True, max_length=12)


class NodeHealth(SQLModel, table=True):
    """Telemetry a parent records on each sync, relayed up so the root sees every node."""

    __tablename__ = "node_health"

    node_id: str = Field(primary_key=True, max_length=12)
    reported_by: str = Field(max_length=12)
    last_contact: datetime = Field(sa_column=Column(AwareDateTime(), nullable=False))
    backlog: int = 0
    held: int = 0
    version: str = Field(default="", max_length=40)
    clock_offset_ms: int = 0
    detail: str | None = Field(default=None, sa_column=Column(Text))
