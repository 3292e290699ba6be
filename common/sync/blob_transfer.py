"""Moving material files across a link, before the events that reference them.

Uploads go in chunks to a partial file named by the expected hash, so an interrupted
transfer resumes from what the receiver already has; the file is only admitted to the
blob store when its hash is right and it passes the same type and size checks as an
upload at a window.
"""

from __future__ import annotations

from pathlib import Path

from sqlmodel import Session

from common.blobs import store
from common.blobs.service import blobs_held, store_blob
from common.errors import DomainError
from common.node import ThisNode

CHUNK_BYTES = 1024 * 1024


def partial_path(node: ThisNode, sha256: str) -> Path:
    folder = node.settings.blob_dir / "partial"
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"{sha256}.part"


def check_hash_text(sha256: str) -> str:
    value = sha256.lower()
    if len(value) != 64 or any(ch not in "0123456789abcdef" for ch in value):
        raise DomainError("blob.hash", "文件摘要应为64位十六进制SHA-256", field="sha256")
    return value


def missing_of(session: Session, hashes: list[str]) -> list[str]:
    wanted = {check_hash_text(h) for h in hashes}
    return sorted(wanted - blobs_held(session, wanted))


def receive_chunk(session: Session, node: ThisNode, sha256: str, offset: int, chunk: bytes) -> dict:
    """Append ``chunk`` at ``offset``; returns the size held and whether the file is complete."""
    sha256 = check_hash_text(sha256)
    if blobs_held(session, {sha256}):
        return {"size": None, "complete": True}
    path = partial_path(node, sha256)
    size = path.stat().st_size if path.exists() else 0
    if offset != size:
        # Tell the sender where to resume; nothing is written out of place.
        return {"size": size, "complete": False}
    if size + len(chunk) > store.MAX_BLOB_BYTES:
        path.unlink(missing_ok=True)
        raise DomainError("blob.too_large", "文件超过大小限制", field="file", status=413)
    with path.open("ab") as handle:
        handle.write(chunk)
    data = path.read_bytes()
    if store.sha256_hex(data) != sha256:
        return {"size": len(data), "complete": False}
    store_blob(session, node, data, None)
    path.unlink(missing_ok=True)
    return {"size": len(data), "complete": True}


def read_chunk(node: ThisNode, sha256: str, offset: int, length: int = CHUNK_BYTES) -> bytes:
    data = store.read_blob(node.settings.blob_dir, check_hash_text(sha256))
    return data[offset:offset + length]
