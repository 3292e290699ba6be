"""The chaos run: the seven-process demo network under a seeded schedule of faults while
the village agents file cases; at the end every node converges and verifies.

    python -m benchmarks chaos [--seed 7] [--faults 200]

Faults, drawn from one seeded random generator:

- ``kill``: SIGKILL a node process (any of the seven), start it again;
- ``pause``: SIGSTOP a node for 0.5–2.5 s, then SIGCONT;
- ``wal_loss``: at a village whose outbox has drained, SIGKILL, cut its ``node.db-wal`` at
  a random point (the disk lost its last writes), start it again;
- ``dropped_answer`` / ``truncated_request`` / ``duplicated_request``: on the link from
  each village to its township (a forwarding proxy): the township's answer is lost after
  it committed, the request body is cut in half, or the request is sent twice.

Not injected (no way to do it from outside the process without a fake clock library):
clock jumps. Reordering within one link does not arise: a node's sync is one request at
a time; events do arrive out of order at a township from its two villages and its
parent, which the held-events path handles.

Counted at the end: cases the agents were told were filed (201) that the county lacks
(lost), identity numbers filed once that appear on two cases (duplicated), case numbers
whose applicant differs between the village and the county (reused), quarantined events
(forks) on any node, and ``onetrip verify`` on every data directory. The figures replace
the chaos section of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import signal
import sqlite3
import struct
import tempfile
import threading
import time
from collections import Counter
from contextlib import closing
from dataclasses import dataclass, field
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from rich.console import Console

from common.bootstrap import open_node
from common.db import transaction
from common.ledger.verify import verify_node
from simulation.demo import DemoNetwork
from simulation.demo_data import DEMO_NODES, DEMO_PASSWORD, NODES_BY_ID, DemoNode, users_of
from simulation.workload import VILLAGE_MATTER, resident_id, scan

REPO = Path(__file__).resolve().parents[1]
LOGS = REPO / "artifacts" / "chaos-logs"  # each node's log of the last run
VILLAGES = [n for n in DEMO_NODES if n.node_id.endswith(("201", "202")) and n.parent]
LINK_FAULT_CHANCE = 0.12  # per request on a village's link while the schedule runs
CONVERGE_TIMEOUT = 300.0
MARK_START, MARK_END = "<!-- chaos -->", "<!-- /chaos -->"
WAL_HEADER, WAL_FRAME_HEADER = 32, 24  # SQLite's WAL format


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# -- the faulty link ------------------------------------------------------------------


class FaultyLink:
    """A forwarding proxy from a village to its township that, when armed, sometimes
    loses the answer, cuts the request body or sends the request twice."""

    def __init__(self, target: str, chaos: Chaos) -> None:
        self.target, self.chaos = target.rstrip("/"), chaos
        self.armed = False
        link = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_args: Any) -> None:  # quiet
                return

            def do_GET(self) -> None:
                link.forward(self)

            def do_POST(self) -> None:
                link.forward(self)

        self.server = ThreadingHTTPServer(("127.0.0.1", _free_port()), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def forward(self, handler: BaseHTTPRequestHandler) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length) if length else b""
        fault = self.chaos.link_fault() if self.armed else None
        headers = {
            k: v
            for k, v in handler.headers.items()
            if k.lower() not in ("host", "content-length", "connection", "accept-encoding")
        }
        sent = body[: len(body) // 2] if fault == "truncated_request" else body
        try:
            with httpx.Client(timeout=60) as client:
                answer = client.request(
                    handler.command, self.target + handler.path, content=sent, headers=headers
                )
                if fault == "duplicated_request":
                    client.request(
                        handler.command, self.target + handler.path, content=sent, headers=headers
                    )
        except httpx.HTTPError:
            handler.close_connection = True  # the township is down: the village sees it too
            return
        if fault == "dropped_answer":
            handler.close_connection = True  # committed upstream, never answered
            return
        handler.send_response(answer.status_code)
        for name, value in answer.headers.items():
            if name.lower() not in ("content-length", "transfer-encoding", "content-encoding"):
                handler.send_header(name, value)
        handler.send_header("Content-Length", str(len(answer.content)))
        handler.end_headers()
        handler.wfile.write(answer.content)

    def close(self) -> None:
        self.server.shutdown()


def lose_wal_tail(db: Path, keep: float = 0.0, *, at_least: int = 0) -> int:
    """What a disk that lost its last writes leaves of a killed node's WAL: the file cut
    at ``keep`` of its length (or ``at_least`` bytes), never below what a checkpoint had
    already copied into the database (the checkpoint synced those frames first, so no
    disk loses them), and the shared-memory index gone (it lived in RAM). Returns the
    bytes kept."""
    wal, shm = db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm")
    size = wal.stat().st_size if wal.exists() else 0
    floor = 0
    if size >= WAL_HEADER and shm.exists():
        page_size = struct.unpack(">I", wal.read_bytes()[8:12])[0]
        backfilled = struct.unpack("=I", shm.read_bytes()[96:100])[0]  # nBackfill
        floor = WAL_HEADER + backfilled * (WAL_FRAME_HEADER + page_size) if backfilled else 0
    kept = min(size, max(floor, at_least, int(size * keep)))
    if size:
        with wal.open("r+b") as handle:
            handle.truncate(kept)
    shm.unlink(missing_ok=True)
    return kept


class ChaosNetwork(DemoNetwork):
    """The demo network with each village reaching its township through a FaultyLink,
    and every node's wall clock under libfaketime: the offset in its clock file (read
    on every call) moves the node's clock while it runs, as a machine whose clock is
    set by hand or corrected by NTP; the monotonic clock is left alone, as a real jump
    leaves it."""

    links: dict[str, FaultyLink]
    mandatory: list[int]  # the village matter's mandatory material positions

    def parent_url(self, node: DemoNode) -> str:
        link = getattr(self, "links", {}).get(node.node_id)
        return link.url if link else super().parent_url(node)

    def clock_file(self, node: DemoNode) -> Path:
        return self.base / "clocks" / node.node_id

    def set_clock(self, node: DemoNode, offset_seconds: int) -> None:
        path = self.clock_file(node)
        path.parent.mkdir(exist_ok=True)
        path.write_text(f"{offset_seconds:+d}s\n")

    def node_env(self, node: DemoNode) -> dict[str, str]:
        if not self.clock_file(node).exists():
            self.set_clock(node, 0)
        return {
            "LD_PRELOAD": str(faketime_library()),
            "FAKETIME_TIMESTAMP_FILE": str(self.clock_file(node)),
            "FAKETIME_NO_CACHE": "1",
            "FAKETIME_DONT_FAKE_MONOTONIC": "1",
        }


def faketime_library() -> Path:
    """libfaketime's shared library, as the ``libfaketime`` package ships it (pinned in
    requirements-test.lock); found without importing the package."""
    import importlib.util

    spec = importlib.util.find_spec("libfaketime")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("the chaos run needs libfaketime: bash scripts/test.sh installs it")
    package = Path(next(iter(spec.submodule_search_locations)))
    return package / "vendor" / "libfaketime" / "src" / "libfaketime.so.1"


# -- the agents -----------------------------------------------------------------------


@dataclass
class Filing:
    village: str
    case_no: str
    applicant_id: str


@dataclass
class Agents:
    """One thread filing cases round the villages, a third settled on the spot."""

    net: ChaosNetwork
    filed: list[Filing] = field(default_factory=list)
    refused: Counter[str] = field(default_factory=Counter)
    quiet: set[str] = field(default_factory=set)
    busy: dict[str, threading.Lock] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)
    stopping: threading.Event = field(default_factory=threading.Event)
    n: int = 50_000  # applicant numbers start here, above the demo's own

    def start(self) -> threading.Thread:
        self.busy = {v.node_id: threading.Lock() for v in VILLAGES}
        thread = threading.Thread(target=self._run, daemon=True)
        thread.start()
        return thread

    def _token(self, village: DemoNode) -> str | None:
        if village.node_id not in self.tokens:
            agent = users_of(village.node_id)[0]
            answer = httpx.post(
                f"{self.net.url(village)}/api/v1/auth/token",
                json={"username": agent.username, "password": DEMO_PASSWORD},
                timeout=10,
            )
            if answer.status_code != 200:
                return None
            self.tokens[village.node_id] = answer.json()["token"]
        return self.tokens[village.node_id]

    def _run(self) -> None:
        while not self.stopping.is_set():
            for village in VILLAGES:
                if village.node_id in self.quiet or self.stopping.is_set():
                    continue
                with self.busy[village.node_id]:
                    try:
                        self._file_one(village)
                    except httpx.HTTPError as exc:
                        self.refused[f"link:{type(exc).__name__}"] += 1
                time.sleep(0.05)

    def _call(self, village: DemoNode, method: str, path: str, **kwargs: Any) -> httpx.Response:
        token = self._token(village)
        answer = httpx.request(
            method,
            f"{self.net.url(village)}{path}",
            headers={"Authorization": f"Bearer {token}"},
            timeout=10,
            **kwargs,
        )
        if answer.status_code == 401:  # a lost write may have taken the token: log in again
            self.tokens.pop(village.node_id, None)
        return answer

    def _file_one(self, village: DemoNode) -> None:
        self.n += 1
        n, applicant = self.n, resident_id(self.n)
        blob = self._call(
            village,
            "POST",
            "/api/v1/blobs",
            files={"file": ("材料.pdf", scan(n), "application/pdf")},
        )
        if blob.status_code != 201:
            self.refused[f"blob:{blob.status_code}"] += 1
            return
        answer = self._call(
            village,
            "POST",
            "/api/v1/cases",
            json={
                "matter_code": VILLAGE_MATTER,
                "applicant": {"kind": "person", "name": f"村民{n}", "id_number": applicant},
                "materials": [
                    {"position": p, "blob_sha256": blob.json()["sha256"]}
                    for p in self.net.mandatory
                ],
                "visit": {"who": "applicant", "place": village.name, "purpose": "提交申请"},
            },
        )
        if answer.status_code != 201:
            code = (
                answer.json().get("code")
                if answer.headers.get("content-type", "").startswith("application/json")
                else ""
            )
            self.refused[f"file:{answer.status_code}:{code}"] += 1
            return
        case_no = answer.json()["case_no"]
        self.filed.append(Filing(village.node_id, case_no, applicant))
        if n % 3 == 0:  # settled on the spot: three more of the village's own writes
            path = f"/api/v1/cases/{case_no}"
            for step, body in (
                ("accept", None),
                ("decide", {"decision": "approved", "reason": "材料齐全，当场办结"}),
                ("deliver", {"method": "window"}),
            ):
                done = self._call(village, "POST", f"{path}/{step}", json=body)
                if done.status_code >= 300:
                    self.refused[f"{step}:{done.status_code}"] += 1
                    break


# -- the schedule ---------------------------------------------------------------------


class Chaos:
    def __init__(self, base: Path, base_port: int, seed: int, console: Console) -> None:
        self.rng = random.Random(seed)
        self.lock = threading.Lock()
        self.faults: Counter[str] = Counter()
        self.console = console
        self.net = ChaosNetwork(base, base_port, console)
        self.net.links = {}
        self.agents = Agents(self.net)
        self.cut_cases = 0  # filed cases a WAL cut removed from their village
        self.jumps: list[int] = []  # clock offsets set, seconds

    def link_fault(self) -> str | None:
        with self.lock:
            if self.rng.random() >= LINK_FAULT_CHANCE:
                return None
            kind = self.rng.choice(("dropped_answer", "truncated_request", "duplicated_request"))
            self.faults[kind] += 1
            return kind

    def say(self, message: str) -> None:
        self.console.print(message, markup=False, highlight=False)

    def start(self) -> None:
        # Links first: the villages are spawned with their link as parent URL.
        for village in VILLAGES:
            parent = NODES_BY_ID[village.parent or ""]
            self.net.links[village.node_id] = FaultyLink(self.net.url(parent), self)
        self.net.start()
        matter = httpx.get(
            f"{self.net.url(VILLAGES[0])}/api/v1/catalogue/matters/{VILLAGE_MATTER}", timeout=10
        ).json()["matter"]
        self.net.mandatory = [i for i, m in enumerate(matter["materials"]) if m["mandatory"]]

    # -- process faults -------------------------------------------------------------

    def _restart(self, node: DemoNode) -> None:
        self.net._spawn(node)
        self.net._wait_healthy()

    def kill(self, node: DemoNode) -> None:
        child = self.net.children[node.node_id]
        child.process.kill()
        child.process.wait()
        self._restart(node)

    def pause(self, node: DemoNode) -> None:
        child = self.net.children[node.node_id]
        os.kill(child.process.pid, signal.SIGSTOP)
        time.sleep(self.rng.uniform(0.5, 2.5))
        os.kill(child.process.pid, signal.SIGCONT)

    def wal_loss(self, village: DemoNode) -> bool:
        """Cut the WAL of a village whose own writes have all gone up; False if its
        outbox did not drain in time (then it is only killed)."""
        self.agents.quiet.add(village.node_id)
        try:
            with self.agents.busy[village.node_id]:
                drained = self._wait_drained(village, 15.0)
                child = self.net.children[village.node_id]
                child.process.kill()
                child.process.wait()
                if drained:
                    self._cut_wal(village)
                self._restart(village)
                return drained
        finally:
            self.agents.quiet.discard(village.node_id)

    def _db(self, node: DemoNode) -> Path:
        return self.net.data_dir(node) / "node.db"

    def _outbox(self, village: DemoNode) -> int:
        with closing(sqlite3.connect(self._db(village), timeout=10)) as db:
            return int(
                db.execute(
                    "SELECT count(*) FROM sync_outbox WHERE peer = ? AND seq > coalesce("
                    "(SELECT sent_acked FROM sync_cursors WHERE peer = ?), 0)",
                    (village.parent, village.parent),
                ).fetchone()[0]
            )

    def _wait_drained(self, village: DemoNode, seconds: float) -> bool:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self._outbox(village) == 0:
                return True
            time.sleep(0.2)
        return False

    def _cut_wal(self, village: DemoNode) -> None:
        lose_wal_tail(self._db(village), self.rng.uniform(0.2, 0.9))
        with closing(sqlite3.connect(self._db(village), timeout=10)) as db:
            held = {row[0] for row in db.execute("SELECT case_no FROM cases")}
        self.cut_cases += sum(
            1 for f in self.agents.filed if f.village == village.node_id and f.case_no not in held
        )

    def run(self, target: int) -> float:
        """Inject faults until ``target``; the seconds it took."""
        began = time.monotonic()
        for link in self.net.links.values():
            link.armed = True
        while sum(self.faults.values()) < target:
            time.sleep(self.rng.uniform(0.3, 1.2))
            kind = self.rng.choice(("kill", "pause", "pause", "wal_loss", "clock_jump"))
            if kind == "clock_jump":
                self.jump_clock(self.rng.choice(DEMO_NODES))
            elif kind == "wal_loss":
                village = self.rng.choice(VILLAGES)
                kind = "wal_loss" if self.wal_loss(village) else "kill"
            else:
                node = self.rng.choice(DEMO_NODES)
                self.kill(node) if kind == "kill" else self.pause(node)
            with self.lock:
                self.faults[kind] += 1
            self.say(f"  faults so far: {dict(self.faults)}; cases filed {len(self.agents.filed)}")
        for link in self.net.links.values():
            link.armed = False
        for node in DEMO_NODES:  # the clocks are put right, as NTP would
            self.net.set_clock(node, 0)
        return time.monotonic() - began

    def jump_clock(self, node: DemoNode) -> None:
        """Move ``node``'s wall clock while it runs: back or ahead by a minute to six
        hours (across local midnight, some of the time), or right again."""
        offset = (
            0
            if self.rng.random() < 0.25
            else self.rng.choice((-1, 1)) * self.rng.randint(60, 6 * 3600)
        )
        self.net.set_clock(node, offset)
        self.jumps.append(offset)

    # -- the end --------------------------------------------------------------------

    def converge(self) -> float:
        """Until every filed case is at the county and every village's outbox is empty
        and its writes free; the seconds it took."""
        began = time.monotonic()
        county = self._db(DEMO_NODES[0])
        wanted = {f.case_no for f in self.agents.filed}
        while time.monotonic() - began < CONVERGE_TIMEOUT:
            with closing(sqlite3.connect(county, timeout=10)) as db:
                held = {row[0] for row in db.execute("SELECT case_no FROM cases")}
            if (
                wanted <= held
                and all(self._outbox(v) == 0 for v in VILLAGES)
                and all(
                    httpx.get(f"{self.net.url(v)}/healthz", timeout=5).json()["writes"]["held"]
                    is False
                    for v in VILLAGES
                )
            ):
                return time.monotonic() - began
            time.sleep(1.0)
        return float("nan")

    def outcome(self) -> dict[str, Any]:
        county_db = self._db(DEMO_NODES[0])
        with closing(sqlite3.connect(county_db, timeout=10)) as db:
            at_county = dict(db.execute("SELECT case_no, applicant_id FROM cases"))
        by_applicant = Counter(at_county.values())
        ours = {f.applicant_id for f in self.agents.filed}
        forks = 0
        for node in DEMO_NODES:
            with closing(sqlite3.connect(self._db(node), timeout=10)) as db:
                forks += int(
                    db.execute(
                        "SELECT count(*) FROM quarantined_events WHERE reason_code = 'event.fork'"
                    ).fetchone()[0]
                )
        return {
            "filed": len(self.agents.filed),
            "lost": sum(1 for f in self.agents.filed if f.case_no not in at_county),
            "duplicated": sum(1 for a in ours if by_applicant[a] > 1),
            "reused": sum(
                1
                for f in self.agents.filed
                if f.case_no in at_county and at_county[f.case_no] != f.applicant_id
            ),
            "forks": forks,
            "cut_cases": self.cut_cases,
            "refused": dict(self.agents.refused),
        }

    def verify_all(self) -> dict[str, bool]:
        results = {}
        for node in DEMO_NODES:
            opened = open_node(self.net.data_dir(node))
            try:
                with transaction(opened.engine) as session:
                    results[node.node_id] = verify_node(session, opened).ok
            finally:
                opened.engine.dispose()
        return results


def _hours(seconds: int) -> str:
    return f"{abs(seconds) / 3600:.1f} h"


def report_section(figures: dict[str, Any]) -> list[str]:
    faults: dict[str, int] = figures["faults"]
    lines = [
        MARK_START,
        "## Chaos run",
        "",
        f"`{figures['command']}` on {figures['date']}: the seven-process demo network (county, "
        "two townships, four villages; each `onetrip serve`), one agent thread filing round the "
        "villages (a third settled on the spot), faults from a seeded schedule. A clock jump "
        "moves one node's wall clock while it runs (libfaketime, offset read on every call) "
        f"back or ahead by up to six hours, or right again (largest back {figures['jump_back']}, "
        f"largest ahead {figures['jump_ahead']}); at the end of the faults every clock is "
        "put right, as NTP would.",
        "",
        "| fault | injected |",
        "|---|---|",
        *(f"| {kind} | {count} |" for kind, count in sorted(faults.items())),
        f"| **total** | **{sum(faults.values())}** |",
        "",
        "| outcome | figure |",
        "|---|---|",
        f"| cases filed (answered 201 to the agent) | {figures['filed']} |",
        f"| of them lost (not at the county at the end) | {figures['lost']} |",
        f"| duplicated (an applicant on two cases) | {figures['duplicated']} |",
        f"| case numbers reused for another applicant | {figures['reused']} |",
        f"| events quarantined as forks, all nodes | {figures['forks']} |",
        f"| cases a WAL cut removed from their village (taken back from the parent) | {figures['cut_cases']} |",
        f"| faults phase | {figures['fault_seconds']:.0f} s |",
        f"| time to converge after the last fault | {figures['converge_seconds']:.1f} s |",
        f"| `onetrip verify` passed | {sum(figures['verified'].values())} of {len(figures['verified'])} nodes |",
        "",
        "Requests the agents saw refused or failing while nodes were down or holding writes "
        f"(the agent is told; nothing is half-written): {figures['refused'] or 'none'}.",
        MARK_END,
    ]
    return lines


def write_section(
    path: Path, lines: list[str], marks: tuple[str, str] = (MARK_START, MARK_END)
) -> None:
    """Put ``lines`` (which begin and end with ``marks``) in place of that block of the
    report, or after the rest when it has none: the other runs' figures stay."""
    start, end = marks
    text = path.read_text(encoding="utf-8") if path.exists() else "# Benchmarks\n"
    block = "\n".join(lines)
    if start in text and end in text:
        head, rest = text.split(start, 1)
        text = head + block + rest.split(end, 1)[1]
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    path.write_text(text, encoding="utf-8")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks chaos")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--faults", type=int, default=200)
    parser.add_argument("--base-port", type=int, default=18400)
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "benchmarks.md")
    args = parser.parse_args(argv)
    console = Console(highlight=False, width=160)
    with tempfile.TemporaryDirectory(prefix="onetrip-chaos-") as base:
        chaos = Chaos(Path(base), args.base_port, args.seed, console)
        try:
            chaos.start()
            agents = chaos.agents.start()
            fault_seconds = chaos.run(args.faults)
            chaos.agents.stopping.set()
            agents.join(timeout=30)
            converge_seconds = chaos.converge()
            figures = chaos.outcome()
        finally:
            chaos.net.stop()
            for link in chaos.net.links.values():
                link.close()
            # The nodes' logs outlive the run: what went wrong is read there.
            shutil.rmtree(LOGS, ignore_errors=True)
            shutil.copytree(Path(base) / "logs", LOGS, dirs_exist_ok=True)
        verified = chaos.verify_all()
    figures |= {
        "command": " ".join(["python -m benchmarks chaos", *argv]),
        "date": datetime.now(ZoneInfo("Asia/Shanghai")).isoformat(timespec="seconds"),
        "faults": dict(chaos.faults),
        "jump_back": _hours(min([0, *chaos.jumps])),
        "jump_ahead": _hours(max([0, *chaos.jumps])),
        "fault_seconds": fault_seconds,
        "converge_seconds": converge_seconds,
        "verified": verified,
    }
    lines = report_section(figures)
    write_section(args.out, lines)
    console.print("\n".join(lines), markup=False)
    ok = (
        figures["lost"] == 0
        and figures["duplicated"] == 0
        and figures["reused"] == 0
        and all(verified.values())
        and converge_seconds == converge_seconds  # not NaN: it converged
    )
    return 0 if ok else 1
