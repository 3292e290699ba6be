"""The local table of blobs this node knows (not rebuilt from the ledger)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column
from sqlmodel import Field, SQLModel

import common.db  # noqa: F401  (naming convention before any table)
from common.db import AwareDateTime


class Blob(SQLModel, table=True):
    __tablename__ = "blobs"

    sha256: str = Field(primary_key=True, max_length=64)  # lower-case hex of the content
    size: int
    media_type: str = Field(max_length=40)  # detected from the content's magic bytes
    original_name: str = Field(max_length=200)  # NFC, as the first uploader named it
    received_at: datetime = Field(sa_column=Column(AwareDateTime(), nullable=False))
    # False when the hash is known (e.g. from a case event) but the file is not here yet.
    stored: bool = True
