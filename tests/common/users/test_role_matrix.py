"""Who may do what with users: every role against every users action.

The actor is injected in place of the token lookup so that every role can be tried at
this node, whatever tier it belongs on; one test also goes through a real token.
Rights are checked in the action functions, so the service is tried directly as well.
"""

from __future__ import annotations

import pytest
from onetrip_testing import COUNTY_ID
from sqlalchemy import func, select

from common.api.deps import get_current_user
from common.db import transaction
from common.errors import Forbidden
from common.ledger.models import Event
from common.users import service
from common.users.roles import Actor, Role

TARGET = f"/api/v1/users/{COUNTY_ID}/clerk"
# (action, method, path, body, roles allowed besides the county administrator)
ACTIONS = [
    (
        "provision",
        "POST",
        "/api/v1/users",
        {
            "node_id": COUNTY_ID,
            "username": "newbie",
            "display_name": "新人",
            "role": "auditor",
            "password": "xinren-2026",
        },
        set(),
    ),
    ("reset password", "POST", f"{TARGET}/password", {"password": "reset-2026x"}, set()),
    ("change role", "POST", f"{TARGET}/role", {"role": "auditor"}, set()),
    ("disable", "POST", f"{TARGET}/active", {"active": False}, set()),
    ("list", "GET", "/api/v1/users", None, {Role.AUDITOR}),
]

SERVICE_ACTIONS = {
    "provision": lambda s, n, a: service.provision_user(
        s,
        n,
        a,
        node_id=COUNTY_ID,
        username="newbie",
        display_name="新人",
        role=Role.AUDITOR,
        password="xinren-2026",
    ),
    "reset password": lambda s, n, a: service.change_password(
        s, n, a, node_id=COUNTY_ID, username="clerk", password="reset-2026x"
    ),
    "change role": lambda s, n, a: service.change_role(
        s, n, a, node_id=COUNTY_ID, username="clerk", role=Role.AUDITOR
    ),
    "disable": lambda s, n, a: service.set_user_active(
        s, n, a, node_id=COUNTY_ID, username="clerk", active=False
    ),
}


def _event_count(node) -> int:
    with transaction(node.engine) as session:
        return int(session.execute(select(func.count()).select_from(Event)).scalar_one())


@pytest.mark.parametrize("role", list(Role))
def test_users_actions_by_role(root_node, clerk, make_client, role: Role) -> None:
    actor = Actor(
        username="tester",
        node_id=COUNTY_ID,
        role=role,
        department="县民政局" if role is Role.DEPARTMENT_REVIEWER else None,
    )
    client = make_client(root_node, username=None)
    client.app.dependency_overrides[get_current_user] = lambda: actor
    events_before = _event_count(root_node)
    for name, method, path, body, also_allowed in ACTIONS:
        response = client.request(method, path, json=body)
        if role is Role.COUNTY_ADMIN or role in also_allowed:
            assert response.status_code in (200, 201), (role, name, response.text)
        else:
            assert response.status_code == 403, (role, name, response.text)
            assert (response.json()["code"], response.json()["field"]) == ("auth.role", "role")
    if role is not Role.COUNTY_ADMIN:
        assert _event_count(root_node) == events_before  # nothing written by a refused actor


@pytest.mark.parametrize("role", [r for r in Role if r is not Role.COUNTY_ADMIN])
def test_action_functions_refuse_non_admins(root_node, clerk, role: Role) -> None:
    actor = Actor(username="tester", node_id=COUNTY_ID, role=role)
    for name, act in SERVICE_ACTIONS.items():
        with pytest.raises(Forbidden) as caught, transaction(root_node.engine) as session:
            act(session, root_node, actor)
        assert caught.value.code == "auth.role", name


def test_a_real_clerk_token_is_refused_user_management(
    root_node, clerk, admin, provision, make_client
) -> None:
    provision(
        root_node,
        admin,
        node_id=COUNTY_ID,
        username="clerk2",
        display_name="另一窗口",
        role=Role.COUNTY_WINDOW_CLERK,
        password="chuangkou-2027",
    )
    client = make_client(root_node, username="clerk2")
    for name, method, path, body, _ in ACTIONS:
        response = client.request(method, path, json=body)
        assert response.status_code == 403, (name, response.text)
