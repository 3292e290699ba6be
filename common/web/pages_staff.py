"""Township and county case screens: handoff inbox, window acceptance queues, one-time notices, review tasks, decisions, licences, special procedures, extensions, escalation, and the cases of the area."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(include_in_schema=False)


def screens() -> APIRouter:
    """The tier packages mount this router (see their tier.py)."""
    return router
