"""Licence verification for anyone (issue 5, item 5): a QR code's OT1 payload opens
/verify?p=... directly; the form takes a pasted payload or a licence identifier."""

from __future__ import annotations

import json
import re

from fastapi.testclient import TestClient
from web_testing import post_form

from common.db import transaction
from common.ledger.canonical import canonical_json
from common.ledger.envelope import b64u, unb64u
from common.licences.service import revoke_licence
from common.node import ThisNode
from common.users.roles import Actor

RESIDENT_ID = "430424199001011232"
VERDICT = re.compile(r'data-testid="verify-result" data-valid="(true|false)" data-status="(\w+)"')


def verdict(html: str) -> tuple[str, str]:
    match = VERDICT.search(html)
    assert match, "no verdict on the page"
    return match.group(1), match.group(2)


def test_the_form_has_a_title_and_labelled_fields(browser: TestClient) -> None:
    page = browser.get("/verify")
    assert page.status_code == 200 and "<title>电子证照核验" in page.text
    assert '<label for="f-payload">' in page.text and '<label for="f-licence_id">' in page.text
    assert 'data-testid="verify-result"' not in page.text


def test_a_qr_link_opens_a_valid_verdict_with_the_holder_masked(
    browser: TestClient, licence: str, qr_payload: str
) -> None:
    page = browser.get("/verify", params={"p": qr_payload})
    assert page.status_code == 200 and verdict(page.text) == ("true", "valid")
    assert licence in page.text and 'data-testid="verify-licence-name">' in page.text
    assert "张**" in page.text and "张三丰" not in page.text
    assert RESIDENT_ID not in page.text and "4304**********1232" in page.text
    assert (
        'data-testid="verify-validity"' in page.text and 'data-testid="verify-issuer"' in page.text
    )


def test_pasted_payload_url_or_identifier_verify_too(
    browser: TestClient, licence: str, qr_payload: str
) -> None:
    for data in (
        {"payload": qr_payload},
        {"payload": f"http://430424/verify?p={qr_payload}"},
        {"licence_id": licence},
    ):
        answer = post_form(browser, "/verify", data)
        assert answer.status_code == 200 and verdict(answer.text) == ("true", "valid"), data
        assert licence in answer.text


def test_a_tampered_payload_is_invalid_and_says_why(browser: TestClient, qr_payload: str) -> None:
    value = json.loads(unb64u(qr_payload[4:]))
    value["c"]["holder"]["name"] = "李**"  # the credential shows the holder's name masked
    forged = "OT2:" + b64u(canonical_json(value))
    assert forged != qr_payload
    page = browser.get("/verify", params={"p": forged})
    assert page.status_code == 200 and verdict(page.text) == ("false", "invalid")
    assert "电子签名验证失败" in page.text
    # What an unauthenticated payload claims is not repeated.
    assert 'data-testid="verify-holder"' not in page.text and "李*" not in page.text


def test_a_revoked_licence_is_not_valid(
    browser: TestClient, published: ThisNode, licence: str, qr_payload: str, admin: Actor
) -> None:
    with transaction(published.engine) as session:
        revoke_licence(
            session, published, Actor.node_system(published.node_id), licence, "以欺骗手段取得"
        )
    page = browser.get("/verify", params={"p": qr_payload})
    assert verdict(page.text) == ("false", "revoked")
    assert "已被撤销" in page.text and "以欺骗手段取得" in page.text


def test_garbage_gets_an_invalid_verdict_or_a_form_error_never_a_500(
    browser: TestClient, licence: str
) -> None:
    for p in ("hello", "OT1:!!!!", "OT1:" + b64u(b'{"not":"an event"}')):
        page = browser.get("/verify", params={"p": p})
        assert page.status_code == 200 and verdict(page.text) == ("false", "invalid"), p
        assert 'data-testid="verify-reasons"' in page.text
    bad_check = licence[:-1] + ("0" if licence[-1] != "0" else "1")
    page = browser.get("/verify", params={"id": bad_check})
    assert verdict(page.text) == ("false", "invalid")
    too_long = browser.get("/verify", params={"p": "OT1:" + "A" * 9000})
    assert too_long.status_code == 400 and 'id="d-payload"' in too_long.text
    empty = post_form(browser, "/verify", {"payload": "", "licence_id": ""})
    assert empty.status_code == 400 and 'id="d-payload"' in empty.text
