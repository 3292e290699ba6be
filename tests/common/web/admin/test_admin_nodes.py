"""/admin/nodes: the registry, inviting a node (the token shown once, and it works),
revoking with a reason, refusals at the field."""

from __future__ import annotations

import re

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from onetrip_testing import TOWNSHIP_ID, VILLAGE_ID
from sqlmodel import Session
from web_testing import post_form

from common.db import transaction
from common.identity.keys import NodeKey
from common.identity.models import RegistryNode
from common.identity.service import accept_enrolment

NEW_VILLAGE = "430424100202"


def _token(html: str) -> str:
    match = re.search(r'data-testid="enrolment-token">([^<]+)<', html)
    assert match, "no token on the page"
    return match.group(1)


def test_the_registry_lists_nodes_with_tier_parent_and_key(root_node, tree, admin_web):
    page = admin_web.get("/admin/nodes")
    assert page.status_code == 200 and "<title>节点管理" in page.text
    rows = re.findall(r'data-testid="registry-row" data-node-id="(\d+)"', page.text)
    assert rows == [root_node.node_id, TOWNSHIP_ID, VILLAGE_ID]
    assert tree[VILLAGE_ID].kid[:16] in page.text and "洣水镇便民服务中心" in page.text


def test_invite_shows_the_token_once_and_it_enrols_the_node(root_node, tree, admin_web):
    answer = post_form(
        admin_web,
        "/admin/nodes/invite",
        {"node_id": NEW_VILLAGE, "name": "示例二村代办点"},
        page="/admin/nodes",
    )
    assert answer.status_code == 200, answer.text
    assert answer.headers["cache-control"] == "no-store"
    token = _token(answer.text)
    command = re.search(r'data-testid="enrol-command">([^<]+)<', answer.text).group(1)
    assert command == (
        f"onetrip init -d &lt;数据目录&gt; --tier village --node-id {NEW_VILLAGE} "
        f"--parent &lt;上级节点地址&gt; --token {token}"
    )
    listing = admin_web.get("/admin/nodes")
    assert token not in listing.text and token.split(".")[0] not in listing.text
    assert 'data-testid="invitations"' in listing.text and "示例二村代办点" in listing.text

    # The token on the page is the real one: the root accepts it from the new node.
    key = NodeKey(node_id=NEW_VILLAGE, private_key=Ed25519PrivateKey.generate())
    with transaction(root_node.engine) as session:
        accept_enrolment(
            session,
            root_node,
            node_id=NEW_VILLAGE,
            public_key=key.public_b64,
            token=token,
            via=[TOWNSHIP_ID],
        )
    listing = admin_web.get("/admin/nodes")
    assert (
        f'data-node-id="{NEW_VILLAGE}"' in listing.text
        and 'data-testid="invitations"' not in listing.text
    )


def test_a_township_invitation_names_this_county_as_parent(root_node, admin_web):
    answer = post_form(
        admin_web,
        "/admin/nodes/invite",
        {"node_id": "430424101000", "name": "新塘镇便民服务中心"},
        page="/admin/nodes",
    )
    assert answer.status_code == 200
    assert "--tier township" in answer.text and "--parent http://testserver --token" in answer.text


def test_invite_refusals_are_at_the_field(root_node, tree, admin_web):
    taken = post_form(
        admin_web,
        "/admin/nodes/invite",
        {"node_id": TOWNSHIP_ID, "name": "重复"},
        page="/admin/nodes",
    )
    assert taken.status_code == 409 and f'id="d-node_id">节点 {TOWNSHIP_ID} 已登记' in taken.text
    malformed = post_form(
        admin_web, "/admin/nodes/invite", {"node_id": "1234", "name": "x"}, page="/admin/nodes"
    )
    assert malformed.status_code == 400 and 'id="d-node_id">节点编号应为12位' in malformed.text
    nameless = post_form(
        admin_web, "/admin/nodes/invite", {"node_id": NEW_VILLAGE, "name": " "}, page="/admin/nodes"
    )
    assert nameless.status_code == 400 and 'id="d-name">请填写节点名称' in nameless.text
    hours = post_form(
        admin_web,
        "/admin/nodes/invite",
        {"node_id": NEW_VILLAGE, "name": "二村", "valid_hours": "0"},
        page="/admin/nodes",
    )
    assert hours.status_code == 400 and 'id="d-valid_hours"' in hours.text
    assert 'data-testid="invitations"' not in admin_web.get("/admin/nodes").text


def test_revoke_asks_for_a_reason_then_revokes(root_node, tree, admin_web):
    path = f"/admin/nodes/{VILLAGE_ID}/revoke"
    confirm = admin_web.get(path)
    assert (
        confirm.status_code == 200
        and "示例村代办点" in confirm.text
        and 'data-testid="revoke-button"' in confirm.text
    )
    empty = post_form(admin_web, path, {"reason": "  "})
    assert empty.status_code == 400 and 'id="d-reason">请填写注销原因' in empty.text
    done = post_form(admin_web, path, {"reason": "设备被盗"})
    assert done.status_code == 303 and done.headers["location"] == "/admin/nodes"
    with Session(root_node.engine) as session:
        entry = session.get(RegistryNode, VILLAGE_ID)
    assert entry.revoked_version is not None and entry.revoked_reason == "设备被盗"
    listing = admin_web.get("/admin/nodes")
    assert "已注销节点" in listing.text and "已注销</span>" in listing.text
    again = post_form(admin_web, path, {"reason": "再次"})
    assert again.status_code == 409


def test_the_root_cannot_be_revoked_and_unknown_nodes_are_404(root_node, admin_web):
    root = post_form(admin_web, f"/admin/nodes/{root_node.node_id}/revoke", {"reason": "试试"})
    assert root.status_code == 403 and "不能注销根节点" in root.text
    assert admin_web.get("/admin/nodes/430424999999/revoke").status_code == 404
