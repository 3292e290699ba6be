"""A licence looked up by its number at a node that does not hold it (issue 13, item 10):
the node cannot tell, so it answers ``unknown_here`` (本节点未收录该证照) with how to
verify it — scan the QR code, or the county portal — never a red "invalid". A number
that fails its own check is still invalid, and a licence the node holds is valid or
revoked as before.

Real nodes, each on its own database: the county (the root) issues a licence; 洣水镇 and
the sample village enrol through their parents' apps in process, so the village holds
the registry (the county's key) but not the licence.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from onetrip_testing import TOWNSHIP_ID, VILLAGE_ID
from web_testing import post_form

from common.bootstrap import init_member
from common.db import transaction
from common.identifiers import make_licence_id, parse_licence_id
from common.identity.service import invite_node
from common.licences.service import (
    issue_licence,
    licence_qr_payload,
    revoke_licence,
    verify_licence,
    verify_qr_payload,
)
from common.licences.verification import (
    NOT_ISSUED_HERE_REASON,
    STATUS_LABELS,
    UNKNOWN_HERE_ADVICE,
    VerificationStatus,
    issued_event_raw,
)
from common.node import ThisNode
from common.sync.client import sync_once
from common.users.roles import Actor, Role

SOLE_TRADER = "11430424MB1C5953154000119002001"  # 个体工商户设立登记: county 即办件, a licence
PDF = b"%PDF-1.7\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
ADVICE = "扫描证照上的二维码核验，或到县政务服务网核验"
HOMESTEAD_USCC = "11430424006818161T"  # a township's: 农村村民宅基地审批 (NCZJDPZS)
CLERK = Actor("clerk", "430424000000", Role.COUNTY_WINDOW_CLERK)


@pytest.fixture
def village(
    tmp_path: Path, published: ThisNode, make_client: Callable[..., TestClient]
) -> Iterator[ThisNode]:
    """The sample village, enrolled under 洣水镇 with a database of its own and synced
    (registry and catalogue) before the county issues anything."""
    system = Actor.node_system(published.node_id)
    with transaction(published.engine) as session:
        invite = invite_node(session, published, system, TOWNSHIP_ID, "洣水镇便民服务中心")
    county_app = make_client(published, username=None)
    township = init_member(
        tmp_path / "township",
        node_id=TOWNSHIP_ID,
        parent_url="http://county.test",
        token=invite.token,
        client=county_app,
    )
    township.parent_transport = county_app._transport  # type: ignore[attr-defined]
    with transaction(published.engine) as session:
        invite = invite_node(session, published, system, VILLAGE_ID, "示例村代办点")
    township_app = make_client(township, username=None)
    village = init_member(
        tmp_path / "village",
        node_id=VILLAGE_ID,
        parent_url="http://township.test",
        token=invite.token,
        client=township_app,
    )
    village.parent_transport = township_app._transport  # type: ignore[attr-defined]
    sync_once(township)  # the catalogue comes down: what a node may issue
    sync_once(village)
    yield village
    village.engine.dispose()
    township.engine.dispose()


@pytest.fixture
def licence(published: ThisNode, village: ThisNode) -> str:
    """A 个体工商户营业执照 issued at the county after the village enrolled: its identifier."""
    from common.blobs.service import store_blob
    from common.cases.intake.service import accept_case, file_case
    from common.catalog.service import get_published

    with transaction(published.engine) as session:
        sha = store_blob(session, published, PDF, "材料.pdf").sha256
        count = len(get_published(session, SOLE_TRADER).to_matter().materials)
        case = file_case(
            session,
            published,
            CLERK,
            matter_code=SOLE_TRADER,
            applicant={
                "kind": "person",
                "name": "张三丰",
                "id_number": "430424199001011232",
                "phone": "13800000000",
            },
            materials=[{"position": i, "blob_sha256": sha} for i in range(count)],
        )
        case = accept_case(session, published, CLERK, case.case_no)
        return issue_licence(session, published, CLERK, case)


def verify_at(node: ThisNode, licence_id: str, **kwargs):  # type: ignore[no-untyped-def]
    with transaction(node.engine) as session:
        return verify_licence(session, licence_id, network_id=node.network_id, **kwargs)


def test_every_status_has_a_label_and_the_api_declares_them_all() -> None:
    from typing import get_args

    from common.licences.router import VerificationOut

    assert set(STATUS_LABELS) == set(get_args(VerificationStatus))
    schema = VerificationOut.model_json_schema()
    assert set(schema["properties"]["status"]["enum"]) == set(STATUS_LABELS)
    assert "advice" in schema["properties"]


def test_a_genuine_licence_unknown_at_the_village_is_not_called_invalid(
    published: ThisNode, village: ThisNode, licence: str
) -> None:
    with transaction(village.engine) as session:
        assert issued_event_raw(session, licence) is None  # the village does not hold it
    result = verify_at(village, licence, node_id=village.node_id)
    assert (result.status, result.status_label, result.licence_id) == (
        "unknown_here",
        "本节点未收录该证照",
        licence,
    )
    assert not result.valid and result.advice == UNKNOWN_HERE_ADVICE and ADVICE in result.advice
    assert result.checks == {"check_character": True} and "不能据此判断其真伪" in result.reasons[0]
    assert result.holder_name is None and result.name is None  # nothing it could not check
    # The advice works: the licence's QR code verifies at the village with its registry alone.
    with transaction(published.engine) as session:
        payload = licence_qr_payload(session, licence)
    with transaction(village.engine) as session:
        scanned = verify_qr_payload(session, payload, network_id=village.network_id)
    assert (scanned.status, scanned.licence_id) == ("valid", licence), scanned.reasons
    # Where it is held, the same number is valid, and revoked once the issuer revokes it.
    assert verify_at(published, licence).status == "valid"
    with transaction(published.engine) as session:
        revoke_licence(session, published, Actor.node_system(published.node_id), licence, "注销")
    assert verify_at(published, licence).status == "revoked"


def test_a_malformed_or_forged_number_is_still_invalid_at_the_village(
    village: ThisNode, licence: str
) -> None:
    wrong_check = licence[:-1] + ("0" if licence[-1] != "0" else "1")
    for forged in (wrong_check, "1.2.156.3005.2.YYZZ.123", "not-a-licence"):
        result = verify_at(village, forged, node_id=village.node_id)
        assert (result.status, result.advice) == ("invalid", None), forged
        assert result.checks == {"check_character": False}
        assert result.reasons[0].startswith("电子证照标识无效")


def test_the_public_api_and_page_at_the_village_say_unknown_here_with_the_advice(
    village: ThisNode, licence: str, make_client: Callable[..., TestClient]
) -> None:
    public = make_client(village, username=None)
    answer = public.get(f"/api/v1/public/licences/{licence}/verify")
    assert answer.status_code == 200
    body = answer.json()
    assert (body["status"], body["status_label"], body["licence_id"]) == (
        "unknown_here",
        "本节点未收录该证照",
        licence,
    )
    assert ADVICE in body["advice"] and body["reasons"]
    bad = public.get(f"/api/v1/public/licences/{licence[:-1]}Z/verify").json()
    assert (bad["status"], bad["advice"]) == ("invalid", None)

    page = post_form(public, "/verify", {"licence_id": licence})
    assert page.status_code == 200
    assert 'data-status="unknown_here"' in page.text and 'data-valid="false"' in page.text
    assert "本节点未收录该证照" in page.text and ADVICE in page.text
    assert 'data-testid="verify-advice"' in page.text
    assert "证照无效" not in page.text and "✘" not in page.text
    by_link = public.get("/verify", params={"id": licence})
    assert 'data-status="unknown_here"' in by_link.text and ADVICE in by_link.text


def test_at_the_only_node_that_could_issue_it_an_unheld_number_is_invalid(
    published: ThisNode, village: ThisNode, licence: str
) -> None:
    """The county is the only county-tier node: a county body's licence it does not hold
    was never issued (it holds what it signs). A township body's licence it does not hold
    yet may have been issued at a township and not synced up: unknown there too."""
    parts = parse_licence_id(licence)
    never_issued = make_licence_id(parts.type_code, parts.issuer_uscc, parts.serial, version=2)
    county = verify_at(published, never_issued, node_id=published.node_id)
    assert (county.status, county.advice) == ("invalid", None)
    assert county.reasons == [NOT_ISSUED_HERE_REASON] and county.checks == {"check_character": True}
    # The same number at the village, which issues no county licences: it cannot tell.
    assert verify_at(village, never_issued, node_id=village.node_id).status == "unknown_here"
    township_licence = make_licence_id("NCZJDPZS", HOMESTEAD_USCC, "2026000001")
    assert verify_at(published, township_licence, node_id=published.node_id).status == (
        "unknown_here"
    )
    # Without saying which node asks, nothing is inferred from the registry.
    assert verify_at(published, never_issued).status == "unknown_here"
