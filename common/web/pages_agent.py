"""Village agent screens: find a matter, the intake wizard, my cases, delivery and rating."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(include_in_schema=False)


def screens() -> APIRouter:
    """The tier packages mount this router (see their tier.py)."""
    return router
