"""The public progress lookup is throttled: guessing the last four characters of a
case's applicant stops after ten wrong tries an hour for that case number, over the API
and on the portal page, while other cases stay open to their residents."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient
from web_testing import csrf_of

from common.cases.intake.lookup_guard import WRONG_PER_CASE
from common.node import ThisNode

WRONG_TRIES = WRONG_PER_CASE.amount


def _wrong(last4: str) -> str:
    return "0000" if last4 != "0000" else "1111"


def test_wrong_tries_at_one_case_are_throttled_over_the_api(
    published: ThisNode, make_client: Callable[..., TestClient], actors: dict[str, Any], k: Any
) -> None:
    target = k.file(published, actors["clerk"])
    other = k.file(published, actors["clerk"], applicant=k.applicant(id_number=k.OTHER_PERSON_ID))
    public = make_client(published, username=None)
    url = f"/api/v1/public/cases/{target}"
    for _ in range(WRONG_TRIES):
        assert public.get(url, params={"id_last4": _wrong(k.PERSON_ID[-4:])}).status_code == 404
    # The guesser is stopped, and so is the right pair at this case number for an hour.
    refused = public.get(url, params={"id_last4": k.PERSON_ID[-4:]})
    assert refused.status_code == 429 and refused.json()["code"] == "case.lookup_throttled"
    # Another case's resident is not affected.
    answer = public.get(
        f"/api/v1/public/cases/{other}", params={"id_last4": k.OTHER_PERSON_ID[-4:]}
    )
    assert answer.status_code == 200 and answer.json()["case_no"] == other


def test_the_portal_page_answers_429_in_chinese_after_too_many_wrong_tries(
    published: ThisNode, make_client: Callable[..., TestClient], actors: dict[str, Any], k: Any
) -> None:
    target = k.file(published, actors["clerk"])
    browser = make_client(published, username=None)
    for attempt in range(WRONG_TRIES + 1):
        form = browser.get("/progress")
        answer = browser.post(
            "/progress",
            data={
                "case_no": target,
                "id_last4": _wrong(k.PERSON_ID[-4:]),
                "csrf_token": csrf_of(form.text),
            },
        )
        assert answer.status_code == (404 if attempt < WRONG_TRIES else 429)
    assert "查询过于频繁" in answer.text
