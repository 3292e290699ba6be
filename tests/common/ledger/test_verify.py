"""``verify_node`` on a node with a real history: it passes, and each kind of damage
done directly in the database (one byte of an event, a projection row, a deleted event)
is caught and the first broken event named."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
from onetrip_testing import COUNTY_ID, TOWNSHIP_ID, VILLAGE_ID
from sqlalchemy import func, select, text
from typer.testing import CliRunner

from common import cli
from common.bootstrap import init_member
from common.catalog.models import PublishedMatter
from common.db import transaction
from common.identity.registry import RegistryKeyResolver
from common.identity.service import invite_node
from common.ledger.envelope import sign_event
from common.ledger.models import Event
from common.ledger.projection import snapshot
from common.ledger.rebuild import rebuild_projections
from common.ledger.service import ingest_event
from common.ledger.verify import VerifyReport, in_subtree, verify_node
from common.node import ThisNode
from common.users.roles import Actor

REPO = Path(__file__).resolve().parents[3]


def _verify(node: ThisNode) -> VerifyReport:
    with transaction(node.engine) as session:
        return verify_node(session, node)


def _event(node: ThisNode, *where) -> Event:
    with transaction(node.engine) as session:
        return session.execute(select(Event).where(*where).order_by(Event.lseq)).scalars().first()


def _set_raw(node: ThisNode, lseq: int, raw: bytes) -> None:
    with transaction(node.engine) as session:
        session.execute(
            text("UPDATE events SET raw = :raw WHERE lseq = :lseq"), {"raw": raw, "lseq": lseq}
        )


def _one_byte(raw: bytes, marker: bytes, new: bytes, offset: int = 0) -> bytes:
    """``raw`` with exactly one byte changed: the one ``offset`` into ``marker``'s first occurrence."""
    at = raw.index(marker) + offset
    edited = raw[:at] + new + raw[at + 1 :]
    assert len(new) == 1 and edited != raw and len(edited) == len(raw)
    return edited


def test_a_real_history_verifies_and_rebuilds_identically(history_node):
    report = _verify(history_node)
    assert report.ok, report.summary()
    with transaction(history_node.engine) as session:
        total = session.execute(select(func.count()).select_from(Event)).scalar()
        kinds = set(session.execute(select(Event.kind)).scalars())
    assert report.events_checked == total
    assert report.summary() == f"账本校验通过：{total} 个事件"
    assert {
        "registry.node_added",
        "registry.node_revoked",
        "catalogue.batch_published",
        "catalogue.matter_withdrawn",
        "calendar.year_published",
        "user.provisioned",
        "user.password_changed",
        "user.role_changed",
        "user.disabled",
        "user.enabled",
    } <= kinds
    if importlib.util.find_spec("common.cases.intake.service") is not None:
        assert {
            "case.filed",
            "case.accepted",
            "case.opinion_recorded",
            "case.decided",
            "case.delivered",
            "case.refused",
            "case.withdrawn",
            "case.supplement_requested",
            "case.supplement_received",
            "case.visit_recorded",
            "licence.issued",
        } <= kinds
    with transaction(history_node.engine) as session:
        live = snapshot(session)
        assert rebuild_projections(session) == total
        assert snapshot(session) == live
    # The savepoint verify rebuilt in was rolled back: the live rows are untouched.
    with transaction(history_node.engine) as session:
        assert snapshot(session) == live


def test_one_edited_byte_breaks_the_signature_and_is_named(history_node):
    target = _event(
        history_node, Event.kind == "user.provisioned", Event.subject == f"user:{COUNTY_ID}:clerk"
    )
    # "clerk" -> "clerl": still canonical JSON, but no longer what the root signed.
    _set_raw(history_node, target.lseq, _one_byte(target.raw, b'"username":"clerk"', b"l", 16))
    report = _verify(history_node)
    assert not report.ok
    first = report.first_broken
    assert (first.lseq, first.event_id, first.code) == (target.lseq, target.id, "event.signature")
    assert report.problem_count == 1
    assert f"lseq={target.lseq}" in report.summary() and target.id in report.summary()


