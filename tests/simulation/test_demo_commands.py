"""`onetrip demo` takes one node offline and back at the terminal: `offline 编号` stops
that node's process without stopping the demo, `online 编号` starts it again."""

from __future__ import annotations

import io
import queue
import subprocess
import sys

import pytest
from rich.console import Console

from simulation.demo import Child, DemoNetwork
from simulation.demo_data import NODES_BY_ID

VILLAGE = "430424100201"


class Done(Exception):
    """Ends the watch loop once the typed commands are carried out."""


def test_offline_and_online_one_node(tmp_path, monkeypatch):
    out = io.StringIO()
    network = DemoNetwork(tmp_path, 19800, Console(file=out, width=200))
    node = NODES_BY_ID[VILLAGE]
    sleeper = [sys.executable, "-c", "import time; time.sleep(60)"]
    network.children[VILLAGE] = Child(node, subprocess.Popen(sleeper), tmp_path / "v.log")
    started: list[str] = []

    def spawn(again):  # a stand-in for the node process
        started.append(again.node_id)
        network.children[again.node_id] = Child(again, subprocess.Popen(sleeper), tmp_path / "v")

    monkeypatch.setattr(network, "_spawn", spawn)
    monkeypatch.setattr(network, "_wait_healthy", lambda: None)

    network.command(f"offline {VILLAGE}")
    assert network.children[VILLAGE].process.poll() is not None  # stopped
    assert VILLAGE in network.offline and "已离线" in out.getvalue()
    # The demo goes on: a node taken offline is not a node that failed.
    commands: queue.Queue[str] = queue.Queue()
    commands.put(f"online {node.name}")
    commands.put("offline nowhere")

    def then_stop(line: str) -> None:
        DemoNetwork.command(network, line)
        if line == "offline nowhere":
            raise Done

    monkeypatch.setattr(network, "command", then_stop)
    with pytest.raises(Done):
        network.watch(commands)  # returns only when a node fails; the village did not
    assert started == [VILLAGE] and VILLAGE not in network.offline
    assert "已在线" in out.getvalue() and "找不到节点“nowhere”" in out.getvalue()
    network.children[VILLAGE].process.kill()
    network.children[VILLAGE].process.wait()
