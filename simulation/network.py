"""A whole network in one process, for tests and benchmarks (issue 4, item 11).

``build_network(base_dir, topology)`` founds the root and enrols every other node
through the real enrolment path (``init_member`` posting to its parent's app, a
township relaying its villages' enrolments to the county); each node has its own data
directory and SQLite database. Requests between nodes travel in process: every parent
serves its FastAPI app through an httpx transport (``InProcessTransport``: the ASGI
app on one shared event-loop thread), and each child's ``parent_transport`` points at
it, so ``sync_once`` and the enrolment relay run unchanged, signed requests, link
checks and all.

``sync_round`` runs one round of sync across the tree: every child, deepest first
(records go up), then every child, shallowest first (records come down); a node whose
link to its parent is down is skipped. ``waiting`` reads, from each side's database,
what still waits on each link; ``converge`` runs rounds until nothing does.

Topologies: ``hengdong()`` (1 county + the 17 real townships + 178 sample villages;
smaller on request) and ``city_tree()`` (a city above two counties: four levels).

What keeps 196 nodes cheap: the migrations run once into a template database that
every node starts from (``init_root``/``init_member`` then find it at head); one
password hash (the root's administrator), no users provisioned by the harness; one
catalogue publication at the root, which reaches every node by sync like any
broadcast record.
"""

from __future__ import annotations

import atexit
import contextlib
import shutil
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Self

import httpx

from common.db import transaction
from common.node import ThisNode
from common.users.roles import Actor

ROOT_ADMIN = "admin"
ROOT_PASSWORD = "Simulation-admin-2026!"
SIM_HOST = "sim.invalid"  # never resolved: requests go through the in-process transports

COUNTY_ID = "430424000000"
COUNTY_NAME = "衡东县政务服务中心"
# The 17 township-level units of 衡东县 (DOMAIN.md).
HENGDONG_TOWNSHIPS = (
    ("430424100", "洣水镇"),
    ("430424101", "石湾镇"),
    ("430424102", "新塘镇"),
    ("430424103", "大浦镇"),
    ("430424104", "吴集镇"),
    ("430424105", "甘溪镇"),
    ("430424106", "杨林镇"),
    ("430424107", "草市镇"),
    ("430424108", "杨桥镇"),
    ("430424109", "霞流镇"),
    ("430424110", "荣桓镇"),
    ("430424111", "高湖镇"),
    ("430424112", "白莲镇"),
    ("430424113", "三樟镇"),
    ("430424114", "蓬源镇"),
    ("430424204", "南湾乡"),
    ("430424211", "石滩乡"),
)
HENGDONG_VILLAGES = 178


# -- topologies --------------------------------------------------------------------------


@dataclass(frozen=True)
class NodeSpec:
    node_id: str
    name: str
    parent_id: str | None  # None for the root


@dataclass(frozen=True)
class Topology:
    """Nodes in enrolment order: every parent before its children, the root first."""

    name: str
    nodes: tuple[NodeSpec, ...]

    @property
    def root(self) -> NodeSpec:
        return self.nodes[0]

    def __len__(self) -> int:
        return len(self.nodes)


def _spread(total: int, buckets: int) -> list[int]:
    """``total`` split over ``buckets`` as evenly as possible, larger shares first."""
    base, extra = divmod(total, buckets)
    return [base + (1 if i < extra else 0) for i in range(buckets)]


def village_id(township_code: str, n: int) -> str:
    """The n-th sample village (1-based) under a 9-digit township code: …2NN."""
    return f"{township_code}{200 + n:03d}"


def hengdong(villages_per_township: int | None = None, townships: int | None = None) -> Topology:
    """衡东县: the county, its 17 townships and 178 sample villages (10 or 11 each).

    ``villages_per_township`` and ``townships`` shrink it for quick tests (e.g. 17 × 2).
    """
    chosen = HENGDONG_TOWNSHIPS[:townships] if townships else HENGDONG_TOWNSHIPS
    counts = (
        [villages_per_township] * len(chosen)
        if villages_per_township is not None
        else _spread(HENGDONG_VILLAGES, len(chosen))
    )
    nodes = [NodeSpec(COUNTY_ID, COUNTY_NAME, None)]
    for code, name in chosen:
        nodes.append(NodeSpec(code + "000", f"{name}便民服务中心", COUNTY_ID))
    serial = 0
    for (code, name), count in zip(chosen, counts, strict=True):
        for n in range(1, count + 1):
            serial += 1
            nodes.append(
                NodeSpec(village_id(code, n), f"{name}示例村{serial:02d}代办点", code + "000")
            )
    label = (
        "hengdong" if villages_per_township is None and townships is None else "hengdong-reduced"
    )
    return Topology(label, tuple(nodes))


