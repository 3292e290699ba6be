"""The county tier's declaration, registered under the ``onetrip.tiers`` entry point."""

from common.tiers import Tier
from common.users.roles import Role
from common.web import pages_admin, pages_oversight, pages_staff

TIER = Tier(
    name="county",
    label="县级",
    routers=[pages_staff.screens, pages_admin.screens, pages_oversight.screens],
    roles=frozenset(
        {Role.COUNTY_WINDOW_CLERK, Role.DEPARTMENT_REVIEWER, Role.COUNTY_ADMIN, Role.AUDITOR}
    ),
    default_port=8400,
)
