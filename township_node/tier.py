"""The township tier's declaration, registered under the ``onetrip.tiers`` entry point."""

from common.tiers import Tier
from common.users.roles import Role
from common.web import pages_oversight, pages_staff

TIER = Tier(
    name="township",
    label="乡镇",
    routers=[pages_staff.screens, pages_oversight.screens],
    roles=frozenset({Role.TOWNSHIP_CLERK, Role.TOWNSHIP_APPROVER, Role.AUDITOR}),
    default_port=8500,
)
