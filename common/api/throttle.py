"""Slowing guessers without locking owners out: growing delays after wrong answers.

After ``free`` wrong answers, each further one doubles the wait before the next try,
up to ``cap`` seconds; the counts are kept per client and subject (one person mistyping),
per subject (guesses at one account or case from many addresses) and, optionally, per
client (one address trying many subjects). The owner of a subject being guessed waits
``cap`` at worst instead of being locked out. In memory per node process; entries are
forgotten an hour after their last wrong answer. Written here: the ``limits`` package
counts fixed or moving windows but has no growing back-off.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from common.errors import DomainError

FORGET_AFTER = 3600.0  # seconds after the last wrong answer


@dataclass(frozen=True)
class Allowance:
    free: int  # wrong answers before any wait
    cap: float  # seconds: the longest wait


@dataclass
class _Wrong:
    count: int = 0
    last: float = 0.0


class Slowdown:
    def __init__(
        self,
        refuse: Callable[[float], DomainError],
        *,
        per_client_subject: Allowance,
        per_subject: Allowance,
        per_client: Allowance | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._refuse = refuse
        self._allowances: dict[str, Allowance] = {
            "client_subject": per_client_subject,
            "subject": per_subject,
        }
        if per_client is not None:
            self._allowances["client"] = per_client
        self._clock = clock
        self._lock = threading.Lock()
        self._wrong: dict[tuple[str, ...], _Wrong] = {}
        self._pruned = 0.0

    def _keys(self, client: str, subject: str) -> dict[str, tuple[str, ...]]:
        keys = {
            "client_subject": ("client_subject", client, subject),
            "subject": ("subject", subject),
            "client": ("client", client),
        }
        return {kind: keys[kind] for kind in self._allowances}

    def admit(self, client: str, subject: str) -> None:
        """Raise the refusal (with the seconds to wait) when this try comes too soon."""
        now = self._clock()
        with self._lock:
            self._forget(now)
            wait = max(
                self._until(self._wrong.get(key), self._allowances[kind], now)
                for kind, key in self._keys(client, subject).items()
            )
        if wait > 0:
            raise self._refuse(wait)

    def wrong(self, client: str, subject: str) -> None:
        now = self._clock()
        with self._lock:
            for key in self._keys(client, subject).values():
                entry = self._wrong.setdefault(key, _Wrong())
                entry.count += 1
                entry.last = now

    def forgive(self, client: str, subject: str) -> None:
        """A right answer ends this client's streak at this subject."""
        with self._lock:
            self._wrong.pop(("client_subject", client, subject), None)

    @staticmethod
    def _until(wrong: _Wrong | None, allowance: Allowance, now: float) -> float:
        if wrong is None or wrong.count <= allowance.free:
            return 0.0
        delay = min(allowance.cap, 2.0 ** (wrong.count - allowance.free))
        return max(0.0, wrong.last + delay - now)

    def _forget(self, now: float) -> None:
        if now - self._pruned < 60:
            return
        self._pruned = now
        for key in [k for k, v in self._wrong.items() if now - v.last > FORGET_AFTER]:
            del self._wrong[key]
