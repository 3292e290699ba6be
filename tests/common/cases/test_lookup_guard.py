"""The public progress lookup slows guessers without locking residents out: wrong tries
make the same client, and then everyone, wait longer before trying that case again —
never longer than a minute — over the API (by POST) and on the portal page, while other
cases stay open to their residents."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from web_testing import csrf_of

from common.cases.intake.lookup_guard import (
    FREE_TRIES,
    FREE_TRIES_ALL,
    MAX_DELAY,
    LookupGuard,
    TooManyLookups,
)
from common.node import ThisNode


def _wrong(last4: str) -> str:
    return "0000" if last4 != "0000" else "1111"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_guesser_waits_longer_and_longer_but_never_more_than_the_cap():
    clock = Clock()
    guard = LookupGuard(clock)
    waits = []
    for _ in range(FREE_TRIES + 8):
        guard.admit("attacker", "C1")
        guard.wrong("attacker", "C1")
        try:
            guard.admit("attacker", "C1")
            waits.append(0.0)
        except TooManyLookups as refused:
            assert refused.retry_after is not None
            waits.append(refused.retry_after)
            clock.now += refused.retry_after  # waits it out
    assert waits[:FREE_TRIES] == [0.0] * FREE_TRIES
    assert waits[FREE_TRIES:] == sorted(waits[FREE_TRIES:]) and max(waits) == MAX_DELAY


def test_the_resident_is_slowed_at_most_a_minute_by_guesses_from_many_addresses():
    clock = Clock()
    guard = LookupGuard(clock)
    for n in range(FREE_TRIES_ALL + 20):  # a guess from each of many addresses
        try:
            guard.admit(f"10.0.0.{n}", "C1")
        except TooManyLookups:
            clock.now += MAX_DELAY
            continue
        guard.wrong(f"10.0.0.{n}", "C1")
    guard.wrong("10.0.1.1", "C1")  # the latest guess, just now
    with pytest.raises(TooManyLookups) as slowed:
        guard.admit("resident", "C1")
    assert slowed.value.retry_after is not None and slowed.value.retry_after <= MAX_DELAY
    clock.now += MAX_DELAY
    guard.admit("resident", "C1")  # after a minute at most, the resident is let in
    guard.admit("someone", "C2")  # another case is never slowed by C1's guessers


def test_wrong_tries_over_the_api_answer_429_with_retry_after(
    published: ThisNode, make_client: Callable[..., TestClient], actors: dict[str, Any], k: Any
) -> None:
    target = k.file(published, actors["clerk"])
    other = k.file(published, actors["clerk"], applicant=k.applicant(id_number=k.OTHER_PERSON_ID))
    public = make_client(published, username=None)
    url = f"/api/v1/public/cases/{target}/progress"
    for _ in range(FREE_TRIES + 1):
        assert public.post(url, json={"id_last4": _wrong(k.PERSON_ID[-4:])}).status_code == 404
    refused = public.post(url, json={"id_last4": k.PERSON_ID[-4:]})
    assert refused.status_code == 429 and refused.json()["code"] == "case.lookup_throttled"
    assert 1 <= int(refused.headers["Retry-After"]) <= MAX_DELAY + 1
    assert "秒后再试" in refused.json()["message"]
    answer = public.post(
        f"/api/v1/public/cases/{other}/progress", json={"id_last4": k.OTHER_PERSON_ID[-4:]}
    )
    assert answer.status_code == 200 and answer.json()["case_no"] == other


def test_the_portal_page_answers_429_in_chinese_after_too_many_wrong_tries(
    published: ThisNode, make_client: Callable[..., TestClient], actors: dict[str, Any], k: Any
) -> None:
    target = k.file(published, actors["clerk"])
    browser = make_client(published, username=None)
    for attempt in range(FREE_TRIES + 2):
        form = browser.get("/progress")
        answer = browser.post(
            "/progress",
            data={
                "case_no": target,
                "id_last4": _wrong(k.PERSON_ID[-4:]),
                "csrf_token": csrf_of(form.text),
            },
        )
        assert answer.status_code == (404 if attempt <= FREE_TRIES else 429)
    assert "查询过于频繁" in answer.text


@pytest.mark.parametrize("behind_proxy", [True, False], ids=["trusted-proxy", "no-proxy"])
def test_the_client_is_the_forwarded_address_only_behind_a_trusted_proxy(
    behind_proxy: bool, published: ThisNode, serve: Any, actors: dict[str, Any], k: Any
) -> None:
    """Served as ``onetrip serve`` serves it: behind a configured proxy each forwarded
    address is its own client, so one guesser does not slow the resident behind the same
    proxy; with no proxy configured a forged X-Forwarded-For changes nothing."""
    import httpx

    target = k.file(published, actors["clerk"])
    if behind_proxy:
        published.settings = published.settings.model_copy(
            update={"trusted_proxies": ["127.0.0.1"]}
        )
    server = serve(published)
    url = f"{server.url}/api/v1/public/cases/{target}/progress"
    guesser, resident = {"X-Forwarded-For": "198.51.100.7"}, {"X-Forwarded-For": "203.0.113.9"}
    with httpx.Client(timeout=10) as http:
        for _ in range(FREE_TRIES + 1):
            wrong = {"id_last4": _wrong(k.PERSON_ID[-4:])}
            assert http.post(url, json=wrong, headers=guesser).status_code == 404
        assert http.post(url, json=wrong, headers=guesser).status_code == 429
        answer = http.post(url, json={"id_last4": k.PERSON_ID[-4:]}, headers=resident)
    assert answer.status_code == (200 if behind_proxy else 429)
