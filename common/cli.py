"""The ``onetrip`` command: set up, run and look after a node."""

from __future__ import annotations

import os
import secrets
from importlib.metadata import entry_points
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from sqlalchemy.exc import DatabaseError

from common.backup.integrity import RESTORE_ADVICE
from common.bootstrap import init_member, init_root, open_node
from common.cli_support import DataDir
from common.db import transaction
from common.errors import DomainError, InitError
from common.node import ThisNode
from common.settings import DEFAULT_NETWORK_ID
from common.users.roles import Actor

app = typer.Typer(help="onetrip — 最多跑一次 政务服务节点", no_args_is_help=True)
node_app = typer.Typer(help="Nodes and the registry (county administrator)", no_args_is_help=True)
app.add_typer(node_app, name="node")
console = Console()


def _mount_domain_clis() -> None:
    from common.calendar.cli import calendar_app
    from common.catalog.cli import catalogue_app
    from common.users.cli import users_app

    app.add_typer(catalogue_app, name="catalogue")
    app.add_typer(users_app, name="user")
    app.add_typer(calendar_app, name="calendar")


def _fail(message: str) -> NoReturn:
    console.print(f"[red]错误[/red] {escape(message)}")
    raise typer.Exit(2)


def _open_or_fail(data_dir: Path) -> ThisNode:
    """The node in ``data_dir``; a missing or unreadable one is a refusal (exit 2)."""
    try:
        return open_node(data_dir)
    except (InitError, OSError) as exc:
        _fail(str(exc))


@app.command()
def init(
    data_dir: DataDir,
    tier: Annotated[
        str, typer.Option(help="county (root), township, village, city ...")
    ] = "county",
    node_id: Annotated[
        str, typer.Option("--node-id", help="12-digit division code")
    ] = "430424000000",
    name: Annotated[str, typer.Option(help="root only: the node's name")] = "衡东县政务服务中心",
    parent: Annotated[str | None, typer.Option(help="parent node URL (non-root)")] = None,
    token: Annotated[str | None, typer.Option(help="one-time enrolment token (non-root)")] = None,
    root: Annotated[bool, typer.Option(help="found a new network at this node")] = False,
    admin: Annotated[str, typer.Option(help="root only: first administrator's username")] = "admin",
    admin_password: Annotated[str | None, typer.Option(envvar="ONETRIP_ADMIN_PASSWORD")] = None,
    network_id: Annotated[
        str, typer.Option(help="network id (domain separation)")
    ] = DEFAULT_NETWORK_ID,
    port: Annotated[int | None, typer.Option(help="listen port to record")] = None,
    database_url: Annotated[
        str | None, typer.Option(help="default: SQLite file in the data directory")
    ] = None,
) -> None:
    """Create a node: the root (county) founds the network; others enrol via their parent."""
    founding = root or (parent is None and token is None)
    try:
        if founding:
            password = admin_password or secrets.token_urlsafe(12)
            node = init_root(
                data_dir,
                node_id=node_id,
                name=name,
                admin_username=admin,
                admin_password=password,
                tier=tier,
                network_id=network_id,
                port=port,
                database_url=database_url,
            )
            console.print(f"根节点已创建 {node.node_id}（{name}）")
            console.print(f"根公钥指纹 {node.key.fingerprint}")
            console.print(
                f"管理员 {admin} 密码 {password if admin_password is None else '（按参数设置）'}"
            )
        else:
            if not parent or not token:
                _fail("非根节点需要 --parent 和 --token")
            node = init_member(
                data_dir,
                node_id=node_id,
                parent_url=parent,
                token=token,
                tier=tier,
                network_id=network_id,
                port=port,
                database_url=database_url,
            )
            console.print(f"节点 {node.node_id} 已注册，上级 {parent}")
    except (InitError, DomainError) as exc:
        _fail(str(exc))


@app.command()
def serve(
    data_dir: DataDir,
    host: Annotated[str | None, typer.Option()] = None,
    port: Annotated[int | None, typer.Option()] = None,
) -> None:
    """Run the node's web service: the API and the screens."""
    import uvicorn

    from common.app import create_app, server_options
    from common.backup.integrity import check_integrity

    node = open_node(data_dir, host=host, port=port)
    integrity = check_integrity(node.engine)
    if integrity.failed:
        node.engine.dispose()
        console.print(f"[red]数据库完整性检查未通过[/red]：{escape(integrity.detail)}")
        _fail(integrity.advice or "")
    application = create_app(node.settings, node=node)
    application.state.integrity = integrity
    uvicorn.run(application, **server_options(node.settings))


@node_app.command("invite")
def node_invite(
    data_dir: DataDir,
    node_id: Annotated[str, typer.Argument(help="12-digit division code of the new node")],
    name: Annotated[str, typer.Option(help="the node's name, e.g. 洣水镇便民服务中心")],
    parent_id: Annotated[str | None, typer.Option("--parent-id")] = None,
    hours: Annotated[int | None, typer.Option(help="token validity in hours")] = None,
) -> None:
    """Issue a one-time enrolment token for a node (county administrator, on the root)."""
    from common.identity.service import invite_node

    node = open_node(data_dir)
    try:
        with transaction(node.engine) as session:
            invitation = invite_node(
                session,
                node,
                Actor.node_system(node.node_id),
                node_id,
                name,
                parent_id=parent_id,
                valid_hours=hours,
            )
    except DomainError as exc:
        _fail(f"{exc.message} [{exc.code}]")
    console.print(
        f"节点 {invitation.node_id}（{invitation.name}）上级 {invitation.parent_id}，有效至 {invitation.expires_at}"
    )
    console.print(invitation.token)


