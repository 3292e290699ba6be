"""The local demo network: what the README's first command (``onetrip demo``) starts.

On one machine: the county, two townships and four sample villages of ``demo_data``,
each a separate ``onetrip serve`` process on loopback. A first run founds the county
with the sample catalogue published, enrols every other node through the real path
(an invitation from the county, the new node's key presented to its parent; villages
through their township), provisions the demo users at the county, waits until sync
has carried each user's record to its node (login works there), files a few sample
cases at the villages through the API and prints every node's URL and logins.

The data directory survives a restart: a second run starts the same nodes, enrols
nothing and files no case twice (``demo.json`` remembers the sample cases).
Ctrl-C sends SIGINT to every node, waits, and kills what has not stopped.
"""

from __future__ import annotations

import json
import os
import queue
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from contextlib import closing
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.table import Table

from common.timeutil import parse_iso, utcnow
from simulation.demo_data import (
    ADMIN,
    COUNTY_ID,
    DEMO_CASES,
    DEMO_NODES,
    DEMO_PASSWORD,
    NODES_BY_ID,
    SYNC_INTERVAL_SECONDS,
    DemoApi,
    DemoError,
    DemoNode,
    DemoUser,
    file_sample_case,
    provision_users,
    users_of,
)

STATE_FILE = "demo.json"
START_TIMEOUT = 60.0  # seconds for a node process to answer /healthz
SYNC_TIMEOUT = 60.0  # seconds for the users' records to reach every node
STOP_TIMEOUT = 10.0  # seconds after SIGINT before a node is killed
POLL = 0.2


@dataclass
class Child:
    node: DemoNode
    process: subprocess.Popen[bytes]
    log_path: Path
    healthy: bool = False

    def log_tail(self, lines: int = 15) -> str:
        try:
            return "\n".join(
                self.log_path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:]
            )
        except OSError:
            return ""


def _depth(node: DemoNode) -> int:
    return 0 if node.parent is None else 1 + _depth(NODES_BY_ID[node.parent])


