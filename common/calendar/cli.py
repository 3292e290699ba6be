"""``onetrip calendar ...``: import a year's official schedule, check the calendar,
compute a deadline, from the node's own console.

Commands act as the node itself (``Actor.node_system``): whoever can run them on the
node's machine already holds its key. Importing works on the root node only.
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Annotated

import typer

from common.calendar import service
from common.cli_support import DataDir, node_session
from common.errors import DomainError
from common.timeutil import local_today
from common.users.roles import Actor

calendar_app = typer.Typer(
    help="工作日历：导入年度节假日安排、查看状态、计算期限", no_args_is_help=True
)


def _explain(exc: DomainError) -> bool:
    if not isinstance(exc, service.ScheduleRejected):
        return False
    typer.echo(f"错误：节假日安排有{len(exc.problems)}处问题，未导入：", err=True)
    for problem in exc.problems:
        typer.echo(f"  {problem.location}：{problem.message} [{problem.code}]", err=True)
    return True


def _year_ranges(years: list[int]) -> str:
    """[2004, ..., 2026, 2028] -> "2004–2026年、2028年": gaps stay visible."""
    runs: list[list[int]] = []
    for year in years:
        if runs and year == runs[-1][-1] + 1:
            runs[-1].append(year)
        else:
            runs.append([year])
    return "、".join(f"{r[0]}–{r[-1]}年" if len(r) > 1 else f"{r[0]}年" for r in runs) or "无"


def _warn(warnings: list[str]) -> None:
    for warning in warnings:
        typer.secho(f"注意：{warning}", fg=typer.colors.YELLOW, err=True)


@calendar_app.command("import")
def import_file(
    data_dir: DataDir,
    file: Annotated[
        Path,
        typer.Argument(
            help="CSV（date,kind,name）或JSON文件", exists=True, dir_okay=False, readable=True
        ),
    ],
    source: Annotated[
        str | None,
        typer.Option("--source", help="出处，如国务院办公厅通知的标题；JSON文件可自带 source"),
    ] = None,
) -> None:
    """导入并发布一年的法定节假日与调休安排（仅根节点）。"""
    suffix = file.suffix.lower().lstrip(".")
    if suffix not in ("csv", "json"):
        typer.echo("错误：只接受 .csv 或 .json 文件", err=True)
        raise typer.Exit(1)
    with node_session(data_dir, explain=_explain) as (node, session, _system):
        actor = Actor.node_system(node.node_id)
        schedule = service.read_year_schedule(file.read_bytes(), suffix, source)
        event = service.import_year_schedule(session, node, actor, schedule, schedule.source)
    typer.echo(
        f"已发布{schedule.year}年节假日安排：放假{len(schedule.holidays)}天，"
        f"调休上班{len(schedule.workdays)}天（日历版本 {event.envelope['sseq']}）"
    )


@calendar_app.command("status")
def status(data_dir: DataDir) -> None:
    """查看本节点日历覆盖的年份、已发布的年度安排和警告。"""
    with node_session(data_dir, explain=_explain) as (node, session, _system):
        result = service.calendar_status(session, local_today(node.settings.tz))
    typer.echo(f"日历版本 {result['version']}；覆盖 {_year_ranges(result['covered_years'])}")
    published = "、".join(str(y) for y in result["published_years"]) or "无"
    typer.echo(f"县级发布的年度安排：{published}")
    _warn(result["warnings"])


def _parse_day(text: str) -> date:
    try:
        return datetime.strptime(text, "%Y-%m-%d").date()
    except ValueError:
        raise typer.BadParameter("日期应为 YYYY-MM-DD") from None


@calendar_app.command("add")
def add(
    data_dir: DataDir,
    start: Annotated[str, typer.Argument(help="受理日 YYYY-MM-DD（当日不计）")],
    days: Annotated[int, typer.Argument(min=0, help="工作日数")],
) -> None:
    """计算期限：受理日之后第N个工作日。"""
    start_day = _parse_day(start)
    with node_session(data_dir, explain=_explain) as (_node, session, _system):
        result = service.deadline_report(session, start_day, days)
    typer.echo(f"{result['start']} 受理，{days}个工作日，期限 {result['deadline']}")
    _warn([result["warning"]] if result["warning"] else [])
