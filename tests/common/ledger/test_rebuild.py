"""A long random history, then ``rebuild`` gives identical tables and ``verify`` passes.

Hypothesis draws sequences of legal and illegal actions of every kind the node has:
catalogue publications and withdrawals, users provisioned and their passwords changed,
calendar years, registry additions and revocations, and cases filed, noticed,
supplemented, accepted, refused, withdrawn, reviewed, decided and delivered. Each move
is one transaction, as a request is. The test knows which moves are legal: an illegal
one must be refused with a DomainError and leave every table and the ledger as they
were; a legal one must go through. Each example starts from a copy of the history
template, so examples are independent and replayable.
"""

from __future__ import annotations

import itertools
import shutil
import uuid
from collections.abc import Callable
from datetime import date
from typing import Any

import pytest
from case_fixtures import FOOD_LICENCE, SOLE_TRADER
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import HealthCheck, Phase, event, example, given, settings
from hypothesis import strategies as st
from onetrip_testing import COUNTY_ID, TOWNSHIP_ID, VILLAGE_ID
from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher
from sqlalchemy import func, select
from sqlmodel import Session

import common.users.passwords
from common.calendar import YearSchedule
from common.calendar.service import import_year_schedule
from common.catalog.models import PublishedMatter
from common.catalog.sample import load_sample_matters
from common.catalog.service import import_drafts, publish_batch, withdraw_matter
from common.db import transaction
from common.errors import DomainError
from common.identity.keys import NodeKey
from common.identity.models import RegistryNode
from common.identity.service import accept_enrolment, invite_node, revoke_node
from common.ledger.models import Event
from common.ledger.projection import snapshot
from common.ledger.rebuild import rebuild_projections
from common.ledger.verify import verify_node
from common.node import ThisNode
from common.users.models import User
from common.users.roles import Actor, Role
from common.users.service import change_password, provision_user

pytestmark = pytest.mark.sqlite_only  # examples start from copies of the SQLite history template

MATTERS, _ = load_sample_matters()
ADMIN = Actor(username="admin", node_id=COUNTY_ID, role=Role.COUNTY_ADMIN)
AUDITOR = Actor(username="auditor2", node_id=COUNTY_ID, role=Role.AUDITOR)
USERS = ("suiji1", "suiji2", "suiji3")
TIER_ROLE = {
    COUNTY_ID: Role.AUDITOR,
    TOWNSHIP_ID: Role.TOWNSHIP_CLERK,
    VILLAGE_ID: Role.VILLAGE_AGENT,
}
GOOD_PASSWORDS = ("Xinmima-2027!", "Xinmima-2028!")
BAD_PASSWORD = "12345678"  # all digits: refused by the policy
NEW_VILLAGES = ("430424100203", "430424100204")
UNKNOWN_CODE = "11430424MB1C5953154999999999999"
MATTER_INDEX = st.integers(0, len(MATTERS) - 1)
MATTER_OF = {matter.implementation_code: index for index, matter in enumerate(MATTERS)}
CASE_INDEX = st.integers(0, 3)

