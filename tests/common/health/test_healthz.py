"""/healthz says who the node is, and says loudly when the calendar falls back."""

from __future__ import annotations

from common import __version__


def test_healthz_reports_identity_database_and_calendar(root_node, make_client):
    body = make_client(root_node).get("/healthz").json()
    assert (
        body["node_id"] == root_node.node_id and body["tier"] == "county" and body["root"] is True
    )
    assert body["version"] == __version__
    database = body["database"]
    assert database["ok"] is True and database["advice"] is None
    assert database["integrity"] == (
        "ok" if root_node.engine.dialect.name == "sqlite" else "unchecked"
    )
    assert database["dialect"] == root_node.engine.dialect.name and database["revision"] == "0001"
    assert body["registry_version"] == 1
    assert (
        2026 in body["calendar"]["covered_years"] and 2027 not in body["calendar"]["covered_years"]
    )


def test_openapi_schema_is_served(root_node, make_client):
    schema = make_client(root_node, username=None).get("/openapi.json").json()
    for path in (
        "/api/v1/enrol",
        "/api/v1/catalogue/import",
        "/api/v1/calendar/years",
        "/api/v1/auth/token",
    ):
        assert path in schema["paths"]


def test_healthz_tells_the_public_no_version_or_database_kind(root_node, make_client):
    body = make_client(root_node, username=None).get("/healthz").json()
    assert body["status"] in ("ok", "degraded") and body["database"]["ok"] is True
    assert "version" not in body
    assert not {"dialect", "revision", "integrity_detail"} & set(body["database"])
