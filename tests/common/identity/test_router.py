"""Node administration over HTTP: invitations, revocation, the public registry."""

from __future__ import annotations

from onetrip_testing import TOWNSHIP_ID, VILLAGE_ID

from common.db import transaction
from common.users.service import provision_user


def test_admin_invites_and_revokes_and_registry_shows_it(root_node, tree, make_client):
    client = make_client(root_node)
    answer = client.post(
        "/api/v1/nodes/invite", json={"node_id": "430424101000", "name": "石湾镇便民服务中心"}
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["parent_id"] == root_node.node_id and body["tier"] == "township"
    assert body["token"].endswith("." + root_node.key.fingerprint)
    revoked = client.post(f"/api/v1/nodes/{VILLAGE_ID}/revoke", json={"reason": "设备丢失"})
    assert revoked.status_code == 200, revoked.text
    registry = client.get("/api/v1/registry").json()
    by_id = {n["node_id"]: n for n in registry["nodes"]}
    assert by_id[VILLAGE_ID]["revoked_version"] == registry["version"] == 4
    assert by_id[TOWNSHIP_ID]["revoked_version"] is None
    again = client.post(f"/api/v1/nodes/{VILLAGE_ID}/revoke", json={"reason": "设备丢失"})
    assert again.status_code == 409 and again.json()["code"] == "node.revoked"


def test_refusals_name_the_field(root_node, tree, make_client):
    client = make_client(root_node)
    bad = client.post("/api/v1/nodes/invite", json={"node_id": "4304241", "name": "x镇"})
    assert bad.status_code == 422 and bad.json()["field"] == "node_id"
    taken = client.post("/api/v1/nodes/invite", json={"node_id": TOWNSHIP_ID, "name": "洣水镇"})
    assert taken.status_code == 409 and taken.json()["code"] == "node.exists"
    outside = client.post(
        "/api/v1/nodes/invite",
        json={"node_id": "430424101201", "name": "某村", "parent_id": TOWNSHIP_ID},
    )
    assert outside.status_code == 400 and outside.json()["code"] == "node.not_under_parent"
    root = client.post(f"/api/v1/nodes/{root_node.node_id}/revoke", json={"reason": "测试"})
    assert root.status_code == 403 and root.json()["code"] == "node.revoke_root"


def test_only_county_admins_manage_nodes(root_node, tree, make_client):
    with transaction(root_node.engine) as session:
        provision_user(
            session,
            root_node,
            _system(root_node),
            node_id=root_node.node_id,
            username="clerk1",
            display_name="窗口一",
            role="county_window_clerk",
            password="Window-clerk-1",
        )
    clerk = make_client(root_node, username="clerk1")
    invite = clerk.post("/api/v1/nodes/invite", json={"node_id": "430424101000", "name": "石湾镇"})
    assert invite.status_code == 403 and invite.json()["code"] == "auth.role"
    revoke = clerk.post(f"/api/v1/nodes/{VILLAGE_ID}/revoke", json={"reason": "测试"})
    assert revoke.status_code == 403
    anonymous = make_client(root_node, username=None)
    assert (
        anonymous.post(
            "/api/v1/nodes/invite", json={"node_id": "430424101000", "name": "石湾镇"}
        ).status_code
        == 401
    )
    assert anonymous.get("/api/v1/registry").status_code == 200  # public: anyone may verify


def _system(node):
    from common.users.roles import Actor

    return Actor.node_system(node.node_id)
