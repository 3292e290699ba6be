"""``onetrip calendar import|status|add`` against a real root node's data directory."""

from __future__ import annotations

import os

import pytest
from onetrip_testing import PG_URL_ENV
from typer.testing import CliRunner

from common.calendar.cli import calendar_app

# The CLI opens the node from its data directory, whose database is the SQLite file.
pytestmark = pytest.mark.skipif(
    bool(os.environ.get(PG_URL_ENV)), reason="CLI opens the node's SQLite file"
)

runner = CliRunner()


def _run(root_node, *args):
    return runner.invoke(calendar_app, [*args, "--data-dir", str(root_node.settings.data_dir)])


def test_import_status_and_add(root_node, tmp_path, schedule_2027_csv, notice_2027):
    before = _run(root_node, "add", "2026-12-15", "20")
    assert before.exit_code == 0, before.output
    assert "期限 2027-01-12" in before.output and "2027年" in before.output  # the fallback notice

    path = tmp_path / "2027.csv"
    path.write_text(schedule_2027_csv, encoding="utf-8")
    imported = _run(root_node, "import", str(path), "--source", notice_2027)
    assert imported.exit_code == 0, imported.output
    assert "已发布2027年节假日安排：放假27天，调休上班4天（日历版本 1）" in imported.output

    after = _run(root_node, "add", "2026-12-15", "20")
    assert "期限 2027-01-13" in after.output and "注意" not in after.output
    status = _run(root_node, "status")
    assert "覆盖 2004–2027年" in status.output and "县级发布的年度安排：2027" in status.output


def test_a_bad_file_prints_every_problem_and_fails(root_node, tmp_path):
    path = tmp_path / "2027.csv"
    path.write_text("date,kind\n2027-02-30,休\n2027-01-06,班\n", encoding="utf-8")
    result = _run(root_node, "import", str(path))
    assert result.exit_code == 1
    for expected in ("第2行", "第3行", "source", "未导入"):
        assert expected in result.output
    status = _run(root_node, "status")
    assert "日历版本 0" in status.output


def test_only_csv_or_json_files(root_node, tmp_path):
    path = tmp_path / "2027.xlsx"
    path.write_bytes(b"PK")
    assert _run(root_node, "import", str(path), "--source", "通知").exit_code == 1
