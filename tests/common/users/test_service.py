"""User action functions, logins and API tokens, on a real root node."""

from __future__ import annotations

from datetime import timedelta

import pytest
from onetrip_testing import ADMIN_PASSWORD, COUNTY_ID, TOWNSHIP_ID, VILLAGE_ID
from sqlalchemy import select, update

from common.db import transaction
from common.errors import Conflict, DomainError, Forbidden, NotFound, Unauthorised
from common.ledger.envelope import parse_event
from common.ledger.models import Event
from common.ledger.projection import apply_event, clear_projections, iter_events, snapshot
from common.timeutil import utcnow
from common.users import service
from common.users.models import ApiToken, LoginFailure, User
from common.users.roles import Actor, Role
from common.users.service import MAX_LOGIN_DELAY, _login_delay

AGENT_PASSWORD = "cunmin-2026"  # as the conftest fixtures set them
CLERK_PASSWORD = "chuangkou-2026"


def _user(node, node_id, username) -> User:
    with transaction(node.engine) as session:
        return service.get_user(session, node_id, username)


def _login(node, node_id, username, password) -> Actor:
    with transaction(node.engine) as session:
        return service.authenticate_password(session, node_id, username, password, node=node)


def _failed_login(node, node_id, username, password) -> Unauthorised:
    """A refused login; its failure count is committed, as the router does."""
    with transaction(node.engine) as session, pytest.raises(Unauthorised) as caught:
        service.authenticate_password(session, node_id, username, password, node=node)
    return caught.value


def _issue(node, username, ttl_days=None) -> str:
    with transaction(node.engine) as session:
        return service.issue_api_token(session, node.node_id, username, "测试", ttl_days)


def _actor(node, token) -> Actor:
    with transaction(node.engine) as session:
        return service.actor_for_token(session, node.node_id, token)


# --- provisioning -------------------------------------------------------------------


def test_root_admin_exists_after_init(root_node) -> None:
    admin = _user(root_node, COUNTY_ID, "admin")
    assert admin.role == Role.COUNTY_ADMIN and admin.active
    assert admin.password_hash.startswith("$argon2id$")


def test_provision_stores_an_argon2_hash_never_the_password(root_node, village_agent) -> None:
    user = _user(root_node, VILLAGE_ID, "agent")
    assert (user.role, user.display_name, user.department, user.version) == (
        "village_agent",
        "李村代",
        None,
        1,
    )
    assert user.password_hash.startswith("$argon2id$")
    with transaction(root_node.engine) as session:
        raws = (
            session.execute(select(Event.raw).where(Event.subject == f"user:{VILLAGE_ID}:agent"))
            .scalars()
            .all()
        )
    assert len(raws) == 1
    assert AGENT_PASSWORD.encode() not in raws[0]
    assert parse_event(root_node.network_id, raws[0]).kind == "user.provisioned"


def test_username_is_normalised_and_checked(root_node, admin, provision) -> None:
    provision(
        root_node,
        admin,
        node_id=COUNTY_ID,
        username="  Zhang.San ",
        display_name="张三",
        role=Role.AUDITOR,
        password="shenji-2026",
    )
    assert _user(root_node, COUNTY_ID, "zhang.san").role == "auditor"
    for bad in ("ab", "张三丰", "has space", "x" * 33):
        with pytest.raises(DomainError) as caught:
            provision(
                root_node,
                admin,
                node_id=COUNTY_ID,
                username=bad,
                display_name="某人",
                role=Role.AUDITOR,
                password="shenji-2026",
            )
        assert (caught.value.code, caught.value.field) == ("users.username_format", "username")


def test_duplicate_username_on_the_same_node_is_a_conflict(
    root_node, village_agent, admin, provision
) -> None:
    with pytest.raises(Conflict) as caught:
        provision(
            root_node,
            admin,
            node_id=VILLAGE_ID,
            username="agent",
            display_name="另一人",
            role=Role.VILLAGE_AGENT,
            password="another-2026",
        )
    assert caught.value.code == "users.exists"


