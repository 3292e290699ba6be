"""The printed licence: its text, and a QR code that a 150 dpi scan decodes to the
licence's own signed payload, which verifies (and stops verifying once tampered with)."""

from __future__ import annotations

import pytest

from common.db import transaction
from common.documents import licence_document
from common.errors import DomainError, NotFound
from common.identifiers import make_licence_id, mask_identifier, parse_licence_id
from common.licences.service import licence_qr_payload, revoke_licence, verify_qr_payload


def test_the_licence_prints_its_identifier_holder_masked_and_validity(published, food_case, k, pdf):
    text = pdf.text(pdf.render(published, licence_document, food_case.licence_id), "licence")
    year = int(food_case.accepted_on[:4])
    for expected in (
        "电子证照",
        "食品经营许可证",
        food_case.licence_id,
        "GB/T36904",
        "SPJYXKZ",
        "张三",
        mask_identifier(k.PERSON_ID),
        "食品经营许可（新办）",
        "衡东县市场监督管理局",
        "11430424MB1C595315",
        "衡东县政务服务中心（430424000000）",
        food_case.case_no,
        "A级",
        f"至{year + 5}年",
    ):
        assert expected in text, expected
    assert k.PERSON_ID not in text
    assert "已撤销" not in text


def test_the_qr_code_scans_to_the_signed_payload_which_verifies(published, food_case, pdf):
    document = pdf.render(published, licence_document, food_case.licence_id)
    scanned = pdf.qr(document, dpi=150)
    with transaction(published.engine) as session:
        payload = licence_qr_payload(session, food_case.licence_id)
        assert scanned == [payload]
        verdict = verify_qr_payload(session, scanned[0], network_id=published.network_id)
        assert verdict.status == "valid", verdict.reasons
        assert verdict.licence_id == food_case.licence_id

        # One character of the signed payload changed: it no longer verifies.
        assert payload.startswith("OT2:")
        body = payload[len("OT2:") :]
        middle = len(body) // 2
        tampered = (
            "OT2:" + body[:middle] + ("A" if body[middle] != "A" else "B") + body[middle + 1 :]
        )
        forged = verify_qr_payload(session, tampered, network_id=published.network_id)
        assert forged.status == "invalid"
        assert not forged.valid


def test_a_revoked_licence_says_so_on_paper(published, food_case, actors, pdf):
    with transaction(published.engine) as session:
        revoke_licence(
            session, published, actors["reviewer"], food_case.licence_id, "告知承诺核查不实"
        )
    text = pdf.text(pdf.render(published, licence_document, food_case.licence_id), "revoked")
    assert "【已撤销】" in text and "告知承诺核查不实" in text


def test_unknown_and_malformed_licence_ids(published, food_case, pdf):
    with pytest.raises(DomainError) as malformed:
        pdf.render(published, licence_document, "not-a-licence")
    assert malformed.value.field == "licence_id"
    parts = parse_licence_id(food_case.licence_id)
    other = make_licence_id(
        parts.type_code, issuer_uscc=parts.issuer_uscc, serial=str(int(parts.serial) + 1), version=1
    )
    with pytest.raises(NotFound) as unknown:
        pdf.render(published, licence_document, other)
    assert unknown.value.field == "licence_id"
