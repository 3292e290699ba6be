"""Issue 9's reproductions between real node processes: an attacker who controls the
village machine (its key and its database) writes a county administrator, withdraws a
county matter and issues a market-regulation licence, and lets the village sync them
up. The township (its own ``onetrip serve`` process) refuses all three as not the
village's to write, the county never holds them, nobody can log in as the forged user,
and the county's node health flags the village.
"""

from __future__ import annotations

import httpx
import pytest
from onetrip_testing import COUNTY_ID, TOWNSHIP_ID, VILLAGE_ID, forge_event
from process_testing import build_network, log_in, query, start, wait_for
from sqlalchemy import text

from common.authority.events import AuthorityViolation
from common.bootstrap import open_node
from common.db import transaction
from common.identifiers import make_licence_id
from common.ledger.service import run_after_store
from common.sync.client import sync_once

pytestmark = pytest.mark.sqlite_only  # node processes open their data directory's SQLite file

MARKET_USCC = "11430424MB1C595315"
WITHDRAWN = "11430424MB1C5953154000119003001"  # 企业设立登记


def _forgeries() -> list[tuple[str, str, dict]]:
    licence_id = make_licence_id("YYZZ", issuer_uscc=MARKET_USCC, serial="2026999999", version=1)
    return [
        (
            f"user:{COUNTY_ID}:pwned",
            "user.provisioned",
            {
                "node_id": COUNTY_ID,
                "username": "pwned",
                "display_name": "pwned",
                "role": "county_admin",
                "department": None,
                "password_hash": "x",
                "password_version": 1,
                "active": True,
            },
        ),
        (
            "catalogue",
            "catalogue.matter_withdrawn",
            {"code": WITHDRAWN, "reason": "伪造", "withdrawn_on": "2026-12-01"},
        ),
        (
            f"licence:{licence_id}",
            "licence.issued",
            {
                "licence_id": licence_id,
                "type_code": "YYZZ",
                "name": "营业执照",
                "holder": {"kind": "person", "name": "张三", "id_number": "430424198001011238"},
                "issuer": {"node": VILLAGE_ID, "body": "衡东县市场监督管理局", "uscc": MARKET_USCC},
                "valid_from": "2026-12-01",
                "valid_to": None,
                "data": {},
                "case_no": None,
            },
        ),
    ]


RULES = ["authority.root", "authority.root", "authority.licence_issuer"]


@pytest.mark.parametrize(
    "first", range(3), ids=["county-admin", "matter-withdrawn", "market-licence"]
)
def test_a_village_forging_county_records_is_refused_by_its_township(tmp_path, processes, first):
    """Each forgery in turn goes first; the two behind it wait at the township."""
    layout = build_network(tmp_path, users=False)
    county, township = layout.process(COUNTY_ID), layout.process(TOWNSHIP_ID)
    start(processes, county, township)
    village = open_node(layout.dirs[VILLAGE_ID])
    forgeries = _forgeries()
    order = [first] + [i for i in range(3) if i != first]
    try:
        forged = []
        for index in order:
            subject, kind, body = forgeries[index]
            with pytest.raises(AuthorityViolation), transaction(village.engine) as session:
                village.append(session, subject, kind, body)  # the village's own software refuses
            with transaction(
                village.engine
            ) as session:  # the attacker writes past it, outbox and all
                event = forge_event(session, village.key, village.network_id, subject, kind, body)
                lseq = session.execute(
                    text("SELECT lseq FROM events WHERE id = :id"), {"id": event.id}
                ).scalar()
                run_after_store(session, event, lseq, None)
            forged.append(event.id)
        report = sync_once(village)  # over real HTTP to the township's process
    finally:
        village.engine.dispose()
    rule = RULES[first]
    # The first forgery is dead-lettered and the village is told why. Its later events
    # no longer extend a chain the township holds, so they wait there: a node that wrote
    # what it may not goes no further until the county acts.
    assert [(r["event_id"], r["code"]) for r in report.rejected] == [(forged[0], rule)]
    assert "越权" in report.rejected[0]["reason"]
    assert query(layout, TOWNSHIP_ID, "SELECT event_id, code FROM sync_dead_letters") == [
        (forged[0], rule)
    ]
    assert {row[0] for row in query(layout, TOWNSHIP_ID, "SELECT event_id FROM sync_held")} == set(
        forged[1:]
    )
    for node_id in (TOWNSHIP_ID, COUNTY_ID):
        held = {row[0] for row in query(layout, node_id, "SELECT id FROM events")}
        assert not held & set(forged), node_id
    assert query(
        layout,
        COUNTY_ID,
        "SELECT withdrawn FROM published_matters WHERE implementation_code = ?",
        WITHDRAWN,
    ) == [(0,)]
    refused = httpx.post(
        f"{county.url}/api/v1/auth/token", json={"username": "pwned", "password": "x"}
    )
    assert refused.status_code == 401
    licence_id = forgeries[2][2]["licence_id"]
    lookup = httpx.get(f"{county.url}/api/v1/public/licences/{licence_id}/verify").json()
    assert lookup["status"] == "invalid", lookup
    # The township relays what it refused with its next sync: the county flags the village.
    admin = log_in(county, "admin")

    def flagged():
        rows = {row["node_id"]: row for row in admin.get("/api/v1/nodes/health").json()}
        return rows[VILLAGE_ID]["violations"]

    violations = wait_for(
        "the county's node health to flag the village", flagged, [county, township]
    )
    assert (violations["count"], violations["rule"], violations["event_id"]) == (1, rule, forged[0])
    admin.close()
