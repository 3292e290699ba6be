"""User action functions: provision users, change passwords, roles and status.

Only the root writes user events (one writer per record): the county administrator
provisions users for every node there, and each record travels by sync to the node it
concerns. Functions check the actor's right, append the event and let the projection
update ``users`` in the caller's transaction; they never commit.

Authentication is local: a node logs in only its own users, counts failed logins
(a growing wait after wrong passwords, never a lock) and keeps API tokens in local tables that never travel.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import unicodedata
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlmodel import Session, col

from common.errors import Conflict, DomainError, Forbidden, NotFound, Unauthorised
from common.identity.models import RegistryNode
from common.labels import TIER_LABELS
from common.ledger.envelope import SignedEvent
from common.node import ThisNode
from common.timeutil import utcnow
from common.users.models import ApiToken, LoginFailure, User
from common.users.passwords import (
    burn_verify_time,
    check_password_policy,
    hash_password,
    verify_password,
)
from common.users.projection import user_subject
from common.users.roles import HEAD_ROLES, ROLE_LABELS, ROLE_TIERS, Actor, Role, require_role

USERNAME_RE = re.compile(r"^[a-z0-9_.-]{3,32}$")


def normalise_username(raw: str) -> str:
    username = raw.strip().lower()
    if not USERNAME_RE.fullmatch(username):
        raise DomainError(
            "users.username_format", "用户名应为3至32位小写字母、数字或 _ . -", field="username"
        )
    return username


def _clean_text(raw: str | None, field: str, label: str, *, min_len: int, max_len: int) -> str:
    text = unicodedata.normalize("NFC", (raw or "").strip())
    if not min_len <= len(text) <= max_len:
        raise DomainError(
            f"users.{field}_length", f"{label}应为{min_len}至{max_len}个字符", field=field
        )
    return text


def _parse_role(value: str | Role) -> Role:
    try:
        return Role(value)
    except ValueError:
        raise DomainError("users.role_unknown", f"未知角色 {value}", field="role") from None


def _require_root(node: ThisNode) -> None:
    if not node.is_root:
        raise Forbidden(
            "users.not_root", "用户信息由根节点（县级）统一维护，请联系县管理员", field="node"
        )


def _get_user(session: Session, node_id: str, username: str) -> User:
    user = session.get(User, (node_id, username.strip().lower()))
    if user is None:
        raise NotFound("users.unknown", f"节点 {node_id} 没有用户 {username}", field="username")
    return user


def _check_role_fits(
    session: Session, node_id: str, role: Role, department: str | None, *, check_tier: bool = True
) -> str | None:
    """Refuse a role that does not belong on the node's tier; return the clean department."""
    target = session.get(RegistryNode, node_id)
    if target is None or target.revoked_version is not None:
        raise NotFound("users.node_unknown", f"节点 {node_id} 未登记或已注销", field="node_id")
    if check_tier and target.tier not in ROLE_TIERS[role]:
        tier = TIER_LABELS.get(target.tier, target.tier)
        raise DomainError(
            "users.role_tier", f"{ROLE_LABELS[role]}不能设在{tier}节点 {node_id}", field="role"
        )
    if role is Role.DEPARTMENT_REVIEWER:
        if department is None or not department.strip():
            raise DomainError(
                "users.department_required", "部门审批人员必须填写所属部门", field="department"
            )
        return _clean_text(department, "department", "所属部门", min_len=2, max_len=100)
    if department is not None and department.strip():
        raise DomainError(
            "users.department_unexpected", "只有部门审批人员需要填写所属部门", field="department"
        )
    return None


def provision_user(
    session: Session,
    node: ThisNode,
    actor: Actor,
    *,
    node_id: str,
    username: str,
    display_name: str,
    role: str | Role,
    department: str | None = None,
    password: str,
    head: bool = False,
) -> SignedEvent:
    """Create a user for any registered node (county administrator, on the root);
    ``head``: the head of their organ (a department reviewer or township approver)."""
    require_role(actor, Role.COUNTY_ADMIN)
    return _provision(
        session, node, node_id, username, display_name, role, department, password, head=head
    )


