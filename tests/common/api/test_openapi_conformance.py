"""The API answers as its OpenAPI document says (Schemathesis, in process): over a
county node with the sample catalogue, without a token and with three county roles'
tokens, and over a village node without a token and with the village agent's, no
operation answers 5xx, a status it does not declare, a body that violates its declared
schema, or a content type it does not declare.

Not checked here: "schema-valid request rejected" (a request the schema allows but a
business rule refuses — ``to`` before ``from`` on /calendar/days, an unknown window
name, an empty enrolment body are refused with a 4xx that names the field), and the
sync endpoints' link signatures, which a generated request cannot make (they answer
401, as declared).
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from common.app import create_app

pytestmark = pytest.mark.sqlite_only  # the API is the same on both databases; run it once

CALLERS = [
    ("county", None),
    ("county", "admin"),
    ("county", "clerk"),
    ("county", "reviewer"),
    ("village", None),
    ("village", "agent"),
]
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    response_schema_conformance,
    content_type_conformance,
]


@pytest.mark.parametrize(
    ("tier", "user"), CALLERS, ids=[f"{tier}-{user or 'anonymous'}" for tier, user in CALLERS]
)
def test_every_operation_answers_as_documented(tier, user, published, village, staff_client):
    node = published if tier == "county" else village
    headers = {}
    if user is not None:
        headers = {"Authorization": staff_client(node, user).headers["Authorization"]}
    api = schemathesis.openapi.from_asgi("/openapi.json", create_app(node.settings, node=node))
    failures: list[str] = []
    operations = 0
    for result in api.get_all_operations():
        operation = result.ok()
        operations += 1

        @given(case=operation.as_strategy())
        @settings(
            max_examples=3,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=True,
            database=None,
        )
        def answers_as_documented(case):
            case.call_and_validate(headers=headers, checks=CHECKS)

        try:
            answers_as_documented()
        except Exception as failure:  # noqa: BLE001 - collected, every operation is tried
            failures.append(f"{operation.method.upper()} {operation.path}: {failure}"[:600])
    assert operations > 80
    assert not failures, "\n\n".join(failures)
