"""The users API over HTTP: log in, who am I, log out, and user management."""

from __future__ import annotations

from datetime import timedelta

from onetrip_testing import ADMIN_PASSWORD, COUNTY_ID, VILLAGE_ID
from sqlalchemy import update

from common.db import transaction
from common.timeutil import utcnow
from common.users.models import ApiToken


def _log_in(client, username, password, **extra):
    return client.post(
        "/api/v1/auth/token", json={"username": username, "password": password, **extra}
    )


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_login_then_me_then_logout(root_node, make_client) -> None:
    client = make_client(root_node, username=None)
    response = _log_in(client, "admin", ADMIN_PASSWORD, label="窗口1号机")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["token_type"] == "bearer" and body["token"].startswith("ot_")
    assert (body["role"], body["display_name"]) == ("county_admin", "衡东县政务服务中心管理员")

    me = client.get("/api/v1/me", headers=_bearer(body["token"]))
    assert me.status_code == 200
    assert me.json() | {"version": None} == {
        "node_id": COUNTY_ID,
        "username": "admin",
        "display_name": "衡东县政务服务中心管理员",
        "role": "county_admin",
        "role_label": "县管理员",
        "department": None,
        "head": False,
        "active": True,
        "version": None,
    }
    assert "password_hash" not in me.text

    assert client.post("/api/v1/auth/revoke", headers=_bearer(body["token"])).status_code == 200
    after = client.get("/api/v1/me", headers=_bearer(body["token"]))
    assert after.status_code == 401 and after.json()["code"] == "auth.token_invalid"


def test_wrong_password_and_unknown_user_get_the_same_401(root_node, make_client) -> None:
    client = make_client(root_node, username=None)
    wrong = _log_in(client, "admin", "not-the-password")
    unknown = _log_in(client, "nobody", "not-the-password")
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json()
    assert (
        wrong.json()["code"] == "auth.invalid" and wrong.json()["message"] == "用户名或密码不正确"
    )


def test_the_slowdown_after_five_failures_survives_the_request(root_node, make_client) -> None:
    client = make_client(root_node, username=None)
    statuses = [_log_in(client, "admin", f"wrong-{i}").status_code for i in range(5)]
    assert statuses == [401, 401, 401, 401, 429]
    slowed = _log_in(client, "admin", ADMIN_PASSWORD)
    assert slowed.status_code == 429 and slowed.json()["code"] == "auth.throttled"
    assert "秒后再试" in slowed.json()["message"]
    assert 1 <= int(slowed.headers["Retry-After"]) <= 60


def test_missing_expired_and_garbage_tokens_are_refused(root_node, make_client) -> None:
    client = make_client(root_node)
    assert client.get("/api/v1/me").status_code == 200
    with transaction(root_node.engine) as session:
        session.execute(update(ApiToken).values(expires_at=utcnow() - timedelta(minutes=1)))
    expired = client.get("/api/v1/me")
    assert expired.status_code == 401 and expired.json()["code"] == "auth.token_expired"
    assert (
        client.get("/api/v1/me", headers=_bearer("ot_nonsense")).json()["code"]
        == "auth.token_invalid"
    )
    bare = make_client(root_node, username=None).get("/api/v1/me")
    assert bare.status_code == 401 and bare.json()["code"] == "auth.missing"


def test_admin_provisions_and_lists_users(root_node, tree, make_client) -> None:
    client = make_client(root_node)
    created = client.post(
        "/api/v1/users",
        json={
            "node_id": VILLAGE_ID,
            "username": "Agent",
            "display_name": "李村代",
            "role": "village_agent",
            "password": "cunmin-2026",
        },
    )
    assert created.status_code == 201, created.text
    assert created.json()["username"] == "agent" and "password" not in created.text
    listed = client.get("/api/v1/users", params={"node_id": VILLAGE_ID})
    assert [u["username"] for u in listed.json()] == ["agent"]
    assert [u["username"] for u in client.get("/api/v1/users").json()] == ["admin", "agent"]


def test_refusals_are_answers_with_code_message_and_field(root_node, tree, make_client) -> None:
    client = make_client(root_node)
    base = {"username": "someone", "display_name": "某人", "password": "somebody-2026"}
    cases = [
        ({"node_id": COUNTY_ID, "role": "village_agent"}, 400, "users.role_tier", "role"),
        (
            {"node_id": COUNTY_ID, "role": "department_reviewer"},
            400,
            "users.department_required",
            "department",
        ),
        (
            {"node_id": COUNTY_ID, "role": "auditor", "password": "12345678"},
            400,
            "password.all_digits",
            "password",
        ),
        ({"node_id": "4304", "role": "auditor"}, 422, "request.invalid", "node_id"),
        ({"node_id": COUNTY_ID, "role": "king"}, 422, "request.invalid", "role"),
        (
            {"node_id": COUNTY_ID, "role": "auditor", "username": "admin"},
            409,
            "users.exists",
            "username",
        ),
    ]
    for fields, status, code, field in cases:
        response = client.post("/api/v1/users", json=base | fields)
        assert response.status_code == status, (fields, response.text)
        body = response.json()
        assert (body["code"], body["field"]) == (code, field), body
        assert body["message"]


def test_disabled_user_cannot_log_in_and_loses_access(root_node, make_client) -> None:
    admin = make_client(root_node)
    admin.post(
        "/api/v1/users",
        json={
            "node_id": COUNTY_ID,
            "username": "clerk",
            "display_name": "王窗口",
            "role": "county_window_clerk",
            "password": "chuangkou-2026",
        },
    )
    clerk = make_client(root_node, username="clerk")
    assert clerk.get("/api/v1/me").status_code == 200
    off = admin.post(f"/api/v1/users/{COUNTY_ID}/clerk/active", json={"active": False})
    assert off.status_code == 200 and off.json()["active"] is False
    assert clerk.get("/api/v1/me").json()["code"] == "auth.disabled"
    refused = _log_in(make_client(root_node, username=None), "clerk", "chuangkou-2026")
    assert refused.status_code == 401 and refused.json()["code"] == "auth.disabled"


def test_users_of_another_node_cannot_log_in_here(root_node, village_agent, make_client) -> None:
    response = _log_in(make_client(root_node, username=None), "agent", village_agent["password"])
    assert response.status_code == 401 and response.json()["code"] == "auth.invalid"


def test_own_password_change_and_role_change(root_node, clerk, make_client) -> None:
    admin = make_client(root_node)
    me = make_client(root_node, username="clerk")
    url = f"/api/v1/users/{COUNTY_ID}/clerk/password"
    missing = me.post(url, json={"password": "new-chuangkou-1"})
    assert missing.status_code == 400 and missing.json()["field"] == "current_password"
    done = me.post(url, json={"password": "new-chuangkou-1", "current_password": clerk["password"]})
    assert done.status_code == 200 and done.json()["version"] == 2
    assert me.get("/api/v1/me").status_code == 401  # tokens from before the change are void
    assert _log_in(admin, "clerk", "new-chuangkou-1").status_code == 200

    changed = admin.post(
        f"/api/v1/users/{COUNTY_ID}/clerk/role",
        json={"role": "department_reviewer", "department": "县人社局"},
    )
    assert changed.status_code == 200, changed.text
    assert (changed.json()["role"], changed.json()["department"]) == (
        "department_reviewer",
        "县人社局",
    )


def test_unknown_user_in_path_is_404(root_node, make_client) -> None:
    response = make_client(root_node).post(
        f"/api/v1/users/{COUNTY_ID}/ghost/active", json={"active": False}
    )
    assert response.status_code == 404 and response.json()["field"] == "username"