def _provision(
    session: Session,
    node: ThisNode,
    node_id: str,
    username: str,
    display_name: str,
    role: str | Role,
    department: str | None,
    password: str,
    *,
    check_tier: bool = True,
    head: bool = False,
) -> SignedEvent:
    _require_root(node)
    username = normalise_username(username)
    display_name = _clean_text(display_name, "display_name", "姓名", min_len=1, max_len=100)
    parsed = _parse_role(role)
    department = _check_role_fits(session, node_id, parsed, department, check_tier=check_tier)
    if session.get(User, (node_id, username)) is not None:
        raise Conflict("users.exists", f"节点 {node_id} 已有用户 {username}", field="username")
    check_password_policy(password, username)
    _check_head(parsed, head)
    body: dict[str, Any] = {
        "node_id": node_id,
        "username": username,
        "display_name": display_name,
        "role": parsed.value,
        "department": department,
        "password_hash": hash_password(password),
    }
    if head:
        body["head"] = True
    return node.append(session, user_subject(node_id, username), "user.provisioned", body)


def create_root_admin(
    session: Session, node: ThisNode, username: str, display_name: str, password: str
) -> SignedEvent:
    """The first county administrator, written by the root itself at ``onetrip init``.

    The root's administrator is a county administrator whatever the root's tier (a
    city above the county must work), so the tier check is skipped here only.
    """
    return _provision(
        session,
        node,
        node.node_id,
        username,
        display_name,
        Role.COUNTY_ADMIN,
        None,
        password,
        check_tier=False,
    )


def change_password(
    session: Session,
    node: ThisNode,
    actor: Actor,
    *,
    node_id: str,
    username: str,
    password: str,
    current_password: str | None = None,
) -> SignedEvent:
    """Set a new password: a user for themself (with the current one), or an admin for anyone."""
    own = (
        not actor.system and actor.node_id == node_id and actor.username == username.strip().lower()
    )
    if not own:
        require_role(actor, Role.COUNTY_ADMIN)
    _require_root(node)
    user = _get_user(session, node_id, username)
    if own and not verify_password(current_password or "", user.password_hash).ok:
        raise DomainError("password.current_wrong", "当前密码不正确", field="current_password")
    check_password_policy(password, user.username)
    if verify_password(password, user.password_hash).ok:
        raise DomainError("password.unchanged", "新密码不能与原密码相同", field="password")
    body = {"node_id": node_id, "username": user.username, "password_hash": hash_password(password)}
    return node.append(session, user_subject(node_id, user.username), "user.password_changed", body)


def set_user_active(
    session: Session, node: ThisNode, actor: Actor, *, node_id: str, username: str, active: bool
) -> SignedEvent:
    """Disable or re-enable a user; a disabled user can neither log in nor use a token."""
    require_role(actor, Role.COUNTY_ADMIN)
    _require_root(node)
    user = _get_user(session, node_id, username)
    if not active and actor.node_id == node_id and actor.username == user.username:
        raise Forbidden("users.disable_self", "不能停用自己的账号", field="active")
    if user.active == active:
        state = "已启用" if active else "已停用"
        raise Conflict("users.active_unchanged", f"用户 {user.username} {state}", field="active")
    kind = "user.enabled" if active else "user.disabled"
    body = {"node_id": node_id, "username": user.username}
    return node.append(session, user_subject(node_id, user.username), kind, body)


