"""Fixtures for the staff screens: the case tests' fixtures (published catalogue,
township and village nodes over the root's database, actors, a stored PDF, the ``k``
helpers) reused from tests/case_fixtures.py, plus users provisioned on the
root and browsers logged in through the login form.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

import pytest
from fastapi.testclient import TestClient
from onetrip_testing import COUNTY_ID, TOWNSHIP_ID
from web_testing import web_login

from common.cases import access
from common.cases.intake import filing as service_filing
from common.db import transaction
from common.licences import service as licence_service
from common.node import ThisNode
from common.users.roles import HEAD_ROLES, Actor, Role

PASSWORD = "hengdong-staff-2026"
MARKET, POLICE, TAX = "衡东县市场监督管理局", "衡东县公安局", "国家税务总局衡东县税务局"
# username -> (node, role, department)
USERS: dict[str, tuple[str, Role, str | None]] = {
    "clerk": (COUNTY_ID, Role.COUNTY_WINDOW_CLERK, None),
    "scjg": (COUNTY_ID, Role.DEPARTMENT_REVIEWER, MARKET),
    "police": (COUNTY_ID, Role.DEPARTMENT_REVIEWER, POLICE),
    "tax": (COUNTY_ID, Role.DEPARTMENT_REVIEWER, TAX),
    "auditor": (COUNTY_ID, Role.AUDITOR, None),
    "tclerk": (TOWNSHIP_ID, Role.TOWNSHIP_CLERK, None),
    "tapprover": (TOWNSHIP_ID, Role.TOWNSHIP_APPROVER, None),
}


@pytest.fixture
def browser(
    published: ThisNode, admin: Actor, make_client: Callable[..., TestClient]
) -> Callable[..., TestClient]:
    """browser(node, username) -> a client logged in through the form as that user
    (provisioned on the root the first time it is asked for)."""
    from common.users.service import provision_user

    provisioned: set[str] = set()

    def login(node: ThisNode, username: str) -> TestClient:
        if username not in provisioned:
            node_id, role, department = USERS[username]
            with transaction(published.engine) as session:
                provision_user(
                    session,
                    published,
                    admin,
                    node_id=node_id,
                    username=username,
                    display_name=f"测试{username}",
                    role=role,
                    department=department,
                    password=PASSWORD,
                    head=role.value in HEAD_ROLES,  # each department's one reviewer heads it
                )
            provisioned.add(username)
        return web_login(make_client(node, username=None), username, PASSWORD)

    return login


class Today:
    """The date the product sees as today (Asia/Shanghai)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.day: date | None = None
        for module in (access, licence_service, service_filing):
            monkeypatch.setattr(module, "local_today", self._local_today)

    def _local_today(self, tz: Any = None) -> date:
        assert self.day is not None
        return self.day

    def __call__(self, day: str) -> str:
        self.day = date.fromisoformat(day)
        return day


@pytest.fixture
def today(monkeypatch: pytest.MonkeyPatch) -> Today:
    return Today(monkeypatch)


@pytest.fixture
def case_of(published: ThisNode) -> Callable[[str], Any]:
    """The case row as committed (read in a fresh transaction)."""
    from common.cases.models import Case

    def read(case_no: str) -> Any:
        with transaction(published.engine) as session:
            case = session.get(Case, case_no)
            assert case is not None
            session.expunge(case)
            return case

    return read


@pytest.fixture
def staff_actor() -> Callable[[str], Actor]:
    """staff_actor(username) -> the Actor of a member of USERS (for setting up cases)."""

    def actor(username: str) -> Actor:
        node_id, role, department = USERS[username]
        return Actor(username=username, node_id=node_id, role=role, department=department)

    return actor
