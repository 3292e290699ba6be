"""Enrolment over real HTTP on loopback: county ← township ← village.

Three data directories, three apps served by uvicorn; the village's request is
relayed and signed by its township. Each node ends with the same root-signed registry.
"""

from __future__ import annotations

import os
import stat
from datetime import timedelta

import pytest
from onetrip_testing import TOWNSHIP_ID, VILLAGE_ID
from sqlalchemy import update

from common.bootstrap import InitError, init_member
from common.db import transaction
from common.identity.models import EnrolmentToken
from common.identity.registry import registry_events
from common.identity.service import invite_node
from common.timeutil import utcnow
from common.users.roles import Actor


def _invite(root, node_id, name="测试节点"):
    with transaction(root.engine) as session:
        return invite_node(session, root, Actor.node_system(root.node_id), node_id, name)


def _registry(node):
    with transaction(node.engine) as session:
        return registry_events(session)


@pytest.fixture
def township(tmp_path, root_node, serve):
    county = serve(root_node)
    invitation = _invite(root_node, TOWNSHIP_ID, "洣水镇便民服务中心")
    node = init_member(
        tmp_path / "township", node_id=TOWNSHIP_ID, parent_url=county.url, token=invitation.token
    )
    return node, county


def test_township_and_village_hold_the_same_signed_registry(tmp_path, root_node, township, serve):
    township_node, _county = township
    township_server = serve(township_node)
    invitation = _invite(root_node, VILLAGE_ID, "示例村代办点")
    village = init_member(
        tmp_path / "village",
        node_id=VILLAGE_ID,
        parent_url=township_server.url,
        token=invitation.token,
    )
    county_registry = _registry(root_node)
    assert len(county_registry) == 3
    assert _registry(township_node) == county_registry
    assert _registry(village) == county_registry
    assert village.tier == "village" and township_node.tier == "township"
    # Keys are owner-only files.
    mode = stat.S_IMODE(os.stat(village.settings.key_path).st_mode)
    assert mode == 0o600


def _refused(tmp_path, name, **kwargs):
    with pytest.raises(InitError) as caught:
        init_member(tmp_path / name, **kwargs)
    # Nothing half-written: no key and no database stay behind.
    assert not (tmp_path / name / "keys" / "node_ed25519.pem").exists()
    assert not (tmp_path / name / "node.db").exists()
    return str(caught.value)


def test_bad_tokens_are_refused(tmp_path, root_node, township, serve):
    township_node, _county = township
    township_server = serve(township_node)
    fingerprint = root_node.key.fingerprint
    # A made-up token.
    message = _refused(
        tmp_path,
        "v1",
        node_id=VILLAGE_ID,
        parent_url=township_server.url,
        token=f"not-a-real-token.{fingerprint}",
    )
    assert "enrol.token_invalid" in message
    # A token for another network's root.
    message = _refused(
        tmp_path,
        "v2",
        node_id=VILLAGE_ID,
        parent_url=township_server.url,
        token=f"whatever.{'0' * 64}",
    )
    assert "enrol.token_network" in message
    # A token issued for a different node id.
    other = _invite(root_node, "430424100202")
    message = _refused(
        tmp_path, "v3", node_id=VILLAGE_ID, parent_url=township_server.url, token=other.token
    )
    assert "enrol.token_node" in message
    # An expired token.
    expired = _invite(root_node, VILLAGE_ID)
    with transaction(root_node.engine) as session:
        session.execute(update(EnrolmentToken).values(expires_at=utcnow() - timedelta(minutes=1)))
    message = _refused(
        tmp_path, "v4", node_id=VILLAGE_ID, parent_url=township_server.url, token=expired.token
    )
    assert "enrol.token_expired" in message
    # A reused token: the first use succeeds, the second is refused.
    fresh = _invite(root_node, VILLAGE_ID)
    init_member(
        tmp_path / "v5", node_id=VILLAGE_ID, parent_url=township_server.url, token=fresh.token
    )
    message = _refused(
        tmp_path, "v6", node_id=VILLAGE_ID, parent_url=township_server.url, token=fresh.token
    )
    assert "enrol.token_used" in message


def test_node_must_enrol_under_its_own_parent(tmp_path, root_node, township, serve):
    township_node, county = township
    township_server = serve(township_node)
    # A village of 石湾镇 (430424101) presenting itself to 洣水镇: refused by the township.
    stranger = "430424101201"
    message = _refused(
        tmp_path,
        "s1",
        node_id=stranger,
        parent_url=township_server.url,
        token=f"x.{root_node.key.fingerprint}",
    )
    assert "enrol.not_under_parent" in message
    # A village of 洣水镇 skipping its township and going straight to the county.
    invitation = _invite(root_node, VILLAGE_ID)
    message = _refused(
        tmp_path, "s2", node_id=VILLAGE_ID, parent_url=county.url, token=invitation.token
    )
    assert "enrol.wrong_parent" in message


def test_unknown_node_id_cannot_be_invited(root_node):
    from common.errors import DomainError

    with pytest.raises(DomainError) as caught:
        _invite(root_node, "520000000001")  # nothing registered above it
    assert caught.value.code == "node.no_parent"
    with pytest.raises(DomainError) as caught:
        _invite(root_node, "43042410020")
    assert caught.value.code == "node.id_format"