def change_role(
    session: Session,
    node: ThisNode,
    actor: Actor,
    *,
    node_id: str,
    username: str,
    role: str | Role,
    department: str | None = None,
    head: bool = False,
) -> SignedEvent:
    """Give a user another role (and department) that fits their node's tier, and say
    whether they head their organ."""
    require_role(actor, Role.COUNTY_ADMIN)
    _require_root(node)
    user = _get_user(session, node_id, username)
    if actor.node_id == node_id and actor.username == user.username:
        # Otherwise the last administrator could lock everybody out of user management.
        raise Forbidden("users.role_self", "不能修改自己的角色", field="role")
    parsed = _parse_role(role)
    department = _check_role_fits(session, node_id, parsed, department)
    _check_head(parsed, head)
    if user.role == parsed.value and user.department == department and user.head == head:
        raise Conflict("users.role_unchanged", "角色、部门和负责人身份都没有变化", field="role")
    body = {
        "node_id": node_id,
        "username": user.username,
        "role": parsed.value,
        "department": department,
        "head": head,
    }
    return node.append(session, user_subject(node_id, user.username), "user.role_changed", body)


def _check_head(role: Role, head: bool) -> None:
    if head and role.value not in HEAD_ROLES:
        raise DomainError(
            "users.head_role",
            "只有部门审批人员或乡镇审批人员可以是本机关负责人",
            field="head",
        )


def list_users(session: Session, node_id: str | None = None) -> list[User]:
    query = select(User).order_by(col(User.node_id), col(User.username))
    if node_id is not None:
        query = query.where(col(User.node_id) == node_id)
    return list(session.execute(query).scalars())


def get_user(session: Session, node_id: str, username: str) -> User:
    return _get_user(session, node_id, username)


# --- authentication (local to this node) -------------------------------------------

MAX_FAILURES = 5  # wrong passwords for one name before any wait
MAX_LOGIN_DELAY = 60  # seconds: the longest a name's owner ever waits
STREAK_RESET = timedelta(minutes=15)  # a failure this old no longer counts
TOKEN_PREFIX = "ot_"
# Recording every use would turn each read into a write; a minute is precise enough.
LAST_USED_RESOLUTION = timedelta(minutes=1)


class LoginLocked(Unauthorised):
    """Too many wrong passwords just now: wait ``retry_after`` seconds (429)."""

    status_code = 429

    def __init__(self, retry_after: float) -> None:
        super().__init__(
            "auth.throttled",
            f"登录失败次数较多，请{int(retry_after) + 1}秒后再试",
            field="username",
        )
        self.retry_after = retry_after


def _invalid_login() -> Unauthorised:
    # One answer for unknown user and wrong password: names are not to be probed.
    return Unauthorised("auth.invalid", "用户名或密码不正确", field="password")


def _login_delay(failures: int) -> float:
    """Seconds to wait after ``failures`` wrong passwords: none for the first few, then
    doubling up to a minute — a guesser crawls, the owner is never locked out."""
    if failures < MAX_FAILURES:
        return 0.0
    return float(min(MAX_LOGIN_DELAY, 2 ** (failures - MAX_FAILURES + 1)))


def _record_failure(session: Session, node_id: str, name: str, now: datetime) -> Unauthorised:
    """Count a failed login; returns the error to raise (a wait once the limit is hit)."""
    failure = session.get(LoginFailure, (node_id, name))
    if failure is None:
        failure = LoginFailure(node_id=node_id, username=name, failures=0)
    last = failure.last_failure_at
    if last is not None and now - last >= STREAK_RESET:
        failure.failures = 0  # an old streak starts over
    failure.failures += 1
    failure.last_failure_at = now
    delay = _login_delay(failure.failures)
    failure.locked_until = now + timedelta(seconds=delay) if delay else None
    session.add(failure)
    session.flush()
    return LoginLocked(delay) if delay else _invalid_login()


