"""Rating and rectification projection tables.

``ratings`` and the opening of a ``rectifications`` row come from ``case.rated`` on the
case's chain; the call-back and the closing come from the rectification's own chain
``rectification:{case_no}``, written by the responsible node only.
"""

from __future__ import annotations

from sqlmodel import Field, SQLModel

import common.db  # noqa: F401  (naming convention before any table)


class Rating(SQLModel, table=True):
    """The resident's rating of a delivered case: one per case."""

    __tablename__ = "ratings"

    case_no: str = Field(primary_key=True, max_length=40)
    level: int  # 1 非常满意 … 5 非常不满意
    label: str = Field(max_length=10)
    comment: str = Field(default="", max_length=500)
    real_name: bool = False  # the resident gave their name (a bad one is then called back)
    rated_on: str = Field(max_length=10, index=True)  # Asia/Shanghai date


class Rectification(SQLModel, table=True):
    """整改: the task a bad rating opens, with its deadline and call-back record."""

    __tablename__ = "rectifications"

    task_id: str = Field(primary_key=True, max_length=60)  # {case_no}/rectification/1
    case_no: str = Field(max_length=40, index=True)
    # The one node that writes ``rectification:{case_no}``: the deciding node, or the
    # township above a village that decided (a village has no rectifying staff).
    responsible_node: str = Field(max_length=12, index=True)
    opened_on: str = Field(max_length=10)
    due_on: str = Field(max_length=10, index=True)
    state: str = Field(default="open", max_length=10)  # open | closed
    callback_required: bool = False  # real-name bad ratings are always called back
    callback_done: bool = False
    callback_note: str | None = Field(default=None, max_length=500)
    callback_by: str | None = Field(default=None, max_length=64)
    callback_on: str | None = Field(default=None, max_length=10)
    closed_on: str | None = Field(default=None, max_length=10)
    closed_by: str | None = Field(default=None, max_length=64)
    result: str | None = Field(default=None, max_length=500)
