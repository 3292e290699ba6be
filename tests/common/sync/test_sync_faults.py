"""Sync under faults, in process: county ← township ← village, each link an httpx
transport into the parent's real app (signed requests, link checks and all). Each test
gets a copy of one network built per worker (SQLite files, also in a PostgreSQL run:
what is tested here is the protocol, not the database).

Redelivery and reordering change nothing; tampered events, revoked nodes and
non-neighbours are refused with a reason; a skewed clock corrects itself; the
scheduler backs off and recovers; a link dropped after the parent stored a batch
leads to a redelivery that changes nothing. The administrators' views of dead letters,
held events, rejects and link status are checked along the way.
"""

from __future__ import annotations

import itertools
import random
import shutil
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi.testclient import TestClient
from onetrip_testing import (
    COUNTY_ID,
    TOWNSHIP_ID,
    VILLAGE_ID,
    api_token,
    make_root,
    register_member,
)
from sqlalchemy import func, select, update

from common.app import create_app
from common.bootstrap import init_member, open_node
from common.cases.intake.service import file_case
from common.cases.models import Case
from common.catalog.sample import publish_sample
from common.db import transaction
from common.identity import parent_link
from common.identity.keys import NodeKey
from common.identity.link_auth import sign_request
from common.identity.service import invite_node, revoke_node
from common.ledger.envelope import parse_event
from common.ledger.models import Event, QuarantinedEvent
from common.ledger.verify import verify_node
from common.node import ThisNode
from common.settings import DEFAULT_NETWORK_ID
from common.sync.client import SyncError, sync_once
from common.sync.models import DeadLetter, HeldEvent, NodeHealth, OutboxEntry, SyncReject
from common.sync.outbox import backlog, cursor, read_batch
from common.sync.receive import receive_batch
from common.sync.scheduler import Backoff, SyncScheduler
from common.users.roles import Actor, Role
from common.users.service import provision_user

VILLAGE_PENSION = "54430424MEB423186J6002007001000"  # village 即办件 in the sample catalogue
RESIDENT_ID = "430424198001011238"
COUNTY_URL = "http://county.loopback"
TOWNSHIP_URL = "http://township.loopback"


def serve_in_process(node: ThisNode) -> TestClient:
    """The node's app in this process; its transport stands in for the network."""
    return TestClient(create_app(node.settings, node=node), raise_server_exceptions=False)


def transport_of(client: TestClient) -> httpx.BaseTransport:
    return client._transport  # type: ignore[attr-defined]  # Starlette's in-process transport


