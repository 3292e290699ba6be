"""The whole-county simulation (issue 4, item 11): many nodes in one process, each with
its own SQLite database, enrolled through the real enrolment path and synchronised
over in-process HTTP by ``sync_once``.

The Hengdong test runs a reduced topology (the county, all 17 townships, two villages
each: 52 nodes) with only the matters the workload files published, so that the suite
stays quick; the full 196 nodes with the whole sample catalogue are built and timed by
``benchmarks/bench_sync.py``. The city test shows that nothing assumes three levels.
"""

from __future__ import annotations

from collections import Counter

import pytest
from sqlalchemy import func, select

from common.cases.handoff.service import custody_chain
from common.cases.models import Case
from common.db import transaction
from common.ledger.models import Event, QuarantinedEvent
from common.ledger.verify import verify_node
from common.sync.models import DeadLetter, HeldEvent, SyncReject
from simulation.network import (
    CITY_ID,
    COUNTY_ID,
    QIDONG_ID,
    Network,
    build_network,
    city_tree,
    converge,
    hengdong,
    waiting,
)
from simulation.workload import COUNTY_MATTER, VILLAGE_MATTER, Workload

pytestmark = pytest.mark.sqlite_only  # one SQLite file per node is the point here


def event_ids(node) -> set[str]:
    with transaction(node.engine) as session:
        return set(session.execute(select(Event.id)).scalars())


def case_subjects(node) -> set[str]:
    with transaction(node.engine) as session:
        return set(
            session.execute(select(Event.subject).where(Event.subject.like("case:%"))).scalars()
        )


def cases_held(node) -> dict[str, Case]:
    with transaction(node.engine) as session:
        return {c.case_no: c for c in session.execute(select(Case)).scalars()}


def assert_every_node_verifies(network: Network) -> None:
    """``onetrip verify`` passes everywhere, and nothing was held back, refused or forked."""
    for node_id, node in network.nodes.items():
        with transaction(node.engine) as session:
            report = verify_node(session, node)
            assert report.ok, f"{node_id}: {report.summary()}"
            for table in (HeldEvent, DeadLetter, QuarantinedEvent, SyncReject):
                assert session.execute(select(func.count()).select_from(table)).scalar() == 0, (
                    node_id,
                    table,
                )


def assert_root_holds_everything(network: Network) -> None:
    everything = event_ids(network.root)
    written_anywhere: set[str] = set()
    for node in network.nodes.values():
        written_anywhere |= event_ids(node)
    assert written_anywhere <= everything, (
        f"{len(written_anywhere - everything)} events never reached the root"
    )


def assert_custody_is_single(network: Network, case_numbers: list[str]) -> None:
    """Each case is held (custodian == the node itself) by exactly one node, and every
    node that holds the case agrees on who that is and that no offer is open."""
    holders: dict[str, list[str]] = {c: [] for c in case_numbers}
    views: dict[str, set[tuple[str, str | None]]] = {c: set() for c in case_numbers}
    for node_id, node in network.nodes.items():
        for case_no, case in cases_held(node).items():
            views[case_no].add((case.custodian, case.pending_offer_to))
            if case.custodian == node_id:
                holders[case_no].append(node_id)
    for case_no in case_numbers:
        assert len(holders[case_no]) == 1, f"{case_no} held by {holders[case_no]}"
        assert views[case_no] == {(holders[case_no][0], None)}, (
            f"{case_no}: nodes disagree: {views[case_no]}"
        )


@pytest.fixture(scope="module")
def county_network(tmp_path_factory):
    # Only the two matters the workload files are published (the whole sample catalogue is
    # 250 KB on every node: the benchmark carries it).
    network = build_network(
        tmp_path_factory.mktemp("hengdong"),
        hengdong(villages_per_township=2),
        catalogue=[VILLAGE_MATTER, COUNTY_MATTER],
    )
    yield network
    network.close()


