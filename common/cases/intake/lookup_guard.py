"""Throttling the public progress lookup (case number + last four characters).

Case numbers are guessable (node, date, serial) and the last four characters of an
identity number allow about 11,000 combinations, so unlimited lookups would let anyone
find a case's state by trying them all. Locking a case after some wrong tries would let
anyone lock its resident out, so the guard slows instead of locking:

- each client may look up at most ``LOOKUPS_PER_CLIENT`` times (the ``limits``
  package's moving window);
- after a wrong pair, the same client waits before it may try that case again, a delay
  that doubles with each further wrong try (after ``FREE_TRIES`` typing mistakes),
  up to ``MAX_DELAY``;
- wrong pairs from everyone together slow that case the same way, with more free tries
  and the same cap: guessing from many addresses gets one try a minute at most (about
  a week for all combinations), while the resident waits a minute at worst.

In memory, per node process; entries older than ``FORGET_AFTER`` are dropped.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from limits import parse, storage, strategies

from common.errors import DomainError

LOOKUPS_PER_CLIENT = parse("60/10 minutes")
FREE_TRIES = 3  # a resident's typing mistakes at one case, before any wait
FREE_TRIES_ALL = 10  # wrong tries at one case from all clients, before any wait
MAX_DELAY = 60.0  # seconds: the most anyone ever waits
FORGET_AFTER = 3600.0  # seconds after the last wrong try


class TooManyLookups(DomainError):
    status_code = 429

    def __init__(self, retry_after: float | None = None) -> None:
        wait = f"，请于{int(retry_after) + 1}秒后再试" if retry_after else "，请稍后再试"
        super().__init__(
            "case.lookup_throttled",
            f"查询过于频繁{wait}；如有疑问请拨打 12345",
            field="case_no",
        )
        self.retry_after = retry_after


@dataclass
class _Wrong:
    count: int = 0
    last: float = 0.0


def _delay(wrong: _Wrong, free: int) -> float:
    if wrong.count <= free:
        return 0.0
    return float(min(MAX_DELAY, 2.0 ** (wrong.count - free)))


class LookupGuard:
    """One per node process (``app.state.lookup_guard``)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._windows = strategies.MovingWindowRateLimiter(storage.MemoryStorage())
        self._clock = clock
        self._lock = threading.Lock()
        # ("client", address, case number) and ("case", case number) -> wrong tries
        self._wrong: dict[tuple[str, ...], _Wrong] = {}
        self._pruned = 0.0

    def admit(self, client: str, case_no: str) -> None:
        """Refuse (429, with how long to wait) a lookup that comes too soon."""
        now = self._clock()
        with self._lock:
            self._forget(now)
            waits = [
                self._until(self._wrong.get(("client", client, case_no)), FREE_TRIES, now),
                self._until(self._wrong.get(("case", case_no)), FREE_TRIES_ALL, now),
            ]
        wait = max(waits)
        if wait > 0:
            raise TooManyLookups(wait)
        if not self._windows.hit(LOOKUPS_PER_CLIENT, "client", client):
            raise TooManyLookups()

    def wrong(self, client: str, case_no: str) -> None:
        """A wrong pair (or an unknown case number) slows this client and this case."""
        now = self._clock()
        with self._lock:
            for key in (("client", client, case_no), ("case", case_no)):
                entry = self._wrong.setdefault(key, _Wrong())
                entry.count += 1
                entry.last = now

    @staticmethod
    def _until(wrong: _Wrong | None, free: int, now: float) -> float:
        if wrong is None:
            return 0.0
        return max(0.0, wrong.last + _delay(wrong, free) - now)

    def _forget(self, now: float) -> None:
        if now - self._pruned < 60:
            return
        self._pruned = now
        for key in [k for k, v in self._wrong.items() if now - v.last > FORGET_AFTER]:
            del self._wrong[key]
