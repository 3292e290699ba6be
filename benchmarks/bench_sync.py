"""Sync on the simulated county, side by side in one run (DESIGN.md "Performance targets").

1. Raw Ed25519 verification (``cryptography``) of real event signatures: the ceiling.
2. The county's ingest: signed events from villages (case filings, acceptances,
   decisions, deliveries, handoff offers) verified, stored and applied through
   ``common.sync.receive.receive_batch`` in batches of 500, one transaction per batch,
   as a push from a township does; and its ratio to (1). Target: at least 50%.
3. A village offline for 30 days with a normal backlog (5 cases a day, a scanned
   material each; one case in five a county matter offered up) while the county
   published a catalogue batch, withdrew a matter and provisioned three users for the
   village: wall time from reconnecting until the village, its township and the county
   hold everything. Target: under 5 s.
4. A county-wide outage: every link down for a day while each of the 178 villages files
   a day's cases and the county publishes a catalogue change; wall time until the whole
   network has converged again.

(1) and (2) run on one core on a small network (county, one township, ten villages);
(3) and (4) on the whole Hengdong topology (196 nodes in one process,
``simulation.network``), whose build time and memory are reported too.

Run alone: ``python -m benchmarks.bench_sync`` (``python -m benchmarks`` runs every
benchmark and writes docs/benchmarks.md).
"""

from __future__ import annotations

import argparse
import logging
import os
import resource
import tempfile
import time
from pathlib import Path
from typing import Any, Self

BATCH = 500
VERIFY_TARGET = 0.5  # ingest at least half the raw verify rate
OFFLINE_TARGET_S = 5.0


# -- measuring ----------------------------------------------------------------------------


def rss_mb() -> float:
    """Resident memory of this process now (Linux), in MiB."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    return 0.0


def peak_rss_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def dir_mb(path: Path) -> float:
    return round(sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / (1024 * 1024), 1)


class Clock:
    """Wall and process-CPU time of a block."""

    def __enter__(self) -> Self:
        self.wall0, self.cpu0 = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc: object) -> None:
        self.wall = time.perf_counter() - self.wall0
        self.cpu = time.process_time() - self.cpu0


def pinned(core: int | None = None) -> Any:
    """Context: run on one CPU (where supported), then restore the affinity."""
    import contextlib

    @contextlib.contextmanager
    def manager():  # type: ignore[no-untyped-def]
        if not hasattr(os, "sched_setaffinity"):
            yield None
            return
        before = os.sched_getaffinity(0)
        chosen = min(before) if core is None else core
        os.sched_setaffinity(0, {chosen})
        try:
            yield chosen
        finally:
            os.sched_setaffinity(0, before)

    return manager()


# -- (1) and (2): verify and ingest ----------------------------------------------------------


def village_ledger(
    base: Path, cases: int, seed: int = 1
) -> tuple[Any, list[bytes], dict[str, bytes]]:
    """A county, one township and ten villages; the villages file ``cases`` cases without
    syncing. Returns the network, the villages' events in order and their scans."""
    from sqlalchemy import select

    from common.blobs.models import Blob
    from common.blobs.store import blob_path
    from common.db import transaction
    from common.ledger.models import Event
    from simulation.network import build_network, converge, hengdong
    from simulation.workload import Workload

    network = build_network(base, hengdong(villages_per_township=10, townships=1))
    converge(network)
    workload = Workload(network, seed=seed)
    for n in range(cases):
        workload.day([workload.villages[n % len(workload.villages)]], cases=1, inbox_share=0.0)
    raws: list[bytes] = []
    scans: dict[str, bytes] = {}
    for village_id in workload.villages:
        node = network[village_id]
        with transaction(node.engine) as session:
            raws += (
                session.execute(
                    select(Event.raw).where(Event.author == village_id).order_by(Event.lseq)
                )
                .scalars()
                .all()
            )
            for sha in session.execute(select(Blob.sha256)).scalars():
                scans[sha] = blob_path(node.settings.blob_dir, sha).read_bytes()
    return network, raws, scans


