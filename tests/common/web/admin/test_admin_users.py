"""/admin/users: users of every node, provisioning with the tier rule shown at the
field, role changes, password resets and disabling, each checked by logging in."""

from __future__ import annotations

import re

from onetrip_testing import TOWNSHIP_ID, VILLAGE_ID
from sqlmodel import Session
from web_testing import csrf_of, post_form

from common.users.models import User

PASSWORD = "Chuangkou-2026"


def _provision(client, **fields):
    data = {
        "node_id": "430424000000",
        "username": "wang",
        "display_name": "王窗口",
        "role": "county_window_clerk",
        "department": "",
        "password": PASSWORD,
        **fields,
    }
    return post_form(client, "/admin/users", data, page="/admin/users")


def _user(node, node_id: str, username: str) -> User | None:
    with Session(node.engine) as session:
        return session.get(User, (node_id, username))


def _try_login(node, make_client, username: str, password: str):
    client = make_client(node, username=None)
    return client, client.post(
        "/login",
        data={
            "username": username,
            "password": password,
            "csrf_token": csrf_of(client.get("/login").text),
        },
        follow_redirects=False,
    )


def test_provision_users_for_every_node_and_filter_the_list(
    root_node, tree, admin_web, make_client
):
    township = _provision(
        admin_web,
        node_id=TOWNSHIP_ID,
        username="lichuang",
        display_name="李窗口",
        role="township_clerk",
    )
    assert (
        township.status_code == 303
        and township.headers["location"] == f"/admin/users?node_id={TOWNSHIP_ID}"
    )
    village = _provision(
        admin_web, node_id=VILLAGE_ID, username="zhao", display_name="赵代办", role="village_agent"
    )
    assert village.status_code == 303
    assert _user(root_node, VILLAGE_ID, "zhao").role == "village_agent"

    everyone = admin_web.get("/admin/users")
    rows = re.findall(
        r'data-testid="user-row" data-node-id="(\d+)" data-username="([\w.-]+)"', everyone.text
    )
    assert set(rows) == {
        (root_node.node_id, "admin"),
        (TOWNSHIP_ID, "lichuang"),
        (VILLAGE_ID, "zhao"),
    }
    filtered = admin_web.get("/admin/users", params={"node_id": TOWNSHIP_ID})
    assert re.findall(r'data-testid="user-row" data-node-id="(\d+)"', filtered.text) == [
        TOWNSHIP_ID
    ]
    assert "乡镇窗口人员" in filtered.text and "洣水镇便民服务中心" in filtered.text

    # Users log in on their own node only: the county does not let the township clerk in.
    client = make_client(root_node, username=None)
    refused = client.post(
        "/login",
        data={
            "username": "lichuang",
            "password": PASSWORD,
            "csrf_token": csrf_of(client.get("/login").text),
        },
    )
    assert refused.status_code == 401


def test_a_provisioned_county_clerk_logs_in_and_is_kept_out_of_admin(
    root_node, admin_web, make_client
):
    assert _provision(admin_web).status_code == 303
    client, answer = _try_login(root_node, make_client, "wang", PASSWORD)
    assert answer.status_code == 303 and answer.headers["location"] == "/staff/queue"
    assert client.get("/admin/catalogue").status_code == 403
    assert client.get("/admin/users").status_code == 403


def test_provision_refusals_are_shown_at_the_field(root_node, tree, admin_web):
    wrong_tier = _provision(admin_web, role="village_agent")
    assert wrong_tier.status_code == 400
    assert re.search(r'id="d-role">村代办员不能设在县级节点', wrong_tier.text)
    assert 'value="wang"' in wrong_tier.text  # what was typed stays in the form
    unknown = _provision(admin_web, role="wizard")
    assert unknown.status_code == 400 and 'id="d-role">未知角色 wizard' in unknown.text
    no_department = _provision(admin_web, role="department_reviewer")
    assert (
        no_department.status_code == 400
        and 'id="d-department">部门审批人员必须填写所属部门' in no_department.text
    )
    weak = _provision(admin_web, password="12345678")
    assert weak.status_code == 400 and 'id="d-password">' in weak.text
    bad_name = _provision(admin_web, username="王")
    assert bad_name.status_code == 400 and 'id="d-username">' in bad_name.text
    assert _user(root_node, root_node.node_id, "wang") is None

    assert _provision(admin_web).status_code == 303
    duplicate = _provision(admin_web, display_name="另一个王")
    assert (
        duplicate.status_code == 409
        and 'id="d-username">节点 430424000000 已有用户 wang' in duplicate.text
    )
    assert _user(root_node, root_node.node_id, "wang").display_name == "王窗口"