class DemoNetwork:
    def __init__(self, base: Path, base_port: int, console: Console) -> None:
        self.base = base.expanduser().resolve()
        self.base_port = base_port
        self.console = console
        self.children: dict[str, Child] = {}
        self.api = DemoApi(base_port)
        self.state: dict[str, Any] = {}
        self.offline: set[str] = set()  # nodes the user took offline (``offline 编号``)

    # -- paths, state, output ---------------------------------------------------------

    def data_dir(self, node: DemoNode) -> Path:
        return self.base / node.node_id

    def url(self, node: DemoNode) -> str:
        return node.url(self.base_port)

    def node_env(self, node: DemoNode) -> dict[str, str]:
        """More environment for ``node``'s process (the chaos run's faked clocks)."""
        return {}

    def parent_url(self, node: DemoNode) -> str:
        """Where ``node`` reaches its parent: the parent's address as this run has it (the
        base port may differ from the first run). The chaos run puts a faulty link here."""
        assert node.parent is not None
        return self.url(NODES_BY_ID[node.parent])

    def enrolled(self, node: DemoNode) -> bool:
        return (self.data_dir(node) / "node.json").exists()

    def say(self, message: str) -> None:
        self.console.print(message, markup=False, highlight=False, soft_wrap=True)

    def _load_state(self) -> None:
        path = self.base / STATE_FILE
        self.state = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
        self.state.setdefault("cases", {})

    def _save_state(self) -> None:
        (self.base / STATE_FILE).write_text(
            json.dumps(self.state, ensure_ascii=False, indent=2), encoding="utf-8"
        )

    # -- the whole start --------------------------------------------------------------

    def start(self) -> None:
        began = time.monotonic()
        started_at = utcnow()
        self._check_directory()
        self._check_ports()
        self._load_state()
        county = NODES_BY_ID[COUNTY_ID]
        if not self.enrolled(county):
            self.say(f"创建县级根节点并发布示例事项目录：{county.name}（{county.node_id}）")
            self._found_county(county)
        # Parents before children. A node can only be enrolled once its parent answers;
        # on a restart nothing needs enrolling, so every node starts at once.
        for level in sorted({_depth(n) for n in DEMO_NODES}):
            nodes = [n for n in DEMO_NODES if _depth(n) == level]
            if any(not self.enrolled(n) for n in nodes):
                self._wait_healthy()
                self._log_in_admin()
            for node in nodes:
                if not self.enrolled(node):
                    self._enrol(node)
                self._spawn(node)
            if self.api.has_token(ADMIN):
                # Hashing the passwords at the county overlaps with these nodes starting up.
                self._provision([n for n in DEMO_NODES if _depth(n) <= level])
        self._wait_healthy()
        self._log_in_admin()
        self._provision(list(DEMO_NODES))
        self._wait_for_users()
        self._file_sample_cases()
        self._wait_for_contact(started_at)
        self.say(f"启动用时 {time.monotonic() - began:.1f} 秒")

    def _check_directory(self) -> None:
        self.base.mkdir(parents=True, exist_ok=True)
        county_dir = self.data_dir(NODES_BY_ID[COUNTY_ID])
        if self.enrolled(NODES_BY_ID[COUNTY_ID]):
            return
        leftovers = [p.name for p in self.base.iterdir() if p.name not in ("logs", STATE_FILE)]
        if leftovers or county_dir.exists():
            raise DemoError(
                f"目录 {self.base} 里已有内容，但不是完整的演示网络（{'、'.join(sorted(leftovers))}）；"
                "请删除它或换一个 --dir"
            )

    def _check_ports(self) -> None:
        for node in DEMO_NODES:
            with socket.socket() as probe:
                probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                try:
                    probe.bind(("127.0.0.1", node.port(self.base_port)))
                except OSError:
                    raise DemoError(
                        f"端口 {node.port(self.base_port)} 已被占用（可能已有演示网络在运行）；"
                        "可用 --base-port 换一组端口"
                    ) from None

    # -- nodes ------------------------------------------------------------------------

    def _found_county(self, node: DemoNode) -> None:
        from common.bootstrap import init_root
        from common.catalog.sample import publish_sample
        from common.db import transaction
        from common.users.roles import Actor

        root = init_root(
            self.data_dir(node),
            node_id=node.node_id,
            name=node.name,
            admin_username=ADMIN.username,
            admin_password=DEMO_PASSWORD,
            port=node.port(self.base_port),
        )
        try:
            system = Actor.node_system(root.node_id)
            with transaction(root.engine) as session:
                publish_sample(session, root, system)
        finally:
            root.engine.dispose()

    def _enrol(self, node: DemoNode) -> None:
        """Invite at the county (its API), then enrol through the parent like `onetrip init --parent`."""
        from common.bootstrap import InitError, init_member

        assert node.parent is not None
        parent = NODES_BY_ID[node.parent]
        self.say(f"注册节点：{node.name}（{node.node_id}），经上级 {parent.name}")
        try:
            invitation = self.api.call(
                ADMIN,
                "POST",
                "/api/v1/nodes/invite",
                json={"node_id": node.node_id, "name": node.name, "parent_id": parent.node_id},
            )
        except DemoError as exc:
            if "node.exists" not in str(exc):
                raise
            # Registered at the county, but the run stopped before the node kept its key.
            raise DemoError(
                f"节点 {node.node_id} 已在县级登记，但本地数据不完整（上次注册中途被打断）；"
                f"请删除 {self.base} 后重新运行"
            ) from exc
        try:
            member = init_member(
                self.data_dir(node),
                node_id=node.node_id,
                parent_url=self.url(parent),
                token=invitation["token"],
                port=node.port(self.base_port),
            )
        except InitError as exc:
            raise DemoError(f"节点 {node.node_id} 注册失败：{exc}") from exc
        member.engine.dispose()

    def _spawn(self, node: DemoNode) -> None:
        logs = self.base / "logs"
        logs.mkdir(exist_ok=True)
        log_path = logs / f"{node.node_id}.log"
        env = {k: v for k, v in os.environ.items() if not k.startswith("ONETRIP_")}
        env.update(
            ONETRIP_SYNC_INTERVAL_SECONDS=str(SYNC_INTERVAL_SECONDS),
            ONETRIP_LOG_JSON="false",
            PYTHONUNBUFFERED="1",
        )
        if node.parent is not None:
            env["ONETRIP_PARENT_URL"] = self.parent_url(node)
        env.update(self.node_env(node))
        with log_path.open("ab") as log:
            process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "common.cli",
                    "serve",
                    "-d",
                    str(self.data_dir(node)),
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(node.port(self.base_port)),
                ],
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                # Its own process group: a Ctrl-C in the terminal reaches only the demo,
                # which then sends each node exactly one SIGINT.
                process_group=0,
            )
        self.children[node.node_id] = Child(node, process, log_path)
        self.say(f"启动节点进程：{node.name}  {self.url(node)}  (pid {process.pid})")

    def _wait_healthy(self) -> None:
        """Until every node started so far answers /healthz."""
        deadline = time.monotonic() + START_TIMEOUT
        waiting = [c for c in self.children.values() if not c.healthy]
        while waiting:
            for child in list(waiting):
                self._check_alive(child)
                try:
                    if httpx.get(f"{self.url(child.node)}/healthz", timeout=2).status_code == 200:
                        child.healthy = True
                        waiting.remove(child)
                except httpx.HTTPError:
                    pass  # not listening yet: poll again until the deadline
            if waiting and time.monotonic() > deadline:
                names = "、".join(c.node.name for c in waiting)
                raise DemoError(
                    f"节点 {names} 在 {START_TIMEOUT:.0f} 秒内没有就绪；日志见 {self.base / 'logs'}"
                )
            if waiting:
                time.sleep(POLL)

    def _check_alive(self, child: Child) -> None:
        if child.process.poll() is not None:
            raise DemoError(
                f"节点 {child.node.name} 的进程已退出（代码 {child.process.returncode}）：\n"
                f"{child.log_tail()}"
            )

    # -- users and sample cases -------------------------------------------------------

    def _log_in_admin(self) -> None:
        if not self.api.has_token(ADMIN) and not self.api.log_in(ADMIN):
            raise DemoError(
                f"县管理员 {ADMIN.username} 无法登录县级节点（密码已不是 {DEMO_PASSWORD}？）"
            )

    def _provision(self, nodes: list[DemoNode]) -> None:
        if created := provision_users(self.api, nodes):
            self.say(
                f"在县级节点开设演示用户：{'、'.join(f'{u.username}@{u.node_id}' for u in created)}"
            )

    def _record_arrived(self, user: DemoUser) -> bool:
        """Whether the user's record is in its node's database yet. Asked before trying the
        login, because every failed login counts towards the slowdown (after 5, a growing wait)."""
        database = self.data_dir(NODES_BY_ID[user.node_id]) / "node.db"
        try:
            with closing(
                sqlite3.connect(f"{database.as_uri()}?mode=ro", uri=True, timeout=5)
            ) as connection:
                row = connection.execute(
                    "SELECT 1 FROM users WHERE node_id = ? AND username = ?",
                    (user.node_id, user.username),
                ).fetchone()
        except sqlite3.Error:
            return False
        return row is not None

    def _wait_for_users(self) -> None:
        """Until every node below the county holds all of its users and its first user
        can log in there (the county writes the records, so its own need no wait)."""
        self.say("等待用户信息经同步到达各节点（在各节点登录验证）……")
        deadline = time.monotonic() + SYNC_TIMEOUT
        waiting = [n for n in DEMO_NODES if n.parent is not None]
        while waiting:
            for node in list(waiting):
                self._check_alive(self.children[node.node_id])
                users = users_of(node.node_id)
                if not all(self._record_arrived(u) for u in users):
                    continue
                waiting.remove(node)
                if self.api.log_in(users[0]):
                    self.say(
                        f"  {node.name}：{len(users)} 个用户已同步，{users[0].username} 登录成功"
                    )
                else:  # the record is there: a retry would only lock the account
                    self.say(f"  提示：{users[0].username} 无法在{node.name}登录（密码已修改？）")
            if waiting and time.monotonic() > deadline:
                late = "、".join(n.name for n in waiting)
                raise DemoError(
                    f"{SYNC_TIMEOUT:.0f} 秒内用户信息没有同步到：{late}；日志见 {self.base / 'logs'}"
                )
            if waiting:
                time.sleep(POLL)

    def _file_sample_cases(self) -> None:
        for case in DEMO_CASES:
            if case.key not in self.state["cases"] and self.api.has_token(
                users_of(case.village)[0]
            ):
                filed = self.state["cases"][case.key] = file_sample_case(self.api, case)
                self._save_state()
                self.say(f"示例办件 {filed['case_no']}：{filed['note']}")

    def _wait_for_contact(self, since: datetime, seconds: float = 20.0) -> None:
        """Until the county has heard from every node since this start (relayed by the townships)."""
        deadline = time.monotonic() + seconds
        since = since - timedelta(seconds=1)
        while True:
            rows = self.api.call(ADMIN, "GET", "/api/v1/nodes/health")
            quiet = [
                r["node_id"]
                for r in rows
                if r["parent_id"] is not None
                and (r["last_contact"] is None or parse_iso(r["last_contact"]) < since)
            ]
            if not quiet:
                self.say(f"县级节点已收到全部 {len(rows) - 1} 个下级节点的同步")
                return
            if time.monotonic() > deadline:
                self.say(f"提示：县级节点暂未收到这些节点的同步：{'、'.join(quiet)}")
                return
            time.sleep(0.5)

    # -- the table, watching, stopping ------------------------------------------------

    def print_table(self) -> None:
        table = Table(title="onetrip 演示网络（Ctrl-C 停止）", show_lines=True)
        for column in ("节点", "编号", "地址", "用户名", "密码", "角色"):
            table.add_column(column, no_wrap=column in ("编号", "地址", "用户名", "密码"))
        for node in DEMO_NODES:
            users = users_of(node.node_id)
            logins = [
                "\n".join(values)
                for values in zip(
                    *[(u.username, DEMO_PASSWORD, u.role_label) for u in users], strict=True
                )
            ]
            table.add_row(node.name, node.node_id, self.url(node), *logins)
        self.console.print(table)
        county = self.url(NODES_BY_ID[COUNTY_ID])
        self.say(
            f"用浏览器打开各节点地址即可登录（例如 {county}/login）；公众门户：{county}/portal"
        )
        self.say(f"API 文档：各节点地址加 /docs，例如 {county}/docs")
        self.say("示例办件（首次运行时办理）：")
        for case in self.state["cases"].values():
            self.say(f"  {case['case_no']}  {case['note']}")
        self.say(f"数据目录：{self.base}（再次运行会沿用；日志在 logs/）")
        self.say("演示网络已就绪（Ctrl-C 停止）")

    def watch(self, commands: queue.Queue[str] | None = None) -> Child:
        """Block until a node process exits on its own; return it. Meanwhile carry out
        the commands typed at the terminal (``offline``/``online`` a node, ``help``)."""
        while True:
            for child in self.children.values():
                if child.node.node_id not in self.offline and child.process.poll() is not None:
                    return child
            try:
                line = commands.get(timeout=0.5) if commands else None
            except queue.Empty:
                continue
            if line is None:
                time.sleep(0.5)
            else:
                self.command(line)

    def command(self, line: str) -> None:
        """``offline 编号``: stop one node (its neighbours queue for it, as when a village's
        link drops); ``online 编号``: start it again; ``help``: say so."""
        words = line.split()
        if not words:
            return
        verb, name = words[0].lower(), " ".join(words[1:])
        node = self.find(name) if name else None
        if verb in ("offline", "online") and node is None:
            self.say(f"找不到节点“{name}”：请用节点编号（如 430424100201）或名称的开头")
        elif verb == "offline" and node is not None:
            child = self.children[node.node_id]
            self.offline.add(node.node_id)
            if child.process.poll() is None:
                child.process.send_signal(signal.SIGINT)
                child.process.wait(timeout=STOP_TIMEOUT)
            self.say(f"{node.name} 已离线：上下级节点的同步会排队，输入 online {node.node_id} 恢复")
        elif verb == "online" and node is not None:
            if node.node_id in self.offline:
                self.offline.discard(node.node_id)
                self._spawn(node)
                self._wait_healthy()
            self.say(f"{node.name} 已在线：积压的记录会在下一轮同步中补上")
        else:
            self.say(
                "可用命令：offline 节点编号（停止一个节点）、online 节点编号（重新启动）；Ctrl-C 停止演示"
            )

    def find(self, name: str) -> DemoNode | None:
        for node in DEMO_NODES:
            if name in (node.node_id, node.name) or node.name.startswith(name):
                return node
        return None

    def stop(self) -> None:
        alive = [c for c in self.children.values() if c.process.poll() is None]
        for child in alive:
            child.process.send_signal(signal.SIGINT)
        deadline = time.monotonic() + STOP_TIMEOUT
        for child in alive:
            try:
                child.process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                self.say(f"节点 {child.node.name} 未在 {STOP_TIMEOUT:.0f} 秒内停止，强制结束")
                child.process.kill()
                child.process.wait()