ADMIN_MOVES = st.one_of(
    st.tuples(
        st.just("publish"),
        st.lists(MATTER_INDEX, min_size=1, max_size=3, unique=True),
        st.booleans(),
    ),
    st.tuples(st.just("publish_unknown")),
    st.tuples(st.just("withdraw"), MATTER_INDEX),
    st.tuples(
        st.just("provision"),
        st.sampled_from(USERS),
        st.sampled_from(sorted(TIER_ROLE)),
        st.booleans(),
    ),
    st.tuples(
        st.just("password"),
        st.sampled_from(USERS),
        st.sampled_from(sorted(TIER_ROLE)),
        st.sampled_from((*GOOD_PASSWORDS, BAD_PASSWORD)),
    ),
    st.tuples(st.just("calendar"), st.sampled_from((2027, 2028)), st.integers(0, 2)),
    st.tuples(st.just("register"), st.sampled_from(NEW_VILLAGES)),
    st.tuples(st.just("revoke"), st.sampled_from((*NEW_VILLAGES, "430424100202", COUNTY_ID))),
    st.tuples(
        st.just("not_admin"), st.sampled_from(("publish", "provision", "revoke", "calendar"))
    ),
)
# A target case by index (modulo the cases filed so far), legal or not; "advance" takes
# the next legal step so that random runs also reach decisions and deliveries.
CASE_STEP = st.tuples(
    st.sampled_from(
        ("advance",) * 5
        + (
            "accept",
            "notice",
            "supplement",
            "refuse",
            "withdraw_case",
            "opinion",
            "decide",
            "deliver",
            "wrong_role",
        )
    ),
    CASE_INDEX,
    st.booleans(),
)
FILE = st.tuples(st.just("file"), st.booleans(), st.booleans())
# Weighted by hand (one_of would flatten and weigh every branch alike): 3 in 10 moves
# are administration, 2 filings, 5 steps on cases.
KINDS = {"admin": ADMIN_MOVES, "file": FILE, "step": CASE_STEP}
MOVES = st.sampled_from(("admin",) * 3 + ("file",) * 2 + ("step",) * 5).flatmap(KINDS.__getitem__)


