"""A caller without the right is refused before its input is read: an endpoint that
takes a body answers 403, never a 422 that describes what the body should be.

Every API operation that takes a body says who may call it (``x-roles`` in the OpenAPI
document, by tier for case actions, from the authority policy) or is listed in ``OPEN``
with the reason anyone signed in (or anyone at all) may. Each role of each tier then
sends a body the schema refuses: a role the operation does not admit gets 403, a role
it admits gets the 422 (the role check did not stop it).
"""

from __future__ import annotations

import re

import pytest
from case_fixtures import STAFF
from onetrip_testing import COUNTY_ID

from common.users.roles import Role

pytestmark = pytest.mark.sqlite_only  # the API is the same on both databases

# Operations with a body that need no particular role, and why.
OPEN = {
    "POST /api/v1/auth/token": "logging in: anyone",
    "POST /api/v1/public/cases/{case_no}/progress": "the resident's progress lookup: public",
    "POST /api/v1/public/licences/verify": "verifying a licence: public",
    "POST /api/v1/users/{node_id}/{username}/password": "every user changes their own password",
}
# Values for path parameters that pass their patterns (nothing need exist: the role
# check comes first, and the body is refused before anything is looked up).
PATH_VALUES = {
    "case_no": "430424000000-20261204-0001",
    "node_id": COUNTY_ID,
    "username": "someone",
    "code": "11430424MB1C5953154000119001001",
    "task_id": "review/1",
    "seq": "1",
    "licence_id": "430424-2026-000001",
    "notice_id": "430424000000-20261204-0001:430424000000:1",
}
# A role that may not act answers with the role rule's refusal, or the policy's own
# refusal for a tier where no role may (a village reviews nothing, ...).
ROLE_REFUSALS = {"auth.role", "case.village_cannot_review", "case.tier_no_intake"}
USERS = {
    "county": ["admin", "clerk", "reviewer", "auditor"],
    "township": ["tclerk", "tapprover"],
    "village": ["agent"],
}


def _operations_with_body(spec):
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if path.startswith("/api/") and "requestBody" in operation:
                yield f"{method.upper()} {path}", method, path, operation


def _url(path):
    return re.sub(r"\{(\w+)(:path)?\}", lambda m: PATH_VALUES[m.group(1)], path)


@pytest.mark.parametrize("tier", USERS)
def test_a_caller_without_the_right_gets_403_before_the_body_is_checked(
    tier, published, township, village, staff_client, make_client
):
    node = {"county": published, "township": township, "village": village}[tier]
    clients = {name: staff_client(node, name) for name in USERS[tier]}
    anonymous = make_client(node, None)
    spec = anonymous.get("/openapi.json").json()
    undeclared, wrong, checked = [], [], 0
    for name, method, path, operation in _operations_with_body(spec):
        if name in OPEN:
            continue
        roles = operation.get("x-roles")
        if roles is None:
            undeclared.append(name)
            continue
        allowed = set(roles if isinstance(roles, list) else roles[tier])
        answer = anonymous.request(method, _url(path), json={"unexpected": "x"})
        if answer.status_code != 401:
            wrong.append(f"{name} anonymous: {answer.status_code}")
        for username, client in clients.items():
            role = Role.COUNTY_ADMIN if username == "admin" else STAFF[username][1]
            answer = client.request(method, _url(path), json={"unexpected": "x"})
            checked += 1
            if role in allowed:
                if answer.status_code != 422:
                    wrong.append(f"{name} {username} (admitted): {answer.status_code}")
            elif answer.status_code != 403 or answer.json()["code"] not in ROLE_REFUSALS:
                wrong.append(f"{name} {username}: {answer.status_code} {answer.text[:120]}")
    assert not undeclared, f"operations with a body that do not say who may call: {undeclared}"
    assert checked >= 20 * len(clients)
    assert not wrong, "\n".join(wrong)


def test_the_roles_in_the_document_are_the_policy(published, make_client):
    """``x-roles`` of a case action is the authority table's, tier by tier."""
    from common.authority.actions import roles_taking

    spec = make_client(published, None).get("/openapi.json").json()
    decide = spec["paths"]["/api/v1/cases/{case_no}/decide"]["post"]["x-roles"]
    for tier in ("county", "township", "village"):
        assert set(decide[tier]) == {r.value for r in roles_taking("decide_case", tier)}
    assert Role.DEPARTMENT_REVIEWER.value in decide["county"]
    assert decide["village"] == [Role.VILLAGE_AGENT.value]  # a village 即办件
    extension = spec["paths"]["/api/v1/cases/{case_no}/extension"]["post"]["x-roles"]
    assert extension["village"] == []
    invite = spec["paths"]["/api/v1/nodes/invite"]["post"]["x-roles"]
    assert invite == [Role.COUNTY_ADMIN.value]
