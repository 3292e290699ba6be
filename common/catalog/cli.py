"""``onetrip catalogue ...``: keep the matter catalogue from the county node's console.

Commands act as the node itself (``Actor.node_system``) on the root: import a file as
drafts (optionally publishing the shipped sample's batches), publish a batch, export,
show the "at most one trip" share, and write out the shipped sample file. Each command
is one transaction: a refusal is printed in Chinese and nothing is written.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn
from rich.table import Table

from common.catalog import service
from common.catalog.io import CatalogueImportError, format_of, read_catalogue, write_catalogue_file
from common.catalog.schema import Matter
from common.cli_support import DataDir, node_session
from common.errors import DomainError

catalogue_app = typer.Typer(
    help="事项目录：导入、发布、导出、统计“最多跑一次”比例", no_args_is_help=True
)
console = Console()

MAX_PROBLEMS_SHOWN = 200


def _fail(message: str) -> None:
    console.print(f"[red]错误[/red] {escape(message)}")
    raise typer.Exit(1)


def _explain(exc: DomainError) -> bool:
    if isinstance(exc, CatalogueImportError):
        _show_problems(exc)
        return True
    return False


def _show_problems(error: CatalogueImportError) -> None:
    table = Table(title=f"{error.message}（共{len(error.problems)}处）", show_lines=False)
    for header in ("工作表", "行", "列", "问题"):
        table.add_column(header)
    for problem in error.problems[:MAX_PROBLEMS_SHOWN]:
        table.add_row(
            escape(problem.sheet),
            "" if problem.row is None else str(problem.row),
            escape(problem.column or ""),
            escape(problem.message_zh),
        )
    console.print(table)
    if len(error.problems) > MAX_PROBLEMS_SHOWN:
        console.print(f"……另有{len(error.problems) - MAX_PROBLEMS_SHOWN}处问题未列出")


def _read_with_progress(file: Path) -> list[Matter]:
    try:
        fmt = format_of(file.name)
        data = file.read_bytes()
    except OSError as exc:
        _fail(f"无法读取 {file}：{exc}")
    except DomainError as exc:
        _fail(exc.message)
    columns = (SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn())
    with Progress(*columns, console=console, transient=True) as progress:
        task = progress.add_task(f"读取 {file.name}", total=None)

        def report(done: int, total: int) -> None:
            progress.update(task, description="校验事项", completed=done, total=total)

        try:
            return read_catalogue(data, fmt, progress=report)
        except CatalogueImportError as exc:
            progress.stop()
            _show_problems(exc)
            raise typer.Exit(1) from None


def _print_event(event_body: dict[str, Any], version: int) -> None:
    console.print(
        f"已发布第{event_body['batch_no']}批“{escape(event_body['name'])}”（{event_body['published_on']}）："
        f"{len(event_body['matters'])}个事项，目录版本 {version}"
    )


@catalogue_app.command("import")
def import_cmd(
    file: Annotated[Path, typer.Argument(help=".xlsx / .csv / .json 事项文件")],
    data_dir: DataDir,
    publish_sample_batches: Annotated[
        bool, typer.Option("--publish-sample-batches", help="导入后按随附样例的批次发布")
    ] = False,
    replace: Annotated[
        bool, typer.Option("--replace/--no-replace", help="是否覆盖已有草稿")
    ] = True,
) -> None:
    """Import a catalogue file as drafts (all or nothing)."""
    matters = _read_with_progress(file)
    with node_session(data_dir, explain=_explain) as (node, session, actor):
        summary = service.import_drafts(session, node, actor, matters, replace_existing=replace)
        console.print(
            f"已导入{summary.total}个事项草稿：新增{len(summary.created)}，"
            f"更新{len(summary.updated)}，未变{len(summary.unchanged)}"
        )
        if publish_sample_batches:
            from common.catalog.sample import load_sample_matters, publish_batches

            _, batches = load_sample_matters()
            for event in publish_batches(session, node, actor, batches):
                _print_event(event.body, event.envelope["sseq"])


def _read_codes(codes_file: Path) -> list[str]:
    try:
        lines = codes_file.read_text(encoding="utf-8-sig").splitlines()
    except OSError as exc:
        _fail(f"无法读取 {codes_file}：{exc}")
    # One code per line; blank lines and "#" comments are ignored.
    return [line.split("#", 1)[0].strip() for line in lines if line.split("#", 1)[0].strip()]


@catalogue_app.command("publish")
def publish_cmd(
    data_dir: DataDir,
    name: Annotated[str, typer.Option("--name", help="批次名称，如 第一批“最多跑一次”事项")],
    on: Annotated[str, typer.Option("--date", help="公布日期 YYYY-MM-DD")],
    codes_file: Annotated[
        Path | None, typer.Option("--codes-file", help="实施编码清单，每行一个")
    ] = None,
    all_drafts: Annotated[
        bool, typer.Option("--all-drafts", help="发布所有新增或有改动的草稿")
    ] = False,
) -> None:
    """Publish drafts as the next batch (one county-signed event)."""
    if (codes_file is None) == (not all_drafts):
        _fail("请指定 --codes-file 或 --all-drafts（二选一）")
    try:
        published_on = date.fromisoformat(on)
    except ValueError:
        _fail(f"日期格式应为 YYYY-MM-DD：{on}")
    with node_session(data_dir, explain=_explain) as (node, session, actor):
        codes = _read_codes(codes_file) if codes_file else service.unpublished_draft_codes(session)
        event = service.publish_batch(
            session, node, actor, name=name, published_on=published_on, codes=codes
        )
        _print_event(event.body, event.envelope["sseq"])


@catalogue_app.command("export")
def export_cmd(
    file: Annotated[Path, typer.Argument(help="输出文件，按扩展名选择 .xlsx / .csv / .json")],
    data_dir: DataDir,
    source: Annotated[
        str, typer.Option("--source", help="published（已发布）或 drafts（草稿）")
    ] = "published",
) -> None:
    """Export the published catalogue (or the drafts) to a file."""
    if source not in ("published", "drafts"):
        _fail("--source 只能是 published 或 drafts")
    with node_session(data_dir, explain=_explain) as (_node, session, _actor):
        format_of(file.name)  # refuse a wrong extension before the work
        matters = (
            service.export_published(session)
            if source == "published"
            else service.export_drafts(session)
        )
        write_catalogue_file(file, matters)
    console.print(f"已导出{len(matters)}个事项到 {escape(str(file))}")


@catalogue_app.command("share")
def share_cmd(data_dir: DataDir) -> None:
    """Show the share of "at most one trip" matters, overall and per batch."""
    with node_session(data_dir, explain=_explain) as (_node, session, _actor):
        share = service.one_trip_share(session)
        version = service.catalogue_version(session)
    table = Table(title=f"“最多跑一次”事项比例（目录版本 {version}）")
    for header in ("批次", "名称", "公布日期", "事项数", "最多跑一次", "比例"):
        table.add_column(
            header, justify="right" if header in ("事项数", "最多跑一次", "比例") else "left"
        )
    for batch in share["batches"]:
        table.add_row(
            str(batch["batch_no"]),
            escape(batch["name"]),
            batch["published_on"],
            str(batch["matters"]),
            str(batch["one_trip"]),
            f"{batch['share']}%",
        )
    overall = share["overall"]
    table.add_row(
        "",
        "[bold]现行目录合计[/bold]",
        "",
        str(overall["matters"]),
        str(overall["one_trip"]),
        f"[bold]{overall['share']}%[/bold]",
    )
    console.print(table)


@catalogue_app.command("sample-file")
def sample_file_cmd(
    path: Annotated[Path, typer.Argument(help="写出随附的样例事项目录（JSON）")],
) -> None:
    """Write the shipped sample catalogue to a file (to try import, or as a template)."""
    from common.catalog.io import write_catalogue
    from common.catalog.sample import load_sample_matters, sample_bytes

    if path.suffix.lower() == ".json":
        path.write_bytes(sample_bytes())  # as shipped, batches included
    else:
        matters, _ = load_sample_matters()
        path.write_bytes(write_catalogue(matters, format_of(path.name)))
    console.print(f"已写出样例事项目录到 {escape(str(path))}")
