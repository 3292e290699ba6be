"""The ``licences`` projection table, rebuilt from ``licence:*`` events.

There is no serial counter table: the next serial of an issuer and licence type is
derived from the rows already here, under the author's writer lock.
The holder's identity number is kept whole (无证明 look-ups match on it); every API
answer shows ``holder_id_masked``.
"""

from __future__ import annotations

from sqlalchemy import Column, Index, Text
from sqlmodel import Field, SQLModel

import common.db  # noqa: F401  (naming convention before any table)


class Licence(SQLModel, table=True):
    __tablename__ = "licences"
    __table_args__ = (
        Index("ix_licences_holder_type", "holder_id", "type_code"),
        Index("ix_licences_issuer_type_serial", "issuer_uscc", "type_code", "serial"),
    )

    licence_id: str = Field(primary_key=True, max_length=120)  # GB/T 36904 identifier
    type_code: str = Field(max_length=40)
    serial: str = Field(max_length=40)  # the identifier's serial part, e.g. 2026000001
    name: str = Field(max_length=100)  # e.g. 食品经营许可证

    holder_kind: str = Field(max_length=12)  # person | enterprise
    holder_name: str = Field(max_length=100)
    holder_id: str = Field(max_length=18)
    holder_id_masked: str = Field(max_length=18)

    issuer_node: str = Field(max_length=12, index=True)  # the node that signed it
    issuer_body: str = Field(max_length=100)  # 颁发机构 (the matter's implementing body)
    issuer_uscc: str = Field(max_length=18)

    valid_from: str = Field(max_length=10)  # Asia/Shanghai date
    valid_to: str | None = Field(default=None, max_length=10)  # None: long-term (长期)
    data: str = Field(sa_column=Column(Text, nullable=False))  # JSON object, sorted keys
    case_no: str | None = Field(default=None, max_length=40, index=True)
    issued_event_id: str = Field(max_length=64)  # the licence.issued event: the signed original

    state: str = Field(default="valid", max_length=10)  # valid | revoked
    revoked_reason: str | None = Field(default=None, max_length=500)
    revoked_on: str | None = Field(default=None, max_length=10)
