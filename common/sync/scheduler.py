"""Running sync: an APScheduler interval job per node, with exponential backoff and
jitter after failures, and an immediate round after a local write while the link is up.

APScheduler times its jobs by the wall clock: set back by hours (a village PC's clock
corrected by hand or by NTP), its next round would wait those hours. A watchdog thread,
timed by the monotonic clock, compares the two clocks every interval and, when the wall
clock jumped, runs the round now and goes on from there."""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta

from apscheduler.schedulers.background import BackgroundScheduler
from sqlmodel import Session

from common.ledger.envelope import SignedEvent
from common.ledger.service import after_store
from common.node import ThisNode
from common.sync.client import SyncError, SyncReport, sync_once
from common.sync.telemetry import note_sync_failure
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


CLOCK_JUMP_SECONDS = 30.0  # a wall-clock move larger than this, against the monotonic clock


class SyncScheduler:
    def __init__(
        self,
        node: ThisNode,
        *,
        interval: float = 10.0,
        wall: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.node = node
        self.interval = interval
        self._wall, self._monotonic = wall, monotonic
        self._clocks = (wall(), monotonic())
        self._stopping = threading.Event()
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
        self._clocks = (self._wall(), self._monotonic())
        threading.Thread(target=self._watch_clock, name="sync-clock", daemon=True).start()

    def shutdown(self) -> None:
        _KICKS.pop(id(self.node.engine), None)
        self._stopping.set()
        self._scheduler.shutdown(wait=True)

    def _watch_clock(self) -> None:
        # Event.wait is timed by the monotonic clock: it wakes whatever the wall clock does.
        while not self._stopping.wait(max(1.0, self.interval)):
            self.check_clock()

    def check_clock(self) -> float:
        """If the wall clock moved against the monotonic clock since the last check, run
        the sync round now (the interval job's next time was set by the old wall clock).
        Returns the seconds it moved (0.0 when it did not)."""
        wall, mono = self._wall(), self._monotonic()
        last_wall, last_mono = self._clocks
        self._clocks = (wall, mono)
        moved = (wall - last_wall) - (mono - last_mono)
        if abs(moved) <= CLOCK_JUMP_SECONDS:
            return 0.0
        log.warning(
            "the wall clock moved by %+.0f s; sync rescheduled from now",
            moved,
            extra={"node_id": self.node.node_id, "code": "sync.clock_jump"},
        )
        if self._scheduler.running:
            self._scheduler.modify_job("sync", next_run_time=utcnow())
        return moved

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
            note_sync_failure(self.node.node_id, self.last_error)
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
