"""Identity tables.

``registry_nodes`` and ``registry_keys`` are projections of the root-signed registry
events (subject ``registry``); ``enrolment_tokens`` and ``seen_nonces`` are local to
the node that keeps them and never travel.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column
from sqlmodel import Field, SQLModel

import common.db  # noqa: F401
from common.db import AwareDateTime


class RegistryNode(SQLModel, table=True):
    __tablename__ = "registry_nodes"

    node_id: str = Field(primary_key=True, max_length=12)
    name: str = Field(max_length=100)
    tier: str = Field(max_length=20)
    parent_id: str | None = Field(default=None, max_length=12, index=True)
    added_version: int
    revoked_version: int | None = None
    revoked_reason: str | None = Field(default=None, max_length=300)


class RegistryKey(SQLModel, table=True):
    __tablename__ = "registry_keys"

    node_id: str = Field(primary_key=True, max_length=12)
    kid: str = Field(primary_key=True, max_length=64)
    public_key: str = Field(max_length=64)
    fingerprint: str = Field(max_length=64, index=True)
    valid_from_version: int
    revoked_version: int | None = None


class EnrolmentToken(SQLModel, table=True):
    """A one-time enrolment invitation; only the token's hash is stored."""

    __tablename__ = "enrolment_tokens"

    token_hash: str = Field(primary_key=True, max_length=64)
    node_id: str = Field(max_length=12, index=True)
    name: str = Field(max_length=100)
    tier: str = Field(max_length=20)
    parent_id: str = Field(max_length=12)
    created_by: str = Field(max_length=64)
    created_at: datetime = Field(sa_column=Column(AwareDateTime(), nullable=False))
    expires_at: datetime = Field(sa_column=Column(AwareDateTime(), nullable=False))
    used_at: datetime | None = Field(default=None, sa_column=Column(AwareDateTime()))


class SeenNonce(SQLModel, table=True):
    """Nonces of signed node-to-node requests, kept for the replay window."""

    __tablename__ = "seen_nonces"

    nonce: str = Field(primary_key=True, max_length=64)
    node_id: str = Field(max_length=12)
    seen_at: datetime = Field(sa_column=Column(AwareDateTime(), nullable=False, index=True))
