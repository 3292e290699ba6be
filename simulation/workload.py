"""What people do on a simulated network (``simulation.network``), reproducibly.

Village agents file cases for residents: a village 即办件 (城乡居民基本养老保险参保登记)
that they accept, decide on the spot and deliver, or a county 即办件 with a licence
(个体工商户设立登记), filed with a scanned material and offered up to the county. County
window clerks accept what was handed to them, decide it and offer it back; sync takes
it home, where custody settles by itself, and the agent delivers it. The county
administrator meanwhile changes the catalogue and provisions users.

``Workload`` keeps the book of what was filed where, so tests and benchmarks can check
that every node ends up with exactly what it should. All randomness comes from one
seeded ``random.Random``.
"""

from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlmodel import Session

from common.cases.models import Case
from common.db import transaction
from common.node import ThisNode
from common.users.roles import Actor, Role
from simulation.network import Network, RoundReport, converge, link_waiting, sync_round

VILLAGE_MATTER = "54430424MEB423186J6002007001000"  # 城乡居民基本养老保险参保登记（村级即办件）
COUNTY_MATTER = "11430424MB1C5953154000119002001"  # 个体工商户设立登记（县级即办件，发证）
AGENT = "agent"
CLERK = "clerk"
DECIDED = ("approved", "rejected")


def resident_id(n: int) -> str:
    """A valid GB 11643 identity number (born 1960–1999 in 衡东县), one per ``n``."""
    first17 = f"430424{1960 + n % 40}{1 + n % 12:02d}{1 + n % 28:02d}{n % 1000:03d}"
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    total = sum(int(d) * w for d, w in zip(first17, weights, strict=True))
    return first17 + "10X98765432"[total % 11]


def applicant(n: int) -> dict[str, Any]:
    """Resident ``n`` as a filing names the applicant."""
    return {
        "kind": "person",
        "name": f"居民{n}",
        "id_number": resident_id(n),
        "phone": "13800000000",
    }


def scan(n: int) -> bytes:
    """A small PDF, different for every ``n`` (a scanned material)."""
    return b"%PDF-1.7\n%" + str(n).encode() + b"\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def agent_of(node_id: str) -> Actor:
    return Actor(username=AGENT, node_id=node_id, role=Role.VILLAGE_AGENT)


def clerk_of(node_id: str) -> Actor:
    return Actor(username=CLERK, node_id=node_id, role=Role.COUNTY_WINDOW_CLERK)


@dataclass
class Book:
    """What the workload did, to compare with what the nodes hold."""

    cases: dict[str, list[str]] = field(
        default_factory=lambda: defaultdict(list)
    )  # village -> case numbers
    kind: dict[str, str] = field(default_factory=dict)  # case number -> "village" | "county"
    delivered: set[str] = field(default_factory=set)
    decided_at: dict[str, str] = field(default_factory=dict)  # case number -> deciding node

    @property
    def all_cases(self) -> list[str]:
        return [c for numbers in self.cases.values() for c in numbers]


