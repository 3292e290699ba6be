"""Password hashing (Argon2id via pwdlib) and the password policy.

Only hashes are stored and travel in user events; a password itself is never
logged, stored or put in an event.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from pwdlib import PasswordHash
from pwdlib.exceptions import UnknownHashError

from common.errors import DomainError

MIN_LENGTH = 8
# Argon2 takes any length, but a cap keeps a hostile login from burning CPU.
MAX_LENGTH = 128

_hasher = PasswordHash.recommended()


@dataclass(frozen=True)
class PasswordCheck:
    ok: bool
    # A fresh hash when the stored one uses outdated parameters, else None.
    new_hash: str | None = None


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password: str, password_hash: str) -> PasswordCheck:
    if len(password) > MAX_LENGTH:
        return PasswordCheck(ok=False)
    try:
        ok, new_hash = _hasher.verify_and_update(password, password_hash)
    except UnknownHashError:
        return PasswordCheck(ok=False)
    return PasswordCheck(ok=ok, new_hash=new_hash if ok else None)


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    return _hasher.hash("onetrip-timing-equaliser")


def burn_verify_time(password: str) -> None:
    """Spend the time of one verification, so an unknown username answers as slowly
    as a wrong password and response times do not reveal which names exist."""
    verify_password(password[:MAX_LENGTH], _dummy_hash())


def check_password_policy(password: str, username: str) -> None:
    """Refuse weak passwords with a message the person can act on."""
    if len(password) < MIN_LENGTH:
        raise DomainError("password.too_short", f"密码至少需要{MIN_LENGTH}个字符", field="password")
    if len(password) > MAX_LENGTH:
        raise DomainError("password.too_long", f"密码不能超过{MAX_LENGTH}个字符", field="password")
    if password.isdigit():
        raise DomainError(
            "password.all_digits", "密码不能全部是数字，请加入字母或符号", field="password"
        )
    if password.strip().lower() == username.strip().lower():
        raise DomainError("password.is_username", "密码不能与用户名相同", field="password")
    if password != password.strip():
        raise DomainError("password.whitespace", "密码首尾不能是空格", field="password")