def test_one_edited_byte_breaks_the_canonical_form(history_node):
    target = _event(history_node, Event.kind == "calendar.year_published")
    # A body key renamed "holidays" -> "zolidays" sorts out of place: no longer JCS.
    _set_raw(history_node, target.lseq, _one_byte(target.raw, b'"holidays"', b"z", 1))
    report = _verify(history_node)
    first = report.first_broken
    assert (first.lseq, first.event_id, first.code) == (
        target.lseq,
        target.id,
        "event.not_canonical",
    )
    # Rebuilding cannot get past it either, and says which event stops it.
    assert report.projection_problem.code == "projection.rebuild_failed"
    assert report.projection_problem.lseq == target.lseq


def test_an_edited_index_column_is_caught(history_node):
    target = _event(history_node, Event.kind == "user.role_changed")
    with transaction(history_node.engine) as session:
        session.execute(
            text("UPDATE events SET kind = 'user.enabled' WHERE lseq = :l"), {"l": target.lseq}
        )
    first = _verify(history_node).first_broken
    assert (first.lseq, first.code) == (target.lseq, "event.column_mismatch")
    assert "kind" in first.message


def test_an_edited_projection_row_is_caught(history_node):
    with transaction(history_node.engine) as session:
        matter = (
            session.execute(
                select(PublishedMatter)
                .where(PublishedMatter.withdrawn.is_(False))
                .order_by(PublishedMatter.implementation_code)
            )
            .scalars()
            .first()
        )
        code, name = matter.implementation_code, matter.name
        session.execute(
            text(
                "UPDATE published_matters SET name = '篡改的事项名称' WHERE implementation_code = :c"
            ),
            {"c": code},
        )
    report = _verify(history_node)
    assert not report.ok and report.first_broken is None and report.problem_count == 0
    problem = report.projection_problem
    assert problem.code == "projection.mismatch"
    assert "published_matters" in problem.message and code in problem.message
    assert "篡改的事项名称" in problem.message and name in problem.message


