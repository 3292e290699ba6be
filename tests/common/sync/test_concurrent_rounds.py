"""Sync writers that run at the same time: a township pushing two rounds at once to a
county served over loopback (the county's own database: PostgreSQL in the PostgreSQL
run, where requests really run in parallel), the same file stored by two transactions,
and one round at a time on a node.

CI once caught the county answering 500 on PostgreSQL: the township's scheduler, kicked
by a local write, pushed the same files as a round started by hand, and both requests
inserted the same blob row.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from case_fixtures import MINIMUM_LIVING, PDF_BYTES, applicant
from onetrip_testing import TOWNSHIP_ID
from sqlalchemy import func, select

from common.blobs.models import Blob
from common.blobs.service import store_blob
from common.bootstrap import init_member
from common.cases.intake.service import file_case
from common.catalog.sample import publish_sample
from common.catalog.service import get_published
from common.db import transaction
from common.identity.service import invite_node
from common.ledger.models import Event
from common.ledger.verify import verify_node
from common.node import ThisNode
from common.sync import client
from common.sync.outbox import backlog
from common.users.roles import Actor, Role

CLERK = Actor(username="tclerk", node_id=TOWNSHIP_ID, role=Role.TOWNSHIP_CLERK)


@pytest.fixture
def county_and_township(tmp_path, root_node: ThisNode, serve):  # type: ignore[no-untyped-def]
    """The county served over loopback; 洣水镇 enrolled (not served: no scheduler of its own)."""
    system = Actor.node_system(root_node.node_id)
    with transaction(root_node.engine) as session:
        publish_sample(session, root_node, system)
        invite = invite_node(session, root_node, system, TOWNSHIP_ID, "洣水镇便民服务中心")
    township = init_member(
        tmp_path / "township",
        node_id=TOWNSHIP_ID,
        parent_url=serve(root_node).url,
        token=invite.token,
    )
    client.sync_once(township)
    yield root_node, township
    township.engine.dispose()


def _file_cases(township: ThisNode, count: int) -> list[str]:
    """``count`` cases at the township, each with its own scanned file."""
    hashes = []
    with transaction(township.engine) as session:
        matter = get_published(session, MINIMUM_LIVING).to_matter()
        for n in range(count):
            sha = store_blob(
                session, township, PDF_BYTES + f"%{n}\n".encode(), f"申请书{n}.pdf"
            ).sha256
            hashes.append(sha)
            materials = [
                {"position": i, "blob_sha256": sha}
                for i, m in enumerate(matter.materials)
                if m.mandatory
            ]
            file_case(
                session,
                township,
                CLERK,
                matter_code=MINIMUM_LIVING,
                applicant=applicant(),
                materials=materials,
            )
    return hashes


def _count(node: ThisNode, statement) -> int:  # type: ignore[no-untyped-def]
    with transaction(node.engine) as session:
        return int(session.execute(statement).scalar_one())


def test_two_rounds_from_one_child_at_once_both_succeed_and_store_everything_once(
    county_and_township,
) -> None:
    county, township = county_and_township
    hashes = _file_cases(township, 6)
    with transaction(township.engine) as session:
        waiting = backlog(session, county.node_id)
    assert waiting > 0
    start = threading.Barrier(2)

    def round_bypassing_the_node_lock() -> client.SyncReport:
        # As two processes would (``onetrip sync`` next to the running node): no shared lock.
        start.wait()
        return client._round(township)

    with ThreadPoolExecutor(2) as pool:
        reports = [
            f.result() for f in [pool.submit(round_bypassing_the_node_lock) for _ in range(2)]
        ]

    assert all(report.rejected == [] for report in reports)
    assert (
        sum(report.pushed for report in reports) >= waiting
    )  # each round pushed or found it pushed
    with transaction(township.engine) as session:
        assert backlog(session, county.node_id) == 0
        own = session.execute(select(Event.id).where(Event.author == TOWNSHIP_ID)).scalars().all()
    county_ids = set(_ids(county, own))
    assert county_ids == set(own)  # every event once (the id is the key), none missing
    assert _count(
        county,
        select(func.count())
        .select_from(Blob)
        .where(Blob.sha256.in_(hashes), Blob.stored.is_(True)),
    ) == len(hashes)
    with transaction(county.engine) as session:
        assert verify_node(session, county).ok


def _ids(node: ThisNode, wanted: list[str]) -> list[str]:
    with transaction(node.engine) as session:
        return list(session.execute(select(Event.id).where(Event.id.in_(wanted))).scalars())


def test_the_same_file_stored_by_two_transactions_at_once_is_one_row(root_node: ThisNode) -> None:
    data = PDF_BYTES + b"%race\n"
    stored_second: list[str] = []
    with transaction(root_node.engine) as first:
        sha = store_blob(first, root_node, data, "第一次.pdf").sha256

        def second() -> None:
            # Blocks (SQLite: on the write lock; PostgreSQL: on the first one's row) until
            # the first transaction commits, then finds the row instead of failing.
            with transaction(root_node.engine) as session:
                stored_second.append(
                    store_blob(session, root_node, data, "第二次.pdf").original_name
                )

        worker = threading.Thread(target=second)
        worker.start()
        worker.join(timeout=0.3)
        assert worker.is_alive()  # waiting for the first transaction
    worker.join(timeout=30)
    assert not worker.is_alive()
    assert stored_second == ["第一次.pdf"]  # the first name is kept
    assert _count(root_node, select(func.count()).select_from(Blob).where(Blob.sha256 == sha)) == 1


def test_a_round_waits_for_the_round_running_on_the_same_node(county_and_township) -> None:
    county, township = county_and_township
    _file_cases(township, 1)
    finished = threading.Event()

    def round_() -> None:
        client.sync_once(township)
        finished.set()

    with township.sync_round:  # a round (the scheduler's, say) is running
        worker = threading.Thread(target=round_)
        worker.start()
        assert not finished.wait(0.5)
    worker.join(timeout=30)
    assert finished.is_set()
    with transaction(township.engine) as session:
        assert backlog(session, county.node_id) == 0