def test_change_role_reset_password_disable_and_enable(root_node, admin_web, make_client):
    _provision(admin_web)
    path = "/admin/users/430424000000/wang"
    detail = admin_web.get(path)
    assert detail.status_code == 200 and "县综合窗口人员" in detail.text

    wrong = post_form(admin_web, f"{path}/role", {"role": "township_approver"}, page=path)
    assert wrong.status_code == 400 and 'id="d-role">乡镇审批人员不能设在县级节点' in wrong.text
    changed = post_form(
        admin_web,
        f"{path}/role",
        {"role": "department_reviewer", "department": "衡东县自然资源局"},
        page=path,
    )
    assert changed.status_code == 303
    user = _user(root_node, root_node.node_id, "wang")
    assert (user.role, user.department) == ("department_reviewer", "衡东县自然资源局")

    mismatch = post_form(
        admin_web,
        f"{path}/password",
        {"password": "Neu-Passwort-1", "password_confirm": "x"},
        page=path,
    )
    assert (
        mismatch.status_code == 400
        and 'id="d-password_confirm">两次输入的新密码不一致' in mismatch.text
    )
    reset = post_form(
        admin_web,
        f"{path}/password",
        {"password": "Neu-Passwort-1", "password_confirm": "Neu-Passwort-1"},
        page=path,
    )
    assert reset.status_code == 303
    assert _try_login(root_node, make_client, "wang", PASSWORD)[1].status_code == 401
    assert _try_login(root_node, make_client, "wang", "Neu-Passwort-1")[1].status_code == 303

    disabled = post_form(admin_web, f"{path}/active", {"active": "false"}, page=path)
    assert disabled.status_code == 303 and not _user(root_node, root_node.node_id, "wang").active
    refused = _try_login(root_node, make_client, "wang", "Neu-Passwort-1")[1]
    assert refused.status_code == 401 and "已停用" in refused.text
    assert "已停用用户 wang" in admin_web.get(path).text
    enabled = post_form(admin_web, f"{path}/active", {"active": "true"}, page=path)
    assert enabled.status_code == 303
    assert _try_login(root_node, make_client, "wang", "Neu-Passwort-1")[1].status_code == 303


def test_the_administrator_cannot_disable_or_demote_themself(root_node, admin_web):
    path = f"/admin/users/{root_node.node_id}/admin"
    page = admin_web.get(path)
    assert 'id="f-current_password"' in page.text  # their own password needs the current one
    off = post_form(admin_web, f"{path}/active", {"active": "false"}, page=path)
    assert off.status_code == 403 and "不能停用自己的账号" in off.text
    demote = post_form(admin_web, f"{path}/role", {"role": "auditor"}, page=path)
    assert demote.status_code == 403 and 'id="d-role">不能修改自己的角色' in demote.text
    assert _user(root_node, root_node.node_id, "admin").active
    assert admin_web.get("/admin/users/430424000000/nobody").status_code == 404


def test_the_header_names_the_administrators_role_on_the_user_pages(root_node, admin_web):
    """The user pages once put a function where the header prints the user's role."""
    for path in ("/admin/users", "/admin/users/430424000000/admin"):
        page = admin_web.get(path)
        assert page.status_code == 200, path
        assert "admin（县管理员）" in page.text and "<function" not in page.text, path


def test_the_administrator_names_the_head_of_a_department(root_node, admin_web):
    """本行政机关负责人 (who approves extensions, §42) is set on the user form; only a
    department reviewer or a township approver can be one."""
    clerk = _provision(admin_web, head="1")  # a window clerk cannot head an organ
    assert clerk.status_code == 400 and re.search(r'id="d-head">只有部门审批人员', clerk.text)
    head = _provision(
        admin_web,
        username="zhang",
        display_name="张局长",
        role="department_reviewer",
        department="衡东县市场监督管理局",
        head="1",
    )
    assert head.status_code == 303
    assert _user(root_node, root_node.node_id, "zhang").head is True
    page = admin_web.get(f"/admin/users/{root_node.node_id}/zhang")
    assert "（本机关负责人）" in page.text
    assert re.search(r'name="head" value="1" checked data-testid="role-head"', page.text)