class RandomHistory:
    """Plays moves against one node and knows which of them the rules allow."""

    def __init__(self, node: ThisNode, kit: Any) -> None:
        self.node = node
        self.kit = kit
        self.passwords: dict[tuple[str, str], str] = {}  # users made in this example
        self.calendar: dict[int, int | None] = {2027: None}  # year -> variant published here
        self.cases: list[dict[str, Any]] = []
        self.serial = itertools.count(1)
        self.pdf: str | None = None
        self.refused = 0
        self.current = ""

    # -- the harness -----------------------------------------------------------------

    def _read(self, query: Callable[[Session], Any]) -> Any:
        with transaction(self.node.engine) as session:
            return query(session)

    def _state(self) -> tuple[int, dict]:
        return self._read(
            lambda s: (s.execute(select(func.count()).select_from(Event)).scalar(), snapshot(s))
        )

    def attempt(self, legal: bool, work: Callable[[Session], Any]) -> bool:
        before = None if legal else self._state()  # a legal move that is refused fails anyway
        try:
            with transaction(self.node.engine) as session:
                work(session)
        except DomainError as exc:
            assert not legal, f"a legal move was refused: {exc.code} {exc.message}"
            assert self._state() == before, f"a refused move ({exc.code}) changed the node"
            self.refused += 1
            event(f"refused: {self.current}")
            return False
        assert legal, "an illegal move was accepted"
        event(f"done: {self.current}")
        return True

    def play(self, move: tuple) -> None:
        self.current = move[0]
        getattr(self, f"do_{move[0]}")(*move[1:])

    # -- catalogue -----------------------------------------------------------------------

    def do_publish(self, picks: list[int], renamed: bool) -> None:
        matters = [MATTERS[i] for i in picks]
        codes = [m.implementation_code for m in matters]
        rows = self._read(
            lambda s: {
                p.implementation_code: p.withdrawn
                for p in s.execute(
                    select(PublishedMatter).where(PublishedMatter.implementation_code.in_(codes))
                ).scalars()
            }
        )
        # A draft equals what was last published unless renamed in this very move.
        legal = renamed or all(code not in rows or rows[code] for code in codes)
        n = next(self.serial)

        def work(session: Session) -> None:
            if renamed:
                changed = [m.model_copy(update={"name": f"{m.name}（修订{n}）"}) for m in matters]
                import_drafts(session, self.node, ADMIN, changed)
            publish_batch(
                session,
                self.node,
                ADMIN,
                name=f"随机批次{n}",
                published_on=date(2027, 1, 4),
                codes=codes,
            )

        self.attempt(legal, work)

    def do_publish_unknown(self) -> None:
        self.attempt(
            False,
            lambda s: publish_batch(
                s,
                self.node,
                ADMIN,
                name="未知事项",
                published_on=date(2027, 1, 4),
                codes=[UNKNOWN_CODE],
            ),
        )

    def do_withdraw(self, pick: int) -> None:
        code = MATTERS[pick].implementation_code
        # Some sample matters are drafts that were never published: nothing to withdraw.
        published = self._read(
            lambda s: (row := s.get(PublishedMatter, code)) is not None and not row.withdrawn
        )
        self.attempt(published, lambda s: withdraw_matter(s, self.node, ADMIN, code, "随机撤销"))

    # -- users, calendar, registry --------------------------------------------------------

    def do_provision(self, username: str, node_id: str, good: bool) -> None:
        exists = self._read(lambda s: s.get(User, (node_id, username)) is not None)
        password = GOOD_PASSWORDS[0] if good else BAD_PASSWORD
        if self.attempt(
            good and not exists,
            lambda s: provision_user(
                s,
                self.node,
                ADMIN,
                node_id=node_id,
                username=username,
                display_name="随机用户",
                role=TIER_ROLE[node_id],
                password=password,
            ),
        ):
            self.passwords[(node_id, username)] = password

    def do_password(self, username: str, node_id: str, password: str) -> None:
        current = self.passwords.get((node_id, username))
        legal = current is not None and password != BAD_PASSWORD and password != current
        if self.attempt(
            legal,
            lambda s: change_password(
                s, self.node, ADMIN, node_id=node_id, username=username, password=password
            ),
        ):
            self.passwords[(node_id, username)] = password

    def do_calendar(self, year: int, variant: int) -> None:
        schedule = YearSchedule(
            year,
            holidays=(date(year, 1, 1), date(year, 10, 1 + variant)),
            workdays=(),
            source=f"随机安排{variant}",
        )
        if self.attempt(
            self.calendar.get(year, -1) != variant,
            lambda s: import_year_schedule(s, self.node, ADMIN, schedule, schedule.source),
        ):
            self.calendar[year] = variant

    def do_register(self, node_id: str) -> None:
        known = self._read(lambda s: s.get(RegistryNode, node_id) is not None)
        key = NodeKey(node_id=node_id, private_key=Ed25519PrivateKey.generate())

        def work(session: Session) -> None:
            invitation = invite_node(session, self.node, ADMIN, node_id, "随机村代办点")
            via = [] if invitation.parent_id == COUNTY_ID else [invitation.parent_id]
            accept_enrolment(
                session,
                self.node,
                node_id=node_id,
                public_key=key.public_b64,
                token=invitation.token,
                via=via,
            )

        self.attempt(not known, work)

    def do_revoke(self, node_id: str) -> None:
        entry = self._read(lambda s: s.get(RegistryNode, node_id))
        legal = entry is not None and entry.parent_id is not None and entry.revoked_version is None
        self.attempt(legal, lambda s: revoke_node(s, self.node, ADMIN, node_id, "随机注销"))

    def do_not_admin(self, what: str) -> None:
        clerk = self.kit.CLERK
        work = {
            "publish": lambda s: publish_batch(
                s,
                self.node,
                clerk,
                name="越权",
                published_on=date(2027, 1, 4),
                codes=[MATTERS[0].implementation_code],
            ),
            "provision": lambda s: provision_user(
                s,
                self.node,
                clerk,
                node_id=COUNTY_ID,
                username="yuequan",
                display_name="越权",
                role=Role.AUDITOR,
                password=GOOD_PASSWORDS[0],
            ),
            "revoke": lambda s: revoke_node(s, self.node, clerk, NEW_VILLAGES[0], "越权"),
            "calendar": lambda s: import_year_schedule(
                s, self.node, clerk, self.kit.SCHEDULE_2027, "越权"
            ),
        }[what]
        self.attempt(False, work)

    # -- cases -------------------------------------------------------------------------------

    def _materials(self, code: str) -> list[dict[str, Any]]:
        if self.pdf is None:
            self.pdf = self.kit.store_pdf(self.node)
        return self.kit.mandatory_materials(self.node, code, self.pdf)

    def do_file(self, food: bool, complete: bool) -> None:
        if not self.kit.intake_ready():
            return
        from common.cases.intake.service import file_case

        code = self.kit.FOOD_LICENCE if food else self.kit.SOLE_TRADER
        full = self._materials(code)
        given = full if complete else full[:1] if food else []
        # A random withdrawal may have taken the matter out of the catalogue (until it is
        # published again): filing against it is then refused.
        published = self._read(
            lambda s: (row := s.get(PublishedMatter, code)) is not None and not row.withdrawn
        )
        filed: list[str] = []
        if not self.attempt(
            published,
            lambda s: filed.append(
                file_case(
                    s,
                    self.node,
                    self.kit.CLERK,
                    matter_code=code,
                    applicant=self.kit.applicant(),
                    materials=given,
                ).case_no
            ),
        ):
            return
        self.cases.append(
            {
                "no": filed[0],
                "food": food,
                "state": "filed",
                "complete": given == full,
                "opinion": False,
                "full": full,
            }
        )

    def _case(self, index: int) -> dict[str, Any] | None:
        return self.cases[index % len(self.cases)] if self.cases else None

    def do_advance(self, index: int, flag: bool) -> None:
        """The next legal step of a case, so that random runs reach the later states."""
        case = self._case(index)
        if case is None:
            return
        state = case["state"]
        step = {"supplement": "supplement", "approved": "deliver", "rejected": "deliver"}.get(state)
        if state == "filed":
            step = "accept" if case["complete"] else "notice"
        elif state == "accepted":
            step = "opinion" if case["food"] and not case["opinion"] else "decide"
        if step is not None:
            self.current = f"advance to {step}"
            getattr(self, f"do_{step}")(index, flag)

    def do_accept(self, index: int, _flag: bool) -> None:
        from common.cases.intake.service import accept_case

        if (case := self._case(index)) is None:
            return
        if self.attempt(
            case["state"] == "filed" and case["complete"],
            lambda s: accept_case(s, self.node, self.kit.CLERK, case["no"]),
        ):
            case["state"] = "accepted"

    def do_notice(self, index: int, _flag: bool) -> None:
        from common.cases.intake.service import request_supplement
        from common.cases.models import CaseMaterial

        if (case := self._case(index)) is None:
            return
        names = self._read(
            lambda s: list(
                s.execute(
                    select(CaseMaterial.name).where(
                        CaseMaterial.case_no == case["no"], CaseMaterial.mandatory.is_(True)
                    )
                ).scalars()
            )
        )
        if self.attempt(
            case["state"] in ("filed", "supplement"),
            lambda s: request_supplement(s, self.node, self.kit.CLERK, case["no"], names),
        ):
            case["state"] = "supplement"

    def do_supplement(self, index: int, _flag: bool) -> None:
        from common.cases.intake.service import receive_supplement

        if (case := self._case(index)) is None:
            return
        if self.attempt(
            case["state"] == "supplement",
            lambda s: receive_supplement(s, self.node, self.kit.CLERK, case["no"], case["full"]),
        ):
            case.update(state="filed", complete=True)

    def do_refuse(self, index: int, _flag: bool) -> None:
        from common.cases.intake.service import refuse_case

        if (case := self._case(index)) is None:
            return
        if self.attempt(
            case["state"] in ("filed", "supplement"),
            lambda s: refuse_case(s, self.node, self.kit.CLERK, case["no"], "材料不符合法定形式"),
        ):
            case["state"] = "refused"

    def do_withdraw_case(self, index: int, _flag: bool) -> None:
        from common.cases.intake.service import withdraw_case

        if (case := self._case(index)) is None:
            return
        if self.attempt(
            case["state"] in ("filed", "supplement", "accepted"),
            lambda s: withdraw_case(s, self.node, self.kit.CLERK, case["no"], "申请人撤回"),
        ):
            case["state"] = "withdrawn"

    def do_opinion(self, index: int, _flag: bool) -> None:
        from common.cases.review.service import record_opinion

        if (case := self._case(index)) is None:
            return
        legal = case["state"] == "accepted" and case["food"] and not case["opinion"]
        if self.attempt(
            legal,
            lambda s: record_opinion(
                s, self.node, self.kit.REVIEWER, case["no"], f"{case['no']}/review/1", "agree", None
            ),
        ):
            case["opinion"] = True

    def do_decide(self, index: int, approve: bool) -> None:
        from common.cases.review.service import decide_case

        if (case := self._case(index)) is None:
            return
        actor = self.kit.REVIEWER if case["food"] else self.kit.CLERK
        legal = case["state"] == "accepted" and (case["opinion"] or not case["food"])
        decision, reason = ("approved", None) if approve else ("rejected", "不符合许可条件")
        if self.attempt(
            legal, lambda s: decide_case(s, self.node, actor, case["no"], decision, reason)
        ):
            case["state"] = decision

    def do_deliver(self, index: int, _flag: bool) -> None:
        from common.cases.intake.service import deliver_case

        if (case := self._case(index)) is None:
            return
        if self.attempt(
            case["state"] in ("approved", "rejected"),
            lambda s: deliver_case(
                s, self.node, self.kit.CLERK, case["no"], "courier", tracking_no="SF1234567890"
            ),
        ):
            case["state"] = "delivered"

    def do_wrong_role(self, index: int, _flag: bool) -> None:
        from common.cases.intake.service import accept_case

        if (case := self._case(index)) is None:
            return
        self.attempt(False, lambda s: accept_case(s, self.node, AUDITOR, case["no"]))


