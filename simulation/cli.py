"""``onetrip demo``: registered under the ``onetrip.commands`` entry point, so the
``onetrip`` command offers it without common/ importing this package."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def demo(
    directory: Annotated[Path, typer.Option("--dir", help="where the demo keeps its nodes")] = Path(
        "demo-data"
    ),
    base_port: Annotated[
        int,
        typer.Option(
            "--base-port",
            min=1024,
            max=65000,
            help="county's port; townships +10, +11, villages +20 ... +23",
        ),
    ] = 8400,
) -> None:
    """Start the local demo network (a county, two townships, four villages) on loopback."""
    from simulation.demo import run_demo

    code = run_demo(directory, base_port)
    if code:
        raise typer.Exit(code)
