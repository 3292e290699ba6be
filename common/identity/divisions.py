"""Statistical division codes (12 digits) and where a node sits in the tree.

The national scheme has five levels: province (2 significant digits), city (4),
county (6), township (9), village (12). A node's parent is the nearest *registered*
ancestor by code prefix, so any depth works (a city above the county, or a county
that is the root). Nothing here assumes three levels.
"""

from __future__ import annotations

import re

NODE_ID_RE = re.compile(r"^\d{12}$")
LEVEL_DIGITS = (2, 4, 6, 9, 12)
TIER_BY_DIGITS = {2: "province", 4: "city", 6: "county", 9: "township", 12: "village"}


def significant_digits(node_id: str) -> int:
    """How many leading digits identify the division (e.g. 430424100000 -> 9)."""
    for digits in LEVEL_DIGITS:
        if node_id[digits:] == "0" * (12 - digits):
            return digits
    return 12


def default_tier(node_id: str) -> str:
    return TIER_BY_DIGITS[significant_digits(node_id)]


def ancestor_codes(node_id: str) -> list[str]:
    """Codes of the levels above ``node_id``, nearest first."""
    own = significant_digits(node_id)
    return [
        node_id[:digits] + "0" * (12 - digits)
        for digits in reversed(LEVEL_DIGITS)
        if digits < own and node_id[:digits] != "0" * digits
    ]


def is_under(node_id: str, ancestor_id: str) -> bool:
    """True when ``node_id`` lies strictly below ``ancestor_id`` in the code scheme."""
    return node_id != ancestor_id and ancestor_id in ancestor_codes(node_id)
