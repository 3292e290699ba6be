"""Throttling the public progress lookup (case number + last four characters).

Case numbers are guessable (node, date, serial) and the last four characters of an
identity number allow about 11,000 combinations, so unlimited lookups would let anyone
find a case's state by trying them all. Locking a case after some wrong tries would let
anyone lock its resident out, so the guard slows instead (``common.api.throttle``):

- after ``FREE_TRIES`` wrong pairs the same client waits before trying that case again,
  twice as long after each further wrong pair, up to ``MAX_DELAY``;
- wrong pairs from everyone together slow that case the same way after
  ``FREE_TRIES_ALL``: guessing from many addresses gets one try a minute at most (about
  a week for all combinations), while the resident waits a minute at worst;
- each client may look up at most ``LOOKUPS_PER_CLIENT`` times (the ``limits``
  package's moving window).
"""

from __future__ import annotations

import time
from collections.abc import Callable

from limits import parse, storage, strategies

from common.api.throttle import Allowance, Slowdown
from common.errors import DomainError

LOOKUPS_PER_CLIENT = parse("60/10 minutes")
FREE_TRIES = 3  # a resident's typing mistakes at one case, before any wait
FREE_TRIES_ALL = 10  # wrong tries at one case from all clients, before any wait
MAX_DELAY = 60.0  # seconds: the most anyone ever waits


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


class LookupGuard(Slowdown):
    """One per node process (``app.state.lookup_guard``); the subject is the case number."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__(
            TooManyLookups,
            per_client_subject=Allowance(FREE_TRIES, MAX_DELAY),
            per_subject=Allowance(FREE_TRIES_ALL, MAX_DELAY),
            clock=clock,
        )
        self._windows = strategies.MovingWindowRateLimiter(storage.MemoryStorage())

    def admit(self, client: str, subject: str) -> None:
        super().admit(client, subject)
        if not self._windows.hit(LOOKUPS_PER_CLIENT, "client", client):
            raise TooManyLookups()
