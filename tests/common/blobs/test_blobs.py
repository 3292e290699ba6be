"""Blobs: content-addressed files, types by magic bytes, the size limit, idempotent
storage, hash-checked reads, and the upload/download API."""

from __future__ import annotations

import hashlib
import io
import zipfile

import pytest
from sqlalchemy import func, select

from common.blobs import service, store
from common.blobs.models import Blob
from common.db import transaction
from common.errors import DomainError, NotFound

PDF = b"%PDF-1.7\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 64


def _zip(*names: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as package:
        for name in names:
            package.writestr(name, "<ofd:OFD/>")
    return buffer.getvalue()


OFD = _zip("OFD.xml", "Doc_0/Document.xml")


@pytest.mark.parametrize(
    "data,media_type",
    [(PDF, "application/pdf"), (PNG, "image/png"), (JPEG, "image/jpeg"), (OFD, "application/ofd")],
)
def test_types_are_recognised_by_their_first_bytes(data, media_type):
    assert store.detect_media_type(data) == media_type
    assert store.check_upload(data) == media_type


@pytest.mark.parametrize(
    "data",
    [
        b"hello",
        b"<html><script>",
        _zip("word/document.xml"),
        b"PK\x03\x04broken",
        b"GIF89a" + b"\x00" * 10,
    ],
)
def test_other_content_is_refused_with_415(data):
    with pytest.raises(store.BlobTypeRefused) as refused:
        store.check_upload(data)
    assert (refused.value.status_code, refused.value.code, refused.value.field) == (
        415,
        "blob.type_refused",
        "file",
    )


def test_empty_and_oversized_files_are_refused(monkeypatch):
    with pytest.raises(DomainError) as empty:
        store.check_upload(b"")
    assert (empty.value.status_code, empty.value.code) == (400, "blob.empty")
    assert store.MAX_BLOB_BYTES == 10 * 1024 * 1024
    with pytest.raises(store.BlobTooLarge) as large:
        store.check_upload(b"%PDF-" + b"0" * store.MAX_BLOB_BYTES)
    assert (large.value.status_code, large.value.code) == (413, "blob.too_large")
    assert "10MB" in large.value.message
    monkeypatch.setattr(store, "MAX_BLOB_BYTES", 64)
    assert store.check_upload(PDF) == "application/pdf"
    with pytest.raises(store.BlobTooLarge):
        store.check_upload(PDF + b"\x00" * 64)


def test_storing_is_content_addressed_atomic_and_idempotent(root_node):
    digest = hashlib.sha256(PDF).hexdigest()
    with transaction(root_node.engine) as session:
        first = service.store_blob(session, root_node, PDF, "申请书.pdf")
    with transaction(root_node.engine) as session:
        again = service.store_blob(session, root_node, PDF, "另一个名字.pdf")
        assert session.execute(select(func.count()).select_from(Blob)).scalar() == 1
        assert service.blob_exists(session, digest) and not service.blob_exists(session, "0" * 64)
    assert first.sha256 == again.sha256 == digest
    assert (again.size, again.media_type, again.original_name) == (
        len(PDF),
        "application/pdf",
        "申请书.pdf",
    )
    assert first.received_at.tzinfo is not None
    path = root_node.settings.blob_dir / digest[:2] / digest[2:]
    assert path.read_bytes() == PDF
    assert [p.name for p in path.parent.iterdir()] == [digest[2:]]  # no temporary file left behind


def test_reading_checks_the_hash(root_node):
    with transaction(root_node.engine) as session:
        digest = service.store_blob(session, root_node, PNG, "photo.png").sha256
        assert service.open_blob(session, root_node, digest).data == PNG
    path = store.blob_path(root_node.settings.blob_dir, digest)
    path.write_bytes(PNG[:-1] + b"\x01")  # one byte damaged on disk
    with transaction(root_node.engine) as session, pytest.raises(store.BlobCorrupt):
        service.open_blob(session, root_node, digest)
    # Uploading the same content again repairs the file.
    with transaction(root_node.engine) as session:
        service.store_blob(session, root_node, PNG, "photo.png")
        assert service.open_blob(session, root_node, digest).data == PNG
    path.unlink()
    with transaction(root_node.engine) as session, pytest.raises(NotFound) as gone:
        service.open_blob(session, root_node, digest)
    assert gone.value.code == "blob.file_missing"


def test_names_are_cleaned():
    assert service.clean_name("C:\\fakepath\\营业执照.pdf") == "营业执照.pdf"
    assert service.clean_name("../../etc/passwd") == "passwd"
    assert service.clean_name("e\u0301.pdf") == "\u00e9.pdf"  # NFC
    assert service.clean_name("a\x00b\n.pdf") == "ab.pdf"
    assert service.clean_name("") == service.clean_name(None) == "未命名文件"
    long = service.clean_name("长" * 300 + ".pdf")
    assert len(long) == 200 and long.endswith(".pdf")


def test_upload_and_download_over_http(root_node, make_client):
    client = make_client(root_node)
    # The client claims a PDF; the content decides.
    uploaded = client.post("/api/v1/blobs", files={"file": ("扫描件.jpg", JPEG, "application/pdf")})
    assert uploaded.status_code == 201, uploaded.text
    digest = hashlib.sha256(JPEG).hexdigest()
    assert uploaded.json() == {"sha256": digest, "size": len(JPEG), "media_type": "image/jpeg"}
    fetched = client.get(f"/api/v1/blobs/{digest}")
    assert fetched.status_code == 200 and fetched.content == JPEG
    assert fetched.headers["content-type"] == "image/jpeg"
    assert (
        "filename*=UTF-8''%E6%89%AB%E6%8F%8F%E4%BB%B6.jpg" in fetched.headers["content-disposition"]
    )
    assert client.get(f"/api/v1/blobs/{'0' * 64}").status_code == 404
    assert client.get("/api/v1/blobs/NOT-A-HASH").json()["field"] == "sha256"
    # An upload named like a web page is saved under the extension of what it is.
    page = client.post("/api/v1/blobs", files={"file": ("x.html", PDF, "text/html")}).json()
    saved = client.get(f"/api/v1/blobs/{page['sha256']}").headers["content-disposition"]
    assert saved.startswith("attachment;") and saved.endswith("''x.pdf")


def test_the_api_refuses_bad_uploads_and_strangers(root_node, make_client, monkeypatch):
    client = make_client(root_node)
    text = client.post("/api/v1/blobs", files={"file": ("a.pdf", b"just text", "application/pdf")})
    assert (text.status_code, text.json()["code"], text.json()["field"]) == (
        415,
        "blob.type_refused",
        "file",
    )
    empty = client.post("/api/v1/blobs", files={"file": ("a.pdf", b"", "application/pdf")})
    assert (empty.status_code, empty.json()["code"]) == (400, "blob.empty")
    monkeypatch.setattr(store, "MAX_BLOB_BYTES", 32)
    large = client.post("/api/v1/blobs", files={"file": ("a.pdf", PDF, "application/pdf")})
    assert (large.status_code, large.json()["code"]) == (413, "blob.too_large")
    missing = client.post("/api/v1/blobs", data={"x": "y"})
    assert missing.status_code == 422 and missing.json()["field"] == "file"
    stranger = make_client(root_node, username=None)
    assert (
        stranger.post(
            "/api/v1/blobs", files={"file": ("a.pdf", PDF, "application/pdf")}
        ).status_code
        == 401
    )
    assert stranger.get(f"/api/v1/blobs/{hashlib.sha256(PDF).hexdigest()}").status_code == 401
    with transaction(root_node.engine) as session:
        assert session.execute(select(func.count()).select_from(Blob)).scalar() == 0
