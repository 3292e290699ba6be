"""Users API: log in, log out, who am I, and user management (on the root).

Thin views: pydantic checks the shape, the action functions check rights and rules.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, Field

from common.api.deps import CurrentUser, NodeDep, SessionDep, only
from common.errors import Unauthorised
from common.users import service
from common.users.models import User
from common.users.roles import ROLE_LABELS, Role, require_role

router = APIRouter(prefix="/api/v1", tags=["users"])

# Tokens from the login screen last a day; long-lived ones come from `onetrip user token`.
LOGIN_TOKEN_TTL_DAYS = 1

NodeIdPath = Annotated[str, Path(pattern=r"^\d{12}$", description="节点编号（12位区划代码）")]
UsernamePath = Annotated[str, Path(min_length=3, max_length=32)]


class LoginRequest(BaseModel):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=256)
    label: str = Field(default="", max_length=100, description="令牌用途，如设备名称")


class TokenResponse(BaseModel):
    token: str
    token_type: Literal["bearer"] = "bearer"
    role: Role
    display_name: str


class UserOut(BaseModel):
    node_id: str
    username: str
    display_name: str
    role: str
    role_label: str
    department: str | None
    head: bool
    active: bool
    version: int

    @classmethod
    def of(cls, user: User) -> UserOut:
        # StrEnum keys hash like their strings; an unknown (newer) role shows as is.
        label = ROLE_LABELS.get(user.role, user.role)  # type: ignore[call-overload]
        return cls(
            node_id=user.node_id,
            username=user.username,
            display_name=user.display_name,
            role=user.role,
            role_label=label,
            department=user.department,
            head=user.head,
            active=user.active,
            version=user.version,
        )


class ProvisionRequest(BaseModel):
    node_id: str = Field(pattern=r"^\d{12}$")
    username: str = Field(min_length=3, max_length=32)
    display_name: str = Field(min_length=1, max_length=100)
    role: Role
    department: str | None = Field(default=None, max_length=100)
    password: str = Field(min_length=1, max_length=256)
    head: bool = Field(
        default=False, description="本行政机关负责人（批准延长办理期限，行政许可法第四十二条）"
    )


class PasswordRequest(BaseModel):
    password: str = Field(min_length=1, max_length=256)
    current_password: str | None = Field(
        default=None, max_length=256, description="修改本人密码时必填"
    )


class ActiveRequest(BaseModel):
    active: bool


class RoleRequest(BaseModel):
    role: Role
    department: str | None = Field(default=None, max_length=100)
    head: bool = Field(
        default=False, description="本行政机关负责人（批准延长办理期限，行政许可法第四十二条）"
    )


class Done(BaseModel):
    ok: bool = True
    version: int | None = None


_bearer = HTTPBearer(auto_error=False)
Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]


@router.post("/auth/token", response_model=TokenResponse)
def log_in(
    body: LoginRequest, session: SessionDep, node: NodeDep, request: Request
) -> TokenResponse:
    guard = request.app.state.login_guard
    client = request.client.host if request.client else ""
    name = body.username.strip().lower()
    guard.admit(client, name)
    try:
        actor = service.authenticate_password(
            session, node.node_id, body.username, body.password, node=node
        )
    except Unauthorised as refusal:
        if refusal.code == "auth.invalid":
            guard.wrong(client, name)
        session.commit()  # keep the failure count: the slowdown depends on it
        raise
    guard.forgive(client, name)
    token = service.issue_api_token(
        session, node.node_id, actor.username, body.label, LOGIN_TOKEN_TTL_DAYS
    )
    user = service.get_user(session, node.node_id, actor.username)
    assert actor.role is not None
    return TokenResponse(token=token, role=actor.role, display_name=user.display_name)


@router.post("/auth/revoke", response_model=Done)
def log_out(
    _actor: CurrentUser, credentials: Credentials, session: SessionDep, node: NodeDep
) -> Done:
    assert credentials is not None  # CurrentUser already refused a missing token
    service.revoke_api_token(session, node.node_id, credentials.credentials)
    return Done()


@router.get("/me", response_model=UserOut)
def me(actor: CurrentUser, session: SessionDep) -> UserOut:
    return UserOut.of(service.get_user(session, actor.node_id, actor.username))


@router.get("/users", response_model=list[UserOut])
def list_users(
    actor: CurrentUser,
    session: SessionDep,
    node_id: Annotated[str | None, Query(pattern=r"^\d{12}$")] = None,
) -> list[UserOut]:
    require_role(actor, Role.COUNTY_ADMIN, Role.AUDITOR)
    return [UserOut.of(user) for user in service.list_users(session, node_id)]


@router.post("/users", response_model=UserOut, status_code=201, **only(Role.COUNTY_ADMIN))
def provision_user(
    body: ProvisionRequest, actor: CurrentUser, session: SessionDep, node: NodeDep
) -> UserOut:
    event = service.provision_user(
        session,
        node,
        actor,
        node_id=body.node_id,
        username=body.username,
        display_name=body.display_name,
        role=body.role,
        department=body.department,
        password=body.password,
        head=body.head,
    )
    return UserOut.of(service.get_user(session, body.node_id, event.body["username"]))


@router.post("/users/{node_id}/{username}/password", response_model=Done)
def change_password(
    node_id: NodeIdPath,
    username: UsernamePath,
    body: PasswordRequest,
    actor: CurrentUser,
    session: SessionDep,
    node: NodeDep,
) -> Done:
    event = service.change_password(
        session,
        node,
        actor,
        node_id=node_id,
        username=username,
        password=body.password,
        current_password=body.current_password,
    )
    return Done(version=event.envelope["sseq"])


@router.post(
    "/users/{node_id}/{username}/active", response_model=UserOut, **only(Role.COUNTY_ADMIN)
)
def set_active(
    node_id: NodeIdPath,
    username: UsernamePath,
    body: ActiveRequest,
    actor: CurrentUser,
    session: SessionDep,
    node: NodeDep,
) -> UserOut:
    service.set_user_active(
        session, node, actor, node_id=node_id, username=username, active=body.active
    )
    return UserOut.of(service.get_user(session, node_id, username))


@router.post("/users/{node_id}/{username}/role", response_model=UserOut, **only(Role.COUNTY_ADMIN))
def change_role(
    node_id: NodeIdPath,
    username: UsernamePath,
    body: RoleRequest,
    actor: CurrentUser,
    session: SessionDep,
    node: NodeDep,
) -> UserOut:
    service.change_role(
        session,
        node,
        actor,
        node_id=node_id,
        username=username,
        role=body.role,
        department=body.department,
        head=body.head,
    )
    return UserOut.of(service.get_user(session, node_id, username))
