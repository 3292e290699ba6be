"""Password hashing (Argon2id) and the password policy."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pwdlib.hashers.argon2 import Argon2Hasher

from common.errors import DomainError
from common.users.passwords import check_password_policy, hash_password, verify_password

CJK = re.compile(r"[\u4e00-\u9fff]")


def test_hash_is_argon2id_and_salted() -> None:
    first, second = hash_password("Hengdong-2026!"), hash_password("Hengdong-2026!")
    assert first.startswith("$argon2id$")
    assert "Hengdong-2026!" not in first
    assert first != second  # a fresh salt each time


def test_verify_accepts_the_password_and_refuses_others() -> None:
    stored = hash_password("洣水镇-便民2026")
    assert verify_password("洣水镇-便民2026", stored).ok
    assert verify_password("洣水镇-便民2026", stored).new_hash is None
    assert not verify_password("洣水镇-便民2027", stored).ok
    assert not verify_password("anything", "plain-text-not-a-hash").ok


def test_outdated_parameters_ask_for_a_rehash() -> None:
    weak = Argon2Hasher(time_cost=1, memory_cost=8 * 1024).hash("cunmin-2026")
    check = verify_password("cunmin-2026", weak)
    assert check.ok
    assert check.new_hash is not None and check.new_hash.startswith("$argon2id$")
    assert verify_password("cunmin-2026", check.new_hash).new_hash is None
    assert verify_password("wrong-one", weak).new_hash is None


@pytest.mark.parametrize(
    ("password", "username", "code"),
    [
        ("short1!", "agent", "password.too_short"),
        ("12345678901", "agent", "password.all_digits"),
        ("Agent007x", "agent007x", "password.is_username"),
        ("x" * 129, "agent", "password.too_long"),
        (" padded-password ", "agent", "password.whitespace"),
    ],
)
def test_policy_refuses_weak_passwords(password: str, username: str, code: str) -> None:
    with pytest.raises(DomainError) as caught:
        check_password_policy(password, username)
    assert caught.value.code == code
    assert caught.value.field == "password"
    assert CJK.search(caught.value.message)


def test_policy_accepts_a_reasonable_password() -> None:
    check_password_policy("cunmin-2026", "agent")
    check_password_policy("衡东县政务服务中心", "agent")


@given(st.text(alphabet="0123456789", min_size=8, max_size=40))
def test_policy_refuses_every_all_digit_password(password: str) -> None:
    with pytest.raises(DomainError):
        check_password_policy(password, "agent")


@settings(max_examples=5, deadline=None)  # Argon2 is slow on purpose
@given(st.text(min_size=1, max_size=40))
def test_any_text_round_trips(password: str) -> None:
    assert verify_password(password, hash_password(password)).ok
