"""Authority tables: what the policy needs beyond the domains' own projections.

``licence_entitlements`` says which licence types the published catalogue has ever
entitled an issuing body to, at which handling level and from which catalogue version.
It is a projection of ``catalogue.batch_published`` that never forgets a row: a
withdrawn or changed matter does not make earlier licences invalid (entitlement is
judged at the time of issue).
"""

from __future__ import annotations

from sqlmodel import Field, SQLModel

import common.db  # noqa: F401  (naming convention before any table)


class LicenceEntitlement(SQLModel, table=True):
    __tablename__ = "licence_entitlements"

    type_code: str = Field(primary_key=True, max_length=40)  # GB/T 36904 licence type
    issuer_uscc: str = Field(primary_key=True, max_length=18)  # the implementing body
    handling_level: str = Field(primary_key=True, max_length=12)  # village | township | county
    since_version: int  # the catalogue version that first entitled it