class Workload:
    """Seeded random work on ``network``; ``book`` records it."""

    def __init__(self, network: Network, seed: int = 0) -> None:
        self.network = network
        self.rng = random.Random(seed)
        self.book = Book()
        self._serial = 0
        self.villages = [n for n, node in network.nodes.items() if node.tier == "village"]
        self.counties = [n for n, node in network.nodes.items() if node.tier == "county"]
        self.deferred = 0  # (link, round) pairs that were down while something waited on them

    def _next(self) -> int:
        self._serial += 1
        return self._serial

    # -- at a village ---------------------------------------------------------------

    def file_village_case(self, village_id: str) -> str:
        """A village 即办件: filed, accepted, decided on the spot and delivered at once."""
        from common.cases.flows import settle_on_the_spot

        node, agent, n = self.network[village_id], agent_of(village_id), self._next()
        with transaction(node.engine) as session:
            case_no = _file(session, node, agent, n, VILLAGE_MATTER, "户口簿.pdf")
            settle_on_the_spot(
                session, node, agent, case_no, reason=None, deliver="agent", receiver=f"居民{n}"
            )
        self._record(village_id, case_no, "village")
        self.book.delivered.add(case_no)
        self.book.decided_at[case_no] = village_id
        return case_no

    def file_county_case(self, village_id: str) -> str:
        """A county matter: filed with its material at the village and offered upwards."""
        from common.cases.handoff.service import offer_handoff

        node, agent, n = self.network[village_id], agent_of(village_id), self._next()
        with transaction(node.engine) as session:
            case_no = _file(session, node, agent, n, COUNTY_MATTER, "身份证.pdf")
            offer_handoff(session, node, agent, case_no)
        self._record(village_id, case_no, "county")
        return case_no

    def _record(self, village_id: str, case_no: str, kind: str) -> None:
        self.book.cases[village_id].append(case_no)
        self.book.kind[case_no] = kind

    def deliver_results(self, village_id: str) -> list[str]:
        """The agent hands over every result that came home (custody settled on pull)."""
        from common.cases.intake.service import deliver_case

        node, agent = self.network[village_id], agent_of(village_id)
        with transaction(node.engine) as session:
            ready = (
                session.execute(
                    select(Case.case_no)
                    .where(
                        Case.origin_node == village_id,
                        Case.custodian == village_id,
                        Case.pending_offer_to.is_(None),
                        Case.state.in_(DECIDED),
                    )
                    .order_by(Case.case_no)
                )
                .scalars()
                .all()
            )
            done = []
            for case_no in ready:
                deliver_case(session, node, agent, case_no, "agent", receiver="本人")
                done.append(case_no)
        self.book.delivered.update(done)
        return done

    # -- at a county -------------------------------------------------------------------

    def work_county_inbox(self, county_id: str, share: float = 1.0) -> list[str]:
        """Window clerks take a share of the offers waiting here: accept the handoff and
        the case, decide it on the spot, and offer the result back to its village."""
        from common.cases.flows import decide_and_send_home
        from common.cases.handoff.service import accept_handoff, handoff_inbox
        from common.cases.intake.service import accept_case

        node, clerk = self.network[county_id], clerk_of(county_id)
        with transaction(node.engine) as session:
            waiting = [item["case_no"] for item in handoff_inbox(session, node)]
        chosen = [c for c in waiting if share >= 1.0 or self.rng.random() < share]
        for case_no in chosen:
            with transaction(node.engine) as session:
                accept_handoff(session, node, clerk, case_no)
                accept_case(session, node, clerk, case_no)
                decision = "approved" if self.rng.random() < 0.9 else "rejected"
                decide_and_send_home(
                    session,
                    node,
                    clerk,
                    case_no,
                    decision,
                    None if decision == "approved" else "申请材料与实际情况不符",
                )
            self.book.decided_at[case_no] = county_id
        return chosen

    # -- at the root -------------------------------------------------------------------------

    def change_catalogue(self, count: int = 10, withdraw: int = 1, seed: int = 1) -> None:
        """The administrator publishes a batch of new matters and withdraws some."""
        from common.catalog.schema import Matter
        from common.catalog.service import (
            import_drafts,
            list_published,
            publish_batch,
            withdraw_matter,
        )
        from simulation.synthetic import generate_synthetic_catalogue

        root = self.network.root
        system = Actor.node_system(root.node_id)
        matters = [Matter.model_validate(m) for m in generate_synthetic_catalogue(count, seed)]
        with transaction(root.engine) as session:
            import_drafts(session, root, system, matters)
            publish_batch(
                session,
                root,
                system,
                name=f"新增事项（模拟{seed}）",
                published_on=date.today(),
                codes=[m.implementation_code for m in matters],
            )
            keep = {VILLAGE_MATTER, COUNTY_MATTER}
            candidates = [
                m.implementation_code
                for m in list_published(session)
                if m.implementation_code not in keep and not m.withdrawn
            ]
            for code in self.rng.sample(candidates, min(withdraw, len(candidates))):
                withdraw_matter(session, root, system, code, "事项调整（模拟）")

    def provision(self, node_id: str, username: str, role: Role = Role.VILLAGE_AGENT) -> None:
        """A user for ``node_id`` (one password hash each: provision few)."""
        from common.users.service import provision_user

        root = self.network.root
        with transaction(root.engine) as session:
            provision_user(
                session,
                root,
                Actor.node_system(root.node_id),
                node_id=node_id,
                username=username,
                display_name=f"模拟用户{username}",
                role=role,
                password="Simulation-user-2026!",
            )

    # -- rounds -----------------------------------------------------------------------------

    def day(
        self, village_ids: list[str] | None = None, cases: int = 1, inbox_share: float = 0.2
    ) -> None:
        """Local work, no sync: each chosen village files ``cases`` cases (one in five a
        county matter) and delivers what came home; the counties work ``inbox_share`` of
        the offers waiting for them."""
        for village_id in village_ids if village_ids is not None else self.villages:
            for _ in range(cases):
                if self.rng.random() < 0.2:
                    self.file_county_case(village_id)
                else:
                    self.file_village_case(village_id)
            self.deliver_results(village_id)
        if inbox_share > 0:
            for county_id in self.counties:
                self.work_county_inbox(county_id, inbox_share)

    def run(
        self, days: int, *, active: float = 0.3, down_rate: float = 0.2, busy_only: bool = True
    ) -> list[RoundReport]:
        """``days`` rounds: a random share of villages works, then one sync round with a
        random set of links down (villages and townships). Links that are down keep
        their outboxes: nothing is lost, it waits. ``busy_only`` skips the links with
        nothing to move (see ``sync_round``)."""
        reports = []
        children = [n for n in self.network.nodes if self.network.parent[n] is not None]
        for _ in range(days):
            working = [v for v in self.villages if self.rng.random() < active]
            self.day(working, cases=self.rng.randint(1, 2))
            down = {n for n in children if self.rng.random() < down_rate}
            self.deferred += sum(1 for n in down if link_waiting(self.network, n))
            reports.append(sync_round(self.network, down=down, busy_only=busy_only))
        return reports

    def finish(self, max_rounds: int = 12) -> int:
        """Links back up: everything offered is decided and comes home, and is delivered."""
        rounds = converge(self.network, max_rounds=max_rounds)
        for county_id in self.counties:
            self.work_county_inbox(county_id, 1.0)
        rounds += converge(self.network, max_rounds=max_rounds)
        for village_id in self.villages:
            self.deliver_results(village_id)
        return rounds + converge(self.network, max_rounds=max_rounds)


def _file(
    session: Session, node: ThisNode, agent: Actor, n: int, matter_code: str, scan_name: str
) -> str:
    """The agent files ``matter_code`` for resident ``n`` with one scan (stored as
    ``scan_name``) for every mandatory material; returns the case number."""
    from common.blobs.service import store_blob
    from common.cases.intake.service import file_case

    sha = store_blob(session, node, scan(n), scan_name).sha256
    return file_case(
        session,
        node,
        agent,
        matter_code=matter_code,
        applicant=applicant(n),
        materials=_materials(session, matter_code, sha),
        visit={"who": "applicant", "place": f"{node.node_id}代办点", "purpose": "提交申请"},
    ).case_no


def _materials(session: Any, matter_code: str, sha: str) -> list[dict[str, Any]]:
    """The scan for every mandatory material of the matter, as the agent uploads it."""
    from common.catalog.service import get_published

    matter = get_published(session, matter_code).to_matter()
    return [
        {"position": i, "blob_sha256": sha} for i, m in enumerate(matter.materials) if m.mandatory
    ]
