"""The licences projection: ``licence.issued`` inserts a row, ``licence.revoked``
marks it. Handlers use only the event, so a rebuild gives identical rows."""

from __future__ import annotations

import json

from sqlalchemy import insert, update
from sqlmodel import Session

from common.identifiers import mask_identifier
from common.ledger.envelope import SignedEvent
from common.ledger.projection import Projection, register_projection
from common.licences.models import Licence

LICENCE_SUBJECT_PREFIX = "licence:"
LICENCE_ISSUED = "licence.issued"
LICENCE_REVOKED = "licence.revoked"

licences_projection = register_projection(Projection("licences", tables=[Licence.__table__]))  # type: ignore[attr-defined]


def licence_subject(licence_id: str) -> str:
    return LICENCE_SUBJECT_PREFIX + licence_id


def licence_data_json(data: dict[str, object]) -> str:
    return json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


@licences_projection.on(LICENCE_ISSUED)
def _issued(session: Session, event: SignedEvent) -> None:
    body = event.body
    holder, issuer = body["holder"], body["issuer"]
    session.execute(
        insert(Licence).values(
            licence_id=body["licence_id"],
            type_code=body["type_code"],
            serial=body["licence_id"].split(".")[-3],  # as signed: no re-validation on apply
            name=body["name"],
            holder_kind=holder["kind"],
            holder_name=holder["name"],
            holder_id=holder["id_number"],
            holder_id_masked=mask_identifier(holder["id_number"]),
            issuer_node=issuer["node"],
            issuer_body=issuer["body"],
            issuer_uscc=issuer["uscc"],
            valid_from=body["valid_from"],
            valid_to=body["valid_to"],
            data=licence_data_json(body["data"]),
            case_no=body.get("case_no"),
            issued_event_id=event.id,
            state="valid",
        )
    )


@licences_projection.on(LICENCE_REVOKED)
def _revoked(session: Session, event: SignedEvent) -> None:
    body = event.body
    session.execute(
        update(Licence)
        .where(Licence.licence_id == body["licence_id"])
        .values(state="revoked", revoked_reason=body["reason"], revoked_on=body["revoked_on"])
    )