class Network:
    def __init__(
        self, county: ThisNode, township: ThisNode, village: ThisNode, apps: dict[str, TestClient]
    ) -> None:
        self.county, self.township, self.village, self.apps = county, township, village, apps

    def client(self, node: ThisNode, username: str) -> TestClient:
        """The node's API as ``username`` of that node (its app, built once)."""
        if node.node_id not in self.apps:
            self.apps[node.node_id] = serve_in_process(node)
        client = TestClient(self.apps[node.node_id].app, raise_server_exceptions=False)
        client.headers["Authorization"] = f"Bearer {api_token(node, username)}"
        self.apps[f"{node.node_id}:{username}"] = client
        return client


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Built once per worker, copied for each test: the sample catalogue at the county;
    the township and the village enrolled through their parents' apps; a township
    auditor and a village agent provisioned and synced down."""
    base = tmp_path_factory.mktemp("sync-faults")
    county = make_root(base / "county", None)
    system = Actor.node_system(county.node_id)
    with transaction(county.engine) as session:
        publish_sample(session, county, system)
        township_invite = invite_node(session, county, system, TOWNSHIP_ID, "洣水镇便民服务中心")
    county_app = serve_in_process(county)
    township = init_member(
        base / "township",
        node_id=TOWNSHIP_ID,
        parent_url=COUNTY_URL,
        token=township_invite.token,
        client=county_app,
    )
    township.parent_transport = transport_of(county_app)
    township_app = serve_in_process(township)
    with transaction(county.engine) as session:
        village_invite = invite_node(session, county, system, VILLAGE_ID, "示例村代办点")
    village = init_member(
        base / "village",
        node_id=VILLAGE_ID,
        parent_url=TOWNSHIP_URL,
        token=village_invite.token,
        client=township_app,
    )
    village.parent_transport = transport_of(township_app)
    with transaction(county.engine) as session:
        provision_user(
            session,
            county,
            system,
            node_id=VILLAGE_ID,
            username="agent1",
            display_name="李代办",
            role=Role.VILLAGE_AGENT,
            password="Village-agent-1",
        )
        provision_user(
            session,
            county,
            system,
            node_id=TOWNSHIP_ID,
            username="audit1",
            display_name="镇审计员",
            role=Role.AUDITOR,
            password="Township-audit-1",
        )
    sync_once(township)
    sync_once(village)
    for client in (county_app, township_app):
        client.close()
    for node in (county, township, village):
        node.engine.dispose()
    return base


@pytest.fixture
def net(tmp_path: Path, template: Path) -> Iterator[Network]:
    """A fresh copy of the template network, linked in process."""
    shutil.copytree(template, tmp_path / "net")
    county, township, village = (
        open_node(tmp_path / "net" / name) for name in ("county", "township", "village")
    )
    apps = {COUNTY_ID: serve_in_process(county)}
    township.parent_transport = transport_of(apps[COUNTY_ID])
    apps[TOWNSHIP_ID] = serve_in_process(township)
    village.parent_transport = transport_of(apps[TOWNSHIP_ID])
    yield Network(county, township, village, apps)
    for client in apps.values():
        client.close()
    for node in (county, township, village):
        node.engine.dispose()


AGENT = Actor(username="agent1", node_id=VILLAGE_ID, role=Role.VILLAGE_AGENT)


def file_cases(village: ThisNode, count: int) -> list[str]:
    """``count`` filings at the village, one ``case.filed`` event each."""
    with transaction(village.engine) as session:
        return [
            file_case(
                session,
                village,
                AGENT,
                matter_code=VILLAGE_PENSION,
                applicant={"kind": "person", "name": "张三", "id_number": RESIDENT_ID},
                materials=[],
            ).case_no
            for _ in range(count)
        ]


def count(node: ThisNode, model=Event, *where) -> int:  # type: ignore[no-untyped-def]
    with transaction(node.engine) as session:
        return int(
            session.execute(select(func.count()).select_from(model).where(*where)).scalar_one()
        )


def ids(node: ThisNode, *where) -> set[str]:  # type: ignore[no-untyped-def]
    with transaction(node.engine) as session:
        return set(session.execute(select(Event.id).where(*where)).scalars())


def outbox_size(node: ThisNode, peer: str) -> int:
    return count(node, OutboxEntry, OutboxEntry.peer == peer)


def push(child: ThisNode, events: list[bytes], *, after: int = 0, last_seq: int = 0) -> dict:
    """One signed push of exactly these events, as the child's sync client would send it."""
    answer = parent_link.post_to_parent(
        child,
        "/api/v1/sync/push",
        {"after": after, "last_seq": last_seq, "events": [raw.decode("utf-8") for raw in events]},
    )
    assert answer.status_code == 200, answer.text
    return answer.json()["result"]


def assert_verifies(*nodes: ThisNode) -> None:
    for node in nodes:
        with transaction(node.engine) as session:
            report = verify_node(session, node)
        assert report.ok, report.summary()


def test_a_batch_delivered_twice_changes_nothing(net: Network) -> None:
    cases = file_cases(net.village, 4)
    with transaction(net.village.engine) as session:
        batch = read_batch(session, TOWNSHIP_ID, 0)
    assert len(batch.events) == 4
    first = push(net.village, batch.events, last_seq=batch.last_seq)
    assert (first["stored"], first["duplicates"]) == (4, 0)
    held_at_township = ids(net.township)
    queued_for_county = outbox_size(net.township, COUNTY_ID)

    second = push(net.village, batch.events, last_seq=batch.last_seq)
    assert (second["stored"], second["duplicates"], second["held"], second["rejected"]) == (
        0,
        4,
        0,
        [],
    )
    assert ids(net.township) == held_at_township
    assert outbox_size(net.township, COUNTY_ID) == queued_for_county  # nothing queued twice
    assert count(net.township, Case, Case.case_no.in_(cases)) == 4

    sync_once(net.village)  # the client's own round redelivers the same batch: duplicates only
    sync_once(net.township)
    assert ids(net.county, Event.author == VILLAGE_ID) == ids(
        net.village, Event.author == VILLAGE_ID
    )
    assert_verifies(net.township, net.county)


