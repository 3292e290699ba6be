"""Moving material files across a link, before the events that reference them.

Uploads go in chunks to a partial file named by the expected hash, so an interrupted
transfer resumes from what the receiver already has; the file is only admitted to the
blob store when its hash is right and it passes the same type and size checks as an
upload at a window.

Small files (most scans are a few KiB) travel several to a request instead
(``pack_blobs`` / ``receive_blobs``): one signed request carries up to ``BUNDLE_BYTES``
of whole files, each framed by its expected hash and length and admitted under the
same checks. A bundle is all or nothing; an interrupted one is simply sent again, for
the files the receiver still lacks (the sender asks which those are first). Downloads
work the same way the other way round (``bundle_of`` / ``admit_bundle``): the child
asks for the files it lacks, the parent packs the small ones it holds, and the child
admits each file whose bytes match its hash; large files come in chunks.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlmodel import Session

from common.blobs import store
from common.blobs.service import blobs_held, store_blob
from common.errors import DomainError
from common.node import ThisNode

CHUNK_BYTES = 1024 * 1024
SMALL_BLOB_BYTES = 256 * 1024  # a file this size or smaller goes in a bundle
BUNDLE_BYTES = 1024 * 1024  # file bytes per bundle request
_FRAME = 64 + 4  # hex hash, 4-byte big-endian length


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


def receive_chunk(
    session: Session, node: ThisNode, sha256: str, offset: int, chunk: bytes
) -> dict[str, Any]:
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
    return data[offset : offset + length]


def pack_blobs(files: list[tuple[str, bytes]]) -> bytes:
    """A bundle: for each file its hex SHA-256, its length (4 bytes, big-endian) and its bytes."""
    return b"".join(
        sha256.encode("ascii") + len(data).to_bytes(4, "big") + data for sha256, data in files
    )


def unpack_blobs(body: bytes) -> list[tuple[str, bytes]]:
    files: list[tuple[str, bytes]] = []
    at = 0
    while at < len(body):
        if at + _FRAME > len(body):
            raise DomainError("blob.bundle", "文件包格式错误", field="body")
        sha256 = check_hash_text(body[at : at + 64].decode("ascii", "replace"))
        size = int.from_bytes(body[at + 64 : at + _FRAME], "big")
        if size > SMALL_BLOB_BYTES or at + _FRAME + size > len(body):
            raise DomainError("blob.bundle", "文件包格式错误", field="body")
        files.append((sha256, body[at + _FRAME : at + _FRAME + size]))
        at += _FRAME + size
    return files


def bundle_of(node: ThisNode, session: Session, hashes: list[str]) -> tuple[bytes, bool]:
    """The small files among ``hashes`` that this node holds, packed, up to
    ``BUNDLE_BYTES`` of file bytes; and whether it stopped at that limit (ask again for
    the rest). Large files and files not held are left out."""
    wanted = list(dict.fromkeys(check_hash_text(h) for h in hashes))
    held = blobs_held(session, set(wanted))
    files: list[tuple[str, bytes]] = []
    size = 0
    for sha256 in wanted:
        if sha256 not in held:
            continue
        try:
            data = store.read_blob(node.settings.blob_dir, sha256)
        except FileNotFoundError:
            continue
        if len(data) > SMALL_BLOB_BYTES:
            continue
        if files and size + len(data) > BUNDLE_BYTES:
            return pack_blobs(files), True
        files.append((sha256, data))
        size += len(data)
    return pack_blobs(files), False


def admit_bundle(session: Session, node: ThisNode, body: bytes, wanted: set[str]) -> set[str]:
    """The child's side of a downloaded bundle: store each file asked for whose bytes
    match its hash and pass the window's checks; a bad one is left out (the event that
    needs it waits, and the file is asked for again in the next round). The hashes stored."""
    stored: set[str] = set()
    for sha256, data in unpack_blobs(body):
        if sha256 not in wanted or store.sha256_hex(data) != sha256:
            continue
        try:
            with session.begin_nested():
                store_blob(session, node, data, None)
        except DomainError:
            continue
        stored.add(sha256)
    return stored


def receive_blobs(session: Session, node: ThisNode, body: bytes) -> dict[str, Any]:
    """Admit every file of a bundle after the hash, type and size checks; refuse the whole
    bundle (nothing stored: the request's transaction rolls back) if one fails."""
    if len(body) > 2 * BUNDLE_BYTES:
        raise DomainError("blob.too_large", "文件包超过大小限制", field="body", status=413)
    files = unpack_blobs(body)
    held = blobs_held(session, {sha256 for sha256, _ in files})
    stored = 0
    for sha256, data in files:
        if sha256 in held:
            continue
        if store.sha256_hex(data) != sha256:
            raise DomainError("blob.hash_mismatch", "文件内容与摘要不符", field="sha256")
        store_blob(session, node, data, None)
        held.add(sha256)
        stored += 1
    return {"stored": stored, "files": len(files)}
