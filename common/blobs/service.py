"""Blob actions: store an upload, ask whether one is held, open one.

``store_blob`` is idempotent by content: the same bytes uploaded twice are one file and
one row (the first name given is kept). The file is written before the row; if the
transaction then rolls back, an unreferenced file stays behind, which is harmless
(it is content-addressed and the next upload of the same bytes reuses it).
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from pathlib import PurePosixPath, PureWindowsPath

from sqlalchemy import select
from sqlmodel import Session, col

from common.blobs import store
from common.blobs.models import Blob
from common.db import core, insert_if_absent
from common.errors import NotFound
from common.node import ThisNode
from common.timeutil import utcnow

MAX_NAME_CHARS = 200
UNNAMED = "未命名文件"
# SQLModel does not declare __table__ (SQLAlchemy's declarative mapping sets it).
_BLOBS = Blob.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class BlobContent:
    blob: Blob
    data: bytes


def clean_name(original_name: str | None) -> str:
    """NFC, no directory part, no control characters, at most 200 characters
    (a long name keeps its extension)."""
    name = unicodedata.normalize("NFC", original_name or "")
    # Browsers on Windows may send C:\fakepath\x.pdf; keep only the last component.
    name = PureWindowsPath(PurePosixPath(name).name).name
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C").strip()
    if not name:
        return UNNAMED
    if len(name) > MAX_NAME_CHARS:
        suffix = PurePosixPath(name).suffix
        suffix = suffix if 0 < len(suffix) <= 10 else ""
        name = name[: MAX_NAME_CHARS - len(suffix)] + suffix
    return name


def store_blob(session: Session, node: ThisNode, data: bytes, original_name: str | None) -> Blob:
    """Check and store an upload; return its row (the existing one if already held)."""
    media_type = store.check_upload(data, store.MAX_BLOB_BYTES)
    digest = store.write_blob(node.settings.blob_dir, data)
    # Another request may be storing the same bytes right now (a scan uploaded twice, or
    # the same file arriving by sync): the first row wins, both requests succeed.
    insert_if_absent(
        session,
        _BLOBS,
        {
            "sha256": digest,
            "size": len(data),
            "media_type": media_type,
            "original_name": clean_name(original_name),
            "received_at": utcnow(),
            "stored": True,
        },
    )
    row = session.get(Blob, digest)
    assert row is not None
    if not row.stored:  # known by hash before; now the file is here
        row.stored = True
        session.add(row)
        session.flush()
    return row


def blob_exists(session: Session, sha256: str) -> bool:
    """True when this node holds the file for ``sha256``."""
    found = session.execute(select(col(Blob.stored)).where(col(Blob.sha256) == sha256)).scalar()
    return bool(found)


def blobs_held(session: Session, hashes: set[str]) -> set[str]:
    """Which of ``hashes`` this node holds, in one query (filing checks every material)."""
    if not hashes:
        return set()
    rows = core(session).execute(
        select(_BLOBS.c.sha256).where(
            _BLOBS.c.sha256.in_(sorted(hashes)), _BLOBS.c.stored.is_(True)
        )
    )
    return {row[0] for row in rows}


def get_blob(session: Session, sha256: str) -> Blob:
    row = session.get(Blob, sha256)
    if row is None or not row.stored:
        raise NotFound("blob.not_found", "没有这个文件", field="sha256")
    return row


def open_blob(session: Session, node: ThisNode, sha256: str) -> BlobContent:
    """The row and the checked content; NotFound when this node does not hold it."""
    row = get_blob(session, sha256)
    try:
        data = store.read_blob(node.settings.blob_dir, sha256)
    except FileNotFoundError:
        raise NotFound(
            "blob.file_missing", "文件记录存在但本节点没有文件内容", field="sha256"
        ) from None
    return BlobContent(row, data)