CITY_ID = "430400000000"
QIDONG_ID = "430426000000"


def city_tree() -> Topology:
    """衡阳市 above 衡东县 and 祁东县, each with one township and two villages: four levels."""
    nodes = [
        NodeSpec(CITY_ID, "衡阳市政务服务中心", None),
        NodeSpec(COUNTY_ID, COUNTY_NAME, CITY_ID),
        NodeSpec(QIDONG_ID, "祁东县政务服务中心", CITY_ID),
        NodeSpec("430424100000", "洣水镇便民服务中心", COUNTY_ID),
        NodeSpec("430426100000", "祁东示例镇便民服务中心", QIDONG_ID),
    ]
    for township in ("430424100", "430426100"):
        for n in (1, 2):
            nodes.append(
                NodeSpec(
                    village_id(township, n), f"示例村{township[4:6]}{n:02d}代办点", township + "000"
                )
            )
    return Topology("city", tuple(nodes))


# -- in-process links ----------------------------------------------------------------------


class _Portal:
    """One event-loop thread shared by every served app (anyio's blocking portal)."""

    def __init__(self) -> None:
        import anyio.from_thread

        self._stack = contextlib.ExitStack()
        self.portal = self._stack.enter_context(anyio.from_thread.start_blocking_portal())
        # Stop the loop before interpreter shutdown freezes its (daemon) thread, even
        # when a script forgets ``Network.close()``; otherwise exit would hang.
        atexit.register(self.close)

    def close(self) -> None:
        atexit.unregister(self.close)
        self._stack.close()


class InProcessTransport(httpx.BaseTransport):
    """A synchronous httpx transport that hands each request to an ASGI app in this
    process: the whole request runs as one call on the shared event-loop thread, so a
    request costs one thread hop each way plus the app's own (sync endpoints run in
    the loop's worker threads, as under uvicorn)."""

    def __init__(self, app: Any, portal: _Portal, client: tuple[str, int]) -> None:
        # The app's exceptions propagate with their traceback: in a simulation a 500 is a bug.
        self._asgi = httpx.ASGITransport(app=app, client=client, raise_app_exceptions=True)
        self._portal = portal

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        status, headers, content = self._portal.portal.call(self._round_trip, request)
        return httpx.Response(status, headers=headers, content=content, request=request)

    async def _round_trip(self, request: httpx.Request) -> tuple[int, httpx.Headers, bytes]:
        response = await self._asgi.handle_async_request(request)
        content = await response.aread()
        return response.status_code, response.headers, content


def serve_in_process(node: ThisNode, portal: _Portal) -> httpx.BaseTransport:
    """An httpx transport to ``node``'s app in this process.

    The app's lifespan is not run: the simulation drives sync itself (no scheduler).
    """
    from common.app import create_app

    return InProcessTransport(
        create_app(node.settings, node=node), portal, client=(node.node_id, 0)
    )


def node_url(node_id: str) -> str:
    return f"http://{node_id}.{SIM_HOST}"


# -- the network ----------------------------------------------------------------------------


