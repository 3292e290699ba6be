"""User tables.

``users`` is a projection of the root-written user events (subject
``user:{node_id}:{username}``) and can be rebuilt from the ledger. ``api_tokens`` and
``login_failures`` are local to the node that keeps them: they never travel and are
not touched by a rebuild.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column
from sqlmodel import Field, SQLModel

from common.db import AwareDateTime  # also sets the naming convention before any table


class User(SQLModel, table=True):
    """A person who works at one node; the key is (node id, username)."""

    __tablename__ = "users"

    node_id: str = Field(primary_key=True, max_length=12)
    username: str = Field(primary_key=True, max_length=32)
    display_name: str = Field(max_length=100)
    role: str = Field(max_length=32, index=True)
    department: str | None = Field(default=None, max_length=100)
    # 本行政机关负责人: the head of the organ (a department, a township), who approves
    # extensions of the time limit (行政许可法 §42).
    head: bool = False
    password_hash: str = Field(max_length=255)
    active: bool = True
    # sseq of the last event applied to this record.
    version: int
    # sseq of the event that last set the password for real (not a rehash): tokens
    # issued before it stop working, on every node, without touching local tables.
    password_version: int


class ApiToken(SQLModel, table=True):
    """A bearer token of a local user; only the SHA-256 of its secret is stored."""

    __tablename__ = "api_tokens"

    token_hash: str = Field(primary_key=True, max_length=64)
    node_id: str = Field(max_length=12, index=True)
    username: str = Field(max_length=32)
    label: str = Field(default="", max_length=100)
    password_version: int
    created_at: datetime = Field(sa_column=Column(AwareDateTime(), nullable=False))
    expires_at: datetime | None = Field(default=None, sa_column=Column(AwareDateTime()))
    last_used_at: datetime | None = Field(default=None, sa_column=Column(AwareDateTime()))
    revoked_at: datetime | None = Field(default=None, sa_column=Column(AwareDateTime()))


class LoginFailure(SQLModel, table=True):
    """Consecutive failed logins per username, for the growing wait after wrong passwords.

    Kept for unknown usernames too, so a wait does not tell which names exist.
    """

    __tablename__ = "login_failures"

    node_id: str = Field(primary_key=True, max_length=12)
    username: str = Field(primary_key=True, max_length=64)
    failures: int = 0
    last_failure_at: datetime | None = Field(default=None, sa_column=Column(AwareDateTime()))
    locked_until: datetime | None = Field(default=None, sa_column=Column(AwareDateTime()))
