"""Run every benchmark and write docs/benchmarks.md.

Usage: ``python -m benchmarks [--n 2000] [--http-n 500] [--out docs/benchmarks.md]``;
``python -m benchmarks chaos …`` and ``python -m benchmarks e2e …`` run the chaos run and
the end-to-end sync benchmark, each writing only its own block of the report, which
this run keeps.
The report names the machine (cores, CPU model, Python, SQLite), the date, the exact
command and the load average before and after: the figures are only comparable
between runs on an otherwise idle machine.
"""

from __future__ import annotations

import argparse
import os
import platform
import sqlite3
import sys
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from benchmarks import bench_filing, bench_sync

REPO = Path(__file__).resolve().parents[1]


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def machine() -> dict[str, Any]:
    return {
        "nproc": os.cpu_count(),
        "cpu": cpu_model(),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "system": f"{platform.system()} {platform.release()}",
    }


def load_average() -> str:
    try:
        return " / ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "unknown"


def _busy(load: str) -> bool:
    try:
        return float(load.split(" / ")[0]) > 1.0
    except ValueError:
        return False


def verdict(met: bool) -> str:
    return "达到 (met)" if met else "未达到 (not met)"


def filing_section(figures: dict[str, Any]) -> list[str]:
    targets = figures["targets"]
    action = figures["runs"][0]
    lines = [
        "## Filing at one village node (申请)",
        "",
        (
            "A real village node (its own SQLite file, WAL, `synchronous=NORMAL`) enrolled at a county node; the "
            "county's catalogue, calendar and the agent's user record were handed to it as signed events, as sync "
            "does. The village agent files cases for residents (a village 即办件, a township 承诺件 and a county "
            "licence with five required materials, in turn; one uploaded PDF per required material), each filing "
            "in its own transaction as a request does, after 20 warm-up filings. The process is pinned to one core "
            f'(CPU {figures["core"]}). Setup took {figures["setup_seconds"]} s. "CPU ms" is the process CPU time '
            "per filing: the ceiling on one idle core is 1000 / CPU ms filings per second."
        ),
        "",
        "| run | filings | p50 (ms) | p99 (ms) | mean (ms) | filings/s | CPU ms / filing |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for run in figures["runs"]:
        lines.append(
            f"| {run['label']} | {run['n']} | {run['p50_ms']} | {run['p99_ms']} | {run['mean_ms']} "
            f"| {run['per_second']} | {run['cpu_ms']} |"
        )
    lines += [
        "",
        (
            f"Targets (DESIGN.md, measured on the action function): p50 under {targets['p50_ms']:g} ms — "
            f"{verdict(action['p50_ms'] < targets['p50_ms'])}; at least {targets['per_second']:g} filings/s — "
            f"{verdict(action['per_second'] >= targets['per_second'])}."
        ),
        "",
    ]
    return lines


def report(figures: list[dict[str, Any]], command: str, started: datetime, load_before: str) -> str:
    info = machine()
    lines = [
        "# Benchmarks",
        "",
        "Written by `python -m benchmarks` (benchmarks/run.py); do not edit by hand.",
        "",
        f"- Date: {started.isoformat(timespec='seconds')}",
        f"- Command: `{command}`",
        f"- Machine: {info['nproc']} cores, {info['cpu']}, {info['system']}",
        f"- Python {info['python']}, SQLite {info['sqlite']}",
        f"- Load average (1/5/15 min) before: {load_before}; after: {load_average()}",
        "",
    ]
    if _busy(load_before):
        lines += [
            (
                "Note: the machine was busy when this ran (1-minute load average above 1 on "
                f"{info['nproc']} cores), so latencies and rates are pessimistic; the CPU time per filing is "
                "the steadier figure."
            ),
            "",
        ]
    for section in figures:
        if section["name"] == "filing":
            lines += filing_section(section)
        elif section["name"] == "sync":
            lines += bench_sync.report_section(section)
    return "\n".join(lines)


def _kept_sections(path: Path) -> str:
    """The blocks other runs write (``python -m benchmarks chaos``, ``python -m
    benchmarks e2e``) survive this report."""
    from benchmarks import bench_dashboard, chaos, e2e_sync

    text = path.read_text(encoding="utf-8") if path.exists() else ""
    kept = ""
    for start, end in (
        (chaos.MARK_START, chaos.MARK_END),
        (e2e_sync.MARK_START, e2e_sync.MARK_END),
        (bench_dashboard.MARK_START, bench_dashboard.MARK_END),
    ):
        if start in text and end in text:
            block = text.split(start, 1)[1].split(end, 1)[0]
            kept += f"\n{start}{block}{end}\n"
    return kept


def main(argv: list[str] | None = None) -> None:
    args_list = sys.argv[1:] if argv is None else argv
    if args_list[:1] == ["chaos"]:
        from benchmarks import chaos

        sys.exit(chaos.main(args_list[1:]))
    if args_list[:1] == ["dashboard"]:
        from benchmarks import bench_dashboard

        sys.exit(bench_dashboard.main(args_list[1:]))
    if args_list[:1] == ["e2e"]:
        from benchmarks import e2e_sync

        sys.exit(e2e_sync.main(args_list[1:]))
    parser = argparse.ArgumentParser(description="Run the onetrip benchmarks and write the report.")
    parser.add_argument("--n", type=int, default=2000, help="filings through the action function")
    parser.add_argument(
        "--http-n", type=int, default=500, help="filings through the HTTP API (0: skip)"
    )
    parser.add_argument(
        "--ingest-cases", type=int, default=1000, help="cases filed for the sync ingest run"
    )
    parser.add_argument(
        "--sync-reduced",
        action="store_true",
        help="simulate 17 townships × 2 villages instead of the whole county",
    )
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "benchmarks.md")
    args = parser.parse_args(args_list)
    command = " ".join(["python -m benchmarks", *args_list])
    started = datetime.now(ZoneInfo("Asia/Shanghai"))
    load_before = load_average()
    figures = [bench_filing.run(args.n, args.http_n)]
    figures.append(bench_sync.run(args.ingest_cases, reduced=args.sync_reduced))
    text = report(figures, command, started, load_before)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text + "\n" + _kept_sections(args.out), encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