@node_app.command("revoke")
def node_revoke(
    data_dir: DataDir,
    node_id: Annotated[str, typer.Argument()],
    reason: Annotated[str, typer.Option()],
) -> None:
    """Revoke a node: its key's new records are refused everywhere."""
    from common.identity.service import revoke_node

    node = open_node(data_dir)
    try:
        with transaction(node.engine) as session:
            event = revoke_node(session, node, Actor.node_system(node.node_id), node_id, reason)
    except DomainError as exc:
        _fail(f"{exc.message} [{exc.code}]")
    console.print(f"节点 {node_id} 已注销（登记表版本 {event.envelope['sseq']}）")


@node_app.command("list")
def node_list(data_dir: DataDir) -> None:
    """Show the registry as this node holds it."""
    from common.identity.registry import registered_nodes_view, registry_version

    node = open_node(data_dir)
    with transaction(node.engine) as session:
        rows = registered_nodes_view(session)
        version = registry_version(session)
    table = Table(title=f"节点登记表 版本 {version}")
    for column in ("节点编号", "名称", "层级", "上级", "状态", "密钥"):
        # Fold, never cut: a long name wraps in its cell on a narrow terminal.
        table.add_column(column, overflow="fold", no_wrap=column == "节点编号")
    for row in rows:
        state = "已注销" if row["revoked_version"] else "正常"
        table.add_row(
            row["node_id"],
            row["name"],
            row["tier"],
            row["parent_id"] or "—",
            state,
            row["kid"] or "—",
        )
    console.print(table)


@app.command()
def verify(data_dir: DataDir) -> None:
    """Check every event's bytes, signature and chains, and every projection; exit 1 naming the first broken event."""
    from common.ledger.rebuild import console_progress
    from common.ledger.verify import verify_node

    node = _open_or_fail(data_dir)
    try:
        with console_progress() as progress, transaction(node.engine) as session:
            report = verify_node(session, node, progress=progress)
    except DatabaseError as exc:
        _fail(f"数据库无法读取（{escape(str(exc.orig))[:200]}）。{RESTORE_ADVICE}")
    finally:
        node.engine.dispose()
    console.print(escape(report.summary()))
    if not report.ok:
        raise typer.Exit(1)


@app.command()
def rebuild(data_dir: DataDir) -> None:
    """Empty every projection table and replay the ledger in local order, in one transaction."""
    from common.ledger.rebuild import RebuildError, console_progress, rebuild_projections

    node = _open_or_fail(data_dir)
    try:
        with console_progress() as progress, transaction(node.engine) as session:
            count = rebuild_projections(session, progress=progress)
    except RebuildError as exc:
        _fail(f"{exc}（投影未改变；请运行 onetrip verify）")
    finally:
        node.engine.dispose()
    console.print(f"投影已重建：重放 {count} 个事件")


@app.command()
def backup(
    data_dir: DataDir,
    to: Annotated[Path, typer.Option(help="备份文件存放的目录")],
) -> None:
    """Back the node up (database snapshot, key, settings, stored files) into one .tar.gz.

    Safe while the node serves: the database is copied with SQLite's online backup."""
    from common.backup.archive import BackupError, backup_node
    from common.settings import load_settings

    try:
        report = backup_node(load_settings(data_dir), to)
    except (BackupError, OSError) as exc:
        _fail(str(exc))
    console.print(
        f"备份完成：{report.archive}（数据库 {report.database_bytes // 1024} KB，"
        f"文件 {report.files} 个）"
    )


@app.command()
def restore(
    archive: Annotated[Path, typer.Argument(help="onetrip backup 写出的 .tar.gz")],
    data_dir: DataDir,
) -> None:
    """Restore a backup into a new, empty data directory.

    Start the restored node where its parent can reach it: before writing anything it
    takes back from its parent what it wrote after the backup."""
    from common.backup.archive import BackupError, restore_node

    try:
        settings = restore_node(archive, data_dir)
    except (BackupError, OSError) as exc:
        _fail(str(exc))
    console.print(
        f"已恢复节点 {settings.node_id} 到 {settings.data_dir}。"
        "启动后，节点先从上级取回备份之后本节点写过的数据，再继续办理"
        + ("" if settings.parent_url else "（根节点没有上级：备份之后的数据已无处取回）")
    )


@app.command()
def sync(data_dir: DataDir) -> None:
    """One sync round with the parent now (push, then pull); exit 1 if the link fails.

    After restoring a node from a backup, run it before serving: the node gets back what it
    had written since the backup before it writes anything new."""
    from common.sync.client import SyncError, sync_once

    node = _open_or_fail(data_dir)
    if node.is_root or not node.settings.parent_url:
        node.engine.dispose()
        _fail("本节点没有上级节点，无需同步")
    try:
        report = sync_once(node)
    except SyncError as exc:
        console.print(f"[red]同步失败[/red] {escape(str(exc))}")
        raise typer.Exit(1) from None
    finally:
        node.engine.dispose()
    console.print(
        f"同步完成：上传 {report.pushed} 个事件、{report.blobs_up} 个文件；"
        f"下载 {report.pulled} 个事件、{report.blobs_down} 个文件；"
        f"上级拒收 {len(report.rejected)} 个；待前序 {report.held} 个"
    )


def _mount_registered_commands() -> None:
    # Commands from packages beside the engine (``onetrip demo`` from simulation/) register
    # under the ``onetrip.commands`` entry point; common/ never imports them by name.
    for entry in entry_points(group="onetrip.commands"):
        app.command(entry.name)(entry.load())


def main() -> None:
    os.umask(0o077)  # the database, key, stored files and backups are the node's alone
    _mount_domain_clis()
    _mount_registered_commands()
    app()


if __name__ == "__main__":
    main()