@pytest.mark.parametrize(
    ("node_id", "role"),
    [
        (COUNTY_ID, Role.VILLAGE_AGENT),
        (TOWNSHIP_ID, Role.VILLAGE_AGENT),
        (VILLAGE_ID, Role.COUNTY_WINDOW_CLERK),
        (VILLAGE_ID, Role.TOWNSHIP_CLERK),
        (COUNTY_ID, Role.TOWNSHIP_APPROVER),
        (VILLAGE_ID, Role.AUDITOR),
        (TOWNSHIP_ID, Role.COUNTY_ADMIN),
    ],
)
def test_role_must_fit_the_node_tier(root_node, tree, admin, node_id, role, provision) -> None:
    with pytest.raises(DomainError) as caught:
        provision(
            root_node,
            admin,
            node_id=node_id,
            username="someone",
            display_name="某人",
            role=role,
            password="somebody-2026",
        )
    assert (caught.value.code, caught.value.field) == ("users.role_tier", "role")


def test_department_reviewer_needs_a_department(root_node, admin, provision) -> None:
    fields = {
        "node_id": COUNTY_ID,
        "username": "reviewer",
        "display_name": "赵审批",
        "role": Role.DEPARTMENT_REVIEWER,
        "password": "shenpi-2026",
    }
    for missing in (None, "  "):
        with pytest.raises(DomainError) as caught:
            provision(root_node, admin, department=missing, **fields)
        assert caught.value.field == "department"
    provision(root_node, admin, department="县市场监督管理局", **fields)
    assert _user(root_node, COUNTY_ID, "reviewer").department == "县市场监督管理局"


def test_department_is_only_for_reviewers(root_node, admin, provision) -> None:
    with pytest.raises(DomainError) as caught:
        provision(
            root_node,
            admin,
            node_id=COUNTY_ID,
            username="clerk2",
            display_name="某人",
            role=Role.COUNTY_WINDOW_CLERK,
            department="县民政局",
            password="chuangkou-2026",
        )
    assert caught.value.code == "users.department_unexpected"


def test_target_node_must_be_registered(root_node, admin, provision) -> None:
    with pytest.raises(NotFound) as caught:
        provision(
            root_node,
            admin,
            node_id="430424199299",
            username="ghost",
            display_name="某人",
            role=Role.VILLAGE_AGENT,
            password="ghost-2026x",
        )
    assert caught.value.field == "node_id"


def test_weak_password_refused_and_nothing_written(root_node, admin, provision) -> None:
    with pytest.raises(DomainError) as caught:
        provision(
            root_node,
            admin,
            node_id=COUNTY_ID,
            username="weak",
            display_name="某人",
            role=Role.AUDITOR,
            password="12345678",
        )
    assert caught.value.field == "password"
    with transaction(root_node.engine) as session:
        assert session.get(User, (COUNTY_ID, "weak")) is None
        assert (
            session.execute(
                select(Event.id).where(Event.subject == f"user:{COUNTY_ID}:weak")
            ).first()
            is None
        )


def test_only_the_root_writes_user_records(township_node, admin, provision) -> None:
    township_admin = Actor(username="admin", node_id=TOWNSHIP_ID, role=Role.COUNTY_ADMIN)
    with pytest.raises(Forbidden) as caught:
        provision(
            township_node,
            township_admin,
            node_id=VILLAGE_ID,
            username="agent2",
            display_name="某人",
            role=Role.VILLAGE_AGENT,
            password="cunmin-2026",
        )
    assert caught.value.code == "users.not_root"


# --- changes ------------------------------------------------------------------------


def test_admin_resets_a_password_and_old_tokens_stop_working(root_node, clerk, admin) -> None:
    token = _issue(root_node, "clerk")
    with transaction(root_node.engine) as session:
        service.change_password(
            session,
            root_node,
            admin,
            node_id=COUNTY_ID,
            username="clerk",
            password="new-chuangkou-1",
        )
    with pytest.raises(Unauthorised) as caught:
        _actor(root_node, token)
    assert caught.value.code == "auth.token_invalid"
    assert _login(root_node, COUNTY_ID, "clerk", "new-chuangkou-1").role == Role.COUNTY_WINDOW_CLERK
    assert _failed_login(root_node, COUNTY_ID, "clerk", CLERK_PASSWORD).code == "auth.invalid"