def authenticate_password(
    session: Session, node_id: str, username: str, password: str, *, node: ThisNode | None = None
) -> Actor:
    """Check a user of node ``node_id`` by password.

    A refusal has written the failure count into ``session``: the caller commits it
    even though this raises, or the slowdown would never start. With ``node`` given
    and being the root, an outdated hash is replaced by a stronger one (an event).
    """
    name = username.strip().lower()[:64]
    now = utcnow()
    failure = session.get(LoginFailure, (node_id, name))
    locked_until = failure.locked_until if failure is not None else None
    if locked_until is not None and locked_until > now:
        raise LoginLocked((locked_until - now).total_seconds())
    user = session.get(User, (node_id, name))
    if user is None:
        burn_verify_time(password)
        raise _record_failure(session, node_id, name, now)
    check = verify_password(password, user.password_hash)
    if not check.ok:
        raise _record_failure(session, node_id, name, now)
    if failure is not None:
        session.delete(failure)  # a good login ends the streak
    if not user.active:
        raise Unauthorised("auth.disabled", "该账号已停用，请联系县管理员", field="username")
    if check.new_hash and node is not None and node.is_root:
        body = {
            "node_id": node_id,
            "username": name,
            "password_hash": check.new_hash,
            "rehash": True,
        }
        node.append(session, user_subject(node_id, name), "user.password_changed", body)
    return _actor_of(user)


def _actor_of(user: User) -> Actor:
    return Actor(
        username=user.username,
        node_id=user.node_id,
        role=Role(user.role),
        department=user.department,
        head=user.head,
    )


def _token_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def issue_api_token(
    session: Session, node_id: str, username: str, label: str = "", ttl_days: int | None = None
) -> str:
    """A new bearer token for a user of this node; returned once, only its hash is kept."""
    user = _get_user(session, node_id, username)
    if not user.active:
        raise Forbidden("auth.disabled", "该账号已停用，请联系县管理员", field="username")
    if ttl_days is not None and ttl_days < 1:
        raise DomainError("auth.ttl", "令牌有效期至少为1天", field="ttl_days")
    secret = secrets.token_urlsafe(32)
    now = utcnow()
    session.add(
        ApiToken(
            token_hash=_token_hash(secret),
            node_id=node_id,
            username=user.username,
            label=unicodedata.normalize("NFC", label.strip())[:100],
            password_version=user.password_version,
            created_at=now,
            expires_at=now + timedelta(days=ttl_days) if ttl_days else None,
        )
    )
    session.flush()
    return TOKEN_PREFIX + secret


def _find_token(session: Session, node_id: str, token: str) -> ApiToken:
    invalid = Unauthorised("auth.token_invalid", "访问令牌无效，请重新登录", field="Authorization")
    if not token.startswith(TOKEN_PREFIX):
        raise invalid
    record = session.get(ApiToken, _token_hash(token[len(TOKEN_PREFIX) :]))
    if record is None or record.node_id != node_id or record.revoked_at is not None:
        raise invalid
    return record


def actor_for_token(session: Session, node_id: str, token: str) -> Actor:
    """The user a bearer token stands for, on this node; refuses revoked, expired,
    superseded (password changed since) and disabled users' tokens."""
    record = _find_token(session, node_id, token)
    now = utcnow()
    expires = record.expires_at
    if expires is not None and expires <= now:
        raise Unauthorised(
            "auth.token_expired", "访问令牌已过期，请重新登录", field="Authorization"
        )
    user = session.get(User, (node_id, record.username))
    if user is None or user.password_version != record.password_version:
        raise Unauthorised("auth.token_invalid", "访问令牌无效，请重新登录", field="Authorization")
    if not user.active:
        raise Unauthorised("auth.disabled", "该账号已停用，请联系县管理员", field="username")
    last = record.last_used_at
    if last is None or now - last >= LAST_USED_RESOLUTION:
        record.last_used_at = now
        session.add(record)
        session.flush()
    return _actor_of(user)


def revoke_api_token(session: Session, node_id: str, token: str) -> None:
    """Log out: the token stops working at once."""
    record = _find_token(session, node_id, token)
    record.revoked_at = utcnow()
    session.add(record)
    session.flush()
