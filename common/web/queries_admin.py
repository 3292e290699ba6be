"""Shaping for the county administrator's screens: the role choices with the tiers each
role belongs on, a role's label, and how many published matters the catalogue page
lists before a search is needed. Nothing here reads the database: the node overview is
``common.sync.queries``', the catalogue's drafts and counts ``common.catalog.queries``',
the calendar years ``common.calendar.queries``' and the registry
``common.identity.queries``'.
"""

from __future__ import annotations

from common.identity.queries import TIER_ORDER
from common.labels import tier_label
from common.users.roles import ROLE_LABELS, ROLE_TIERS, Role

SHOWN_PUBLISHED = 200  # rows of the published list before a search is needed


def role_choices() -> list[tuple[str, str]]:
    """Every role with the tiers it belongs on, e.g. 村代办员（村级节点）."""
    choices = []
    for role in Role:
        tiers = "、".join(
            tier_label(t) for t in sorted(ROLE_TIERS[role], key=lambda t: TIER_ORDER.get(t, 9))
        )
        choices.append((role.value, f"{ROLE_LABELS[role]}（{tiers}节点）"))
    return choices


def role_label(value: str) -> str:
    try:
        return ROLE_LABELS[Role(value)]
    except ValueError:
        return value