def test_users_change_their_own_password_with_the_current_one(root_node, clerk) -> None:
    me = _login(root_node, COUNTY_ID, "clerk", CLERK_PASSWORD)
    with pytest.raises(DomainError) as caught, transaction(root_node.engine) as session:
        service.change_password(
            session,
            root_node,
            me,
            node_id=COUNTY_ID,
            username="clerk",
            password="new-chuangkou-1",
            current_password="wrong-guess",
        )
    assert caught.value.field == "current_password"
    with pytest.raises(DomainError) as caught, transaction(root_node.engine) as session:
        service.change_password(
            session,
            root_node,
            me,
            node_id=COUNTY_ID,
            username="clerk",
            password=CLERK_PASSWORD,
            current_password=CLERK_PASSWORD,
        )
    assert caught.value.code == "password.unchanged"
    with transaction(root_node.engine) as session:
        service.change_password(
            session,
            root_node,
            me,
            node_id=COUNTY_ID,
            username="clerk",
            password="new-chuangkou-1",
            current_password=CLERK_PASSWORD,
        )
    assert _login(root_node, COUNTY_ID, "clerk", "new-chuangkou-1").username == "clerk"


def test_change_role_checks_tier_department_and_self(root_node, clerk, admin) -> None:
    with transaction(root_node.engine) as session:
        service.change_role(
            session,
            root_node,
            admin,
            node_id=COUNTY_ID,
            username="clerk",
            role=Role.DEPARTMENT_REVIEWER,
            department="县民政局",
        )
    user = _user(root_node, COUNTY_ID, "clerk")
    assert (user.role, user.department, user.version) == ("department_reviewer", "县民政局", 2)
    assert _login(root_node, COUNTY_ID, "clerk", CLERK_PASSWORD).department == "县民政局"
    for role, department, error in (
        (Role.VILLAGE_AGENT, None, DomainError),
        (Role.DEPARTMENT_REVIEWER, "县民政局", Conflict),
    ):
        with pytest.raises(error), transaction(root_node.engine) as session:
            service.change_role(
                session,
                root_node,
                admin,
                node_id=COUNTY_ID,
                username="clerk",
                role=role,
                department=department,
            )
    with pytest.raises(Forbidden) as caught, transaction(root_node.engine) as session:
        service.change_role(
            session, root_node, admin, node_id=COUNTY_ID, username="admin", role=Role.AUDITOR
        )
    assert caught.value.code == "users.role_self"


def test_disable_and_enable(root_node, clerk, admin) -> None:
    token = _issue(root_node, "clerk")
    with transaction(root_node.engine) as session:
        service.set_user_active(
            session, root_node, admin, node_id=COUNTY_ID, username="clerk", active=False
        )
    assert _failed_login(root_node, COUNTY_ID, "clerk", CLERK_PASSWORD).code == "auth.disabled"
    with pytest.raises(Unauthorised) as caught:
        _actor(root_node, token)
    assert caught.value.code == "auth.disabled"
    with pytest.raises(Conflict), transaction(root_node.engine) as session:
        service.set_user_active(
            session, root_node, admin, node_id=COUNTY_ID, username="clerk", active=False
        )
    with transaction(root_node.engine) as session:
        service.set_user_active(
            session, root_node, admin, node_id=COUNTY_ID, username="clerk", active=True
        )
    assert _actor(root_node, token).username == "clerk"  # not revoked, only suspended
    with pytest.raises(Forbidden), transaction(root_node.engine) as session:
        service.set_user_active(
            session, root_node, admin, node_id=COUNTY_ID, username="admin", active=False
        )


