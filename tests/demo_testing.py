"""The demo network (`onetrip demo`) run from tests: started in its own process,
watched line by line, stopped with Ctrl-C (importable as ``demo_testing``)."""

from __future__ import annotations

import contextlib
import os
import random
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from simulation.demo_data import DEMO_NODES

READY = "演示网络已就绪"
READY_TIMEOUT = 120  # generous: the suite runs beside other work on two cores
STOP_TIMEOUT = 30
VILLAGE = "430424100201"


def _port_free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _ephemeral_low() -> int:
    """Where the kernel starts handing out ports for outgoing connections and port 0:
    demo blocks stay below it, so no other test's server or client can take one."""
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def free_base_port() -> int:
    for _ in range(100):
        base = random.randrange(20000, _ephemeral_low() - 100, 50)
        if all(_port_free(node.port(base)) for node in DEMO_NODES):
            return base
    raise RuntimeError("no free block of ports")


PORT_BUSY = "已被占用"


def start_demo(directory: Path, attempts: int = 3) -> DemoRun:
    """A demo network started and ready; another block of ports when a parallel test
    took one of the chosen ports between the check and the start."""
    for attempt in range(attempts):
        run = DemoRun(directory, free_base_port())
        try:
            run.wait_ready()
            return run
        except AssertionError:
            run.kill_leftovers()
            if PORT_BUSY not in run.output or attempt == attempts - 1:
                raise
    raise AssertionError("unreachable")


class DemoRun:
    """`onetrip demo` in its own process, its output collected line by line."""

    def __init__(self, directory: Path, base_port: int) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("ONETRIP_")}
        env.update(PYTHONUNBUFFERED="1", COLUMNS="200")
        self.base_port = base_port
        self.began = time.monotonic()
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "common.cli",
                "demo",
                "--dir",
                str(directory),
                "--base-port",
                str(base_port),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=env,
        )
        self.lines: list[str] = []
        self.ready = threading.Event()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line)
            if READY in line:
                self.ready.set()

    @property
    def output(self) -> str:
        return "".join(self.lines)

    @property
    def node_pids(self) -> list[int]:
        return [int(m) for m in re.findall(r"\(pid (\d+)\)", self.output)]

    def wait_ready(self) -> float:
        deadline = time.monotonic() + READY_TIMEOUT
        while not self.ready.wait(0.2):
            assert self.process.poll() is None, f"demo exited early:\n{self.output}"
            assert time.monotonic() < deadline, (
                f"demo not ready in {READY_TIMEOUT} s:\n{self.output}"
            )
        return time.monotonic() - self.began

    def interrupt(self) -> int:
        """Ctrl-C: the demo and every node process it started are gone within the timeout."""
        pids = self.node_pids
        self.process.send_signal(signal.SIGINT)
        code = self.process.wait(timeout=STOP_TIMEOUT)
        self.reader.join(timeout=5)
        assert "演示网络已停止" in self.output
        for pid in pids:
            with pytest.raises(ProcessLookupError):
                os.kill(pid, 0)
        return code

    def kill_leftovers(self) -> None:
        """After a failed test: end the demo and the node processes it started, by pid."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.process.kill()
        for pid in self.node_pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
