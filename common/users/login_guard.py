"""Slowing password guessing by address (``common.api.throttle``), beside the per-name
delay kept in the database (``users.service``): one address guessing one name waits up
to five minutes, one address trying many names (password spraying) likewise, while the
name's owner, elsewhere, waits at most the database's minute."""

from __future__ import annotations

import time
from collections.abc import Callable

from common.api.throttle import Allowance, Slowdown
from common.users.service import MAX_FAILURES, LoginLocked

PER_ADDRESS_CAP = 300.0  # seconds
SPRAY_FREE = 20  # wrong passwords from one address, over all names, before any wait
NAME_FREE = 10_000  # per name the database counts (and survives restarts); not here


class LoginGuard(Slowdown):
    """One per node process (``app.state.login_guard``); the subject is the user name."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__(
            LoginLocked,
            per_client_subject=Allowance(MAX_FAILURES, PER_ADDRESS_CAP),
            per_subject=Allowance(NAME_FREE, PER_ADDRESS_CAP),
            per_client=Allowance(SPRAY_FREE, PER_ADDRESS_CAP),
            clock=clock,
        )
