"""The supervision projection's table, rebuilt from ``supervision:*`` events."""

from __future__ import annotations

from sqlmodel import Field, SQLModel

import common.db  # noqa: F401  (naming convention before any table)


class Supervision(SQLModel, table=True):
    """One 督办 notice and its answer."""

    __tablename__ = "supervisions"

    notice_id: str = Field(primary_key=True, max_length=80)  # {case_no}:{issuer}:{n}
    case_no: str = Field(max_length=40, index=True)
    issuer_node: str = Field(max_length=12, index=True)
    issued_by: str = Field(max_length=64)
    issued_on: str = Field(max_length=10)
    to_node: str = Field(max_length=12, index=True)  # the case's custodian when issued
    message: str = Field(max_length=500)
    reply_by: str = Field(max_length=10)  # the date the answer is due
    state: str = Field(default="open", max_length=10)  # open | answered
    answer: str | None = Field(default=None, max_length=500)
    answered_by: str | None = Field(default=None, max_length=64)
    answered_on: str | None = Field(default=None, max_length=10)
