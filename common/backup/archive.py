"""``onetrip backup`` / ``onetrip restore``: a whole node in one ``.tar.gz``.

The database is copied with SQLite's online backup API (``sqlite3.Connection.backup``):
a consistent snapshot while the node keeps serving, WAL included. The archive also
holds the node file, the node key and every stored file (``blobs/``), and a manifest
with the database's SHA-256, checked again on restore.

A PostgreSQL node's database is backed up with PostgreSQL's own tools (README,
"Operating a node"): ``onetrip backup`` refuses and says so.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

from common import __version__
from common.backup.integrity import check_integrity
from common.db import make_engine
from common.errors import InitError
from common.settings import NODE_FILE, NodeSettings, load_settings
from common.timeutil import iso_utc, utcnow

DATABASE = "node.db"
MANIFEST = "backup.json"
PG_STEPS = (
    "PostgreSQL 节点的数据库请用 pg_dump -Fc 备份、pg_restore 恢复（见 README“运维”一节）；"
    "数据目录（密钥、节点文件、blobs/）另行复制。"
)


class BackupError(InitError):
    """A backup or restore that cannot go on; the message says what to do."""


@dataclass(frozen=True)
class BackupReport:
    archive: Path
    node_id: str
    database_bytes: int
    files: int  # stored files (blobs) in the archive


def backup_node(settings: NodeSettings, target_dir: Path) -> BackupReport:
    """Write ``onetrip-<node>-<UTC time>.tar.gz`` into ``target_dir``."""
    if settings.database_url and not settings.database_url.startswith("sqlite"):
        raise BackupError(PG_STEPS)
    source = settings.data_dir / DATABASE
    if settings.node_id is None or not source.exists():
        raise BackupError(f"{settings.data_dir} 不是已初始化的节点数据目录")
    target_dir.mkdir(parents=True, exist_ok=True)
    stamp = utcnow().strftime("%Y%m%dT%H%M%SZ")
    archive = target_dir / f"onetrip-{settings.node_id}-{stamp}.tar.gz"
    with tempfile.TemporaryDirectory(prefix="onetrip-backup-") as scratch:
        snapshot = Path(scratch) / DATABASE
        _snapshot_database(source, snapshot)
        manifest = {
            "node_id": settings.node_id,
            "created_at": iso_utc(utcnow()),
            "onetrip": __version__,
            "database_sha256": _sha256(snapshot),
        }
        (Path(scratch) / MANIFEST).write_text(json.dumps(manifest, ensure_ascii=False))
        partial = archive.with_suffix(".partial")
        with tarfile.open(partial, "w:gz") as tar:
            tar.add(Path(scratch) / MANIFEST, arcname=MANIFEST)
            tar.add(snapshot, arcname=DATABASE)
            tar.add(settings.data_dir / NODE_FILE, arcname=NODE_FILE)
            tar.add(
                settings.key_path, arcname=str(settings.key_path.relative_to(settings.data_dir))
            )
            files = _add_blobs(tar, settings)
        partial.chmod(0o600)
        partial.rename(archive)  # a half-written archive never carries the final name
    return BackupReport(archive, settings.node_id, snapshot_size(archive), files)


def snapshot_size(archive: Path) -> int:
    with tarfile.open(archive, "r:gz") as tar:
        return tar.getmember(DATABASE).size


def _snapshot_database(source: Path, target: Path) -> None:
    # Read-only URI: a backup never creates or changes the source.
    with (
        sqlite3.connect(f"file:{source}?mode=ro", uri=True) as src,
        sqlite3.connect(target) as dst,
    ):
        src.backup(dst)
        problems = dst.execute("PRAGMA quick_check(5)").fetchall()
    if problems != [("ok",)]:
        raise BackupError("数据库已损坏，无法备份：" + "; ".join(str(p[0]) for p in problems)[:300])


def _add_blobs(tar: tarfile.TarFile, settings: NodeSettings) -> int:
    count = 0
    if settings.blob_dir.exists():
        for path in sorted(settings.blob_dir.rglob("*")):
            if path.is_file():
                tar.add(path, arcname=str(path.relative_to(settings.data_dir)))
                count += 1
    return count


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1024 * 1024), b""):
            digest.update(block)
    return digest.hexdigest()


def restore_node(archive: Path, data_dir: Path) -> NodeSettings:
    """Unpack ``archive`` into a new ``data_dir`` and check it; never over an existing node."""
    data_dir = data_dir.expanduser().resolve()
    if data_dir.exists() and any(data_dir.iterdir()):
        raise BackupError(f"{data_dir} 不是空目录：请恢复到一个新的数据目录")
    try:
        with tarfile.open(archive, "r:gz") as tar:
            names = set(tar.getnames())
            if not {MANIFEST, DATABASE, NODE_FILE} <= names:
                raise BackupError(f"{archive} 不是 onetrip 备份文件（缺少 {MANIFEST}）")
            data_dir.mkdir(parents=True, exist_ok=True)
            data_dir.chmod(0o700)
            tar.extractall(data_dir, filter="data")  # no absolute paths, links or devices
    except (tarfile.TarError, OSError) as exc:
        raise BackupError(f"备份文件无法读取：{exc}") from exc
    manifest = json.loads((data_dir / MANIFEST).read_text())
    if _sha256(data_dir / DATABASE) != manifest["database_sha256"]:
        raise BackupError("备份中的数据库与其校验值不符：备份文件已损坏，请换用另一份备份")
    (data_dir / MANIFEST).unlink()
    settings = load_settings(data_dir)
    engine = make_engine(settings.effective_database_url)
    try:
        integrity = check_integrity(engine)
    finally:
        engine.dispose()
    if integrity.failed:
        raise BackupError(f"恢复出的数据库未通过完整性检查：{integrity.detail}")
    return settings
