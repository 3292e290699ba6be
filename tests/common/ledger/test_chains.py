"""Appending and ingesting: chains, idempotence, forks and refusals, on a real database."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from onetrip_testing import TOWNSHIP_ID
from sqlalchemy import func, select

from common.db import transaction
from common.identity.keys import NodeKey
from common.identity.registry import RegistryKeyResolver
from common.ledger.envelope import EnvelopeError, sign_event
from common.ledger.models import Event, QuarantinedEvent
from common.ledger.service import IngestRefused, ingest_event


def _township_event(key: NodeKey, network: str, aseq: int, aprev, sseq: int, sprev, body=None):
    return sign_event(
        key,
        network,
        aseq=aseq,
        aprev=aprev,
        subject="test:test",
        sseq=sseq,
        sprev=sprev,
        kind="test.noted",
        at="2026-11-27T00:00:00.000000Z",
        body=body or {"n": aseq},
    )


def _ingest(node, raw):
    resolver = RegistryKeyResolver(node.settings.root_fingerprint)
    with transaction(node.engine) as session:
        return ingest_event(session, node.network_id, raw, resolver)


def test_local_appends_chain_by_author_and_subject(root_node):
    with transaction(root_node.engine) as session:
        first = root_node.append(session, "test:a", "test.noted", {"i": 1})
        second = root_node.append(session, "test:b", "test.noted", {"i": 2})
        third = root_node.append(session, "test:a", "test.noted", {"i": 3})
    assert second.envelope["aprev"] == first.id
    assert third.envelope["aprev"] == second.id
    assert third.envelope["sprev"] == first.id and third.envelope["sseq"] == 2
    assert second.envelope["sseq"] == 1 and second.envelope["sprev"] is None


def test_ingest_is_idempotent_and_refuses_forks(root_node, tree):
    key = tree[TOWNSHIP_ID]
    e1 = _township_event(key, root_node.network_id, 1, None, 1, None)
    e2 = _township_event(key, root_node.network_id, 2, e1.id, 2, e1.id)
    assert _ingest(root_node, e1.raw).status == "stored"
    assert _ingest(root_node, e1.raw).status == "duplicate"  # redelivery changes nothing
    _ingest(root_node, e2.raw)
    # Same chain positions, different content: a fork, quarantined, never applied.
    fork = _township_event(key, root_node.network_id, 2, e1.id, 2, e1.id, body={"other": True})
    outcome = _ingest(root_node, fork.raw)
    assert outcome.status == "quarantined" and "fork" in outcome.reason
    with transaction(root_node.engine) as session:
        assert (
            session.execute(
                select(func.count()).select_from(Event).where(Event.author == TOWNSHIP_ID)
            ).scalar()
            == 2
        )
        row = session.execute(select(QuarantinedEvent)).scalars().one()
        assert row.event_id == fork.id and row.conflicts_with == e2.id


def test_gap_is_refused_until_predecessor_arrives(root_node, tree):
    key = tree[TOWNSHIP_ID]
    e1 = _township_event(key, root_node.network_id, 1, None, 1, None)
    e2 = _township_event(key, root_node.network_id, 2, e1.id, 2, e1.id)
    with pytest.raises(IngestRefused) as caught:
        _ingest(root_node, e2.raw)
    assert caught.value.code == "event.gap"
    _ingest(root_node, e1.raw)
    assert _ingest(root_node, e2.raw).status == "stored"


def test_unknown_tampered_and_revoked_keys_are_refused(root_node, tree):
    stranger = NodeKey(TOWNSHIP_ID, Ed25519PrivateKey.generate())
    forged = _township_event(stranger, root_node.network_id, 1, None, 1, None)
    with pytest.raises(EnvelopeError) as caught:
        _ingest(root_node, forged.raw)
    assert caught.value.code == "event.unknown_key"
    good = _township_event(tree[TOWNSHIP_ID], root_node.network_id, 1, None, 1, None)
    tampered = good.raw.replace(b'"n":1', b'"n":7')
    with pytest.raises(EnvelopeError) as caught:
        _ingest(root_node, tampered)
    assert caught.value.code == "event.signature"
    from common.identity.service import revoke_node
    from common.users.roles import Actor

    with transaction(root_node.engine) as session:
        revoke_node(
            session, root_node, Actor.node_system(root_node.node_id), TOWNSHIP_ID, "测试注销"
        )
    with pytest.raises(EnvelopeError) as caught:
        _ingest(root_node, good.raw)
    assert caught.value.code == "event.revoked_key"


@pytest.mark.parametrize(
    "order", [[5, 4, 3, 2, 1, 0], [1, 3, 5, 0, 2, 4], [0, 2, 1, 4, 3, 5], [2, 0, 5, 1, 4, 3]]
)
def test_any_delivery_order_converges_to_the_same_chain(root_node, tree, order):
    """Out-of-order delivery with retries: the held chain ends gap-free and complete."""
    key = tree[TOWNSHIP_ID]
    events, prev = [], None
    subject = "test:perm"
    for i in range(6):
        sprev = events[-1].id if events else None
        event = sign_event(
            key,
            root_node.network_id,
            aseq=i + 1,
            aprev=prev,
            subject=subject,
            sseq=i + 1,
            sprev=sprev,
            kind="test.noted",
            at="2026-11-27T00:00:00.000000Z",
            body={"i": i},
        )
        events.append(event)
        prev = event.id
    pending = [events[i] for i in order]
    resolver = RegistryKeyResolver(root_node.settings.root_fingerprint)
    rounds = 0
    while pending and rounds < 10:
        rounds += 1
        retry = []
        for event in pending:
            with transaction(root_node.engine) as session:
                try:
                    ingest_event(
                        session,
                        root_node.network_id,
                        event.raw,
                        resolver,
                        author_chain_complete=lambda author: False,
                    )
                except IngestRefused as refused:
                    assert refused.code == "event.gap"
                    retry.append(event)
        pending = retry
    assert not pending
    with transaction(root_node.engine) as session:
        seqs = (
            session.execute(select(Event.sseq).where(Event.subject == subject).order_by(Event.sseq))
            .scalars()
            .all()
        )
    assert seqs == [1, 2, 3, 4, 5, 6]
