"""The `onetrip` command end to end, as an administrator would type it: real processes.

The county is initialised and served by `onetrip serve` in its own process; a township
then enrols through it with `onetrip init --parent ... --token ...`.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time

import httpx
import pytest

pytestmark = pytest.mark.sqlite_only  # the CLI uses each node's default SQLite file


def onetrip(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "common.cli", *args],
        check=False,
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "200", **(env or {})},
        timeout=120,
    )


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_init_invite_serve_and_enrol_a_township(tmp_path):
    county = tmp_path / "county"
    result = onetrip("init", "-d", str(county), "--admin-password", "County-admin-1")
    assert result.returncode == 0, result.stderr
    assert "根节点已创建 430424000000" in result.stdout
    invite = onetrip(
        "node", "invite", "-d", str(county), "430424100000", "--name", "洣水镇便民服务中心"
    )
    assert invite.returncode == 0, invite.stderr
    token = invite.stdout.strip().splitlines()[-1]
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "common.cli", "serve", "-d", str(county), "--port", str(port)]
    )
    try:
        url = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        enrol = onetrip(
            "init",
            "-d",
            str(tmp_path / "township"),
            "--tier",
            "township",
            "--node-id",
            "430424100000",
            "--parent",
            url,
            "--token",
            token,
        )
        assert enrol.returncode == 0, enrol.stdout + enrol.stderr
        reused = onetrip(
            "init",
            "-d",
            str(tmp_path / "township2"),
            "--tier",
            "township",
            "--node-id",
            "430424100000",
            "--parent",
            url,
            "--token",
            token,
        )
        assert reused.returncode == 2 and "enrol.token_used" in reused.stdout
        synced = onetrip("sync", "-d", str(tmp_path / "township"))
        assert synced.returncode == 0, synced.stdout + synced.stderr
        assert "同步完成" in synced.stdout and "上级拒收 0 个" in synced.stdout
    finally:
        server.terminate()
        server.wait(timeout=10)
    offline = onetrip("sync", "-d", str(tmp_path / "township"))  # the county is stopped now
    assert offline.returncode == 1 and "同步失败" in offline.stdout
    assert onetrip("sync", "-d", str(county)).returncode == 2  # the root has no parent
    listing = onetrip("node", "list", "-d", str(tmp_path / "township"))
    assert listing.returncode == 0, listing.stderr
    assert "洣水镇便民服务中心" in listing.stdout and "版本 2" in listing.stdout


def test_init_refuses_an_existing_node(tmp_path):
    county = tmp_path / "county"
    assert onetrip("init", "-d", str(county), "--admin-password", "County-admin-1").returncode == 0
    again = onetrip("init", "-d", str(county), "--admin-password", "County-admin-1")
    assert again.returncode == 2 and "already holds a node" in again.stdout
