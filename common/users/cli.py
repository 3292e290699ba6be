"""``onetrip user ...``: manage users from the node's own console.

Commands act as the node itself (``Actor.node_system``): whoever can run them on the
node's machine already holds its key. User records are written on the root only;
``token`` works on any node for that node's own users. Passwords are prompted
(hidden) when not given, and tokens are printed once and never stored in clear.
"""

from __future__ import annotations

from typing import Annotated

import typer

from common.cli_support import DataDir, node_session
from common.users import service
from common.users.roles import ROLE_LABELS, Actor, Role

users_app = typer.Typer(
    help="用户管理：开设账号、查看、签发访问令牌、重设密码", no_args_is_help=True
)

Username = Annotated[
    str, typer.Option("--username", help="用户名（3至32位小写字母、数字或 _ . -）")
]
NodeIdOption = Annotated[str | None, typer.Option("--node-id", help="用户所属节点编号，默认本节点")]
PasswordOption = Annotated[str | None, typer.Option("--password", help="不填则交互输入（不回显）")]


def _ask_password(password: str | None) -> str:
    if password is not None:
        return password
    return str(typer.prompt("密码", hide_input=True, confirmation_prompt="再次输入密码"))


@users_app.command("add")
def add(
    data_dir: DataDir,
    username: Username,
    display_name: Annotated[str, typer.Option("--display-name", help="姓名")],
    role: Annotated[Role, typer.Option("--role", help="角色")],
    node_id: NodeIdOption = None,
    department: Annotated[
        str | None, typer.Option("--department", help="所属部门（部门审批人员必填）")
    ] = None,
    password: PasswordOption = None,
) -> None:
    """开设用户账号（仅根节点）。"""
    secret = _ask_password(password)
    with node_session(data_dir) as (node, session, _system):
        target = node_id or node.node_id
        event = service.provision_user(
            session,
            node,
            Actor.node_system(node.node_id),
            node_id=target,
            username=username,
            display_name=display_name,
            role=role,
            department=department,
            password=secret,
        )
    typer.echo(f"已开设用户 {event.body['username']}（{ROLE_LABELS[role]}）于节点 {target}")


@users_app.command("list")
def list_(
    data_dir: DataDir,
    node_id: Annotated[str | None, typer.Option("--node-id", help="只列出该节点的用户")] = None,
) -> None:
    """列出本节点所知的用户。"""
    with node_session(data_dir) as (_node, session, _system):
        users = service.list_users(session, node_id)
        rows = [
            (
                u.node_id,
                u.username,
                u.display_name,
                ROLE_LABELS.get(u.role, u.role),  # type: ignore[call-overload]
                u.department or "",
                "启用" if u.active else "停用",
            )
            for u in users
        ]
    if not rows:
        typer.echo("没有用户")
    for row in rows:
        typer.echo("\t".join(row))


@users_app.command("token")
def token(
    data_dir: DataDir,
    username: Username,
    label: Annotated[str, typer.Option("--label", help="令牌用途，如设备或程序名称")] = "cli",
    ttl_days: Annotated[
        int | None, typer.Option("--ttl-days", min=1, help="有效天数，不填则长期有效")
    ] = None,
) -> None:
    """为本节点的用户签发访问令牌（只显示这一次）。"""
    with node_session(data_dir) as (node, session, _system):
        secret = service.issue_api_token(session, node.node_id, username, label, ttl_days)
    typer.echo(secret)


@users_app.command("passwd")
def passwd(
    data_dir: DataDir,
    username: Username,
    node_id: NodeIdOption = None,
    password: PasswordOption = None,
) -> None:
    """重设用户密码（仅根节点）；该用户已有的访问令牌随之失效。"""
    secret = _ask_password(password)
    with node_session(data_dir) as (node, session, _system):
        target = node_id or node.node_id
        service.change_password(
            session,
            node,
            Actor.node_system(node.node_id),
            node_id=target,
            username=username,
            password=secret,
        )
    typer.echo(f"已重设节点 {target} 用户 {username.strip().lower()} 的密码")
