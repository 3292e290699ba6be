"""Filing (申请) at one village node on one core: latency p50/p99 and filings per second.

The village is a real node with its own SQLite database: the county is founded with
the sample catalogue, the village enrols through the county's enrolment endpoint (in
process, over a TestClient; the township is left out because enrolling through it
needs a second served node and changes nothing about filing), and the county's
catalogue, calendar and the village agent's user record are handed to the village by
ingesting the county's signed events, as sync would. Then the village agent files cases
for residents, each filing in its own transaction as a request does, through
``common.cases.intake.service.file_case``; a second run goes through the HTTP API
(``POST /api/v1/cases`` with a TestClient) to show what the web layer adds.

Run alone: ``python -m benchmarks.bench_filing --n 2000`` (``python -m benchmarks`` runs
every benchmark and writes docs/benchmarks.md).
"""

from __future__ import annotations

import argparse
import logging
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

COUNTY_ID = "430424000000"
VILLAGE_ID = "430424100201"
ADMIN_PASSWORD = "Bench-admin-2026!"
AGENT = "agent"
# Matters a village agent files for residents, heaviest last: a village 即办件, a
# township 承诺件 and a county licence with six listed materials (all in the sample).
MATTERS = (
    "54430424MEB423186J6002007001000",  # 城乡居民基本养老保险参保登记（村级代办）
    "11430424006817011Q5001004010002",  # 最低生活保障申请审核
    "11430424MB1C5953154000119001001",  # 食品经营许可（新办）
)
PDF_BYTES = b"%PDF-1.7\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
WARMUP = 20


@dataclass(frozen=True)
class Timing:
    """Latencies of one run (seconds) and its wall time."""

    label: str
    latencies: list[float]
    wall: float
    cpu: float  # process CPU seconds over the run: robust to other load on the machine

    @property
    def n(self) -> int:
        return len(self.latencies)

    def percentile_ms(self, p: int) -> float:
        return statistics.quantiles(self.latencies, n=100, method="inclusive")[p - 1] * 1000

    @property
    def per_second(self) -> float:
        return self.n / self.wall

    def as_dict(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "n": self.n,
            "p50_ms": round(self.percentile_ms(50), 2),
            "p99_ms": round(self.percentile_ms(99), 2),
            "mean_ms": round(statistics.fmean(self.latencies) * 1000, 2),
            "per_second": round(self.per_second, 1),
            "cpu_ms": round(self.cpu / self.n * 1000, 2),
        }


def build_village(base: Path) -> Any:
    """The county and an enrolled village holding the county's catalogue; returns the village."""
    from fastapi.testclient import TestClient

    from common.app import create_app
    from common.bootstrap import init_member, init_root
    from common.catalog.sample import publish_sample
    from common.db import transaction
    from common.identity.service import invite_node
    from common.users.roles import Actor, Role
    from common.users.service import provision_user

    root = init_root(
        base / "county",
        node_id=COUNTY_ID,
        name="衡东县政务服务中心",
        admin_username="admin",
        admin_password=ADMIN_PASSWORD,
    )
    admin = Actor(username="admin", node_id=COUNTY_ID, role=Role.COUNTY_ADMIN)
    with transaction(root.engine) as session:
        publish_sample(session, root, admin)
        invitation = invite_node(session, root, admin, VILLAGE_ID, "示例村代办点")
    with TestClient(create_app(root.settings, node=root)) as county:
        village = init_member(
            base / "village",
            node_id=VILLAGE_ID,
            parent_url=str(county.base_url),
            token=invitation.token,
            client=county,
        )
    with transaction(root.engine) as session:
        provision_user(
            session,
            root,
            admin,
            node_id=VILLAGE_ID,
            username=AGENT,
            display_name="李村代",
            role=Role.VILLAGE_AGENT,
            password="Cundai-2026!",
        )
    hand_down(root, village)
    root.engine.dispose()
    return village


def hand_down(root: Any, village: Any) -> int:
    """What sync would bring the village: the catalogue, the calendar and its users."""
    from sqlalchemy import or_, select

    from common.db import transaction
    from common.identity.registry import RegistryKeyResolver
    from common.ledger.models import Event
    from common.ledger.service import ingest_event

    with transaction(root.engine) as session:
        raws = (
            session.execute(
                select(Event.raw)
                .where(
                    or_(
                        Event.subject.in_(("catalogue", "calendar")),
                        Event.subject.like(f"user:{VILLAGE_ID}:%"),
                    )
                )
                .order_by(Event.lseq)
            )
            .scalars()
            .all()
        )
    resolver = RegistryKeyResolver(village.settings.root_fingerprint)
    with transaction(village.engine) as session:
        for raw in raws:
            ingest_event(
                session,
                village.network_id,
                raw,
                resolver,
                author_chain_complete=lambda author: False,
            )
    return len(raws)