def verify_rate(
    network_id: str, raws: list[bytes], resolve: Any, min_seconds: float = 1.0
) -> dict[str, Any]:
    """Ed25519 verifications per second over the events' real signatures (messages and
    keys prepared beforehand: only ``verify`` is timed)."""
    from common.ledger.canonical import signing_input
    from common.ledger.envelope import parse_event, unb64u

    prepared = []
    for raw in raws:
        event = parse_event(network_id, raw)
        unsigned = {k: v for k, v in event.envelope.items() if k != "sig"}
        prepared.append(
            (resolve(event), unb64u(event.envelope["sig"]), signing_input(network_id, unsigned))
        )
    done = 0
    with Clock() as clock:
        while True:
            for key, signature, message in prepared:
                key.verify(signature, message)
            done += len(prepared)
            if time.perf_counter() - clock.wall0 >= min_seconds:
                break
    return {
        "verified": done,
        "seconds": round(clock.wall, 3),
        "per_second": round(done / clock.wall),
        "us_per_verify": round(clock.cpu / done * 1e6, 1),
    }


def ingest_rate(
    county: Any,
    township: str,
    raws: list[bytes],
    scans: dict[str, bytes],
    *,
    profile: Path | None = None,
) -> dict[str, Any]:
    """The county ingests the villages' events as its township would push them."""
    from common.blobs.service import store_blob
    from common.db import transaction
    from common.sync.receive import receive_batch

    with transaction(county.engine) as session:  # materials travel before their events
        for data in scans.values():
            store_blob(session, county, data, None)
    totals = {"stored": 0, "duplicates": 0, "held": 0, "quarantined": 0, "rejected": 0}
    profiler = None
    if profile is not None:
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    with Clock() as clock:
        for start in range(0, len(raws), BATCH):
            with transaction(county.engine) as session:
                result = receive_batch(session, county, township, raws[start : start + BATCH])
            for key in ("stored", "duplicates", "held", "quarantined"):
                totals[key] += getattr(result, key)
            totals["rejected"] += len(result.rejected)
    if profiler is not None:
        profiler.disable()
        profiler.dump_stats(str(profile))
    return {
        "events": len(raws),
        "batches": -(-len(raws) // BATCH),
        **totals,
        "seconds": round(clock.wall, 3),
        "per_second": round(len(raws) / clock.wall),
        "cpu_us_per_event": round(clock.cpu / len(raws) * 1e6),
    }


def kinds(network_id: str, raws: list[bytes]) -> dict[str, int]:
    import json
    from collections import Counter

    return dict(Counter(json.loads(raw)["kind"] for raw in raws).most_common())


def bench_ingest(base: Path, cases: int, profile: Path | None = None) -> dict[str, Any]:
    import shutil

    from common.bootstrap import open_node
    from common.db import transaction
    from common.identity.registry import RegistryKeyResolver

    with Clock() as setup:
        network, raws, scans = village_ledger(base, cases)
    try:
        county = network.root
        township = network.children(county.node_id)[0]
        # A second copy of the county as it is before ingest, for the run on two cores.
        county.engine.dispose()
        shutil.copytree(county.settings.data_dir, base / "county-copy")
        resolver = RegistryKeyResolver(county.settings.root_fingerprint or "")
        # The raw rate is measured right before and right after the ingest, and the ratio
        # taken against their mean: on a shared machine the load drifts between runs.
        with transaction(county.engine) as session, pinned() as core:
            verify = verify_rate(county.network_id, raws, lambda event: resolver(session, event))
        with pinned():
            ingest = ingest_rate(county, township, raws, scans, profile=profile)
        with transaction(county.engine) as session, pinned():
            verify_after = verify_rate(
                county.network_id, raws, lambda event: resolver(session, event)
            )
    finally:
        network.close()
    # The same ingest allowed both cores: signatures are then checked on a worker thread
    # (``common.ledger.signatures.Verification``) while the main thread stores and applies.
    from common.ledger import signatures

    copy = open_node(base / "county-copy")
    signatures.VERIFY_ON_WORKER_THREAD = True
    try:
        ingest_2 = ingest_rate(copy, township, raws, scans)
    finally:
        signatures.VERIFY_ON_WORKER_THREAD = False
        copy.engine.dispose()
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    raw_rate = (verify["per_second"] + verify_after["per_second"]) / 2
    return {
        "core": core,
        "setup_seconds": round(setup.wall, 1),
        "cases": cases,
        "kinds": kinds("", raws),
        "verify": verify,
        "verify_after": verify_after,
        "raw_rate": round(raw_rate),
        "ingest": ingest,
        "ingest_2": ingest_2,
        "ingest_2_cores": cores,
        "ratio": round(ingest["per_second"] / raw_rate, 3),
        "ratio_2": round(ingest_2["per_second"] / raw_rate, 3),
    }


# -- (3) and (4): the whole county -------------------------------------------------------------


def build_county(base: Path, topology: Any) -> tuple[Any, dict[str, Any]]:
    from simulation.network import build_network, converge

    rss_before = rss_mb()
    network = build_network(base, topology)
    rss_built = rss_mb()
    with Clock() as first:
        rounds = converge(network, max_rounds=20)
    return network, {
        "nodes": len(network.nodes),
        "villages": sum(1 for n in network.nodes.values() if n.tier == "village"),
        "build_seconds": round(network.build_seconds, 1),
        "first_converge_seconds": round(first.wall, 1),
        "first_converge_rounds": rounds,
        "rss_before_mb": rss_before,
        "rss_built_mb": rss_built,
        "rss_converged_mb": rss_mb(),
        "disk_mb": dir_mb(base),
        "open_files": _open_files(),
        "cores": len(os.sched_getaffinity(0))
        if hasattr(os, "sched_getaffinity")
        else os.cpu_count(),
    }


def _open_files() -> int:
    try:
        return len(os.listdir("/proc/self/fd"))
    except OSError:
        return 0


def network_waiting_counts(network: Any, nodes: list[str]) -> dict[str, int]:
    from simulation.network import waiting

    return waiting(network, nodes)


def bench_offline_village(network: Any, workload: Any, days: int, per_day: int) -> dict[str, Any]:
    """One village's link is down for ``days`` days of normal work; then it reconnects."""
    from common.users.roles import Role
    from simulation.network import converge

    village = workload.villages[len(workload.villages) // 2]
    township = network.parent[village]
    for _ in range(days):
        workload.day([village], cases=per_day, inbox_share=0.0)
    # Meanwhile at the county: a catalogue batch and a withdrawal, three new users here.
    workload.change_catalogue(count=10, withdraw=1, seed=30)
    for n in range(3):
        workload.provision(village, f"agent{n + 2}", Role.VILLAGE_AGENT)
    converge(network, down={village}, max_rounds=20)  # everyone else is up to date
    backlog = network_waiting_counts(network, [village])
    cases = len(workload.book.cases[village])
    with Clock() as clock:
        rounds = converge(network, nodes=[township, village], max_rounds=20)
    missing = _missing_at_root(network, village)
    return {
        "village": village,
        "township": township,
        "days": days,
        "per_day": per_day,
        "cases": cases,
        "county_cases": sum(
            1 for c in workload.book.cases[village] if workload.book.kind[c] == "county"
        ),
        "waiting_up": backlog.get(f"{village}↑", 0),
        "waiting_down": backlog.get(f"{village}↓", 0),
        "seconds": round(clock.wall, 2),
        "cpu_seconds": round(clock.cpu, 2),
        "rounds": rounds,
        "missing_at_root": missing,
        "target_s": OFFLINE_TARGET_S,
    }


def bench_outage(network: Any, workload: Any, per_village: int) -> dict[str, Any]:
    """Every link down for a day; each village files its day's cases; all reconnect."""
    from simulation.network import converge

    children = [n for n in network.nodes if network.parent[n] is not None]
    cases_before = len(workload.book.all_cases)
    for village in workload.villages:
        workload.day([village], cases=per_village, inbox_share=0.0)
    workload.change_catalogue(count=5, withdraw=1, seed=31)
    backlog = network_waiting_counts(network, children)
    up = sum(v for k, v in backlog.items() if k.endswith("↑"))
    with Clock() as clock:
        rounds = converge(network, max_rounds=20)
    return {
        "villages": len(workload.villages),
        "per_village": per_village,
        "cases": len(workload.book.all_cases) - cases_before,
        "events_up": up,
        "links_waiting": len(backlog),
        "seconds": round(clock.wall, 1),
        "cpu_seconds": round(clock.cpu, 1),
        "rounds": rounds,
        "missing_at_root": sum(_missing_at_root(network, v) for v in workload.villages),
    }


def bench_verify_everywhere(network: Any, workload: Any, days: int) -> dict[str, Any]:
    """``days`` of random work with random links down, then everything delivered; then
    ``onetrip verify`` (``verify_node``) on every node, and whether the root holds every
    event written anywhere (DESIGN.md: the root holds everything)."""
    from sqlalchemy import select

    from common.db import transaction
    from common.ledger.models import Event
    from common.ledger.verify import verify_node

    workload.run(days, active=0.3, down_rate=0.2)
    workload.finish()
    failed: list[str] = []
    written: set[str] = set()
    with Clock() as clock:
        for node_id, node in network.nodes.items():
            with transaction(node.engine) as session:
                if not verify_node(session, node).ok:
                    failed.append(node_id)
                written |= set(session.execute(select(Event.id)).scalars())
    with transaction(network.root.engine) as session:
        at_root = set(session.execute(select(Event.id)).scalars())
    return {
        "days": days,
        "nodes": len(network.nodes),
        "verified": len(network.nodes) - len(failed),
        "failed": failed,
        "events": len(written),
        "missing_at_root": len(written - at_root),
        "deferred_links": workload.deferred,
        "seconds": round(clock.wall, 1),
    }


def _missing_at_root(network: Any, node_id: str) -> int:
    from sqlalchemy import select

    from common.db import transaction
    from common.ledger.models import Event

    ids = {}
    for holder in (node_id, network.root.node_id):
        with transaction(network[holder].engine) as session:
            ids[holder] = set(session.execute(select(Event.id)).scalars())
    return len(ids[node_id] - ids[network.root.node_id])


def bench_county(
    base: Path, days: int, per_day: int, outage_per_village: int, reduced: bool = False
) -> dict[str, Any]:
    from simulation.network import hengdong
    from simulation.workload import Workload

    topology = hengdong(villages_per_township=2) if reduced else hengdong()
    network, build = build_county(base, topology)
    try:
        workload = Workload(network, seed=2018)
        offline = bench_offline_village(network, workload, days, per_day)
        outage = bench_outage(network, workload, outage_per_village)
        verified = bench_verify_everywhere(network, workload, days=3)
        build["rss_end_mb"] = rss_mb()
    finally:
        network.close()
    return {"build": build, "offline": offline, "outage": outage, "verified": verified}


def run(
    ingest_cases: int = 1000,
    days: int = 30,
    per_day: int = 5,
    outage_per_village: int = 5,
    reduced: bool = False,
    workdir: Path | None = None,
    profile: Path | None = None,
) -> dict[str, Any]:
    logging.getLogger("onetrip").setLevel(logging.WARNING)
    with tempfile.TemporaryDirectory(prefix="onetrip-bench-sync-", dir=workdir) as tmp:
        ingest = bench_ingest(Path(tmp) / "ingest", ingest_cases, profile)
        county = bench_county(Path(tmp) / "county", days, per_day, outage_per_village, reduced)
    peak = max(peak_rss_mb(), county["build"]["rss_end_mb"])  # ru_maxrss is sampled, VmRSS read now
    return {
        "name": "sync",
        **ingest,
        **county,
        "peak_rss_mb": peak,
        "targets": {"ratio": VERIFY_TARGET, "offline_s": OFFLINE_TARGET_S},
    }


# -- the report ----------------------------------------------------------------------------------


def _rounds(n: int) -> str:
    return f"{n} sync round" + ("" if n == 1 else "s")


def _verdict(met: bool) -> str:
    return "达到 (met)" if met else "未达到 (not met)"


def report_section(figures: dict[str, Any]) -> list[str]:
    verify, after, ingest, build = (
        figures["verify"],
        figures["verify_after"],
        figures["ingest"],
        figures["build"],
    )
    offline, outage, targets = figures["offline"], figures["outage"], figures["targets"]
    checked = figures["verified"]
    mix = ", ".join(f"{kind} {count}" for kind, count in figures["kinds"].items())
    return [
        "## Sync: verify, ingest and convergence (同步)",
        "",
        (
            "Ingest: a county, one township and ten villages built by the simulation harness "
            "(`simulation.network`, every node its own SQLite file, enrolled through the real enrolment path); "
            f"the villages filed {figures['cases']} cases without syncing (setup {figures['setup_seconds']} s): "
            f"{ingest['events']} signed events ({mix}). Their scanned materials were stored at the county first, "
            "as sync sends blobs before the events that reference them. The county then applies the events "
            f"through `receive_batch` in batches of {BATCH}, one transaction each, as a push from the township "
            f"does (verify, store, project, route). Both runs are pinned to one core (CPU {figures['core']})."
        ),
        "",
        "| run | events | seconds | events/s | CPU µs / event |",
        "| --- | ---: | ---: | ---: | ---: |",
        (
            f"| Ed25519 verify only (`cryptography`, the events' real signatures), before the ingest "
            f"| {verify['verified']} | {verify['seconds']} | {verify['per_second']} | {verify['us_per_verify']} |"
        ),
        (
            f"| county ingest (`receive_batch`, verify + store + apply), one core | {ingest['events']} "
            f"| {ingest['seconds']} | {ingest['per_second']} | {ingest['cpu_us_per_event']} |"
        ),
        (
            f"| Ed25519 verify only, again after the ingest | {after['verified']} | {after['seconds']} "
            f"| {after['per_second']} | {after['us_per_verify']} |"
        ),
        (
            f"| the same ingest on {figures['ingest_2_cores']} cores (signatures checked on a worker thread) "
            f"| {figures['ingest_2']['events']} | {figures['ingest_2']['seconds']} | {figures['ingest_2']['per_second']} "
            f"| {figures['ingest_2']['cpu_us_per_event']} |"
        ),
        "",
        (
            f"Ingest / raw verify = {figures['ratio']:.1%} on one core, against the mean raw rate of the runs "
            f"before and after it ({figures['raw_rate']}/s) (target at least {targets['ratio']:.0%}) — "
            f"{_verdict(figures['ratio'] >= targets['ratio'])}; {figures['ratio_2']:.1%} when the process may use "
            f"{figures['ingest_2_cores']} cores with signatures checked on a worker thread (off by default: "
            "`common.ledger.signatures.VERIFY_ON_WORKER_THREAD`; the raw verify rate stays the single-threaded "
            "reference). "
            f"Stored {ingest['stored']}, duplicates {ingest['duplicates']}, held {ingest['held']}, refused "
            f"{ingest['rejected']}. A clean batch is taken as a whole: the ids already held and the chain heads "
            "read in one query each, chains checked in memory, one INSERT for the events and one for the outbox "
            "rows, the projections per event in order; anything else falls back to one event at a time "
            '(docs/architecture.md, "Batched ingest").'
        ),
        "",
        (
            f"The whole county: {build['nodes']} nodes ({build['villages']} villages) built in one process in "
            f"{build['build_seconds']} s (root founded, every node enrolled through its parent in process, the "
            f"sample catalogue published once); the catalogue and registry then reached every node in "
            f"{_rounds(build['first_converge_rounds'])}, {build['first_converge_seconds']} s. Memory: "
            f"{build['rss_before_mb']} MiB before, {build['rss_built_mb']} MiB built, {build['rss_converged_mb']} "
            f"MiB converged, {build['rss_end_mb']} MiB at the end (peak {figures['peak_rss_mb']} MiB); "
            f"{build['open_files']} open files; {build['disk_mb']} MiB on disk. The process ran on "
            f"{build['cores']} core(s)."
        ),
        "",
        "| scenario | cases | events waiting (up) | rounds | wall s | CPU s | target |",
        "| --- | ---: | ---: | ---: | ---: | ---: | --- |",
        (
            f"| village {offline['village']} offline {offline['days']} days, reconnects | {offline['cases']} "
            f"| {offline['waiting_up']} | {offline['rounds']} | {offline['seconds']} | {offline['cpu_seconds']} "
            f"| under {targets['offline_s']:g} s — {_verdict(offline['seconds'] < targets['offline_s'])} |"
        ),
        (
            f"| county-wide outage, all {outage['villages']} villages reconnect | {outage['cases']} "
            f"| {outage['events_up']} | {outage['rounds']} | {outage['seconds']} | {outage['cpu_seconds']} | — |"
        ),
        "",
        (
            f"The normal backlog: {offline['per_day']} cases a day for {offline['days']} days at one village — "
            "four in five a village 即办件 "
            "(filed, accepted, decided on the spot and delivered: 4 events and one scanned material), one in "
            "five a county licence matter filed with its scan and offered to the county (2 events) — while the "
            "county published a batch of 10 matters, withdrew one and provisioned three users for the village "
            f'({offline["waiting_down"]} events waiting to come down). "Converged" means nothing waits on the '
            "village's or its township's link in either direction, read from each side's database: the county "
            f"then holds every event the village wrote ({offline['missing_at_root']} missing). The outage: every "
            f"link down, each village files {outage['per_village']} cases, the county publishes a catalogue "
            f"change; then all links come back ({outage['missing_at_root']} village events missing at the county "
            "afterwards). A round is every busy child syncing (`sync_once`) deepest first, then shallowest first."
        ),
        "",
        (
            f"Then {checked['days']} days of random work (a third of the villages filing each day) with a random "
            f"fifth of the links down each day ({checked['deferred_links']} link-days with something waiting), "
            "every result decided, sent home and delivered; then `onetrip verify` (`verify_node`: signatures, "
            f"chains, projections rebuilt and compared) on every node: {checked['verified']} of {checked['nodes']} "
            f"nodes pass{' (failed: ' + ', '.join(checked['failed']) + ')' if checked['failed'] else ''} "
            f"({checked['seconds']} s); the county holds every one of the {checked['events']} events written "
            f"anywhere but {checked['missing_at_root']}."
        ),
        "",
    ]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--ingest-cases", type=int, default=1000, help="cases filed for the ingest benchmark"
    )
    parser.add_argument("--days", type=int, default=30, help="days the village is offline")
    parser.add_argument(
        "--reduced", action="store_true", help="17 townships × 2 villages instead of 178"
    )
    parser.add_argument("--profile", type=Path, help="write a cProfile of the ingest run here")
    args = parser.parse_args(argv)
    figures = run(args.ingest_cases, args.days, reduced=args.reduced, profile=args.profile)
    print("\n".join(report_section(figures)))


if __name__ == "__main__":
    main()
