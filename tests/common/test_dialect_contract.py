"""The contract of the places where SQLite and PostgreSQL differ, run against both
(ONETRIP_TEST_PG_URL selects PostgreSQL): ``common.db.serialize``, ``insert_if_absent``,
the batch events insert of ``common.ledger.batch`` and timezone-aware timestamps."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from onetrip_testing import TOWNSHIP_ID, sign_forged
from sqlalchemy import func, select, text
from sqlalchemy.exc import StatementError

from common.blobs.models import Blob
from common.db import core, insert_if_absent, serialize, transaction
from common.identity.keys import NodeKey
from common.ledger.batch import _insert_events
from common.ledger.service import EVENTS, event_row
from common.node import ThisNode

BLOBS = Blob.__table__  # type: ignore[attr-defined]
SHANGHAI = ZoneInfo("Asia/Shanghai")
HOLD = 0.3  # seconds the first writer keeps its transaction open


def blob_row(sha: str, name: str = "申请书.pdf") -> dict:
    return {
        "sha256": sha,
        "size": 3,
        "media_type": "application/pdf",
        "original_name": name,
        "received_at": datetime(2026, 1, 5, 9, 30, tzinfo=SHANGHAI),
        "stored": True,
    }


def in_threads(first, second) -> list[str]:  # type: ignore[no-untyped-def]
    """Run ``first(started)`` and, once it has set ``started``, ``second()``; what each
    logged, in order. Both must finish without an error."""
    log: list[str] = []
    errors: list[BaseException] = []
    started = threading.Event()

    def guard(target, *args):  # type: ignore[no-untyped-def]
        try:
            target(*args)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
            started.set()

    one = threading.Thread(target=guard, args=(first, started, log))
    one.start()
    assert started.wait(10)
    two = threading.Thread(target=guard, args=(second, log))
    two.start()
    one.join(20)
    two.join(20)
    assert not errors, errors
    return log


# -- serialize ----------------------------------------------------------------------------


def test_writers_serialized_on_one_name_do_not_interleave(root_node: ThisNode) -> None:
    """SQLite: the write lock of BEGIN IMMEDIATE; PostgreSQL: an advisory lock."""

    def first(started: threading.Event, log: list[str]) -> None:
        with transaction(root_node.engine) as session:
            serialize(session, "contract:one")
            insert_if_absent(session, BLOBS, blob_row("a" * 64))
            started.set()
            time.sleep(HOLD)
            log.append("first commits")

    def second(log: list[str]) -> None:
        with transaction(root_node.engine) as session:
            serialize(session, "contract:one")
            insert_if_absent(session, BLOBS, blob_row("b" * 64))
            log.append("second writes")

    assert in_threads(first, second) == ["first commits", "second writes"]


def test_serialize_takes_a_lock_per_name(root_node: ThisNode) -> None:
    if root_node.engine.dialect.name == "sqlite":
        pytest.skip("SQLite has one write lock for the whole database")
    second_done = threading.Event()

    def first(started: threading.Event, log: list[str]) -> None:
        with transaction(root_node.engine) as session:
            serialize(session, "contract:first")
            started.set()
            second_done.wait(10)  # in vain if the second waits for this lock
            log.append("first commits")

    def second(log: list[str]) -> None:
        with transaction(root_node.engine) as session:
            serialize(session, "contract:second")
            log.append("second holds its own lock")
        second_done.set()

    assert in_threads(first, second) == ["second holds its own lock", "first commits"]


# -- insert_if_absent ---------------------------------------------------------------------


def test_insert_if_absent_inserts_once_and_keeps_the_first_row(root_node: ThisNode) -> None:
    with transaction(root_node.engine) as session:
        assert insert_if_absent(session, BLOBS, blob_row("c" * 64, "first.pdf")) is True
        assert insert_if_absent(session, BLOBS, blob_row("c" * 64, "second.pdf")) is False
    with transaction(root_node.engine) as session:
        names = (
            session.execute(select(BLOBS.c.original_name).where(BLOBS.c.sha256 == "c" * 64))
            .scalars()
            .all()
        )
    assert names == ["first.pdf"]


def test_two_writers_adding_the_same_row_both_succeed(root_node: ThisNode) -> None:
    def first(started: threading.Event, log: list[str]) -> None:
        with transaction(root_node.engine) as session:
            log.append(
                f"first inserted: {insert_if_absent(session, BLOBS, blob_row('d' * 64, 'first.pdf'))}"
            )
            started.set()
            time.sleep(HOLD)

    def second(log: list[str]) -> None:
        with transaction(root_node.engine) as session:
            log.append(
                f"second inserted: {insert_if_absent(session, BLOBS, blob_row('d' * 64, 'second.pdf'))}"
            )

    assert in_threads(first, second) == ["first inserted: True", "second inserted: False"]
    with transaction(root_node.engine) as session:
        assert (
            session.execute(
                select(BLOBS.c.original_name).where(BLOBS.c.sha256 == "d" * 64)
            ).scalar_one()
            == "first.pdf"
        )


# -- the batch events insert --------------------------------------------------------------


def test_the_batch_insert_returns_local_sequence_numbers_in_row_order(root_node: ThisNode) -> None:
    key = NodeKey(node_id=TOWNSHIP_ID, private_key=Ed25519PrivateKey.generate())
    received = datetime(2026, 1, 5, 9, 30, 15, 123456, tzinfo=SHANGHAI)
    rows, aprev = [], None
    for aseq in range(1, 6):
        event = sign_forged(
            key,
            root_node.network_id,
            f"contract:{aseq}",
            "contract.test",
            {"n": aseq},
            aseq=aseq,
            aprev=aprev,
        )
        aprev = event.id
        rows.append(event_row(event, received))
    rows.reverse()  # not in aseq order: the numbers follow the rows, not the chain
    with transaction(root_node.engine) as session:
        top = session.execute(select(func.max(EVENTS.c.lseq))).scalar_one()
        lseqs = _insert_events(core(session), rows)
    assert lseqs == list(range(top + 1, top + 6))
    with transaction(root_node.engine) as session:
        stored = session.execute(
            select(EVENTS.c.id, EVENTS.c.lseq, EVENTS.c.raw, EVENTS.c.received_at).where(
                EVENTS.c.author == TOWNSHIP_ID
            )
        ).all()
    by_id = {row.id: row for row in stored}
    assert [by_id[row["id"]].lseq for row in rows] == lseqs
    assert all(by_id[row["id"]].raw == row["raw"] for row in rows)  # the exact bytes
    assert {row.received_at for row in stored} == {received}
    assert all(row.received_at.utcoffset() == timedelta(0) for row in stored)


# -- timezone-aware timestamps ------------------------------------------------------------


@pytest.mark.parametrize("session_zone", ["UTC", "Asia/Shanghai", "America/Los_Angeles"])
def test_aware_timestamps_round_trip_as_the_same_instant_in_utc(
    root_node: ThisNode, session_zone: str
) -> None:
    written = datetime(2026, 3, 31, 23, 59, 59, 999999, tzinfo=SHANGHAI)
    with transaction(root_node.engine) as session:
        insert_if_absent(session, BLOBS, {**blob_row("e" * 64), "received_at": written})
    with transaction(root_node.engine) as session:
        # PostgreSQL answers in the session's time zone; SQLite stores no zone at all.
        if root_node.engine.dialect.name == "postgresql":
            session.execute(text(f"SET LOCAL TIME ZONE '{session_zone}'"))
        read = session.execute(
            select(BLOBS.c.received_at).where(BLOBS.c.sha256 == "e" * 64)
        ).scalar_one()
        # Comparisons in SQL see the instant, whatever zone the value was written in.
        later = session.execute(
            select(func.count())
            .select_from(BLOBS)
            .where(BLOBS.c.received_at > datetime(2026, 3, 31, 15, 59, 59, tzinfo=UTC))
        ).scalar_one()
    assert read == written
    assert read.tzinfo is not None and read.utcoffset() == timedelta(0)
    assert read.microsecond == 999999
    assert later == 1


def test_naive_timestamps_are_refused(root_node: ThisNode) -> None:
    with pytest.raises(StatementError) as caught, transaction(root_node.engine) as session:
        insert_if_absent(
            session, BLOBS, {**blob_row("f" * 64), "received_at": datetime(2026, 1, 5, 9, 30)}
        )
    assert isinstance(caught.value.orig, ValueError)