def test_hengdong_converges_after_a_random_workload_with_links_down(county_network):
    network = county_network
    assert len(network.nodes) == 1 + 17 + 34
    assert converge(network) >= 1  # the catalogue and the registry reach every node
    workload = Workload(network, seed=20260704)
    # Two users: one password hash each. Their records reach their own village only.
    first, neighbour = workload.villages[0], workload.villages[1]
    workload.provision(first, "agent2")
    workload.change_catalogue(count=5, withdraw=1)
    workload.run(days=6, active=0.4, down_rate=0.25)
    assert workload.deferred > 0, "some links should have been down with work waiting"
    workload.finish()
    assert not waiting(network)
    book = workload.book
    assert sum(1 for kind in book.kind.values() if kind == "county") >= 5, (
        "the seed should escalate some cases"
    )

    assert_every_node_verifies(network)
    assert_root_holds_everything(network)
    root_cases = cases_held(network.root)
    assert set(root_cases) == set(book.all_cases)
    for village_id in workload.villages:
        own = set(book.cases.get(village_id, []))
        node = network[village_id]
        assert set(cases_held(node)) == own, village_id
        # No event of a neighbour's case, and nothing of another village's user.
        assert {s.removeprefix("case:") for s in case_subjects(node)} == own, village_id
    with transaction(network[neighbour].engine) as session:
        assert not session.execute(
            select(Event.id).where(Event.subject == f"user:{first}:agent2")
        ).first()
    with transaction(network[first].engine) as session:
        assert session.execute(
            select(Event.id).where(Event.subject == f"user:{first}:agent2")
        ).first()
    # A township sees every case of its villages and none of another township's.
    for township_id in network.at_depth(1):
        below = {c for v in network.children(township_id) for c in book.cases.get(v, [])}
        assert {s.removeprefix("case:") for s in case_subjects(network[township_id])} == below, (
            township_id
        )

    assert_custody_is_single(network, book.all_cases)
    for case_no in book.all_cases:
        case = root_cases[case_no]
        assert case.state == "delivered" and case.custodian == case.origin_node, case_no
    with transaction(network.root.engine) as session:
        chains = Counter(
            tuple(step["node"] for step in custody_chain(session, c))
            for c in book.all_cases
            if book.kind[c] == "county"
        )
    assert all(
        chain[1] == COUNTY_ID and chain[0] == chain[2] and len(chain) == 3 for chain in chains
    )


def test_four_levels_a_case_filed_under_qidong_is_decided_there_and_comes_home(tmp_path):
    with build_network(tmp_path, city_tree(), catalogue=[COUNTY_MATTER]) as network:
        assert network.depth == {n: len(network.path_up(n)) - 1 for n in network.nodes}
        assert max(network.depth.values()) == 3  # city, county, township, village
        converge(network)
        workload = Workload(network, seed=4)
        village = "430426100201"  # 祁东县 / 祁东示例镇
        case_no = workload.file_county_case(village)
        converge(network)
        assert workload.work_county_inbox(QIDONG_ID) == [case_no]  # decided by its own county
        assert not workload.work_county_inbox(COUNTY_ID)
        converge(network)
        assert workload.deliver_results(village) == [case_no]
        converge(network)

        city = network[CITY_ID]
        assert network.root is city
        case = cases_held(city)[case_no]
        assert (case.state, case.custodian, case.matter_code) == (
            "delivered",
            village,
            COUNTY_MATTER,
        )
        with transaction(city.engine) as session:
            assert [s["node"] for s in custody_chain(session, case_no)] == [
                village,
                QIDONG_ID,
                village,
            ]
        assert_root_holds_everything(network)
        subject = f"case:{case_no}"
        for node_id in (
            "430426000000",
            "430426100000",
            village,
        ):  # the path from the root to the origin
            assert subject in case_subjects(network[node_id]), node_id
        for node_id in (
            "430424000000",
            "430424100000",
            "430424100201",
            "430424100202",
            "430426100202",
        ):
            assert not case_subjects(network[node_id]), (
                node_id
            )  # the other county and the neighbour
        assert_custody_is_single(network, [case_no])
        assert_every_node_verifies(network)
