"""The township tier's declaration, registered under the ``onetrip.tiers`` entry point."""

from common.tiers import Tier
from common.users.roles import Role

TIER = Tier(
    name="township",
    label="乡镇",
    routers=[],
    roles=frozenset({Role.TOWNSHIP_CLERK, Role.TOWNSHIP_APPROVER, Role.AUDITOR}),
    default_port=8500,
)