@dataclass
class Network:
    topology: Topology
    base_dir: Path
    nodes: dict[str, ThisNode]
    parent: dict[str, str | None]
    depth: dict[str, int]
    transports: dict[str, httpx.BaseTransport]  # node id -> its app, for its children
    build_seconds: float = 0.0
    _portal: _Portal | None = None
    closed: bool = field(default=False)

    @property
    def root(self) -> ThisNode:
        return self.nodes[self.topology.root.node_id]

    def __getitem__(self, node_id: str) -> ThisNode:
        return self.nodes[node_id]

    def children(self, node_id: str) -> list[str]:
        return [n for n, p in self.parent.items() if p == node_id]

    def at_depth(self, depth: int) -> list[str]:
        return [n for n, d in self.depth.items() if d == depth]

    @property
    def leaves(self) -> list[str]:
        parents = set(self.parent.values())
        return [n for n in self.nodes if n not in parents]

    def path_up(self, node_id: str) -> list[str]:
        path: list[str] = []
        current: str | None = node_id
        while current is not None:
            path.append(current)
            current = self.parent[current]
        return path

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        for node in self.nodes.values():
            node.engine.dispose()
        if self._portal is not None:
            self._portal.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def build_network(
    base_dir: Path | str, topology: Topology, *, catalogue: Iterable[str] | bool | None = None
) -> Network:
    """Found the root, enrol every node through its parent in process, publish the sample
    catalogue once at the root (``catalogue``: None for all of it, some matter codes for
    those only, False for none). Records reach the other nodes by sync (``converge``)."""
    from common.bootstrap import init_member, init_root

    started = time.perf_counter()
    base = Path(base_dir)
    root_spec = topology.root
    portal = _Portal()
    network = Network(
        topology=topology,
        base_dir=base,
        nodes={},
        parent={},
        depth={},
        transports={},
        _portal=portal,
    )
    try:
        template = _template_database(base)
        _start_from(template, base / root_spec.node_id)
        root = init_root(
            base / root_spec.node_id,
            node_id=root_spec.node_id,
            name=root_spec.name,
            admin_username=ROOT_ADMIN,
            admin_password=ROOT_PASSWORD,
            sync_enabled=False,
        )
        network.nodes[root.node_id] = root
        network.parent[root.node_id] = None
        network.depth[root.node_id] = 0
        if catalogue is not False:
            publish_sample_catalogue(root, None if catalogue in (None, True) else catalogue)
        parents = {spec.parent_id for spec in topology.nodes}
        if root.node_id in parents:
            network.transports[root.node_id] = serve_in_process(root, portal)
        for spec in topology.nodes[1:]:
            assert spec.parent_id is not None
            token = _invite(root, spec)
            _start_from(template, base / spec.node_id)
            with httpx.Client(transport=network.transports[spec.parent_id]) as client:
                node = init_member(
                    base / spec.node_id,
                    node_id=spec.node_id,
                    parent_url=node_url(spec.parent_id),
                    token=token,
                    client=client,
                    sync_enabled=False,
                )
            node.parent_transport = network.transports[spec.parent_id]
            network.nodes[spec.node_id] = node
            network.parent[spec.node_id] = spec.parent_id
            network.depth[spec.node_id] = network.depth[spec.parent_id] + 1
            if spec.node_id in parents:
                network.transports[spec.node_id] = serve_in_process(node, portal)
    except BaseException:
        network.close()
        raise
    network.build_seconds = time.perf_counter() - started
    return network


TEMPLATE_DIR = ".template"


def _template_database(base: Path) -> Path:
    """An empty database at the head of the migrations, with the calendar seeded: every
    node starts from a copy, so the migrations run once instead of once per node
    (``init_root``/``init_member`` then find it at head and the days already there)."""
    from common.calendar.service import seed_calendar_days
    from common.db import make_engine
    from common.migrate import upgrade

    path = base / TEMPLATE_DIR / "node.db"
    path.parent.mkdir(parents=True, exist_ok=True)
    engine = make_engine(f"sqlite:///{path}")
    try:
        upgrade(engine)
        with transaction(engine) as session:
            seed_calendar_days(session)
    finally:
        engine.dispose()  # the last connection closed checkpoints the WAL into the file
    return path


def _start_from(template: Path, data_dir: Path) -> None:
    data_dir.mkdir(parents=True, exist_ok=True)
    for suffix in ("", "-wal"):
        if Path(f"{template}{suffix}").exists():
            shutil.copyfile(f"{template}{suffix}", data_dir / f"node.db{suffix}")


def _invite(root: ThisNode, spec: NodeSpec) -> str:
    from common.identity.service import invite_node

    with transaction(root.engine) as session:
        return invite_node(
            session,
            root,
            Actor.node_system(root.node_id),
            spec.node_id,
            spec.name,
            parent_id=spec.parent_id,
        ).token


def publish_sample_catalogue(root: ThisNode, codes: Iterable[str] | None = None) -> None:
    """The sample catalogue's batches, published at the root; ``codes`` keeps only those
    matters (a quick test needs two, not 250 KB of catalogue on every node)."""
    from common.catalog.sample import publish_sample

    with transaction(root.engine) as session:
        publish_sample(session, root, Actor.node_system(root.node_id), codes)


