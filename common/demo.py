"""The local demo network: what the README's first command starts.

On one machine it founds a county node with the sample catalogue published, enrols a
township (洣水镇) and one of its villages through the real enrolment path, runs each
as its own ``onetrip serve`` process on loopback, and prints URLs and logins. The data
directory survives a restart: a second run reuses it.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from common.bootstrap import init_member, init_root, open_node
from common.db import transaction
from common.users.roles import Actor

COUNTY = ("430424000000", "衡东县政务服务中心")


@dataclass(frozen=True)
class DemoNode:
    node_id: str
    name: str
    port: int
    parent: str | None  # node id of the parent, None for the root


DEMO_NODES = [
    DemoNode(COUNTY[0], COUNTY[1], 8400, None),
    DemoNode("430424100000", "洣水镇便民服务中心", 8410, COUNTY[0]),
    DemoNode("430424100201", "洣水镇示例村代办点", 8420, "430424100000"),
]
ADMIN_USER = "admin"
ADMIN_PASSWORD = "hengdong-demo"


def _url(node: DemoNode) -> str:
    return f"http://127.0.0.1:{node.port}"


def _wait_healthy(url: str, process: subprocess.Popen, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"node at {url} exited with code {process.returncode}")
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"node at {url} did not become healthy")


def _serve(data_dir: Path, node: DemoNode) -> subprocess.Popen:
    env = {**os.environ, "ONETRIP_LOG_JSON": "false"}
    return subprocess.Popen(
        [sys.executable, "-m", "common.cli", "serve", "-d", str(data_dir), "--port", str(node.port)],
        env=env,
    )


def _found_county(data_dir: Path, node: DemoNode) -> None:
    from common.catalog.sample import load_sample_matters
    from common.catalog.service import import_drafts, publish_batch

    root = init_root(data_dir, node_id=node.node_id, name=node.name, admin_username=ADMIN_USER,
                     admin_password=ADMIN_PASSWORD, port=node.port)
    matters, batches = load_sample_matters()
    system = Actor.node_system(root.node_id)
    with transaction(root.engine) as session:
        import_drafts(session, root, system, matters)
        for batch in batches:
            publish_batch(session, root, system, name=batch.name, published_on=batch.published_on,
                          codes=batch.codes)
    root.engine.dispose()


def _enrol(base: Path, node: DemoNode, parent: DemoNode) -> None:
    from common.identity.service import invite_node

    county = open_node(base / "county")
    with transaction(county.engine) as session:
        invitation = invite_node(session, county, Actor.node_system(county.node_id), node.node_id, node.name)
    county.engine.dispose()
    member = init_member(base / node.node_id, node_id=node.node_id, parent_url=_url(parent),
                         token=invitation.token, port=node.port)
    member.engine.dispose()


def run_demo(base: Path) -> None:
    base = base.resolve()
    base.mkdir(parents=True, exist_ok=True)
    processes: list[subprocess.Popen] = []
    by_id = {n.node_id: n for n in DEMO_NODES}

    def stop(*_args: object) -> None:
        for process in processes:
            if process.poll() is None:
                process.send_signal(signal.SIGINT)
        for process in processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()

    try:
        for node in DEMO_NODES:
            data_dir = base / ("county" if node.parent is None else node.node_id)
            if not (data_dir / "node.json").exists():
                if node.parent is None:
                    print(f"创建县级根节点并发布示例事项目录：{node.name}")
                    _found_county(data_dir, node)
                else:
                    print(f"注册节点：{node.name}（{node.node_id}）")
                    _enrol(base, node, by_id[node.parent])
            process = _serve(data_dir, node)
            processes.append(process)
            _wait_healthy(_url(node), process)
        _print_summary(base)
        while all(p.poll() is None for p in processes):
            time.sleep(0.5)
        print("有节点进程退出，演示网络停止。")
    except KeyboardInterrupt:
        print("\n正在停止演示网络……")
    finally:
        stop()


def _print_summary(base: Path) -> None:
    print("\nonetrip 演示网络已启动（Ctrl-C 停止）：")
    for node in DEMO_NODES:
        health = httpx.get(f"{_url(node)}/healthz", timeout=5).json()
        warnings = "；".join(health["calendar"]["warnings"])
        print(f"  {node.name:<14} {node.node_id}  {_url(node)}  (API 文档 {_url(node)}/docs)"
              + (f"\n      日历提示：{warnings}" if warnings else ""))
    print(f"\n县级管理员登录：用户名 {ADMIN_USER}  密码 {ADMIN_PASSWORD}")
    print(f"  取得令牌：curl -s -X POST {_url(DEMO_NODES[0])}/api/v1/auth/token "
          f"-H 'Content-Type: application/json' -d '{json.dumps({'username': ADMIN_USER, 'password': ADMIN_PASSWORD})}'")
    print(f"数据目录：{base}（再次运行会沿用）\n")
