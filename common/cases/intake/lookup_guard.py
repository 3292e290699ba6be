"""Throttling the public progress lookup (case number + last four characters).

Case numbers are guessable (node, date, serial) and the last four characters of an
identity number allow about 11,000 combinations, so unlimited lookups would let anyone
find a case's state by trying them all. Two moving windows (the ``limits`` package, in
memory, per node process): wrong answers per case number, and lookups per client
address. A resident who types the right pair is never slowed by someone else's wrong
tries at another case.
"""

from __future__ import annotations

from limits import parse, storage, strategies

from common.errors import DomainError

WRONG_PER_CASE = parse("10/hour")
LOOKUPS_PER_CLIENT = parse("60/10 minutes")


class TooManyLookups(DomainError):
    status_code = 429

    def __init__(self) -> None:
        super().__init__(
            "case.lookup_throttled",
            "查询过于频繁，请稍后再试；如有疑问请拨打 12345",
            field="case_no",
        )


class LookupGuard:
    """One per node process (``app.state.lookup_guard``)."""

    def __init__(self) -> None:
        self._windows = strategies.MovingWindowRateLimiter(storage.MemoryStorage())

    def admit(self, client: str, case_no: str) -> None:
        """Refuse (429) when this client looked too often or the case had too many wrong tries."""
        if not self._windows.test(WRONG_PER_CASE, "case", case_no):
            raise TooManyLookups()
        if not self._windows.hit(LOOKUPS_PER_CLIENT, "client", client):
            raise TooManyLookups()

    def wrong(self, case_no: str) -> None:
        """A wrong pair (or an unknown case number) counts against that case number."""
        self._windows.hit(WRONG_PER_CASE, "case", case_no)
