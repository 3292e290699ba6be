"""A damaged database file is reported — at start, in /healthz and by verify — with what
to do, never as a traceback; a held node refuses to extend its own chain."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from process_testing import run_onetrip

from common.backup.archive import BackupError, backup_node
from common.backup.integrity import RESTORE_ADVICE, check_integrity
from common.db import make_engine, transaction
from common.ledger.hold import WriteHold, WritesHeld, hold_writes, release_writes
from common.ledger.service import append_event

PAGE = 4096


def damage(db: Path, pages: range) -> None:
    """Overwrite whole pages (1-based, as the issue's reproduction did)."""
    with db.open("r+b") as handle:
        for page in pages:
            handle.seek((page - 1) * PAGE)
            handle.write(b"\xa5" * PAGE)


@pytest.mark.sqlite_only
def test_damaged_pages_are_reported_at_start_and_by_verify(root_node):
    data_dir = Path(root_node.settings.data_dir)
    assert check_integrity(root_node.engine).status == "ok"
    root_node.engine.dispose()  # the last connection checkpoints the WAL into node.db
    db = data_dir / "node.db"
    assert db.stat().st_size > 30 * PAGE
    damage(db, range(21, 24))

    engine = make_engine(f"sqlite:///{db}")
    try:
        found = check_integrity(engine)
    finally:
        engine.dispose()
    assert found.failed and found.advice == RESTORE_ADVICE

    served = run_onetrip("serve", "-d", str(data_dir), "--port", "1")
    said = served.stdout.replace("\n", "")  # the console wraps long lines
    assert served.returncode == 2  # the CLI's code for "refused, with a reason"
    assert "完整性检查未通过" in said and "onetrip restore" in said
    assert "Traceback" not in served.stdout + served.stderr

    verified = run_onetrip("verify", "-d", str(data_dir))
    assert verified.returncode == 2
    assert "Traceback" not in verified.stdout + verified.stderr
    assert "onetrip restore" in verified.stdout.replace("\n", "")


def test_a_held_node_writes_nothing_of_its_own(root_node):
    hold = WriteHold("recovering", 3, 6, datetime.now(UTC))
    hold_writes(root_node.engine, hold)
    try:
        with pytest.raises(WritesHeld) as refused, transaction(root_node.engine) as session:
            append_event(
                session, root_node.key, root_node.network_id, "test:x", "calendar.day_set", {}
            )
        assert refused.value.status_code == 409 and refused.value.code == "node.writes_held"
        assert "第3条" in refused.value.message and "第6条" in refused.value.message
    finally:
        release_writes(root_node.engine)


def test_backup_refuses_a_postgresql_node_with_the_steps(root_node, tmp_path):
    settings = root_node.settings.model_copy(update={"database_url": "postgresql://x/y"})
    with pytest.raises(BackupError, match="pg_dump"):
        backup_node(settings, tmp_path)