def test_a_batch_out_of_order_is_held_back_then_released(net: Network) -> None:
    file_cases(net.village, 6)
    with transaction(net.village.engine) as session:
        batch_1 = read_batch(session, TOWNSHIP_ID, 0, max_events=3)
        batch_2 = read_batch(session, TOWNSHIP_ID, batch_1.last_seq, max_events=3)
    before = count(net.township)

    early = push(net.village, batch_2.events, after=batch_1.last_seq, last_seq=batch_2.last_seq)
    assert (early["stored"], early["held"], early["rejected"]) == (0, 3, [])
    assert count(net.township) == before  # nothing applied, nothing routed on
    auditor = net.client(net.township, "audit1")
    held = auditor.get("/api/v1/sync/held")
    assert held.status_code == 200, held.text
    assert [(h["author"], h["kind"], h["from_peer"]) for h in held.json()] == [
        (VILLAGE_ID, "case.filed", VILLAGE_ID)
    ] * 3
    assert all(h["waiting_for"] and h["held_since"] for h in held.json())
    assert "张三" not in held.text and RESIDENT_ID not in held.text  # no body, no personal data

    late = push(net.village, batch_1.events, last_seq=batch_1.last_seq)
    assert (late["stored"], late["released"], late["held"]) == (3, 3, 0)
    assert count(net.township, HeldEvent) == 0 and auditor.get("/api/v1/sync/held").json() == []
    assert ids(net.township, Event.author == VILLAGE_ID) == ids(
        net.village, Event.author == VILLAGE_ID
    )

    report = sync_once(net.village)  # its cursor never moved: everything again, all duplicates
    assert report.pushed == 6 and report.rejected == []
    assert count(net.township) == before + 6
    sync_once(net.township)
    assert ids(net.county, Event.author == VILLAGE_ID) == ids(
        net.village, Event.author == VILLAGE_ID
    )
    assert_verifies(net.township, net.county)


def test_a_tampered_event_is_refused_and_the_sender_logs_why(net: Network) -> None:
    (case_no,) = file_cases(net.village, 1)
    sync_once(net.village)
    # The event is altered at the township (a relay that should not be trusted) before
    # it goes on to the county, in a properly signed request.
    with transaction(net.township.engine) as session:
        event_id, raw = session.execute(
            select(Event.id, Event.raw).where(Event.subject == f"case:{case_no}")
        ).one()
        tampered = raw.replace("张三".encode(), "李四".encode())
        session.execute(update(Event).where(Event.id == event_id).values(raw=tampered))
    tampered_id = parse_event(net.county.network_id, tampered).id  # what the county receives

    report = sync_once(net.township)
    assert [(r["event_id"], r["code"]) for r in report.rejected] == [
        (tampered_id, "event.signature")
    ]
    assert count(net.county, Event, Event.subject == f"case:{case_no}") == 0
    with transaction(net.township.engine) as session:
        logged = session.execute(select(SyncReject)).scalars().one()
    assert (logged.peer, logged.event_id, logged.code) == (
        COUNTY_ID,
        tampered_id,
        "event.signature",
    )
    assert logged.reason
    rejects = net.client(net.township, "audit1").get("/api/v1/sync/rejects")
    assert rejects.status_code == 200, rejects.text
    assert [(r["event_id"], r["peer"], r["code"]) for r in rejects.json()] == [
        (tampered_id, COUNTY_ID, "event.signature")
    ]

    # The receiver's administrators see the dead letter, never retried, without its body.
    answer = net.client(net.county, "admin").get("/api/v1/sync/dead-letters")
    assert answer.status_code == 200
    (letter,) = answer.json()
    assert (
        letter["event_id"],
        letter["code"],
        letter["from_peer"],
        letter["author"],
        letter["aseq"],
        letter["kind"],
        letter["subject"],
    ) == (
        tampered_id,
        "event.signature",
        TOWNSHIP_ID,
        VILLAGE_ID,
        1,
        "case.filed",
        f"case:{case_no}",
    )
    assert letter["reason"] and letter["received_at"]
    assert "李四" not in answer.text and "body" not in letter and RESIDENT_ID not in answer.text
    sync_once(net.township)  # acknowledged: not sent again
    assert count(net.county, DeadLetter) == 1

    # Only administrators and auditors read these; the village agent may see its link.
    agent = net.client(net.village, "agent1")
    for path in ("/api/v1/sync/dead-letters", "/api/v1/sync/held", "/api/v1/sync/rejects"):
        refused = agent.get(path)
        assert (refused.status_code, refused.json()["code"]) == (403, "auth.role")
    assert agent.get("/api/v1/sync/status").status_code == 200
    assert net.apps[COUNTY_ID].get("/api/v1/sync/dead-letters").status_code == 401  # no token


def test_a_revoked_node_is_refused_and_its_new_events_everywhere(net: Network) -> None:
    with transaction(net.county.engine) as session:
        revoke_node(session, net.county, Actor.node_system(COUNTY_ID), VILLAGE_ID, "设备丢失")
    # Before the township hears of it, it accepts one more filing and relays it up.
    (relayed,) = file_cases(net.village, 1)
    sync_once(net.village)
    report = sync_once(net.township)  # push refused in part; then the revocation comes down
    (refused,) = report.rejected
    assert refused["code"] == "event.revoked_key"
    assert count(net.county, Event, Event.subject == f"case:{relayed}") == 0
    rejects = net.client(net.township, "audit1").get("/api/v1/sync/rejects").json()
    assert [(r["event_id"], r["code"], r["author"], r["kind"], r["subject"]) for r in rejects] == [
        (refused["event_id"], "event.revoked_key", VILLAGE_ID, "case.filed", f"case:{relayed}")
    ]

    # Now the township knows: the village's link is refused ...
    (case_no,) = file_cases(net.village, 1)
    with pytest.raises(SyncError, match=r"link\.unknown_node"):
        sync_once(net.village)
    assert count(net.township, Event, Event.subject == f"case:{case_no}") == 0
    # ... and its new event, relayed by anyone, is refused at the township and the county.
    with transaction(net.village.engine) as session:
        raw = session.execute(
            select(Event.raw).where(Event.subject == f"case:{case_no}")
        ).scalar_one()
    with transaction(net.township.engine) as session:
        at_township = receive_batch(session, net.township, VILLAGE_ID, [raw])
    assert [r["code"] for r in at_township.rejected] == ["event.revoked_key"]
    at_county = push(net.township, [raw])
    assert [r["code"] for r in at_county["rejected"]] == ["event.revoked_key"]
    assert count(net.county, Event, Event.subject == f"case:{case_no}") == 0


