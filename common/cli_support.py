"""What every ``onetrip`` subcommand shares: the data-dir option and a node session.

A command opens the node, runs its action functions in one transaction as the node's
own system actor, and a refusal is printed in Chinese with its code instead of a
traceback (exit code 1).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from sqlmodel import Session

from common.db import transaction
from common.errors import DomainError, InitError
from common.node import ThisNode
from common.users.roles import Actor

DataDir = Annotated[
    Path,
    typer.Option(
        "--data-dir", "-d", envvar="ONETRIP_DATA_DIR", help="节点数据目录", show_default=False
    ),
]


def print_refusal(exc: DomainError) -> None:
    field = f"（{exc.field}）" if exc.field else ""
    typer.echo(f"错误：{exc.message}{field} [{exc.code}]", err=True)


@contextmanager
def node_session(
    data_dir: Path, *, explain: Callable[[DomainError], bool] | None = None
) -> Iterator[tuple[ThisNode, Session, Actor]]:
    """Open the node and one transaction. ``explain`` may print a refusal its own way
    (e.g. a table of import problems) and return True; otherwise it is printed plainly."""
    from common.bootstrap import open_node

    try:
        node = open_node(data_dir)
    except (InitError, OSError) as exc:
        typer.echo(f"错误：无法打开节点 {data_dir}：{exc}", err=True)
        raise typer.Exit(1) from None
    try:
        with transaction(node.engine) as session:
            yield node, session, Actor.node_system(node.node_id)
    except DomainError as exc:
        if explain is None or not explain(exc):
            print_refusal(exc)
        raise typer.Exit(1) from None
    finally:
        node.engine.dispose()
