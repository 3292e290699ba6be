"""The verify page for a licence number this node does not hold (issue 13, item 10): a
distinct answer — 本节点未收录该证照, with how to verify it (scan the QR code, or the
county portal) — not the red "✘ 证照无效" a forged number gets. The village case, on a
node with a database of its own, is tests/common/licences/test_unknown_here.py."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from web_testing import post_form

from common.identifiers import make_licence_id, parse_licence_id

VERDICT = re.compile(r'data-testid="verify-result" data-valid="(true|false)" data-status="(\w+)"')
ADVICE = "扫描证照上的二维码核验，或到县政务服务网核验"


def verdict(html: str) -> tuple[str, str]:
    match = VERDICT.search(html)
    assert match, "no verdict on the page"
    return match.group(1), match.group(2)


def unheld() -> str:
    """A well-formed number (its check character holds) of a township's homestead licence
    (农村村民宅基地审批): issued at a township, not (yet) held by the county."""
    return make_licence_id("NCZJDPZS", "11430424006818161T", "2026000001")


def test_a_number_not_held_here_says_so_and_how_to_verify(
    browser: TestClient, licence: str
) -> None:
    number = unheld()
    for page in (
        post_form(browser, "/verify", {"licence_id": number}),
        browser.get("/verify", params={"id": number}),
    ):
        assert page.status_code == 200 and verdict(page.text) == ("false", "unknown_here")
        title = re.search(r'data-testid="verify-status">(.*?)</h2>', page.text, re.S)
        assert title and "本节点未收录该证照" in title.group(1) and "✘" not in title.group(1)
        assert "证照无效" not in page.text
        advice = re.search(r'data-testid="verify-advice">(.*?)</p>', page.text, re.S)
        assert advice and ADVICE in advice.group(1)
        assert 'class="card notice-box"' in page.text  # not the red alert
        assert number in page.text
    # What was typed comes back in the form, to be corrected or scanned instead.
    assert f'value="{number}"' in post_form(browser, "/verify", {"licence_id": number}).text


def test_a_forged_number_is_still_invalid_and_a_held_one_valid(
    browser: TestClient, licence: str
) -> None:
    parts = parse_licence_id(licence)
    forged = (
        licence[:-1] + ("0" if licence[-1] != "0" else "1"),  # the check character fails
        # Well-formed, of a county body the county alone issues, but never issued.
        make_licence_id(parts.type_code, parts.issuer_uscc, parts.serial, version=2),
    )
    for number in forged:
        page = post_form(browser, "/verify", {"licence_id": number})
        assert verdict(page.text) == ("false", "invalid") and "✘ 证照无效" in page.text, number
        assert 'data-testid="verify-advice"' not in page.text
    held = post_form(browser, "/verify", {"licence_id": licence})
    assert verdict(held.text) == ("true", "valid")
    assert 'data-testid="verify-advice"' not in held.text
