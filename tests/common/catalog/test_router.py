"""Catalogue HTTP endpoints: upload, publish, public reading, export, refusals."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient

from common.catalog.io import read_catalogue, write_catalogue
from common.db import transaction
from common.users.roles import Role
from common.users.service import provision_user

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _upload(client: TestClient, name: str, data: bytes, **form):
    return client.post("/api/v1/catalogue/import", files={"file": (name, data)}, data=form)


@pytest.fixture
def admin_client(root_node, make_client) -> TestClient:
    return make_client(root_node)


@pytest.fixture
def public_client(root_node, make_client) -> TestClient:
    return make_client(root_node, username=None)


@pytest.fixture
def clerk_client(root_node, admin, make_client) -> TestClient:
    with transaction(root_node.engine) as session:
        provision_user(
            session,
            root_node,
            admin,
            node_id=root_node.node_id,
            username="clerk",
            display_name="王窗口",
            role=Role.COUNTY_WINDOW_CLERK,
            password="chuangkou-2026",
        )
    return make_client(root_node, username="clerk")


@pytest.fixture
def catalogue(make_matter):
    return [
        make_matter(i, visits=(2 if i == 3 else 0), window=("business" if i == 4 else "social"))
        for i in range(1, 6)
    ]


def test_import_publish_and_read(admin_client, public_client, catalogue):
    response = _upload(admin_client, "事项.xlsx", write_catalogue(catalogue, "xlsx"))
    assert response.status_code == 200, response.text
    assert response.json() == {"total": 5, "created": 5, "updated": 0, "unchanged": 0}
    drafts = admin_client.get("/api/v1/catalogue/drafts").json()
    assert [d["implementation_code"] for d in drafts] == sorted(
        m.implementation_code for m in catalogue
    )
    assert drafts[0]["window_label"] == "社会事务窗口" and drafts[0]["imported_at"].endswith(
        "+00:00"
    )

    codes = [m.implementation_code for m in catalogue]
    first = admin_client.post(
        "/api/v1/catalogue/batches",
        json={"name": "第一批", "published_on": "2018-07-24", "codes": codes[:4]},
    )
    assert first.status_code == 200, first.text
    assert (first.json()["batch_no"], first.json()["version"], first.json()["matters"]) == (1, 1, 4)
    second = admin_client.post(
        "/api/v1/catalogue/batches",
        json={"name": "第二批", "published_on": "2018-10-26", "codes": codes[4:]},
    )
    assert (second.json()["batch_no"], second.json()["version"]) == (2, 2)

    batches = public_client.get("/api/v1/catalogue/batches").json()
    assert [(b["batch_no"], b["matters"], b["one_trip"], b["share"]) for b in batches] == [
        (1, 4, 3, "75.0"),
        (2, 1, 1, "100.0"),
    ]
    listed = public_client.get("/api/v1/catalogue/matters").json()
    assert listed["version"] == 2 and len(listed["matters"]) == 5
    business = public_client.get(
        "/api/v1/catalogue/matters", params={"window": "商事登记窗口"}
    ).json()
    assert [m["implementation_code"] for m in business["matters"]] == [codes[3]]
    found = public_client.get("/api/v1/catalogue/matters", params={"q": "3号"}).json()["matters"]
    assert [(m["implementation_code"], m["required_visits"], m["one_trip"]) for m in found] == [
        (codes[2], 2, False)
    ]
    detail = public_client.get(f"/api/v1/catalogue/matters/{codes[0]}").json()
    assert detail["matter"] == catalogue[0].model_dump(mode="json") and detail["batch_no"] == 1
    share = public_client.get("/api/v1/catalogue/share").json()
    assert (
        share["overall"] == {"matters": 5, "one_trip": 4, "share": "80.0"} and share["version"] == 2
    )


def test_broken_upload_is_a_422_with_every_problem_and_imports_nothing(admin_client, catalogue):
    assert (
        _upload(admin_client, "a.json", write_catalogue(catalogue[:2], "json")).status_code == 200
    )
    broken = [m.model_dump(mode="json") for m in catalogue]
    broken[2]["name"] = ""
    broken[3]["window"] = "nowhere"
    response = _upload(admin_client, "b.json", json.dumps({"matters": broken}).encode())
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "catalogue.import_invalid" and "2处问题" in body["message"]
    assert [(p["sheet"], p["row"], p["column"]) for p in body["problems"]] == [
        ("matters", 3, "name"),
        ("matters", 4, "window"),
    ]
    assert len(admin_client.get("/api/v1/catalogue/drafts").json()) == 2


def test_upload_refusals_are_4xx_naming_the_field(
    admin_client, public_client, clerk_client, catalogue
):
    data = write_catalogue(catalogue, "csv")
    response = _upload(admin_client, "事项.xls", data)
    assert (response.status_code, response.json()["field"]) == (400, "file")
    assert _upload(admin_client, "事项.xlsx", b"not a workbook").status_code == 422
    assert _upload(public_client, "事项.csv", data).status_code == 401
    refused = _upload(clerk_client, "事项.csv", data)
    assert (refused.status_code, refused.json()["code"]) == (403, "auth.role")
    assert clerk_client.get("/api/v1/catalogue/drafts").status_code == 403
    assert len(admin_client.get("/api/v1/catalogue/drafts").json()) == 0


def test_publish_refusals(admin_client, clerk_client, catalogue):
    _upload(admin_client, "a.csv", write_catalogue(catalogue, "csv"))
    code = catalogue[0].implementation_code
    cases = [
        ({"name": "x", "published_on": "2018-07-24", "codes": []}, 422, "codes"),
        ({"name": "x", "published_on": "2018-13-01", "codes": [code]}, 422, "published_on"),
        ({"name": "x", "published_on": "2018-07-24", "codes": [code, "NOPE"]}, 404, "codes"),
        ({"name": "x", "published_on": "2018-07-24", "codes": [code, code]}, 400, "codes"),
    ]
    for body, status, field in cases:
        response = admin_client.post("/api/v1/catalogue/batches", json=body)
        assert (response.status_code, response.json()["field"]) == (status, field), response.text
    refused = clerk_client.post(
        "/api/v1/catalogue/batches",
        json={"name": "x", "published_on": "2018-07-24", "codes": [code]},
    )
    assert refused.status_code == 403
    assert (
        admin_client.post(
            "/api/v1/catalogue/batches",
            json={"name": "x", "published_on": "2018-07-24", "codes": [code]},
        ).status_code
        == 200
    )
    again = admin_client.post(
        "/api/v1/catalogue/batches",
        json={"name": "y", "published_on": "2018-07-25", "codes": [code]},
    )
    assert (again.status_code, again.json()["code"]) == (409, "catalogue.already_published")
    assert admin_client.get("/api/v1/catalogue/matters/NOPE").status_code == 404
    assert (
        admin_client.get("/api/v1/catalogue/matters", params={"window": "民政"}).status_code == 400
    )


@pytest.mark.parametrize("fmt", ["xlsx", "csv", "json"])
def test_export_published_and_drafts(admin_client, public_client, catalogue, fmt):
    _upload(admin_client, "a.json", write_catalogue(catalogue, "json"))
    codes = [m.implementation_code for m in catalogue[:3]]
    admin_client.post(
        "/api/v1/catalogue/batches",
        json={"name": "一", "published_on": "2018-07-24", "codes": codes},
    )
    published = public_client.get("/api/v1/catalogue/export", params={"format": fmt})
    assert published.status_code == 200
    assert f"catalogue-published-v1.{fmt}" in published.headers["content-disposition"]
    assert read_catalogue(published.content, fmt) == catalogue[:3]
    assert (
        public_client.get("/api/v1/catalogue/export", params={"source": "drafts"}).status_code
        == 401
    )
    drafts = admin_client.get(
        "/api/v1/catalogue/export", params={"format": fmt, "source": "drafts"}
    )
    assert read_catalogue(drafts.content, fmt) == catalogue
    if fmt == "xlsx":
        assert published.headers["content-type"] == XLSX
    assert (
        public_client.get("/api/v1/catalogue/export", params={"format": "pdf"}).status_code == 422
    )


def test_withdraw_endpoint(admin_client, public_client, clerk_client, catalogue):
    _upload(admin_client, "a.json", write_catalogue(catalogue[:2], "json"))
    codes = [m.implementation_code for m in catalogue[:2]]
    admin_client.post(
        "/api/v1/catalogue/batches",
        json={"name": "一", "published_on": "2018-07-24", "codes": codes},
    )
    assert (
        clerk_client.post(
            f"/api/v1/catalogue/matters/{codes[0]}/withdraw", json={"reason": "x"}
        ).status_code
        == 403
    )
    response = admin_client.post(
        f"/api/v1/catalogue/matters/{codes[0]}/withdraw", json={"reason": "事项取消"}
    )
    assert response.status_code == 200 and response.json()["version"] == 2
    assert [
        m["implementation_code"]
        for m in public_client.get("/api/v1/catalogue/matters").json()["matters"]
    ] == codes[1:]
    assert public_client.get(f"/api/v1/catalogue/matters/{codes[0]}").json()["withdrawn"] is True