def test_a_deleted_event_leaves_a_gap_in_the_authors_chain(history_node):
    with transaction(history_node.engine) as session:
        count = session.execute(select(func.count()).select_from(Event)).scalar()
    middle = _event(history_node, Event.author == COUNTY_ID, Event.aseq == count // 2)
    after = _event(history_node, Event.author == COUNTY_ID, Event.aseq == middle.aseq + 1)
    with transaction(history_node.engine) as session:
        session.execute(text("DELETE FROM events WHERE lseq = :l"), {"l": middle.lseq})
    report = _verify(history_node)
    first = report.first_broken
    assert (first.lseq, first.event_id, first.code) == (after.lseq, after.id, "chain.gap")
    assert f"aseq={middle.aseq}" in first.message
    assert report.events_checked == count - 1


def test_a_node_outside_the_authors_subtree_still_needs_whole_subjects(history_node):
    """Seen from the village, the root's chain may have gaps; a record's chain may not."""
    village = replace(
        history_node, settings=history_node.settings.model_copy(update={"node_id": VILLAGE_ID})
    )
    subject = f"user:{COUNTY_ID}:clerk"
    first_change = _event(history_node, Event.subject == subject, Event.sseq == 2)
    second_change = _event(history_node, Event.subject == subject, Event.sseq == 3)
    with transaction(history_node.engine) as session:
        session.execute(text("DELETE FROM events WHERE lseq = :l"), {"l": first_change.lseq})
    report = _verify(village)
    first = report.first_broken
    assert (first.lseq, first.code) == (second_change.lseq, "chain.gap")
    assert subject in first.message and "sseq=2" in first.message
    assert report.problem_count == 1  # the root's own aseq gap is allowed at a village


def test_subtree_follows_the_registry_parent_links(history_node):
    with transaction(history_node.engine) as session:
        assert in_subtree(session, COUNTY_ID, VILLAGE_ID)
        assert in_subtree(session, TOWNSHIP_ID, VILLAGE_ID)
        assert in_subtree(session, VILLAGE_ID, VILLAGE_ID)
        assert not in_subtree(session, VILLAGE_ID, COUNTY_ID)
        assert not in_subtree(session, TOWNSHIP_ID, COUNTY_ID)
        assert not in_subtree(session, COUNTY_ID, "439999000000")  # not registered


def _root_signed(root: ThisNode, aseq: int, aprev: str, sseq: int, sprev: str | None):
    return sign_event(
        root.key,
        root.network_id,
        aseq=aseq,
        aprev=aprev,
        subject="test:partial",
        sseq=sseq,
        sprev=sprev,
        kind="test.noted",
        at="2026-11-27T00:00:00.000000Z",
        body={"aseq": aseq},
    )


def test_a_member_holding_part_of_the_roots_chain_verifies(tmp_path, root_node, serve):
    """A township holds the root's registry events but not the root's user records: gaps
    in the root's chain that are legitimate there. Neighbouring held events must still
    link, which a root-signed event with a wrong ``aprev`` breaks."""
    county = serve(root_node)
    with transaction(root_node.engine) as session:
        invitation = invite_node(
            session, root_node, Actor.node_system(COUNTY_ID), TOWNSHIP_ID, "洣水镇便民服务中心"
        )
    township = init_member(
        tmp_path / "township", node_id=TOWNSHIP_ID, parent_url=county.url, token=invitation.token
    )
    try:
        with transaction(township.engine) as session:
            held = (
                session.execute(
                    select(Event.aseq).where(Event.author == COUNTY_ID).order_by(Event.aseq)
                )
                .scalars()
                .all()
            )
        assert held == [1, 3]  # aseq 2 is the root administrator's user record
        report = _verify(township)
        assert report.ok and report.events_checked == 2, report.summary()
        head = _event(township, Event.author == COUNTY_ID, Event.aseq == 3)
        linked = _root_signed(root_node, 4, head.id, 1, None)
        broken = _root_signed(root_node, 5, "0" * 64, 2, linked.id)
        resolver = RegistryKeyResolver(township.settings.root_fingerprint)
        for event in (linked, broken):
            with transaction(township.engine) as session:
                outcome = ingest_event(
                    session,
                    township.network_id,
                    event.raw,
                    resolver,
                    author_chain_complete=lambda author: in_subtree(session, TOWNSHIP_ID, author),
                )
                assert outcome.status == ("stored" if event is linked else "quarantined")
            if event is linked:
                assert _verify(township).ok
        # Ingest quarantines the mislinked event; verify must still catch one that got in
        # some other way (a database edited behind the node's back).
        from common.ledger.service import _store

        with transaction(township.engine) as session:
            _store(session, broken)
        first = _verify(township).first_broken
        assert (first.lseq, first.event_id, first.code) == (
            _event(township, Event.id == broken.id).lseq,
            broken.id,
            "chain.prev_mismatch",
        )
        assert head.id not in first.message and linked.id in first.message
    finally:
        township.engine.dispose()


def _onetrip(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "common.cli", *args],
        capture_output=True,
        text=True,
        cwd=REPO,
        check=False,
        env={**os.environ, "COLUMNS": "200"},
        timeout=120,
    )


@pytest.mark.sqlite_only  # the command opens the node's default SQLite file
def test_the_verify_and_rebuild_commands(history_node):
    data_dir = str(history_node.settings.data_dir)
    with transaction(history_node.engine) as session:
        total = session.execute(select(func.count()).select_from(Event)).scalar()
    passed = _onetrip("verify", "-d", data_dir)
    assert passed.returncode == 0, passed.stdout + passed.stderr
    assert f"账本校验通过：{total} 个事件" in passed.stdout
    # In process (a third interpreter start would add seconds): same command, same exit code.
    rebuilt = CliRunner().invoke(cli.app, ["rebuild", "-d", data_dir])
    assert rebuilt.exit_code == 0, rebuilt.output
    assert f"重放 {total} 个事件" in rebuilt.output
    target = _event(history_node, Event.kind == "catalogue.batch_published")
    _set_raw(history_node, target.lseq, _one_byte(target.raw, b'"batch_no":1', b"7", 11))
    history_node.engine.dispose()
    failed = _onetrip("verify", "-d", data_dir)
    assert failed.returncode == 1, failed.stdout + failed.stderr
    assert f"lseq={target.lseq}" in failed.stdout and target.id in failed.stdout
    assert "event.signature" in failed.stdout
