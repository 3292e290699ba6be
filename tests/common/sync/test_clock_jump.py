"""A wall clock set back by hours does not stop sync: APScheduler times the interval job
by the wall clock, so the watchdog (timed by the monotonic clock) runs the round now."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

from common.sync.scheduler import SyncScheduler
from common.timeutil import utcnow


class Clocks:
    """A wall clock that can be moved (the monotonic one is the real one)."""

    def __init__(self) -> None:
        self.offset = 0.0

    def wall(self) -> float:
        return time.time() + self.offset


class Rounds:
    def __init__(self) -> None:
        self.count = 0
        self.ran = threading.Event()

    def __call__(self) -> None:
        self.count += 1
        self.ran.set()

    def wait(self) -> bool:
        done = self.ran.wait(5)
        self.ran.clear()
        return done


def test_a_wall_clock_set_back_runs_the_round_now(root_node):
    clocks, rounds = Clocks(), Rounds()
    scheduler = SyncScheduler(root_node, interval=3600, wall=clocks.wall)
    scheduler.run = rounds  # type: ignore[method-assign]  # count the rounds, sync nothing
    scheduler.start()
    try:
        assert rounds.wait() and rounds.count == 1  # the first round, at start
        # The next round an hour away by the wall clock, as the interval job set it.
        scheduler._scheduler.modify_job("sync", next_run_time=utcnow() + timedelta(hours=1))
        assert scheduler.check_clock() == 0.0  # nothing moved
        clocks.offset = -5 * 3600  # NTP sets the clock back five hours
        moved = scheduler.check_clock()
        assert -5 * 3600 - 5 < moved < -5 * 3600 + 5
        assert rounds.wait() and rounds.count == 2  # run now, not in six hours
        assert scheduler.check_clock() == 0.0  # measured from the new reading
    finally:
        scheduler.shutdown()


def test_small_drift_is_not_a_jump(root_node):
    clocks = Clocks()
    scheduler = SyncScheduler(root_node, interval=3600, wall=clocks.wall)
    clocks.offset = 2.0  # NTP slewing a couple of seconds
    assert scheduler.check_clock() == 0.0