def test_users_table_is_rebuilt_identically_from_the_ledger(
    root_node, village_agent, clerk, admin
) -> None:
    with transaction(root_node.engine) as session:
        service.change_role(
            session, root_node, admin, node_id=COUNTY_ID, username="clerk", role=Role.AUDITOR
        )
        service.set_user_active(
            session, root_node, admin, node_id=VILLAGE_ID, username="agent", active=False
        )
        service.change_password(
            session, root_node, admin, node_id=VILLAGE_ID, username="agent", password="cunmin-2027"
        )
    with transaction(root_node.engine) as session:
        before = snapshot(session)["users"]
        clear_projections(session)
        for raw in list(iter_events(session)):
            apply_event(session, parse_event(root_node.network_id, raw))
        assert snapshot(session)["users"] == before


# --- logging in ---------------------------------------------------------------------


def test_login_gives_the_actor(root_node) -> None:
    actor = _login(root_node, COUNTY_ID, " Admin ", ADMIN_PASSWORD)
    assert actor == Actor(username="admin", node_id=COUNTY_ID, role=Role.COUNTY_ADMIN)


def test_unknown_user_and_wrong_password_answer_the_same(root_node) -> None:
    wrong = _failed_login(root_node, COUNTY_ID, "admin", "not-the-password")
    unknown = _failed_login(root_node, COUNTY_ID, "nobody", "not-the-password")
    assert wrong.as_dict() == unknown.as_dict()
    assert (wrong.code, wrong.status_code) == ("auth.invalid", 401)


def test_users_of_another_node_cannot_log_in_here(root_node, village_agent) -> None:
    assert _failed_login(root_node, COUNTY_ID, "agent", AGENT_PASSWORD).code == "auth.invalid"
    # The record itself is fine: on its own node (here, the same database) it works.
    assert _login(root_node, VILLAGE_ID, "agent", AGENT_PASSWORD).role == Role.VILLAGE_AGENT


def test_five_failures_slow_the_name_never_locking_it(root_node) -> None:
    codes = [_failed_login(root_node, COUNTY_ID, "admin", f"wrong-{i}").code for i in range(5)]
    assert codes == ["auth.invalid"] * 4 + ["auth.throttled"]
    slowed = _failed_login(root_node, COUNTY_ID, "admin", ADMIN_PASSWORD)
    assert (slowed.code, slowed.status_code) == ("auth.throttled", 429)
    assert 0 < slowed.retry_after <= 2
    with transaction(root_node.engine) as session:
        failure = session.get(LoginFailure, (COUNTY_ID, "admin"))
        assert failure is not None and failure.failures == 5
        # The two seconds pass.
        past = utcnow() - timedelta(seconds=3)
        session.execute(
            update(LoginFailure).values(
                locked_until=past + timedelta(seconds=2), last_failure_at=past
            )
        )
    assert _login(root_node, COUNTY_ID, "admin", ADMIN_PASSWORD).username == "admin"
    with transaction(root_node.engine) as session:
        assert session.get(LoginFailure, (COUNTY_ID, "admin")) is None


def test_the_wait_doubles_up_to_a_minute() -> None:
    waits = [_login_delay(n) for n in range(1, 14)]
    assert waits[:4] == [0, 0, 0, 0]
    assert waits[4:] == [2, 4, 8, 16, 32, MAX_LOGIN_DELAY, MAX_LOGIN_DELAY, MAX_LOGIN_DELAY, 60]


def test_unknown_names_slow_too_so_waits_reveal_nothing(root_node) -> None:
    codes = [_failed_login(root_node, COUNTY_ID, "nobody", "wrong-guess").code for _ in range(5)]
    assert codes[-1] == "auth.throttled"


def test_a_good_login_resets_the_count(root_node) -> None:
    for _ in range(4):
        _failed_login(root_node, COUNTY_ID, "admin", "wrong-guess")
    _login(root_node, COUNTY_ID, "admin", ADMIN_PASSWORD)
    assert _failed_login(root_node, COUNTY_ID, "admin", "wrong-guess").code == "auth.invalid"


