"""Users projection: the ``users`` table as the root's user events say.

Only the root writes user events (one writer per record); the record travels to the
node it concerns by sync. Handlers use only the event, never the clock, so a rebuild
gives the same rows.
"""

from __future__ import annotations

from sqlalchemy import insert, update
from sqlmodel import Session

from common.ledger.envelope import SignedEvent
from common.ledger.projection import Projection, register_projection
from common.users.models import User

users_projection = register_projection(
    Projection("users", tables=[User.__table__])  # type: ignore[attr-defined]
)


def user_subject(node_id: str, username: str) -> str:
    return f"user:{node_id}:{username}"


def _update(session: Session, event: SignedEvent, **values: object) -> None:
    body = event.body
    session.execute(
        update(User)
        .where(User.node_id == body["node_id"], User.username == body["username"])
        .values(version=event.envelope["sseq"], **values)
    )


@users_projection.on("user.provisioned")
def _provisioned(session: Session, event: SignedEvent) -> None:
    body, version = event.body, event.envelope["sseq"]
    session.execute(
        insert(User).values(
            node_id=body["node_id"],
            username=body["username"],
            display_name=body["display_name"],
            role=body["role"],
            department=body.get("department"),
            head=bool(body.get("head", False)),
            password_hash=body["password_hash"],
            active=True,
            version=version,
            password_version=version,
        )
    )


@users_projection.on("user.password_changed")
def _password_changed(session: Session, event: SignedEvent) -> None:
    values: dict[str, object] = {"password_hash": event.body["password_hash"]}
    # A rehash (stronger parameters, same password) keeps the user's tokens valid.
    if not event.body.get("rehash", False):
        values["password_version"] = event.envelope["sseq"]
    _update(session, event, **values)


@users_projection.on("user.role_changed")
def _role_changed(session: Session, event: SignedEvent) -> None:
    body = event.body
    _update(
        session,
        event,
        role=body["role"],
        department=body.get("department"),
        head=bool(body.get("head", False)),
    )


@users_projection.on("user.disabled")
def _disabled(session: Session, event: SignedEvent) -> None:
    _update(session, event, active=False)


@users_projection.on("user.enabled")
def _enabled(session: Session, event: SignedEvent) -> None:
    _update(session, event, active=True)