def filing_plans(village: Any) -> list[dict[str, Any]]:
    """Per matter: the request body a window would send (one uploaded PDF per required material)."""
    from common.blobs.service import store_blob
    from common.catalog.service import get_published
    from common.db import transaction

    with transaction(village.engine) as session:
        sha = store_blob(session, village, PDF_BYTES, "申请材料.pdf").sha256
        plans = []
        for code in MATTERS:
            matter = get_published(session, code).to_matter()
            plans.append(
                {
                    "matter_code": code,
                    "materials": [
                        {"position": i, "blob_sha256": sha}
                        for i, m in enumerate(matter.materials)
                        if m.mandatory
                    ],
                    "visit": {"who": "applicant", "place": "示例村代办点", "purpose": "提交申请"},
                }
            )
    return plans


def request_body(plans: list[dict[str, Any]], i: int) -> dict[str, Any]:
    from simulation.workload import applicant  # the simulation's residents: valid id numbers

    return {**plans[i % len(plans)], "applicant": applicant(i)}


def _timed(label: str, n: int, one: Callable[[int], None]) -> Timing:
    for i in range(WARMUP):
        one(-1 - i)
    latencies = []
    cpu_start, start = time.process_time(), time.perf_counter()
    for i in range(n):
        t0 = time.perf_counter()
        one(i)
        latencies.append(time.perf_counter() - t0)
    return Timing(label, latencies, time.perf_counter() - start, time.process_time() - cpu_start)


def bench_action(village: Any, n: int) -> Timing:
    from common.cases.intake.service import file_case
    from common.db import transaction
    from common.users.roles import Actor, Role

    agent = Actor(username=AGENT, node_id=VILLAGE_ID, role=Role.VILLAGE_AGENT)
    plans = filing_plans(village)

    def one(i: int) -> None:
        with transaction(village.engine) as session:
            file_case(session, village, agent, **request_body(plans, i))

    return _timed("file_case（动作函数，每次一个事务）", n, one)


def bench_http(village: Any, n: int) -> Timing:
    from fastapi.testclient import TestClient

    from common.app import create_app
    from common.db import transaction
    from common.users.service import issue_api_token

    plans = filing_plans(village)
    with transaction(village.engine) as session:
        token = issue_api_token(session, VILLAGE_ID, AGENT, "benchmark")
    with TestClient(create_app(village.settings, node=village)) as client:
        client.headers["Authorization"] = f"Bearer {token}"

        def one(i: int) -> None:
            response = client.post("/api/v1/cases", json=request_body(plans, i))
            if response.status_code != 201:
                raise RuntimeError(f"filing refused: {response.status_code} {response.text[:300]}")

        return _timed("POST /api/v1/cases（HTTP，TestClient）", n, one)


def pin_to_one_core() -> int | None:
    """Run on a single CPU, as the target says; returns the core (None where unsupported)."""
    import os

    if not hasattr(os, "sched_setaffinity"):
        return None
    core = min(os.sched_getaffinity(0))
    os.sched_setaffinity(0, {core})
    return core


def run(n: int = 2000, http_n: int = 500, workdir: Path | None = None) -> dict[str, Any]:
    """Build the village and time both runs; returns the figures for the report."""
    import os

    logging.getLogger().setLevel(logging.WARNING)
    # Pinned for this benchmark only: the ones after it (sync) decide their own cores.
    before = os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else None
    core = pin_to_one_core()
    try:
        with tempfile.TemporaryDirectory(prefix="onetrip-bench-", dir=workdir) as tmp:
            setup_start = time.perf_counter()
            village = build_village(Path(tmp))
            setup = time.perf_counter() - setup_start
            try:
                action = bench_action(village, n)
                http = bench_http(village, http_n) if http_n else None
            finally:
                village.engine.dispose()
    finally:
        if before is not None:
            os.sched_setaffinity(0, before)
    return {
        "name": "filing",
        "core": core,
        "setup_seconds": round(setup, 1),
        "runs": [t.as_dict() for t in (action, http) if t is not None],
        "targets": {"p50_ms": 20.0, "per_second": 300.0},
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2000, help="filings through the action function")
    parser.add_argument(
        "--http-n", type=int, default=500, help="filings through the HTTP API (0: skip)"
    )
    args = parser.parse_args(argv)
    figures = run(args.n, args.http_n)
    for timing in figures["runs"]:
        print(timing)


if __name__ == "__main__":
    main()
