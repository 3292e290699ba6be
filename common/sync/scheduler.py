"""Running sync: an APScheduler interval job per node, with exponential backoff and
jitter after failures, and an immediate round after a local write while the link is up."""

from __future__ import annotations

import logging
import random
import threading
import time
from datetime import datetime, timedelta

from apscheduler.schedulers.background import BackgroundScheduler
from sqlmodel import Session

from common.ledger.envelope import SignedEvent
from common.ledger.service import after_store
from common.node import ThisNode
from common.sync.client import SyncError, SyncReport, sync_once
from common.timeutil import utcnow

log = logging.getLogger("onetrip.sync")
_KICKS: dict[int, SyncScheduler] = {}


class Backoff:
    """Delay before the next attempt: base·2^failures, capped, with ±jitter."""

    def __init__(
        self,
        base: float = 2.0,
        cap: float = 300.0,
        jitter: float = 0.25,
        rng: random.Random | None = None,
    ) -> None:
        self.base, self.cap, self.jitter = base, cap, jitter
        self.failures = 0
        self.rng = rng or random.Random()

    def failed(self) -> float:
        self.failures += 1
        return self.delay()

    def succeeded(self) -> None:
        self.failures = 0

    def delay(self) -> float:
        if self.failures == 0:
            return 0.0
        # int ** int is typed Any (a negative exponent gives a float); here it is >= 0.
        raw: float = min(self.cap, self.base * 2 ** (self.failures - 1))
        return raw * (1 + self.rng.uniform(-self.jitter, self.jitter))


class SyncScheduler:
    def __init__(self, node: ThisNode, *, interval: float = 10.0) -> None:
        self.node = node
        self.interval = interval
        self.backoff = Backoff()
        self.not_before = 0.0
        self.last_report: SyncReport | None = None
        self.last_error: str | None = None
        self.last_success: datetime | None = None
        self._lock = threading.Lock()
        self._scheduler = BackgroundScheduler(timezone="UTC")

    def start(self) -> None:
        self._scheduler.add_job(
            self.run,
            "interval",
            seconds=self.interval,
            id="sync",
            max_instances=1,
            coalesce=True,
            next_run_time=utcnow(),
        )
        self._scheduler.start()
        _KICKS[id(self.node.engine)] = self
        after_store(_kick_on_local_write)

    def shutdown(self) -> None:
        _KICKS.pop(id(self.node.engine), None)
        self._scheduler.shutdown(wait=True)

    def kick(self) -> None:
        """Sync soon (a local write happened), unless the link is backing off."""
        if self.backoff.failures == 0 and self._scheduler.running:
            self._scheduler.add_job(
                self.run,
                "date",
                run_date=utcnow() + timedelta(milliseconds=50),
                id="sync-now",
                replace_existing=True,
                misfire_grace_time=30,
            )

    def run(self) -> SyncReport | None:
        if time.monotonic() < self.not_before or not self._lock.acquire(blocking=False):
            return None
        try:
            report = sync_once(self.node)
        except Exception as exc:  # noqa: BLE001 - any failure backs off; the job must keep running
            delay = self.backoff.failed()
            self.not_before = time.monotonic() + delay
            self.last_error = str(exc)[:300]
            code = "sync.failed" if isinstance(exc, (SyncError, OSError)) else "sync.error"
            log.warning(
                "sync failed (%s); retrying in %.0f s",
                self.last_error,  # masked by the log filter like any message
                delay,
                extra={"node_id": self.node.node_id, "code": code},
            )
            return None
        finally:
            self._lock.release()
        self.backoff.succeeded()
        self.not_before = 0.0
        self.last_report, self.last_error, self.last_success = report, None, utcnow()
        return report


def _kick_on_local_write(
    session: Session, event: SignedEvent, lseq: int, source: str | None
) -> None:
    if source is not None:
        return
    scheduler = _KICKS.get(id(session.get_bind()))
    if scheduler is not None:
        # After commit, not now: the round must see the new event.
        from sqlalchemy import event as sa_event

        sa_event.listen(session, "after_commit", lambda _s: scheduler.kick(), once=True)