@pytest.fixture
def cheap_passwords(monkeypatch: pytest.MonkeyPatch) -> None:
    """Argon2 at its smallest cost: a random history hashes many passwords, and what is
    under test here is the ledger, not the hash parameters."""
    monkeypatch.setattr(
        common.users.passwords,
        "_hasher",
        PasswordHash((Argon2Hasher(time_cost=1, memory_cost=1024, parallelism=1),)),
    )


# No shrinking: a failing history is printed as drawn (shrinking one takes minutes).
@settings(
    max_examples=12,
    deadline=None,
    database=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(moves=st.lists(MOVES, min_size=10, max_size=30))
# Drawn once and failed: filing against a matter a random move had withdrawn (refused, as
# it should be; the model expected it to pass). Kept as a fixed example.
@example(
    moves=[
        ("withdraw", MATTER_OF[FOOD_LICENCE]),
        ("file", True, True),
        ("publish", [MATTER_OF[FOOD_LICENCE]], False),
        ("file", True, True),
        ("withdraw", MATTER_OF[SOLE_TRADER]),
        ("file", False, False),
        ("advance", 0, True),
    ]
)
def test_random_history_rebuilds_identically_and_verifies(
    moves, history_template, tmp_path, ledger_kit, cheap_passwords
):
    node = ledger_kit.copy_history(history_template, tmp_path / uuid.uuid4().hex)
    try:
        history = RandomHistory(node, ledger_kit)
        for move in moves:
            history.play(move)
        with transaction(node.engine) as session:
            report = verify_node(session, node)
            assert report.ok, report.summary()
            assert (
                report.events_checked
                == session.execute(select(func.count()).select_from(Event)).scalar()
            )
        with transaction(node.engine) as session:
            live = snapshot(session)
            rebuild_projections(session)
        with transaction(node.engine) as session:
            assert snapshot(session) == live
    finally:
        node.engine.dispose()
        shutil.rmtree(node.settings.data_dir, ignore_errors=True)
