"""``onetrip catalogue ...`` against a real root node directory."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from common.catalog.cli import catalogue_app
from common.catalog.io import read_catalogue_file, write_catalogue_file

runner = CliRunner()


@pytest.fixture
def data_dir(root_node) -> str:
    return str(root_node.settings.data_dir)


def _run(*args: str):
    result = runner.invoke(catalogue_app, list(args))
    return result.exit_code, result.output


def test_import_publish_share_export(tmp_path: Path, data_dir, make_matter):
    matters = [make_matter(i, visits=(2 if i == 1 else 0)) for i in range(1, 5)]
    source = tmp_path / "事项.xlsx"
    write_catalogue_file(source, matters)
    code, output = _run("import", str(source), "--data-dir", data_dir)
    assert code == 0, output
    assert "已导入4个事项草稿：新增4，更新0，未变0" in output

    codes = tmp_path / "codes.txt"
    codes.write_text(
        "# 第一批\n" + "\n".join(m.implementation_code for m in matters[:3]) + "\n\n", "utf-8"
    )
    code, output = _run(
        "publish",
        "--data-dir",
        data_dir,
        "--name",
        "第一批",
        "--date",
        "2018-07-24",
        "--codes-file",
        str(codes),
    )
    assert code == 0, output
    assert "已发布第1批“第一批”（2018-07-24）：3个事项，目录版本 1" in output
    code, output = _run(
        "publish",
        "--data-dir",
        data_dir,
        "--name",
        "第二批",
        "--date",
        "2018-10-26",
        "--all-drafts",
    )
    assert code == 0 and "1个事项，目录版本 2" in output

    code, output = _run("share", "--data-dir", data_dir)
    assert code == 0 and "66.7%" in output and "100.0%" in output and "75.0%" in output

    target = tmp_path / "out.csv"
    code, output = _run("export", str(target), "--data-dir", data_dir)
    assert code == 0 and "已导出4个事项" in output
    assert read_catalogue_file(target) == sorted(matters, key=lambda m: m.implementation_code)


def test_refusals_are_printed_and_nothing_is_written(tmp_path: Path, data_dir, make_matter):
    broken = tmp_path / "bad.json"
    broken.write_text('{"matters": [{"name": "x"}]}', "utf-8")
    code, output = _run("import", str(broken), "--data-dir", data_dir)
    assert code == 1 and "未导入任何事项" in output and "basic_code" in output
    code, output = _run(
        "publish", "--data-dir", data_dir, "--name", "x", "--date", "2018-07-24", "--all-drafts"
    )
    assert code == 1 and "catalogue.batch_empty" in output
    code, output = _run(
        "publish", "--data-dir", data_dir, "--name", "x", "--date", "24/07/2018", "--all-drafts"
    )
    assert code == 1 and "YYYY-MM-DD" in output
    code, output = _run("export", str(tmp_path / "out.pdf"), "--data-dir", data_dir)
    assert code == 1 and ".xlsx" in output


def test_sample_file_and_publishing_its_batches(tmp_path: Path, data_dir):
    from common.catalog.sample import load_sample_matters

    matters, batches = load_sample_matters()
    target = tmp_path / "sample.xlsx"
    code, output = _run("sample-file", str(target))
    assert code == 0, output
    assert read_catalogue_file(target) == matters
    code, output = _run("import", str(target), "--data-dir", data_dir, "--publish-sample-batches")
    assert code == 0, output
    assert output.count("已发布第") == len(batches)