# -- sync rounds ------------------------------------------------------------------------------


@dataclass
class RoundReport:
    pushed: int = 0
    pulled: int = 0
    syncs: int = 0
    failures: dict[str, str] = field(default_factory=dict)

    @property
    def moved(self) -> int:
        return self.pushed + self.pulled


def sync_round(
    network: Network,
    nodes: Iterable[str] | None = None,
    down: Iterable[str] = (),
    *,
    busy_only: bool = False,
) -> RoundReport:
    """One round: every child syncs with its parent (``sync_once``), deepest first so
    that records climb, then shallowest first so that they come down.

    ``nodes`` limits the round to those children; a node in ``down`` has no link to its
    parent this round (its own children may still sync with it). ``busy_only`` skips a
    child whose link has nothing waiting either way just before its turn: the result is
    the same, without the empty requests (and their telemetry).
    """
    from common.sync.client import SyncError, sync_once

    skip = set(down)
    chosen = [
        n
        for n in (network.nodes if nodes is None else nodes)
        if network.parent[n] is not None and n not in skip
    ]
    up = sorted(chosen, key=lambda n: -network.depth[n])
    report = RoundReport()
    for node_id in [*up, *reversed(up)]:
        if busy_only and not link_waiting(network, node_id):
            continue
        try:
            result = sync_once(network.nodes[node_id])
        except SyncError as exc:
            report.failures[node_id] = str(exc)
            continue
        report.pushed += result.pushed
        report.pulled += result.pulled
        report.syncs += 1
    return report


def _outbox_top(node: ThisNode, peer: str) -> int:
    from sqlalchemy import func, select

    from common.sync.models import OutboxEntry

    with node.engine.connect() as connection:
        return int(
            connection.execute(
                select(func.coalesce(func.max(OutboxEntry.seq), 0)).where(OutboxEntry.peer == peer)
            ).scalar()
        )


def _cursor_row(node: ThisNode, peer: str) -> tuple[int, int, bool]:
    from sqlalchemy import select

    from common.sync.models import SyncCursor

    with node.engine.connect() as connection:
        row = connection.execute(
            select(SyncCursor.sent_acked, SyncCursor.received, SyncCursor.backfilled).where(
                SyncCursor.peer == peer
            )
        ).first()
    return (row[0], row[1], bool(row[2])) if row else (0, 0, False)


def link_waiting(network: Network, child: str) -> dict[str, int]:
    """What waits on the link from ``child`` to its parent, read from each side's own
    database: ``"{child}↑"`` events in the child's outbox its parent has not
    acknowledged; ``"{child}↓"`` events in the parent's outbox for the child that the
    child has not applied (at least 1 while the parent has not yet backfilled the child)."""
    parent = network.parent[child]
    if parent is None:
        return {}
    result: dict[str, int] = {}
    acked, received, _ = _cursor_row(network[child], parent)
    if (up := _outbox_top(network[child], parent) - acked) > 0:
        result[f"{child}↑"] = up
    backfilled = _cursor_row(network[parent], child)[2]
    if (down := _outbox_top(network[parent], child) - received) > 0 or not backfilled:
        result[f"{child}↓"] = max(down, 1)
    return result


def waiting(
    network: Network, nodes: Iterable[str] | None = None, down: Iterable[str] = ()
) -> dict[str, int]:
    """``link_waiting`` over every link that is up; empty once the network (or the chosen
    part of it) has converged."""
    skip = set(down)
    result: dict[str, int] = {}
    for child in network.nodes if nodes is None else nodes:
        if child not in skip:
            result.update(link_waiting(network, child))
    return result


def converge(
    network: Network,
    nodes: Iterable[str] | None = None,
    down: Iterable[str] = (),
    max_rounds: int = 10,
) -> int:
    """Run rounds until nothing waits on any link that is up; returns the rounds run."""
    chosen = list(network.nodes if nodes is None else nodes)
    for rounds in range(max_rounds + 1):
        if not waiting(network, chosen, down):
            return rounds
        if rounds == max_rounds:
            break
        report = sync_round(network, chosen, down, busy_only=True)
        if report.failures:
            raise RuntimeError(f"sync failed: {report.failures}")
    raise RuntimeError(
        f"the network did not settle in {max_rounds} rounds: {waiting(network, chosen, down)}"
    )