def _signed(key: NodeKey, method: str, path: str, body: bytes = b"") -> dict[str, str]:
    return sign_request(key, DEFAULT_NETWORK_ID, method, path, body) | {
        "Content-Type": "application/json"
    }


def test_non_neighbours_and_strangers_are_refused(net: Network) -> None:
    # A village of another township, properly registered, is no neighbour of 洣水镇.
    register_member(net.county, "430424101000", "石湾镇便民服务中心")
    other_village = register_member(net.county, "430424101201", "石湾镇示例村代办点")
    sync_once(net.township)
    township_app = net.apps[TOWNSHIP_ID]
    body = b'{"after": 0}'
    answer = township_app.post(
        "/api/v1/sync/pull",
        content=body,
        headers=_signed(other_village, "POST", "/api/v1/sync/pull", body),
    )
    assert (answer.status_code, answer.json()["code"]) == (401, "link.not_neighbour")
    # A node nobody registered.
    stranger = NodeKey(node_id="430424100299", private_key=Ed25519PrivateKey.generate())
    answer = township_app.post(
        "/api/v1/sync/pull",
        content=body,
        headers=_signed(stranger, "POST", "/api/v1/sync/pull", body),
    )
    assert (answer.status_code, answer.json()["code"]) == (401, "link.unknown_node")
    # The village, skipping its township, is no neighbour of the county.
    answer = net.apps[COUNTY_ID].post(
        "/api/v1/sync/pull",
        content=body,
        headers=_signed(net.village.key, "POST", "/api/v1/sync/pull", body),
    )
    assert (answer.status_code, answer.json()["code"]) == (401, "link.not_neighbour")
    # The county is the township's neighbour, but a parent does not push to its child.
    push_body = b'{"after": 0, "last_seq": 0, "events": []}'
    answer = township_app.post(
        "/api/v1/sync/push",
        content=push_body,
        headers=_signed(net.county.key, "POST", "/api/v1/sync/push", push_body),
    )
    assert (answer.status_code, answer.json()["code"]) == (403, "sync.not_child")
    # A replayed request (same nonce) is refused even from the right child.
    headers = _signed(net.village.key, "POST", "/api/v1/sync/pull", body)
    assert township_app.post("/api/v1/sync/pull", content=body, headers=headers).status_code == 200
    again = township_app.post("/api/v1/sync/pull", content=body, headers=headers)
    assert (again.status_code, again.json()["code"]) == (401, "link.replay")


class CountingTransport(httpx.BaseTransport):
    """Passes requests on and remembers the answers' status codes."""

    def __init__(self, inner: httpx.BaseTransport) -> None:
        self.inner = inner
        self.statuses: list[int] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        self.statuses.append(response.status_code)
        return response


def test_a_skewed_client_learns_the_server_time_and_succeeds(net: Network, monkeypatch) -> None:
    monkeypatch.setattr(parent_link, "_OFFSETS", {})
    skew = 3600.0  # the village's clock runs an hour fast
    real_time, real_sign = parent_link.time.time, parent_link.sign_request

    class SkewedClock:
        @staticmethod
        def time() -> float:
            return real_time() + skew

    monkeypatch.setattr(parent_link, "time", SkewedClock)
    monkeypatch.setattr(
        parent_link,
        "sign_request",
        lambda key, network, method, path, body, offset=0.0: real_sign(
            key, network, method, path, body, offset + skew
        ),
    )
    counting = CountingTransport(net.village.parent_transport)
    net.village.parent_transport = counting
    file_cases(net.village, 1)

    report = sync_once(net.village)
    assert report.pushed == 1
    assert counting.statuses[:2] == [401, 200]  # told the time once, then accepted
    assert abs(parent_link.clock_offset(net.village) + skew) < 5
    counting.statuses.clear()
    sync_once(net.village)
    assert 401 not in counting.statuses  # corrected for good
    with transaction(net.township.engine) as session:
        reported = session.get(NodeHealth, VILLAGE_ID)
    assert abs(reported.clock_offset_ms + skew * 1000) < 5000  # the parent sees the correction
    status = net.client(net.village, "agent1").get("/api/v1/sync/status").json()
    assert abs(status["clock_offset_ms"] + skew * 1000) < 5000


