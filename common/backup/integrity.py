"""Is the node's database file whole? SQLite's ``PRAGMA quick_check`` answers.

``quick_check`` walks every page and b-tree (what a torn or overwritten page breaks)
without the slower index-to-table comparison of ``integrity_check``: a few seconds
for a county-sized file. PostgreSQL guards its own pages (``initdb --data-checksums``);
there the check only proves the server answers.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sqlalchemy import text
from sqlalchemy.engine import Engine

from common.db import is_sqlite
from common.timeutil import utcnow

Status = Literal["ok", "failed", "unchecked"]

RESTORE_ADVICE = (
    "数据库文件已损坏。请停止本节点，用 onetrip restore 把最近一次备份恢复到新的数据目录，"
    "再用新目录启动；节点会先从上级取回备份之后本节点写过的数据，然后才继续办理。"
)
MAX_PROBLEMS = 5  # quick_check lists one line per damaged page; the first few say enough


@dataclass(frozen=True)
class Integrity:
    status: Status
    detail: str  # SQLite's own words: pages and tables, never row values
    advice: str | None
    checked_at: datetime

    @property
    def failed(self) -> bool:
        return self.status == "failed"

    def as_dict(self) -> dict[str, str | None]:
        return {
            "status": self.status,
            "detail": self.detail,
            "advice": self.advice,
            "checked_at": self.checked_at.isoformat(),
        }


def check_integrity(engine: Engine) -> Integrity:
    if not is_sqlite(engine):
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        return Integrity("unchecked", "PostgreSQL 自行校验数据页", None, utcnow())
    # A raw connection in autocommit: a read outside any transaction, so the engine's
    # BEGIN IMMEDIATE does not queue the check behind a writer.
    raw = engine.raw_connection()
    try:
        problems = [str(row[0]) for row in raw.execute(f"PRAGMA quick_check({MAX_PROBLEMS})")]
    except sqlite3.DatabaseError as exc:
        # "database disk image is malformed", "file is not a database", ...
        return Integrity("failed", str(exc)[:300], RESTORE_ADVICE, utcnow())
    finally:
        raw.close()
    if problems == ["ok"]:
        return Integrity("ok", "ok", None, utcnow())
    return Integrity("failed", "; ".join(problems)[:300], RESTORE_ADVICE, utcnow())
