"""The licence credential and its ``OT2:`` QR payload (common.licences.credential): no
whole identity number on paper, the issuer's signature over every field, and ``OT1:``
payloads of the same licences still verifying."""

from __future__ import annotations

import json
from datetime import date
from types import SimpleNamespace
from typing import Any

import pytest
from sqlalchemy import select

from common.cases.intake import service as intake
from common.cases.models import CaseTask
from common.cases.review import service as review
from common.catalog.service import get_published
from common.db import transaction
from common.identifiers import mask_identifier
from common.identity.service import revoke_node
from common.ledger.canonical import canonical_json
from common.ledger.envelope import b64u, unb64u
from common.licences.credential import credential_payload, credential_signing_input, sign_credential
from common.licences.service import licence_qr_payload, revoke_licence, verify_qr_payload
from common.licences.verification import issued_event_raw
from common.node import ThisNode
from common.users.roles import Actor

RURAL_BUILDING = (
    "1143042400681832125000108013000"  # 乡村建设规划许可: township 承诺件 with a licence
)


def licence_at(
    node: ThisNode, clerk: Actor, decider: Actor, matter: str, k: SimpleNamespace, sha: str
) -> str:
    """File with every mandatory material, accept, agree to every task, approve: the licence id."""
    with transaction(node.engine) as session:
        specs = get_published(session, matter).to_matter().materials
    case_no = k.file(
        node,
        clerk,
        matter,
        materials=[{"position": i, "blob_sha256": sha} for i, m in enumerate(specs) if m.mandatory],
    )
    k.do(node, intake.accept_case, clerk, case_no)
    with transaction(node.engine) as session:
        tasks = [
            t.task_id
            for t in session.execute(select(CaseTask).where(CaseTask.case_no == case_no)).scalars()
        ]
    for task_id in tasks:
        k.do(node, review.record_opinion, decider, case_no, task_id, "agree", "同意")
    return k.do(node, review.decide_case, decider, case_no, "approved", None).body["licence_id"]


@pytest.fixture
def licence(
    published: ThisNode, actors: dict[str, Actor], k: SimpleNamespace, stored_pdf: str
) -> str:
    return licence_at(
        published, actors["clerk"], actors["clerk"], k.SOLE_TRADER, k, stored_pdf
    )  # 即办件


def payload_of(node: ThisNode, licence_id: str) -> str:
    with transaction(node.engine) as session:
        return licence_qr_payload(session, licence_id)


def verdict(node: ThisNode, payload: str, **kwargs: Any) -> Any:
    with transaction(node.engine) as session:
        return verify_qr_payload(session, payload, network_id=node.network_id, **kwargs)


def decoded(payload: str) -> dict[str, Any]:
    assert payload.startswith("OT2:")
    return json.loads(unb64u(payload[4:]))


def encoded(value: dict[str, Any]) -> str:
    return "OT2:" + b64u(canonical_json(value))


def test_the_qr_payload_carries_no_identity_number_and_verifies(
    published: ThisNode, licence: str, k: SimpleNamespace
) -> None:
    payload = payload_of(published, licence)
    text = json.dumps(decoded(payload), ensure_ascii=False)
    assert k.PERSON_ID not in text and k.PERSON_ID[4:-4] not in text and "张三" not in text
    assert decoded(payload)["c"]["holder"] == {
        "kind": "person",
        "name": "张*",
        "id_number": mask_identifier(k.PERSON_ID),
    }
    result = verdict(published, payload)
    assert (result.status, result.licence_id, result.holder_name, result.holder_id_masked) == (
        "valid",
        licence,
        "张*",
        mask_identifier(k.PERSON_ID),
    ), result.reasons
    assert result.checks == {
        "issuer_is_author": True,
        "issuer_registered": True,
        "signature": True,
        "issuer_entitled": True,
        "check_character": True,
        "not_revoked": True,
        "in_validity": True,
    }
    with transaction(published.engine) as session:
        old = "OT1:" + b64u(issued_event_raw(session, licence))  # as printed before OT2
    assert verdict(published, old).status == "valid"
    assert verdict(published, payload, today=date(2000, 1, 1)).status == "invalid"  # not yet valid


FIELDS = [
    ("c", "licence_id"),
    ("c", "type_code"),
    ("c", "name"),
    ("c", "valid_from"),
    ("c", "valid_to"),
    ("c", "catalogue_version"),
    ("holder", "kind"),
    ("holder", "name"),
    ("holder", "id_number"),
    ("issuer", "node"),
    ("issuer", "body"),
    ("issuer", "uscc"),
    (None, "a"),
    (None, "k"),
    (None, "s"),
]


@pytest.mark.parametrize("part,key", FIELDS)
def test_any_changed_field_is_invalid(
    published: ThisNode, licence: str, part: str | None, key: str
) -> None:
    value = decoded(payload_of(published, licence))
    target = value if part is None else value["c"] if part == "c" else value["c"][part]
    old = target[key]
    # The first character: the last one of base64 may carry only padding bits.
    target[key] = (
        old + 1
        if isinstance(old, int)
        else "2099-12-31"
        if old is None
        else ("1" if old[0] != "1" else "2") + old[1:]
    )
    result = verdict(published, encoded(value))
    assert result.status == "invalid" and result.reasons, (part, key)
    assert result.holder_id_masked is None  # what an unauthenticated payload claims is not repeated


def test_non_canonical_or_cross_domain_bytes_are_refused(published: ThisNode, licence: str) -> None:
    value = decoded(payload_of(published, licence))
    spaced = "OT2:" + b64u(json.dumps(value, ensure_ascii=False, indent=1).encode())
    assert verdict(published, spaced).reasons == ["二维码内容无法解码，可能已损坏"]
    network = published.network_id.encode()
    assert credential_signing_input(published.network_id, value["c"]).startswith(
        b"onetrip/v1\x00licence-credential\x00" + network + b"\x00{"
    )
    # Signed by the issuer's key over the event domain instead: not a credential signature.
    wrong = b64u(
        published.key.sign(b"onetrip/v1\x00" + network + b"\x00" + canonical_json(value["c"]))
    )
    assert verdict(published, encoded({**value, "s": wrong})).checks["signature"] is False
    assert (
        sign_credential(published.key, published.network_id, value["c"]) == value["s"]
    )  # Ed25519: deterministic


def test_revocations_and_a_revoked_issuer(
    published: ThisNode,
    township: ThisNode,
    actors: dict[str, Actor],
    admin: Actor,
    k: SimpleNamespace,
    stored_pdf: str,
) -> None:
    licence = licence_at(
        township, actors["tclerk"], actors["tapprover"], RURAL_BUILDING, k, stored_pdf
    )
    payload = payload_of(published, licence)
    value = decoded(payload)
    with transaction(published.engine) as session:
        revoke_licence(session, township, actors["tapprover"], licence, "违法建设")
    revoked = verdict(published, payload)
    assert (revoked.status, revoked.revoked_reason) == ("revoked", "违法建设")
    with transaction(published.engine) as session:
        revoke_node(session, published, admin, township.node_id, "设备丢失")
    held = verdict(published, payload)  # signed before the key was revoked: still history
    assert held.status == "revoked" and held.checks["signed_before_key_revocation"] is True, (
        held.reasons
    )
    # The revoked key signing a credential now: this node holds no such licence, refused.
    later = {**value["c"], "licence_id": licence, "valid_to": "2099-12-31"}
    forged = credential_payload(
        later, value["a"], value["k"], sign_credential(township.key, published.network_id, later)
    )
    assert "密钥已被撤销" in verdict(published, forged).reasons[0]
