"""A write that collides with another request's row (PostgreSQL runs requests in
parallel) answers 409 with a reason, rolls back all the request wrote, and logs the
constraint's name but none of the row's values."""

from __future__ import annotations

import json
import logging

from fastapi.testclient import TestClient
from sqlalchemy import func, insert, select

from common.api.deps import SessionDep
from common.app import create_app
from common.blobs.models import Blob
from common.db import core, transaction
from common.identifiers.masking import PersonalDataFilter
from common.logs import JsonFormatter
from common.timeutil import utcnow

TAKEN = "a" * 64
FRESH = "b" * 64


def _row(sha256: str) -> dict:
    return {
        "sha256": sha256,
        "size": 1,
        "media_type": "application/pdf",
        "original_name": "430424198001011238.pdf",
        "received_at": utcnow(),
        "stored": True,
    }


class Lines(logging.Handler):
    """The log lines as the node writes them (JSON, personal data filter on)."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.setFormatter(JsonFormatter())
        self.addFilter(PersonalDataFilter())
        self.lines: list[dict] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(json.loads(self.format(record)))


def test_a_colliding_write_answers_409_and_leaves_nothing_behind(root_node) -> None:
    blobs = Blob.__table__  # type: ignore[attr-defined]
    with transaction(root_node.engine) as session:
        core(session).execute(insert(blobs).values(**_row(TAKEN)))
    app = create_app(root_node.settings, node=root_node)

    @app.post("/api/v1/collide")
    @app.post("/collide")
    def collide(session: SessionDep) -> dict:
        core(session).execute(insert(blobs).values(**_row(FRESH)))
        core(session).execute(
            insert(blobs).values(**_row(TAKEN))
        )  # what another request just stored
        return {"ok": True}

    log = Lines()
    logging.getLogger("onetrip.app").addHandler(log)
    try:
        with TestClient(app, raise_server_exceptions=False) as client:
            response = client.post("/api/v1/collide")
            page = client.post("/collide")
    finally:
        logging.getLogger("onetrip.app").removeHandler(log)

    assert response.status_code == 409
    assert response.json()["code"] == "request.conflict" and "重试" in response.json()["message"]
    assert (
        page.status_code == 409
        and "text/html" in page.headers["content-type"]
        and "重试" in page.text
    )
    with transaction(root_node.engine) as session:
        assert (
            session.execute(
                select(func.count()).select_from(blobs).where(blobs.c.sha256 == FRESH)
            ).scalar()
            == 0
        )
    conflicts = [line for line in log.lines if line.get("code") == "request.conflict"]
    assert len(conflicts) == 2 and all(line.get("constraint") for line in conflicts), log.lines
    assert "430424198001011238" not in json.dumps(log.lines) and TAKEN not in json.dumps(log.lines)
