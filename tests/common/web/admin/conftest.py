"""Fixtures of the county administrator's screen tests: a browser-like client logged
in as the county administrator, and county users of other roles."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from onetrip_testing import ADMIN_PASSWORD
from web_testing import web_login

from common.db import transaction
from common.node import ThisNode
from common.users.roles import Actor, Role
from common.users.service import provision_user

STAFF_PASSWORD = "chuangkou-2026"


@pytest.fixture
def admin_web(root_node: ThisNode, make_client: Callable[..., TestClient]) -> TestClient:
    """The county administrator, logged in through the form (session cookie, no bearer)."""
    return web_login(make_client(root_node, username=None), "admin", ADMIN_PASSWORD)


@pytest.fixture
def county_user(
    root_node: ThisNode, admin: Actor, make_client: Callable[..., TestClient]
) -> Callable[[Role], TestClient]:
    """county_user(role) -> a client logged in as a new county user with that role."""

    def build(role: Role) -> TestClient:
        username = role.value.replace("_", "")[:20]
        with transaction(root_node.engine) as session:
            provision_user(
                session,
                root_node,
                admin,
                node_id=root_node.node_id,
                username=username,
                display_name="测试人员",
                role=role,
                password=STAFF_PASSWORD,
                department="衡东县自然资源局" if role is Role.DEPARTMENT_REVIEWER else None,
            )
        return web_login(make_client(root_node, username=None), username, STAFF_PASSWORD)

    return build
