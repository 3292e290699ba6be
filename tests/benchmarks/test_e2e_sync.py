"""The end-to-end sync benchmark runs at a tiny scale: a served county, a village's
offline backlog pushed from its own process, every event arrived; and its block in
docs/benchmarks.md survives the main report's rewrite."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks import chaos, e2e_sync, run

pytestmark = pytest.mark.sqlite_only  # the harness starts its own nodes on SQLite


def test_village_backlog_arrives_at_the_served_county(tmp_path: Path) -> None:
    figures = e2e_sync.run_e2e(
        10, 1, ["sqlite"], ["notice"], [0], pouchdb=False, say=lambda *_: None
    )
    [result] = figures["runs"]
    assert result["events"] == 20  # ten cases, each filed and given a one-time notice
    assert result["pushed"] == 20 and result["at_county"] == 20
    assert (result["held"], result["dead_letters"], result["quarantined"]) == (0, 0, 0)
    assert result["complete"] and result["per_second"] > 0
    assert 2000 < result["avg_bytes"] < 3000  # the ~2.4 KB mix of the issue

    out = tmp_path / "benchmarks.md"
    figures |= {"command": "test", "date": "today", "load_before": "0", "load_after": "0"}
    chaos.write_section(
        out, e2e_sync.report_section(figures), (e2e_sync.MARK_START, e2e_sync.MARK_END)
    )
    chaos.write_section(out, [chaos.MARK_START, "chaos figures", chaos.MARK_END])
    kept = run._kept_sections(out)
    assert "chaos figures" in kept
    assert e2e_sync.MARK_START in kept
    assert "| 1 | onetrip | per-request | sqlite | notice | 0 | 20 |" in kept
