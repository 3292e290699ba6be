"""Tiers: what a node of each tier mounts, discovered through entry points.

A tier package (county_node, township_node, village_node, or a city tier added later)
exposes ``TIER = Tier(...)`` and registers it under the ``onetrip.tiers`` entry point.
common/ finds tiers by name and never imports the packages directly.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from importlib.metadata import entry_points

from fastapi import APIRouter

from common.users.roles import Role


@dataclass(frozen=True)
class Tier:
    name: str
    label: str  # shown to people, e.g. 县级
    routers: list[Callable[[], APIRouter]] = field(default_factory=list)
    roles: frozenset[Role] = frozenset()
    default_port: int = 8400


GENERIC_TIERS = {"province": "省级", "city": "市级"}


def load_tier(name: str) -> Tier:
    for entry in entry_points(group="onetrip.tiers"):
        if entry.name == name:
            tier = entry.load()
            if not isinstance(tier, Tier):
                raise TypeError(f"entry point {entry.value} is not a Tier")
            return tier
    if name in GENERIC_TIERS:
        # A level with no package of its own (a city or province above the county)
        # runs the common node with no extra routers.
        return Tier(name=name, label=GENERIC_TIERS[name])
    raise LookupError(f"unknown tier {name!r}")


def tier_names() -> list[str]:
    return sorted(entry.name for entry in entry_points(group="onetrip.tiers"))
