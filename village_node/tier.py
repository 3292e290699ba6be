"""The village tier's declaration, registered under the ``onetrip.tiers`` entry point."""

from common.tiers import Tier
from common.users.roles import Role
from common.web import pages_agent, pages_oversight

TIER = Tier(
    name="village",
    label="村级",
    routers=[pages_agent.screens, pages_oversight.screens],
    roles=frozenset({Role.VILLAGE_AGENT}),
    default_port=8600,
)
