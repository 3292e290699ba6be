"""Checking a batch's signatures: every one, inline or on a second thread.

``cryptography`` releases the GIL while it verifies, so the checks of a batch can run on
a worker thread while the main thread stores and applies the batch inside a savepoint
that is released only if every signature is good (``Verification.ok``). Measured no
faster inside ingest (docs/architecture.md, "Signatures on a second core"), so the
switch ``VERIFY_ON_WORKER_THREAD`` is off; the benchmark reports both.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from cryptography.exceptions import InvalidSignature

from common.ledger.envelope import SignedEvent, signed_bytes, unb64u


def _verify_all(jobs: list[tuple[Any, bytes, bytes]]) -> bool:
    try:
        for public_key, signature, message in jobs:
            public_key.verify(signature, message)
    except (InvalidSignature, ValueError):
        return False
    return True


_POOL: ThreadPoolExecutor | None = None
# Off by default: measured on the 2-core reference machine (docs/benchmarks.md), the
# worker thread made ingest slower, not faster (the GIL hand-over between the threads
# costs more than the overlap gains). The benchmark turns it on to keep measuring it.
VERIFY_ON_WORKER_THREAD = False


def _second_core() -> bool:
    if not VERIFY_ON_WORKER_THREAD:
        return False
    try:
        return len(os.sched_getaffinity(0)) > 1
    except AttributeError:  # not Linux
        return (os.cpu_count() or 1) > 1


class Verification:
    """Every signature of a batch. With ``VERIFY_ON_WORKER_THREAD`` on a machine where this
    process may use a second core the checks run on a worker thread while the caller does its database work, which must
    stay uncommitted (inside a savepoint) until ``ok()`` says yes; on one core they run
    at once. The messages are the stored bytes with ``sig`` cut out (``signed_bytes``)."""

    def __init__(self, network_id: str, events: Sequence[SignedEvent], keys: Sequence[Any]) -> None:
        global _POOL
        try:
            jobs = [
                (key, unb64u(event.envelope["sig"]), signed_bytes(network_id, event))
                for event, key in zip(events, keys, strict=True)
            ]
        except ValueError:
            jobs = []
            self._result: bool | None = False
            self._future: Future[bool] | None = None
            return
        if len(jobs) > 1 and _second_core():
            if _POOL is None:
                _POOL = ThreadPoolExecutor(max_workers=1, thread_name_prefix="onetrip-verify")
            self._future, self._result = _POOL.submit(_verify_all, jobs), None
        else:
            self._future, self._result = None, _verify_all(jobs)

    def ok(self) -> bool:
        if self._result is None:
            assert self._future is not None
            self._result = self._future.result()
        return self._result
