"""Content-addressed files on disk and the checks every upload passes.

A blob lives at ``blob_dir/ab/cdef...`` (the first two hex digits of its SHA-256 as a
directory, the rest as the file name), so a directory never holds more than a few
thousand files. Writes go to a temporary file in the same directory, are flushed and
renamed into place: a crash leaves either no file or the whole file, never half of one.
Reads check the hash, so a file damaged on disk is an error, not a wrong document.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import tempfile
import zipfile
from pathlib import Path

from common.errors import DomainError

# The largest upload accepted; a scanned multi-page application is a few MB.
MAX_BLOB_BYTES = 10 * 1024 * 1024

PDF = "application/pdf"
OFD = "application/ofd"  # GB/T 33190 版式文档: a ZIP package with OFD.xml at its root
JPEG = "image/jpeg"
PNG = "image/png"
ACCEPTED_TYPES = (PDF, OFD, JPEG, PNG)
TYPE_LABELS = {PDF: "PDF", OFD: "OFD", JPEG: "JPEG", PNG: "PNG"}
EXTENSIONS = {PDF: ".pdf", OFD: ".ofd", JPEG: ".jpg", PNG: ".png"}


def download_name(original: str, media_type: str) -> str:
    """The name a file is saved under: the uploader's name with the extension of what the
    content is (an upload named ``x.html`` holding a PDF is saved as ``x.pdf``, never
    opened as a page)."""
    extension = EXTENSIONS.get(media_type, ".bin")
    stem, dot, suffix = original.rpartition(".")
    base = stem if dot and stem else original
    return base + extension if (dot + suffix).lower() != extension else original


SHA256_RE = re.compile(r"^[0-9a-f]{64}$")


class BlobTooLarge(DomainError):
    status_code = 413


class BlobTypeRefused(DomainError):
    status_code = 415


class BlobCorrupt(Exception):
    """A stored file no longer matches its hash (disk damage or tampering)."""


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def detect_media_type(data: bytes) -> str | None:
    """The media type the content's own first bytes announce, or None if not accepted."""
    if data.startswith(b"%PDF-"):
        return PDF
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if data.startswith(b"\xff\xd8\xff"):
        return JPEG
    if data.startswith(b"PK\x03\x04") and _is_ofd(data):
        return OFD
    return None


def _is_ofd(data: bytes) -> bool:
    # Any ZIP would pass a magic-byte test; an OFD package has OFD.xml as its entry file.
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as package:
            return "OFD.xml" in package.namelist()
    except (zipfile.BadZipFile, ValueError):
        return False


def check_upload(data: bytes, limit: int | None = None) -> str:
    """Refuse an empty, oversized or unaccepted file; return its detected media type."""
    limit = MAX_BLOB_BYTES if limit is None else limit
    if not data:
        raise DomainError("blob.empty", "上传的文件是空的", field="file")
    if len(data) > limit:
        raise BlobTooLarge("blob.too_large", f"文件超过{_size_text(limit)}的上限", field="file")
    media_type = detect_media_type(data)
    if media_type is None:
        accepted = "、".join(TYPE_LABELS[t] for t in ACCEPTED_TYPES)
        raise BlobTypeRefused(
            "blob.type_refused", f"只接受{accepted}格式的文件（按文件内容识别）", field="file"
        )
    return media_type


def _size_text(limit: int) -> str:
    if limit % (1024 * 1024) == 0:
        return f"{limit // (1024 * 1024)}MB"
    return f"{limit}字节"


def blob_path(blob_dir: Path, sha256: str) -> Path:
    if not SHA256_RE.match(sha256):
        raise ValueError("not a lower-case SHA-256 hex digest")
    return Path(blob_dir) / sha256[:2] / sha256[2:]


def write_blob(blob_dir: Path, data: bytes) -> str:
    """Store ``data`` under its hash (idempotent) and return the hash."""
    digest = sha256_hex(data)
    path = blob_path(blob_dir, digest)
    if path.exists() and _file_matches(path, digest):
        return digest
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=".incoming-")
    try:
        with os.fdopen(fd, "wb") as tmp:
            tmp.write(data)
            tmp.flush()
            os.fsync(tmp.fileno())
        # Check what reached the disk before it takes the content's name.
        if not _file_matches(Path(tmp_name), digest):
            raise BlobCorrupt(f"written file does not match {digest}")
        os.replace(tmp_name, path)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
    return digest


def read_blob(blob_dir: Path, sha256: str) -> bytes:
    """The stored content, checked against its hash; FileNotFoundError if absent."""
    data = blob_path(blob_dir, sha256).read_bytes()
    if sha256_hex(data) != sha256:
        raise BlobCorrupt(f"stored file {sha256} does not match its hash")
    return data


def has_blob_file(blob_dir: Path, sha256: str) -> bool:
    return blob_path(blob_dir, sha256).is_file()


def _file_matches(path: Path, digest: str) -> bool:
    hasher = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1024 * 1024), b""):
            hasher.update(chunk)
    return hasher.hexdigest() == digest