def test_backoff_grows_exponentially_with_jitter_within_bounds_and_resets() -> None:
    backoff = Backoff(base=2.0, cap=300.0, jitter=0.25, rng=random.Random(4))
    assert backoff.delay() == 0.0
    delays = [backoff.failed() for _ in range(12)]
    for failures, delay in enumerate(delays, start=1):
        nominal = min(300.0, 2.0 * 2 ** (failures - 1))
        assert nominal * 0.75 <= delay <= nominal * 1.25, (failures, delay)
    assert all(
        later > earlier for earlier, later in itertools.pairwise(delays[:8])
    )  # doubling beats jitter
    assert max(delays) <= 375.0  # the cap holds (with its jitter)
    assert len({round(d / min(300.0, 2.0 * 2**i), 6) for i, d in enumerate(delays)}) > 1  # jittered
    backoff.succeeded()
    assert (backoff.failures, backoff.delay()) == (0, 0.0)


class LinkDown(httpx.BaseTransport):
    def __init__(self) -> None:
        self.attempts = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.attempts += 1
        raise httpx.ConnectError("connection refused", request=request)


def test_the_scheduler_backs_off_while_the_link_is_down_and_recovers(net: Network) -> None:
    working = net.village.parent_transport
    down = LinkDown()
    net.village.parent_transport = down
    scheduler = SyncScheduler(net.village, interval=0.5)  # driven by hand: not started
    file_cases(net.village, 2)

    assert scheduler.run() is None
    assert scheduler.backoff.failures == 1 and "link to parent failed" in (
        scheduler.last_error or ""
    )
    assert scheduler.run() is None and down.attempts == 1  # still backing off: no attempt made
    scheduler.not_before = 0.0  # the delay has passed
    assert scheduler.run() is None and scheduler.backoff.failures == 2

    agent = net.client(net.village, "agent1")
    agent.app.state.sync = scheduler  # as the app's lifespan does
    status = agent.get("/api/v1/sync/status").json()
    assert status["sync"]["enabled"] and status["sync"]["failures"] == 2
    assert status["sync"]["retry_in_seconds"] > 0 and status["sync"]["last_success"] is None
    assert status["parent_id"] == TOWNSHIP_ID and status["parent_url"] == TOWNSHIP_URL
    assert [(n["node_id"], n["relation"], n["backlog"]) for n in status["neighbours"]] == [
        (TOWNSHIP_ID, "parent", 2)
    ]

    net.village.parent_transport = working  # the line is back
    scheduler.not_before = 0.0
    report = scheduler.run()
    assert report is not None and report.pushed == 2
    assert (scheduler.backoff.failures, scheduler.last_error) == (
        0,
        None,
    ) and scheduler.last_success
    status = agent.get("/api/v1/sync/status").json()
    assert status["sync"]["failures"] == 0 and status["sync"]["last_round"]["pushed"] == 2
    assert status["neighbours"][0]["backlog"] == 0 and status["held"] == 0

    township_view = net.client(net.township, "audit1").get("/api/v1/sync/status").json()
    assert township_view["sync"]["enabled"] is False  # no scheduler in this app (not started)
    assert {(n["node_id"], n["relation"]) for n in township_view["neighbours"]} == {
        (COUNTY_ID, "parent"),
        (VILLAGE_ID, "child"),
    }
    assert next(n for n in township_view["neighbours"] if n["node_id"] == COUNTY_ID)["backlog"] == 2


class DropAfterSending(httpx.BaseTransport):
    """The parent receives (and stores) the push, then the line drops before the answer."""

    def __init__(self, inner: httpx.BaseTransport, drops: int = 1) -> None:
        self.inner, self.drops = inner, drops

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        if request.url.path == "/api/v1/sync/push" and self.drops:
            self.drops -= 1
            raise httpx.ReadError("connection reset by peer", request=request)
        return response