def test_outdated_hash_is_upgraded_at_the_root_keeping_tokens(root_node, clerk) -> None:
    from pwdlib.hashers.argon2 import Argon2Hasher

    weak = Argon2Hasher(time_cost=1, memory_cost=8 * 1024).hash(CLERK_PASSWORD)
    with transaction(root_node.engine) as session:
        session.execute(update(User).where(User.username == "clerk").values(password_hash=weak))
    token = _issue(root_node, "clerk")
    _login(root_node, COUNTY_ID, "clerk", CLERK_PASSWORD)
    user = _user(root_node, COUNTY_ID, "clerk")
    assert user.password_hash != weak and user.version == 2 and user.password_version == 1
    assert _actor(root_node, token).username == "clerk"


# --- API tokens ---------------------------------------------------------------------


def test_token_is_returned_once_and_only_its_hash_is_kept(root_node) -> None:
    token = _issue(root_node, "admin")
    assert token.startswith("ot_") and len(token) > 40
    with transaction(root_node.engine) as session:
        rows = session.execute(select(ApiToken)).scalars().all()
    assert all(token[3:] not in repr(row.model_dump()) for row in rows)
    actor = _actor(root_node, token)
    assert (actor.username, actor.role) == ("admin", Role.COUNTY_ADMIN)
    with transaction(root_node.engine) as session:
        assert session.execute(select(ApiToken.last_used_at)).scalar() is not None


def test_revoked_token_is_refused(root_node) -> None:
    token = _issue(root_node, "admin")
    with transaction(root_node.engine) as session:
        service.revoke_api_token(session, COUNTY_ID, token)
    with pytest.raises(Unauthorised) as caught:
        _actor(root_node, token)
    assert caught.value.code == "auth.token_invalid"


def test_expired_token_is_refused(root_node) -> None:
    token = _issue(root_node, "admin", ttl_days=1)
    assert _actor(root_node, token).username == "admin"
    with transaction(root_node.engine) as session:
        session.execute(update(ApiToken).values(expires_at=utcnow() - timedelta(seconds=1)))
    with pytest.raises(Unauthorised) as caught:
        _actor(root_node, token)
    assert caught.value.code == "auth.token_expired"


def test_token_of_another_node_or_garbage_is_refused(root_node) -> None:
    token = _issue(root_node, "admin")
    for node_id, presented in (
        (TOWNSHIP_ID, token),
        (COUNTY_ID, "ot_garbage"),
        (COUNTY_ID, token[3:]),
    ):
        with pytest.raises(Unauthorised) as caught, transaction(root_node.engine) as session:
            service.actor_for_token(session, node_id, presented)
        assert caught.value.code == "auth.token_invalid"


def test_tokens_only_for_existing_active_users(root_node, clerk, admin) -> None:
    with pytest.raises(NotFound), transaction(root_node.engine) as session:
        service.issue_api_token(session, COUNTY_ID, "nobody", "x")
    with transaction(root_node.engine) as session:
        service.set_user_active(
            session, root_node, admin, node_id=COUNTY_ID, username="clerk", active=False
        )
    with pytest.raises(Forbidden), transaction(root_node.engine) as session:
        service.issue_api_token(session, COUNTY_ID, "clerk", "x")


def test_list_users_by_node(root_node, village_agent, clerk) -> None:
    with transaction(root_node.engine) as session:
        everyone = [(u.node_id, u.username) for u in service.list_users(session)]
        village = [u.username for u in service.list_users(session, VILLAGE_ID)]
    assert everyone == [(COUNTY_ID, "admin"), (COUNTY_ID, "clerk"), (VILLAGE_ID, "agent")]
    assert village == ["agent"]


def test_one_address_guessing_many_names_is_slowed_too() -> None:
    from common.users.login_guard import PER_ADDRESS_CAP, SPRAY_FREE, LoginGuard
    from common.users.service import LoginLocked

    now = [0.0]
    guard = LoginGuard(lambda: now[0])
    for n in range(SPRAY_FREE + 1):  # a different name each time
        guard.admit("10.0.0.9", f"user{n}")
        guard.wrong("10.0.0.9", f"user{n}")
    with pytest.raises(LoginLocked) as slowed:
        guard.admit("10.0.0.9", "user999")
    assert 0 < slowed.value.retry_after <= PER_ADDRESS_CAP
    guard.admit("10.0.0.10", "user1")  # another address, the owner of user1, is not slowed
