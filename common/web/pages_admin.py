"""County administrator screens: node health overview, catalogue import/review/publish, calendar import, nodes (enrol, revoke) and users (provision)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(include_in_schema=False)


def screens() -> APIRouter:
    """The tier packages mount this router (see their tier.py)."""
    return router