def test_a_link_dropped_mid_batch_leads_to_a_redelivery_that_changes_nothing(net: Network) -> None:
    file_cases(net.village, 5)
    working = net.village.parent_transport
    net.village.parent_transport = DropAfterSending(working)
    with pytest.raises(SyncError, match="link to parent failed"):
        sync_once(net.village)
    # The township stored the batch; the village never heard so and keeps it queued.
    assert ids(net.township, Event.author == VILLAGE_ID) == ids(
        net.village, Event.author == VILLAGE_ID
    )
    with transaction(net.village.engine) as session:
        assert backlog(session, TOWNSHIP_ID) == 5
    stored_there, queued_for_county = ids(net.township), outbox_size(net.township, COUNTY_ID)

    report = sync_once(net.village)  # the next round redelivers
    assert report.pushed == 5 and report.rejected == []
    with transaction(net.village.engine) as session:
        assert backlog(session, TOWNSHIP_ID) == 0
    assert ids(net.township) == stored_there
    assert outbox_size(net.township, COUNTY_ID) == queued_for_county
    sync_once(net.township)
    assert ids(net.county, Event.author == VILLAGE_ID) == ids(
        net.village, Event.author == VILLAGE_ID
    )
    assert count(net.county, DeadLetter) == count(net.township, DeadLetter) == 0
    assert_verifies(net.village, net.township, net.county)


# -- the batched ingest (common.ledger.batch) gives what one event at a time gives ---------------


def _state(session) -> tuple:  # type: ignore[no-untyped-def]
    from common.ledger.projection import snapshot

    return (
        snapshot(session),
        session.execute(select(Event.lseq, Event.id).order_by(Event.lseq)).all(),
        session.execute(
            select(OutboxEntry.peer, OutboxEntry.seq, OutboxEntry.lseq).order_by(
                OutboxEntry.peer, OutboxEntry.seq
            )
        ).all(),
        sorted(session.execute(select(HeldEvent.event_id)).scalars()),
        sorted(session.execute(select(DeadLetter.event_id, DeadLetter.code)).all()),
    )


def _resign_badly(raw: bytes) -> bytes:
    """The same event with one character of its signature changed: still canonical."""
    import json as _json

    sig = _json.loads(raw)["sig"]
    bad = sig[:10] + ("A" if sig[10] != "A" else "B") + sig[11:]
    return raw.replace(sig.encode(), bad.encode())


@pytest.mark.parametrize("scenario", ["clean", "tampered", "reversed", "repeated", "fork"])
def test_a_whole_batch_and_the_same_events_one_at_a_time_leave_the_same_rows(
    net: Network, monkeypatch: pytest.MonkeyPatch, scenario: str
) -> None:
    from sqlmodel import Session

    from common.ledger import batch as ledger_batch
    from common.ledger import signatures
    from common.sync import receive

    file_cases(net.village, 6)
    with transaction(net.village.engine) as session:
        events = read_batch(session, TOWNSHIP_ID, 0).events
    if scenario == "tampered":  # the last one: its id changes, nothing chains after it
        events[5] = _resign_badly(events[5])
    elif scenario == "reversed":
        events = events[3:] + events[:3]
    elif scenario == "repeated":
        events = events + events[:2]
    elif scenario == "fork":  # a second event at a taken position of the author's chain
        from common.ledger.envelope import sign_event

        fork = sign_event(
            net.village.key,
            net.village.network_id,
            aseq=1,
            aprev=None,
            subject="alert:fork",
            sseq=1,
            sprev=None,
            kind="alert.raised",
            at="2026-01-01T00:00:00.000000Z",
            body={},
        )
        events = [*events[:1], fork.raw, *events[1:]]

    # Signatures on a worker thread, so that a bad one is found after the batch was
    # stored and applied inside its savepoint: that must leave nothing behind either.
    monkeypatch.setattr(signatures, "_second_core", lambda: True)
    stored_whole = []
    real_store = ledger_batch.store_checked
    monkeypatch.setattr(
        receive, "store_checked", lambda *a, **k: stored_whole.append(1) or real_store(*a, **k)
    )
    # Whether the batch path kept the batch: a failure inside it (a bug, say) would fall
    # back to one event at a time and give the same rows, only slowly.
    kept: list[bool] = []
    real_clean = receive.BatchReceiver.receive_clean
    monkeypatch.setattr(
        receive.BatchReceiver,
        "receive_clean",
        lambda *a, **k: kept.append(real_clean(*a, **k)) or kept[-1],
    )
    states, results = [], []
    for whole in (True, False):
        if not whole:
            monkeypatch.setattr(receive.BatchReceiver, "receive_clean", lambda *a, **k: False)
        with Session(net.township.engine) as session:
            results.append(receive_batch(session, net.township, VILLAGE_ID, events).as_dict())
            states.append(_state(session))
            session.rollback()
    assert results[0] == results[1]
    assert states[0] == states[1]
    if scenario in ("clean", "repeated", "tampered"):
        assert stored_whole  # the whole batch at once (rolled back when a signature is bad)
    elif scenario in ("reversed", "fork"):
        assert not stored_whole  # the chains say so before anything is written
    assert kept == [scenario in ("clean", "repeated")]
    if scenario == "clean":
        assert results[0]["stored"] == 6
    if scenario == "fork":
        assert (results[0]["stored"], results[0]["quarantined"]) == (6, 1)
    if scenario == "tampered":  # the bad one is dead-lettered, the rest stored
        assert (results[0]["stored"], len(results[0]["rejected"]), results[0]["held"]) == (5, 1, 0)


