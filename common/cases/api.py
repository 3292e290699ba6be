"""What the case routers (intake, review, handoff) share: the shape of a case number,
who reads a node's work lists, and ``CaseAt`` — the case a request acts on, with the
session, node and actor — so that an endpoint only says which action it takes.

Each router builds its ``CaseAt`` in its own dependency: the case number is declared
there, once per router, as that router documents it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Concatenate, ParamSpec, TypeVar

from fastapi import Depends
from sqlmodel import Session

from common.api.deps import CurrentUser, NodeDep
from common.authority.actions import refuse_by_role, roles_taking
from common.authority.case_checks import TIER_RANK
from common.node import ThisNode
from common.users.roles import Actor, Role

CASE_NO_PATTERN = r"^\d{12}-\d{8}-\d{4,6}$"  # 节点编号-日期-当日序号
# Who reads a node's work lists: the window queues and the inbox of handoff offers.
WORK_LIST_READERS = (
    Role.VILLAGE_AGENT,
    Role.TOWNSHIP_CLERK,
    Role.TOWNSHIP_APPROVER,
    Role.COUNTY_WINDOW_CLERK,
    Role.COUNTY_ADMIN,
    Role.AUDITOR,
)

P = ParamSpec("P")
T = TypeVar("T")


def case_errors(invalid: str, conflict: str) -> dict[int | str, dict[str, Any]]:
    """The error answers a case endpoint documents; what a 400 (``invalid``) and a 409
    (``conflict``) mean is the router's to say."""
    return {
        400: {"description": invalid},
        403: {"description": "无权办理"},
        404: {"description": "案件不存在"},
        409: {"description": conflict},
    }


def taking(action: str) -> dict[str, Any]:
    """The route arguments of an endpoint that takes the case action ``action`` (a row
    of ``common.authority.actions.ACTIONS``): a role that takes it under none of its
    rules on this node's tier is refused before the body is read or validated (403,
    never a 422 that describes the input); ``x-roles`` in the OpenAPI document says who
    may, by tier. The action function checks the whole rule again."""

    def role_first(actor: CurrentUser, node: NodeDep) -> None:
        refuse_by_role(node, actor, action)

    return {
        "dependencies": [Depends(role_first)],
        "openapi_extra": {
            "x-roles": {
                tier: sorted(r.value for r in roles_taking(action, tier)) for tier in TIER_RANK
            }
        },
    }


@dataclass(frozen=True)
class CaseAt:
    """The case a request acts on, and who acts on it where."""

    session: Session
    node: ThisNode
    actor: Actor
    case_no: str

    def take(
        self,
        action: Callable[Concatenate[Session, ThisNode, Actor, str, P], T],
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> T:
        """Take ``action`` (a case action function) on the case."""
        return action(self.session, self.node, self.actor, self.case_no, *args, **kwargs)
