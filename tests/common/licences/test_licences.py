"""Electronic licences: issue on approval, GB/T 36904 identifiers, offline verification
from the signed event and the registry, revocation, QR payloads and 无证明 look-ups."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from datetime import date, timedelta
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from onetrip_testing import COUNTY_ID, TOWNSHIP_ID
from sqlalchemy import delete, select, update

from common.cases.access import case_subject, today_on
from common.cases.models import Case
from common.catalog.service import catalogue_version, get_published
from common.db import transaction
from common.errors import Conflict, DomainError, Forbidden
from common.identifiers import make_licence_id, parse_licence_id, validate_licence_id
from common.identity.keys import NodeKey
from common.identity.service import revoke_node
from common.ledger.envelope import b64u, sign_event
from common.ledger.models import Event
from common.ledger.projection import snapshot
from common.ledger.rebuild import rebuild_projections
from common.licences.models import Licence
from common.licences.service import (
    find_valid_licence,
    issue_licence,
    licence_qr_payload,
    licence_valid_for,
    revoke_licence,
    verify_licence,
    verify_qr_payload,
)
from common.node import ThisNode
from common.users.roles import Actor, Role

# 食品经营许可（新办）: county 承诺件 with licence type SPJYXKZ (valid five years).
FOOD_LICENCE_MATTER = "11430424MB1C5953154000119001001"
# 个体工商户设立登记: county 即办件 with licence type GTGSHYYZZ (long-term).
SOLE_TRADER_MATTER = "11430424MB1C5953154000119002001"
# 乡村建设规划许可（农村村民住宅）: township 承诺件 with licence type XCJSGHXKZ.
RURAL_BUILDING_MATTER = "1143042400681832125000108013000"
# 最低生活保障审批: no licence.
NO_LICENCE_MATTER = "11430424006813635C4000504001001"

RESIDENT_ID = "430424199001011232"
OTHER_RESIDENT_ID = "430424198503120020"
CLERK = Actor(username="clerk", node_id=COUNTY_ID, role=Role.COUNTY_WINDOW_CLERK)
MARKET_REVIEWER = Actor(
    username="shichang",
    node_id=COUNTY_ID,
    role=Role.DEPARTMENT_REVIEWER,
    department="衡东县市场监督管理局",
)
TOWNSHIP_APPROVER = Actor(username="zhenshen", node_id=TOWNSHIP_ID, role=Role.TOWNSHIP_APPROVER)


@pytest.fixture
def township(published: ThisNode, tree: dict) -> ThisNode:
    """The township's id and key over the root's database (one process, one file)."""
    settings = published.settings.model_copy(update={"node_id": TOWNSHIP_ID, "tier": "township"})
    return replace(published, settings=settings, key=tree[TOWNSHIP_ID])


def filed_body(
    session: Any, node: ThisNode, case_no: str, matter_code: str, applicant: dict[str, Any]
) -> dict[str, Any]:
    matter = get_published(session, matter_code).to_matter()
    return {
        "case_no": case_no,
        "matter": {
            "code": matter_code,
            "name": matter.name,
            "catalogue_version": catalogue_version(session),
            "case_type": matter.case_type.value,
            "handling_level": matter.handling_level.value,
            "window": matter.window.value,
            "lead_department": matter.lead_department,
            "departments": matter.departments,
            "required_visits": matter.required_visits,
            "limit_days": matter.promised_limit_days,
            "commitment_allowed": matter.commitment_allowed,
        },
        "applicant": applicant,
        "agent": None,
        "materials": [
            {
                "position": i,
                "name": m.name,
                "mandatory": m.mandatory,
                "blob_sha256": None,
                "licence_ref": None,
                "promised": False,
            }
            for i, m in enumerate(matter.materials)
        ],
        "commitment": False,
        "filed_on": today_on(node),
        "visit": None,
        "origin_node": node.node_id,
    }


def person(id_number: str = RESIDENT_ID, name: str = "张三") -> dict[str, Any]:
    return {"kind": "person", "name": name, "id_number": id_number, "phone": "13800000000"}


@pytest.fixture
def accepted_case(published: ThisNode) -> Callable[..., Case]:
    """accepted_case(matter_code, node=root, applicant=...) -> the Case row, state accepted."""
    counter = iter(range(1, 10_000))

    def build(
        matter_code: str, node: ThisNode | None = None, applicant: dict[str, Any] | None = None
    ) -> Case:
        node = node or published
        case_no = f"{node.node_id}-20260105-{next(counter):04d}"
        with transaction(node.engine) as session:
            body = filed_body(session, node, case_no, matter_code, applicant or person())
            node.append(session, case_subject(case_no), "case.filed", body)
            matter = body["matter"]
            node.append(
                session,
                case_subject(case_no),
                "case.accepted",
                {
                    "accepted_on": today_on(node),
                    "window": matter["window"],
                    "limit_days": matter["limit_days"],
                    "deadline": today_on(node),
                    "accepted_by": "clerk",
                    "tasks": [],
                },
            )
            case = session.get(Case, case_no)
            assert case is not None and case.state == "accepted"
            session.expunge(case)
        return case

    return build


def issue(node: ThisNode, actor: Actor, case_no: str) -> str:
    """What a decision does: issue, then append case.decided naming the licence."""
    with transaction(node.engine) as session:
        case = session.get(Case, case_no)
        licence_id = issue_licence(session, node, actor, case)
        node.append(
            session,
            case_subject(case_no),
            "case.decided",
            {
                "decision": "approved",
                "reason": "",
                "decided_on": today_on(node),
                "decided_by": actor.username,
                "licence_id": licence_id,
                "verification": None,
            },
        )
    return licence_id


def verify(node: ThisNode, value: str | bytes, **kwargs):  # type: ignore[no-untyped-def]
    with transaction(node.engine) as session:
        return verify_licence(session, value, network_id=node.network_id, **kwargs)


def test_decide_case_issues_a_licence_to_the_applicant(published, accepted_case) -> None:
    from common.cases.review.service import decide_case

    case = accepted_case(SOLE_TRADER_MATTER)
    with transaction(published.engine) as session:
        event = decide_case(session, published, CLERK, case.case_no, "approved", None)
    licence_id = event.body["licence_id"]
    assert validate_licence_id(licence_id) == licence_id
    parts = parse_licence_id(licence_id)
    today = date.fromisoformat(today_on(published))
    assert (parts.type_code, parts.issuer_uscc, parts.version) == (
        "GTGSHYYZZ",
        "11430424MB1C595315",
        1,
    )
    assert parts.serial == f"{today.year}000001"
    with transaction(published.engine) as session:
        licence = session.get(Licence, licence_id)
        assert licence is not None
        assert (licence.holder_name, licence.holder_id, licence.holder_id_masked) == (
            "张三",
            RESIDENT_ID,
            "4304**********1232",
        )
        assert (licence.issuer_node, licence.issuer_body) == (COUNTY_ID, "衡东县市场监督管理局")
        assert (licence.valid_from, licence.valid_to, licence.state) == (
            today.isoformat(),
            None,
            "valid",
        )
        assert licence.case_no == case.case_no and licence.name == "个体工商户营业执照"
        assert session.get(Case, case.case_no).licence_id == licence_id
        issued = session.execute(
            select(Event).where(Event.id == licence.issued_event_id)
        ).scalar_one()
        assert (issued.kind, issued.author, issued.subject) == (
            "licence.issued",
            COUNTY_ID,
            f"licence:{licence_id}",
        )


def test_serials_run_per_issuer_and_type_and_validity_follows_the_type(
    published, accepted_case
) -> None:
    food = [
        issue(published, MARKET_REVIEWER, accepted_case(FOOD_LICENCE_MATTER).case_no)
        for _ in range(2)
    ]
    trader = issue(published, CLERK, accepted_case(SOLE_TRADER_MATTER).case_no)
    year = date.fromisoformat(today_on(published)).year
    assert [parse_licence_id(i).serial for i in food] == [f"{year}000001", f"{year}000002"]
    assert parse_licence_id(trader).serial == f"{year}000001"
    with transaction(published.engine) as session:
        licence = session.get(Licence, food[0])
        start = date.fromisoformat(licence.valid_from)
        # 食品经营许可证: five years, to the day before the anniversary.
        assert (
            licence.valid_to == (start.replace(year=start.year + 5) - timedelta(days=1)).isoformat()
        )


def test_issue_is_refused_without_a_licence_type_state_custody_or_right(
    published, accepted_case, township
) -> None:
    no_licence = accepted_case(NO_LICENCE_MATTER)
    food = accepted_case(FOOD_LICENCE_MATTER)
    auditor = Actor(username="shenji", node_id=COUNTY_ID, role=Role.AUDITOR)
    with transaction(published.engine) as session:
        with pytest.raises(DomainError) as err:
            issue_licence(
                session, published, MARKET_REVIEWER, session.get(Case, no_licence.case_no)
            )
        assert err.value.code == "licence.no_type"
        with pytest.raises(Forbidden):
            issue_licence(session, published, auditor, session.get(Case, food.case_no))
        with pytest.raises(Forbidden) as err:
            issue_licence(session, township, TOWNSHIP_APPROVER, session.get(Case, food.case_no))
        assert err.value.code == "case.not_custodian"
    issue(published, MARKET_REVIEWER, food.case_no)  # now decided (approved)
    with transaction(published.engine) as session:
        session.execute(update(Case).where(Case.case_no == food.case_no).values(state="delivered"))
        with pytest.raises(Conflict):
            issue_licence(session, published, MARKET_REVIEWER, session.get(Case, food.case_no))
        session.rollback()
    with transaction(published.engine) as session:
        assert len(session.execute(select(Licence)).scalars().all()) == 1


def test_offline_verification_passes_and_masks_the_holder(published, accepted_case) -> None:
    licence_id = issue(published, CLERK, accepted_case(SOLE_TRADER_MATTER).case_no)
    result = verify(published, licence_id)
    assert result.status == "valid" and result.status_label == "有效", result.reasons
    assert result.checks == {
        "issuer_is_author": True,
        "issuer_registered": True,
        "signature": True,
        "issuer_entitled": True,
        "check_character": True,
        "not_revoked": True,
        "in_validity": True,
    }
    assert (result.holder_name, result.holder_id_masked) == ("张*", "4304**********1232")
    assert result.issuer_node_name == "衡东县政务服务中心"
    # The projection is not trusted: editing the licences table changes nothing.
    with transaction(published.engine) as session:
        session.execute(update(Licence).values(holder_name="李四", state="revoked"))
    assert verify(published, licence_id).status == "valid"


def test_one_changed_byte_in_the_stored_event_fails(published, accepted_case) -> None:
    licence_id = issue(published, CLERK, accepted_case(SOLE_TRADER_MATTER).case_no)
    with transaction(published.engine) as session:
        event_id = session.get(Licence, licence_id).issued_event_id
        raw = session.execute(select(Event.raw).where(Event.id == event_id)).scalar_one()
        at = raw.index(RESIDENT_ID.encode()) + len(RESIDENT_ID) - 2  # "...1232" -> "...1242"
        forged = raw[:at] + b"4" + raw[at + 1 :]
        assert (
            len(forged) == len(raw) and sum(a != b for a, b in zip(raw, forged, strict=False)) == 1
        )
        session.execute(update(Event).where(Event.id == event_id).values(raw=forged))
    result = verify(published, licence_id)
    assert result.status == "invalid" and result.checks["signature"] is False
    assert "电子签名验证失败" in result.reasons[0]
    assert result.holder_id_masked is None  # an unauthenticated claim is not repeated
    with transaction(published.engine) as session:
        broken = b"[" + forged[1:]  # no longer a JSON object
        session.execute(update(Event).where(Event.id == event_id).values(raw=broken))
    assert verify(published, licence_id).reasons == ["证照数据格式错误或已被改动"]


def test_a_wrong_check_character_is_invalid_and_an_unheld_licence_unknown_here(
    published, accepted_case
) -> None:
    licence_id = issue(published, CLERK, accepted_case(SOLE_TRADER_MATTER).case_no)
    wrong = licence_id[:-1] + ("0" if licence_id[-1] != "0" else "1")
    result = verify(published, wrong)
    assert result.status == "invalid" and "校验位" in result.reasons[0]
    parts = parse_licence_id(licence_id)
    unknown = make_licence_id(parts.type_code, parts.issuer_uscc, parts.serial, version=2)
    assert verify(published, unknown).status == "unknown_here"  # test_unknown_here.py


def test_revocation_is_reported_and_only_the_issuer_may_revoke(
    published, accepted_case, township
) -> None:
    licence_id = issue(published, MARKET_REVIEWER, accepted_case(FOOD_LICENCE_MATTER).case_no)
    other_department = Actor(
        username="minzheng",
        node_id=COUNTY_ID,
        role=Role.DEPARTMENT_REVIEWER,
        department="衡东县民政局",
    )
    with transaction(published.engine) as session:
        with pytest.raises(Forbidden) as err:
            revoke_licence(session, township, TOWNSHIP_APPROVER, licence_id, "测试")
        assert err.value.code == "licence.not_issuer"
        with pytest.raises(Forbidden):
            revoke_licence(session, published, other_department, licence_id, "测试")
        with pytest.raises(Forbidden):
            revoke_licence(session, published, CLERK, licence_id, "测试")
        with pytest.raises(DomainError) as err:
            revoke_licence(session, published, MARKET_REVIEWER, licence_id, "  ")
        assert (err.value.code, err.value.field) == ("licence.reason_required", "reason")
        revoke_licence(session, published, MARKET_REVIEWER, licence_id, "告知承诺核查不通过")
        with pytest.raises(Conflict):
            revoke_licence(session, published, MARKET_REVIEWER, licence_id, "再次撤销")
    result = verify(published, licence_id)
    assert result.status == "revoked" and result.status_label == "已撤销"
    assert result.revoked_reason == "告知承诺核查不通过" and result.revoked_on == today_on(
        published
    )
    assert result.checks["signature"] is True and result.checks["not_revoked"] is False
    with transaction(published.engine) as session:
        assert session.get(Licence, licence_id).state == "revoked"
        assert find_valid_licence(session, holder_id=RESIDENT_ID, type_code="SPJYXKZ") is None
        before = snapshot(session)
        rebuild_projections(session)
        assert snapshot(session) == before


def test_a_licence_from_a_revoked_node_is_still_verifiable_as_history(
    published, township, accepted_case, admin
) -> None:
    case = accepted_case(RURAL_BUILDING_MATTER, node=township)
    licence_id = issue(township, TOWNSHIP_APPROVER, case.case_no)
    with transaction(published.engine) as session:
        payload = licence_qr_payload(session, licence_id)
        raw = session.execute(
            select(Event.raw).where(Event.subject == f"licence:{licence_id}")
        ).scalar_one()
        revoke_node(session, published, admin, TOWNSHIP_ID, "设备丢失")
    result = verify(published, licence_id)
    assert result.status == "valid", result.reasons
    assert result.issuer_node == TOWNSHIP_ID and "撤销" in result.notes[0]
    assert result.checks["signed_before_key_revocation"] is True
    with transaction(published.engine) as session:
        assert (
            verify_qr_payload(session, payload, network_id=published.network_id).status == "valid"
        )
        # The same (revoked) key signing something new after the revocation: not held, refused.
        env = json.loads(raw)
        forged = sign_event(
            township.key,
            published.network_id,
            aseq=999,
            aprev="0" * 64,
            subject=env["subject"],
            sseq=1,
            sprev=None,
            kind="licence.issued",
            at=env["at"],
            body={**env["body"], "valid_to": "2099-12-31"},
        )
        result = verify_licence(session, forged.raw, network_id=published.network_id)
        assert result.status == "invalid" and "密钥已被撤销" in result.reasons[0]


def test_unregistered_or_mismatched_signers_are_invalid(published, accepted_case) -> None:
    licence_id = issue(published, CLERK, accepted_case(SOLE_TRADER_MATTER).case_no)
    with transaction(published.engine) as session:
        env = json.loads(
            session.execute(
                select(Event.raw).where(Event.subject == f"licence:{licence_id}")
            ).scalar_one()
        )
        stranger = NodeKey(node_id="430424100299", private_key=Ed25519PrivateKey.generate())
        fields = {
            "aseq": 1,
            "aprev": None,
            "subject": env["subject"],
            "sseq": 1,
            "sprev": None,
            "kind": "licence.issued",
            "at": env["at"],
        }
        claims_county = sign_event(stranger, published.network_id, body=env["body"], **fields)
        result = verify_licence(session, claims_county.raw, network_id=published.network_id)
        assert result.reasons == ["签名节点与证照所载颁发节点不一致"]
        own = {**env["body"], "issuer": {**env["body"]["issuer"], "node": "430424100299"}}
        unregistered = sign_event(stranger, published.network_id, body=own, **fields)
        result = verify_licence(session, unregistered.raw, network_id=published.network_id)
        assert result.reasons == ["颁发节点 430424100299 不在本节点的注册表中"]
        # Signed by the real issuer but naming another type than its identifier: inconsistent.
        mismatched = sign_event(
            published.key,
            published.network_id,
            body={**env["body"], "type_code": "YYZZ"},
            **{**fields, "aseq": 999, "aprev": "0" * 64},
        )
        result = verify_licence(session, mismatched.raw, network_id=published.network_id)
        assert result.reasons == ["电子证照标识与证照所载类型或颁发机构不一致"]


def test_qr_payload_round_trip_needs_only_the_registry(published, accepted_case) -> None:
    licence_id = issue(published, CLERK, accepted_case(SOLE_TRADER_MATTER).case_no)
    with transaction(published.engine) as session:
        payload = licence_qr_payload(session, licence_id)
        assert payload.startswith("OT2:") and len(payload) < 1200  # the credential: a small QR code
        session.execute(delete(Licence))  # no licences table needed
        result = verify_qr_payload(session, payload, network_id=published.network_id)
        assert (result.status, result.licence_id, result.holder_name) == (
            "valid",
            licence_id,
            "张*",
        )
        flipped = payload[:60] + ("A" if payload[60] != "A" else "B") + payload[61:]
        assert (
            verify_qr_payload(session, flipped, network_id=published.network_id).status == "invalid"
        )
        assert (
            verify_qr_payload(session, "OT1:!!!", network_id=published.network_id).status
            == "invalid"
        )
        other = verify_qr_payload(session, "https://example.com/x", network_id=published.network_id)
        assert other.reasons == ["不是本系统的电子证照二维码"]
        assert (
            verify_qr_payload(session, "OT1:" + b64u(b"{}"), network_id=published.network_id).status
            == "invalid"
        )


def test_expired_licences_are_invalid_on_verification(published, accepted_case) -> None:
    licence_id = issue(published, MARKET_REVIEWER, accepted_case(FOOD_LICENCE_MATTER).case_no)
    result = verify(published, licence_id, today=date(2099, 1, 1))
    assert result.status == "invalid" and "超过有效期" in result.reasons[0]
    assert result.checks["signature"] is True


def test_find_valid_licence_for_no_certificate_filing(published, accepted_case) -> None:
    food = issue(published, MARKET_REVIEWER, accepted_case(FOOD_LICENCE_MATTER).case_no)
    trader = issue(
        published,
        CLERK,
        accepted_case(SOLE_TRADER_MATTER, applicant=person(OTHER_RESIDENT_ID, "李四")).case_no,
    )
    with transaction(published.engine) as session:
        licence = session.get(Licence, food)
        start, end = date.fromisoformat(licence.valid_from), date.fromisoformat(licence.valid_to)
        assert find_valid_licence(session, holder_id=RESIDENT_ID, type_code="SPJYXKZ") == food
        assert (
            find_valid_licence(session, holder_id=RESIDENT_ID, type_code="SPJYXKZ", on=end) == food
        )
        assert (
            find_valid_licence(
                session, holder_id=RESIDENT_ID, type_code="SPJYXKZ", on=end + timedelta(days=1)
            )
            is None
        )
        assert (
            find_valid_licence(
                session, holder_id=RESIDENT_ID, type_code="SPJYXKZ", on=start - timedelta(days=1)
            )
            is None
        )
        assert find_valid_licence(session, holder_id=RESIDENT_ID, type_code="GTGSHYYZZ") is None
        assert (
            find_valid_licence(session, holder_id=OTHER_RESIDENT_ID, type_code="GTGSHYYZZ")
            == trader
        )
        assert find_valid_licence(session, holder_id="", type_code="GTGSHYYZZ") is None
        assert licence_valid_for(session, food, holder_id=RESIDENT_ID, type_code="SPJYXKZ")
        assert not licence_valid_for(
            session, food, holder_id=OTHER_RESIDENT_ID, type_code="SPJYXKZ"
        )
        assert not licence_valid_for(
            session, food, holder_id=RESIDENT_ID, type_code="SPJYXKZ", on=end + timedelta(days=1)
        )
        assert not licence_valid_for(
            session, food[:-1] + "Z", holder_id=RESIDENT_ID, type_code="SPJYXKZ"
        )


def test_licence_api_staff_and_public(published, accepted_case, make_client, admin) -> None:
    from common.users.service import provision_user

    with transaction(published.engine) as session:
        provision_user(
            session,
            published,
            admin,
            node_id=COUNTY_ID,
            username="clerk",
            display_name="王窗口",
            role=Role.COUNTY_WINDOW_CLERK,
            password="chuangkou-2026",
        )
    licence_id = issue(published, MARKET_REVIEWER, accepted_case(FOOD_LICENCE_MATTER).case_no)
    staff, public = make_client(published, "clerk"), make_client(published, None)

    shown = staff.get(f"/api/v1/licences/{licence_id}").json()
    assert (shown["holder_id_masked"], shown["state_label"]) == ("4304**********1232", "有效")
    assert "holder_id" not in shown and RESIDENT_ID not in str(shown)
    assert public.get(f"/api/v1/licences/{licence_id}").status_code == 401
    payload = staff.get(f"/api/v1/licences/{licence_id}/qr").json()["payload"]

    answer = public.get(f"/api/v1/public/licences/{licence_id}/verify").json()
    assert (answer["status"], answer["holder_name"], answer["holder_id_masked"]) == (
        "valid",
        "张*",
        "4304**********1232",
    )
    assert (
        public.post("/api/v1/public/licences/verify", json={"payload": payload}).json()["status"]
        == "valid"
    )
    bad = public.get(f"/api/v1/public/licences/{licence_id[:-1]}Z/verify").json()
    assert bad["status"] == "invalid" and bad["status_label"] == "无效" and bad["reasons"]

    refused = staff.post(f"/api/v1/licences/{licence_id}/revoke", json={"reason": "违法经营"})
    assert (refused.status_code, refused.json()["code"]) == (403, "auth.role")
    assert (
        public.post(
            f"/api/v1/licences/{licence_id}/revoke", json={"reason": "违法经营"}
        ).status_code
        == 401
    )
    admin_client = make_client(published)
    # A role that may not revoke is refused before its input is checked.
    empty = admin_client.post(f"/api/v1/licences/{licence_id}/revoke", json={"reason": ""})
    assert (empty.status_code, empty.json()["code"]) == (403, "auth.role")
    # An administrator oversees but does not revoke a department's licence.
    refused = admin_client.post(
        f"/api/v1/licences/{licence_id}/revoke", json={"reason": "违法经营"}
    )
    assert (refused.status_code, refused.json()["code"]) == (403, "auth.role")
    from common.users.service import provision_user

    with transaction(published.engine) as session:
        issuer_body = session.get(Licence, licence_id).issuer_body
        provision_user(
            session,
            published,
            Actor.node_system(published.node_id),
            node_id=published.node_id,
            username="revoker",
            display_name="审批科",
            role=Role.DEPARTMENT_REVIEWER,
            department=issuer_body,
            password="Revoker-2026!",
        )
    reviewer_client = make_client(published, "revoker")
    empty = reviewer_client.post(f"/api/v1/licences/{licence_id}/revoke", json={"reason": ""})
    assert empty.status_code == 422 and empty.json()["field"] == "reason"
    revoked = reviewer_client.post(
        f"/api/v1/licences/{licence_id}/revoke", json={"reason": "违法经营"}
    )
    assert revoked.status_code == 200 and revoked.json()["state"] == "revoked"
    again = reviewer_client.post(
        f"/api/v1/licences/{licence_id}/revoke", json={"reason": "违法经营"}
    )
    assert (again.status_code, again.json()["code"]) == (409, "licence.already_revoked")
    answer = public.post("/api/v1/public/licences/verify", json={"payload": payload}).json()
    assert (answer["status"], answer["revoked_reason"]) == ("revoked", "违法经营")
    assert "已于" in answer["reasons"][0]