def test_acknowledged_outbox_rows_are_pruned_and_seqs_keep_rising(net: Network) -> None:
    file_cases(net.village, 3)
    sync_once(net.village)
    with transaction(net.village.engine) as session:
        rows = (
            session.execute(select(OutboxEntry.seq).where(OutboxEntry.peer == TOWNSHIP_ID))
            .scalars()
            .all()
        )
        assert backlog(session, TOWNSHIP_ID) == 0
    assert len(rows) == 1  # only the acknowledged head stays
    file_cases(net.village, 2)
    with transaction(net.village.engine) as session:
        new = (
            session.execute(
                select(OutboxEntry.seq).where(
                    OutboxEntry.peer == TOWNSHIP_ID, OutboxEntry.seq > rows[0]
                )
            )
            .scalars()
            .all()
        )
        assert new == [rows[0] + 1, rows[0] + 2] and backlog(session, TOWNSHIP_ID) == 2
    sync_once(net.village)
    assert ids(net.township, Event.author == VILLAGE_ID) == ids(
        net.village, Event.author == VILLAGE_ID
    )


def test_small_files_travel_in_bundles_checked_by_hash(net: Network) -> None:
    from common.blobs.service import blobs_held, store_blob
    from common.sync import blob_transfer

    pdfs = [b"%PDF-1.4\n" + bytes([n]) * 200 + b"\n%%EOF\n" for n in range(5)]
    with transaction(net.village.engine) as session:
        hashes = [store_blob(session, net.village, data, "扫描件.pdf").sha256 for data in pdfs]
    bundle = blob_transfer.pack_blobs(list(zip(hashes, pdfs, strict=True)))
    assert [sha for sha, _ in blob_transfer.unpack_blobs(bundle)] == hashes

    wrong = blob_transfer.pack_blobs([(hashes[0], pdfs[0]), (hashes[1], pdfs[2])])
    answer = parent_link.request_parent(net.village, "POST", "/api/v1/sync/blobs", wrong)
    assert answer.status_code == 400 and answer.json()["code"] == "blob.hash_mismatch"
    with transaction(net.township.engine) as session:
        assert blobs_held(session, set(hashes)) == set()  # all or nothing

    answer = parent_link.request_parent(net.village, "POST", "/api/v1/sync/blobs", bundle)
    assert answer.status_code == 200 and answer.json() == {"stored": 5, "files": 5}
    with transaction(net.township.engine) as session:
        assert blobs_held(session, set(hashes)) == set(hashes)
    for sha, data in zip(hashes, pdfs, strict=True):
        assert (net.township.settings.blob_dir / sha[:2] / sha[2:]).read_bytes() == data


def test_a_village_restored_from_an_old_backup_gets_back_what_it_had(
    net: Network, tmp_path: Path
) -> None:
    village_dir = net.village.settings.data_dir
    net.village.engine.dispose()
    shutil.copytree(village_dir, tmp_path / "backup")
    # After the backup: the village files cases (up to the township) and a user is
    # provisioned for it at the county (down to the village); both sides acknowledge, so
    # the township prunes what it sent.
    file_cases(net.village, 3)
    with transaction(net.county.engine) as session:
        provision_user(
            session,
            net.county,
            Actor.node_system(COUNTY_ID),
            node_id=VILLAGE_ID,
            username="agent2",
            display_name="王代办",
            role=Role.VILLAGE_AGENT,
            password="Village-agent-2",
        )
    sync_once(net.township)
    sync_once(net.village)
    sync_once(net.village)
    before = ids(net.village)
    with transaction(net.township.engine) as session:
        assert backlog(session, VILLAGE_ID) == 0
    assert outbox_size(net.township, VILLAGE_ID) <= 1  # pruned

    net.village.engine.dispose()
    shutil.rmtree(village_dir)
    shutil.copytree(tmp_path / "backup", village_dir)
    net.village = open_node(village_dir)
    net.village.parent_transport = transport_of(net.apps[TOWNSHIP_ID])
    lost = before - ids(net.village)
    assert len(lost) >= 4  # its own three filings and the new user

    report = sync_once(net.village)
    assert ids(net.village) == before  # its own events came back from the township, and the user
    assert report.held == 0
    assert_verifies(net.village, net.township)
    # The restored village goes on writing after its own latest event, not over it.
    file_cases(net.village, 1)
    sync_once(net.village)
    with transaction(net.township.engine) as session:
        assert session.execute(select(func.count()).select_from(QuarantinedEvent)).scalar_one() == 0
    assert ids(net.township, Event.author == VILLAGE_ID) == ids(
        net.village, Event.author == VILLAGE_ID
    )