def _terminal_lines() -> queue.Queue[str]:
    """Lines typed at the terminal, read by a thread of their own."""
    import threading

    lines: queue.Queue[str] = queue.Queue()

    def read() -> None:
        for line in sys.stdin:
            lines.put(line.strip())

    threading.Thread(target=read, daemon=True).start()
    return lines


def _interrupt(_signum: int, _frame: object) -> None:
    raise KeyboardInterrupt


def run_demo(base: Path, base_port: int) -> int:
    """Start, fill and watch the demo network until Ctrl-C; the exit code."""
    console = Console(highlight=False)
    if not console.is_terminal:
        console = Console(highlight=False, width=160)
    # The nodes live wholly in the demo directory: variables meant for another node
    # (ONETRIP_DATABASE_URL, ONETRIP_PORT, ...) must not leak into the ones made here.
    for name in [k for k in os.environ if k.startswith("ONETRIP_")]:
        del os.environ[name]
    network = DemoNetwork(base, base_port, console)
    previous = signal.signal(signal.SIGTERM, _interrupt)
    code = 0
    try:
        network.start()
        network.print_table()
        network.say("输入 offline 节点编号 可让一个节点离线，online 节点编号 让它恢复（help 查看）")
        exited = network.watch(_terminal_lines())
        network.say(
            f"节点 {exited.node.name} 的进程已退出（代码 {exited.process.returncode}），演示网络停止。"
        )
        code = 1
    except KeyboardInterrupt:
        network.say("正在停止演示网络……")
    except DemoError as exc:
        network.say(f"错误：{exc}")
        code = 1
    except httpx.HTTPError as exc:
        network.say(
            f"错误：与节点通信失败（{type(exc).__name__}：{exc}）；日志见 {network.base / 'logs'}"
        )
        code = 1
    finally:
        # A second Ctrl-C must not leave nodes running half-stopped.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        network.stop()
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.signal(signal.SIGTERM, previous)
    network.say("演示网络已停止。")
    return code
