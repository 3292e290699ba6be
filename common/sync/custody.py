"""Custody that settles itself when records arrive: a decided case pulled back to its
origin is accepted there, and a decided case held away from its origin is offered back.
Escalations wait for staff (the handoff inbox)."""

from __future__ import annotations

from sqlmodel import Session

from common.cases.handoff.service import settle_custody
from common.node import ThisNode
from common.sync.client import after_pull


def settle_pulled_cases(session: Session, node: ThisNode, subjects: set[str]) -> None:
    for subject in sorted(subjects):
        if subject.startswith("case:"):
            settle_custody(session, node, subject.removeprefix("case:"))


after_pull(settle_pulled_cases)
