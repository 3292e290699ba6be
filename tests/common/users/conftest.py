"""Users-only fixtures: people provisioned on the root for the test tree's nodes."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pytest
from onetrip_testing import COUNTY_ID, TOWNSHIP_ID, VILLAGE_ID

from common.db import transaction
from common.node import ThisNode
from common.users.roles import Actor, Role
from common.users.service import provision_user

AGENT_PASSWORD = "cunmin-2026"
CLERK_PASSWORD = "chuangkou-2026"


def _provision(node: ThisNode, actor: Actor, **fields: Any) -> None:
    with transaction(node.engine) as session:
        provision_user(session, node, actor, **fields)


@pytest.fixture
def provision() -> Callable[..., None]:
    """provision(node, actor, **fields): one provisioning in its own transaction."""
    return _provision


@pytest.fixture
def village_agent(root_node: ThisNode, tree: dict, admin: Actor) -> dict[str, str]:
    """A village agent of the sample village, known to the root (its record lives there)."""
    fields = {
        "node_id": VILLAGE_ID,
        "username": "agent",
        "display_name": "李村代",
        "role": Role.VILLAGE_AGENT,
        "password": AGENT_PASSWORD,
    }
    _provision(root_node, admin, **fields)
    return {"node_id": VILLAGE_ID, "username": "agent", "password": AGENT_PASSWORD}


@pytest.fixture
def clerk(root_node: ThisNode, admin: Actor) -> dict[str, str]:
    """A county integrated-window clerk: a non-admin user who can log in at the root."""
    _provision(
        root_node,
        admin,
        node_id=COUNTY_ID,
        username="clerk",
        display_name="王窗口",
        role=Role.COUNTY_WINDOW_CLERK,
        password=CLERK_PASSWORD,
    )
    return {"node_id": COUNTY_ID, "username": "clerk", "password": CLERK_PASSWORD}


@pytest.fixture
def township_node(root_node: ThisNode, tree: dict) -> ThisNode:
    """A non-root node (the township's key and id) over the root's database: enough to
    show that user records are refused anywhere but the root."""
    settings = root_node.settings.model_copy(update={"node_id": TOWNSHIP_ID, "tier": "township"})
    return replace(root_node, settings=settings, key=tree[TOWNSHIP_ID])
