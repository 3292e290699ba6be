"""Fixtures for the village agent's screens: the root with the sample catalogue
published, the sample village as a node over the root's database, an agent user of
that village and a browser-like client logged in as the agent through /login."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from case_fixtures import PERSON_ID, member_node, resident_id
from fastapi.testclient import TestClient
from onetrip_testing import COUNTY_ID, VILLAGE_ID
from web_testing import web_login

from common.db import transaction
from common.node import ThisNode
from common.users.roles import Actor, Role

AGENT = "agent1"
PASSWORD = "hengdong-agent-2026"
PENSION = (
    "54430424MEB423186J6002007001000"  # 城乡居民基本养老保险参保登记（村级代办）: village 即办件
)
ELDERLY = "54430424MEB423186J6432004015000"  # 高龄津贴申请代办: village 即办件
SOLE_TRADER = "11430424MB1C5953154000119002001"  # 个体工商户设立登记: county 即办件, licence
FOOD_LICENCE = "11430424MB1C5953154000119001001"  # 食品经营许可（新办）: county, 告知承诺 allowed
PDF = b"%PDF-1.7\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@pytest.fixture
def agent_client(
    village: ThisNode, published: ThisNode, admin: Actor, make_client: Callable[..., TestClient]
) -> TestClient:
    from common.users.service import provision_user

    with transaction(published.engine) as session:
        provision_user(
            session,
            published,
            admin,
            node_id=VILLAGE_ID,
            username=AGENT,
            display_name="王代办",
            role=Role.VILLAGE_AGENT,
            password=PASSWORD,
        )
    return web_login(make_client(village, username=None), AGENT, PASSWORD)


@pytest.fixture
def county_clerk() -> Actor:
    return Actor(username="clerk", node_id=COUNTY_ID, role=Role.COUNTY_WINDOW_CLERK)


@pytest.fixture
def kit() -> Any:
    """The constants above, for the test modules (they cannot import a conftest)."""
    from types import SimpleNamespace

    return SimpleNamespace(
        AGENT=AGENT,
        PASSWORD=PASSWORD,
        PENSION=PENSION,
        ELDERLY=ELDERLY,
        SOLE_TRADER=SOLE_TRADER,
        FOOD_LICENCE=FOOD_LICENCE,
        PDF=PDF,
        PERSON_ID=PERSON_ID,
        resident_id=resident_id,
        member=member_node,
    )
