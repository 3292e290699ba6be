"""Test helpers shared by the suite (importable as ``onetrip_testing``: tests/ is on
pytest's pythonpath). Fixtures live in conftest.py."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import insert
from sqlmodel import Session

from common.db import transaction
from common.identity.keys import NodeKey
from common.identity.service import accept_enrolment, invite_node
from common.ledger.envelope import SignedEvent, sign_event
from common.node import ThisNode
from common.timeutil import iso_utc, utcnow
from common.users.roles import Actor

COUNTY_ID = "430424000000"
TOWNSHIP_ID = "430424100000"  # 洣水镇
VILLAGE_ID = "430424100201"  # sample village under 洣水镇
ADMIN_PASSWORD = "Hengdong-2026!"
PG_URL_ENV = "ONETRIP_TEST_PG_URL"


def make_root(data_dir: Path, database_url: str | None) -> ThisNode:
    from common.bootstrap import init_root

    return init_root(
        data_dir,
        node_id=COUNTY_ID,
        name="衡东县政务服务中心",
        admin_username="admin",
        admin_password=ADMIN_PASSWORD,
        database_url=database_url,
    )


def register_member(root: ThisNode, node_id: str, name: str) -> NodeKey:
    """Register a node on the root directly (no HTTP): invite, then accept its key."""
    key = NodeKey(node_id=node_id, private_key=Ed25519PrivateKey.generate())
    system = Actor.node_system(root.node_id)
    with transaction(root.engine) as session:
        invitation = invite_node(session, root, system, node_id, name)
        via = [] if invitation.parent_id == root.node_id else [invitation.parent_id]
        accept_enrolment(
            session,
            root,
            node_id=node_id,
            public_key=key.public_b64,
            token=invitation.token,
            via=via,
        )
    return key


def forge_event(
    session: Session, key: NodeKey, network_id: str, subject: str, kind: str, body: Any
) -> SignedEvent:
    """An event signed with ``key`` at the heads this database holds, written straight
    into the events table: no authority check, no projection (what an attacker who
    controls a node's key and database can do). Returns it, e.g. to push elsewhere."""
    from common.ledger.service import EVENTS, event_row, sign_at_heads

    event = sign_at_heads(session, key, network_id, subject, kind, body)
    session.execute(insert(EVENTS).values(**event_row(event, utcnow())))
    return event


def sign_forged(
    key: NodeKey,
    network_id: str,
    subject: str,
    kind: str,
    body: Any,
    *,
    aseq: int = 1,
    aprev: str | None = None,
    sseq: int = 1,
    sprev: str | None = None,
) -> SignedEvent:
    """An event signed with ``key`` at the given chain positions, stored nowhere."""
    return sign_event(
        key,
        network_id,
        aseq=aseq,
        aprev=aprev,
        subject=subject,
        sseq=sseq,
        sprev=sprev,
        kind=kind,
        at=iso_utc(utcnow()),
        body=body,
    )


def api_token(node: ThisNode, username: str = "admin") -> str:
    from common.users.service import issue_api_token

    with transaction(node.engine) as session:
        return issue_api_token(session, node.node_id, username, "tests")


class LiveServer:
    """A node app served by uvicorn on a free loopback port, in a thread.

    Tests drive sync by hand (``sync_once``) and assert what each round moved, so the
    node's own scheduler, which would sync on its own after every local write, is off
    unless ``scheduler=True``.
    """

    def __init__(self, node: ThisNode, *, scheduler: bool = False) -> None:
        import socket
        import threading

        import uvicorn

        from common.app import create_app, server_options

        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        if not scheduler:
            node.settings = node.settings.model_copy(update={"sync_enabled": False})
        options = server_options(node.settings) | {"host": "127.0.0.1", "port": self.port}
        config = uvicorn.Config(create_app(node.settings, node=node), lifespan="on", **options)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        import time

        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("server did not start")
            time.sleep(0.02)
        self.url = f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


def case_filed_body(
    session: Session,
    code: str,
    case_no: str,
    *,
    origin: str,
    applicant: dict[str, Any],
    filed_on: str,
    commitment: bool = False,
    commitment_allowed: bool | None = None,
) -> dict[str, Any]:
    """A ``case.filed`` body in the contract's shape for a published matter, for tests that
    append a filing directly (past file_case's checks); ``commitment_allowed`` overrides
    the matter's own 告知承诺 flag."""
    from common.catalog.service import catalogue_version, get_published

    matter = get_published(session, code).to_matter()
    return {
        "case_no": case_no,
        "matter": {
            "code": code,
            "name": matter.name,
            "catalogue_version": catalogue_version(session),
            "case_type": matter.case_type.value,
            "handling_level": matter.handling_level.value,
            "window": matter.window.value,
            "lead_department": matter.lead_department,
            "departments": matter.departments,
            "required_visits": matter.required_visits,
            "limit_days": matter.promised_limit_days,
            "commitment_allowed": matter.commitment_allowed
            if commitment_allowed is None
            else commitment_allowed,
        },
        "applicant": applicant,
        "agent": None,
        "materials": [],
        "commitment": commitment,
        "filed_on": filed_on,
        "visit": None,
        "origin_node": origin,
    }