def _provision_agent(net: Network, username: str) -> None:
    with transaction(net.county.engine) as session:
        provision_user(
            session,
            net.county,
            Actor.node_system(COUNTY_ID),
            node_id=VILLAGE_ID,
            username=username,
            display_name="王代办",
            role=Role.VILLAGE_AGENT,
            password="Village-agent-2",
        )


def test_a_township_restored_from_an_old_backup_loses_nothing_its_village_sent(
    net: Network, tmp_path: Path
) -> None:
    township_dir = net.township.settings.data_dir
    net.township.engine.dispose()
    shutil.copytree(township_dir, tmp_path / "backup")
    # After the backup: a user comes down through the township to the village, then the
    # village's filings go up to the township only (the township dies before passing them on).
    _provision_agent(net, "agent2")
    sync_once(net.township)
    sync_once(net.village)
    filed = file_cases(net.village, 3)
    sync_once(net.village)
    village_events = ids(net.village, Event.author == VILLAGE_ID)
    assert village_events == ids(net.township, Event.author == VILLAGE_ID)
    assert not village_events <= ids(net.county)

    net.apps.pop(TOWNSHIP_ID).close()
    net.township.engine.dispose()
    shutil.rmtree(township_dir)
    shutil.copytree(tmp_path / "backup", township_dir)
    net.township = open_node(township_dir)
    net.township.parent_transport = transport_of(net.apps[COUNTY_ID])
    net.apps[TOWNSHIP_ID] = serve_in_process(net.township)
    net.village.parent_transport = transport_of(net.apps[TOWNSHIP_ID])
    assert not village_events <= ids(net.township)

    sync_once(net.village)  # the township asks the village to send its events again
    assert village_events <= ids(net.township)
    with transaction(net.village.engine) as session:
        holds = cursor(session, TOWNSHIP_ID).received
    with transaction(net.township.engine) as session:  # numbering goes on above that
        assert cursor(session, VILLAGE_ID).sent_acked == holds
        assert read_batch(session, VILLAGE_ID, holds).events == []
    sync_once(net.township)  # up to the county; the county sends the township what it lost
    assert village_events <= ids(net.county)
    assert count(net.township, Event, Event.subject == f"user:{VILLAGE_ID}:agent2") == 1
    # What comes down from now on is numbered above what the village already holds.
    _provision_agent(net, "agent3")
    sync_once(net.township)
    sync_once(net.village)
    assert count(net.village, Event, Event.subject == f"user:{VILLAGE_ID}:agent3") == 1
    with transaction(net.county.engine) as session:
        assert {
            c.case_no
            for c in session.execute(select(Case).where(Case.case_no.in_(filed))).scalars()
        } == set(filed)
    for node in (net.county, net.township, net.village):
        assert count(node, QuarantinedEvent) == 0
    assert_verifies(net.county, net.township, net.village)


def test_small_files_come_down_in_bundles_and_large_ones_in_chunks(
    net: Network, monkeypatch
) -> None:
    from common.blobs.service import blobs_held, store_blob
    from common.sync import blob_transfer, client

    small = [b"%PDF-1.4\n" + bytes([n]) * 300 + b"\n%%EOF\n" for n in range(6)]
    large = b"%PDF-1.4\n" + bytes(range(256)) * 1200 + b"\n%%EOF\n"  # over 256 KiB: chunks
    assert len(large) > blob_transfer.SMALL_BLOB_BYTES
    with transaction(net.township.engine) as session:
        hashes = [
            store_blob(session, net.township, data, "扫描件.pdf").sha256 for data in [*small, large]
        ]
    absent = "0" * 64  # the township does not hold it either
    paths: list[str] = []
    real = client.request_parent

    def counting(node, method, path, *args, **kwargs):  # type: ignore[no-untyped-def]
        paths.append(path.split("?")[0])
        return real(node, method, path, *args, **kwargs)

    monkeypatch.setattr(client, "request_parent", counting)
    monkeypatch.setattr(parent_link, "request_parent", counting)  # post_to_parent's
    got = client._download_bundles(net.village, sorted([*hashes, absent]))
    assert got == set(hashes[:-1])  # the six small ones, in one request
    assert paths == ["/api/v1/sync/blobs/bundle"]
    with transaction(net.village.engine) as session:
        assert blobs_held(session, set(hashes)) == set(hashes[:-1])

    # A file whose bytes do not match its hash is left out; the rest of the bundle is stored.
    other = b"%PDF-1.4\nother\n%%EOF\n"
    forged = blob_transfer.pack_blobs(
        [(blob_transfer.store.sha256_hex(other), other), (absent, small[0])]
    )
    with transaction(net.village.engine) as session:
        assert blob_transfer.admit_bundle(
            session, net.village, forged, {absent, blob_transfer.store.sha256_hex(other)}
        ) == {blob_transfer.store.sha256_hex(other)}
        assert blobs_held(session, {absent}) == set()
