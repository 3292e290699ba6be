"""The sample catalogue shipped with the package (data/sample_catalogue.json).

It holds real Hengdong-style matters and the batches they were published in, so a new
county node can be tried out (``onetrip catalogue import --publish-sample-batches``)
and tests have a realistic catalogue.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from importlib import resources
from typing import TYPE_CHECKING, Any

from common.catalog.io import read_catalogue
from common.catalog.schema import Matter

if TYPE_CHECKING:
    from sqlmodel import Session

    from common.ledger.envelope import SignedEvent
    from common.node import ThisNode
    from common.users.roles import Actor

SAMPLE_PACKAGE = "common.catalog"
SAMPLE_PATH = ("data", "sample_catalogue.json")


@dataclass(frozen=True)
class SampleBatch:
    name: str
    published_on: date
    codes: list[str]


def sample_bytes() -> bytes:
    # Resolved from the package, not the data dir: data/ need not be a package itself.
    return resources.files(SAMPLE_PACKAGE).joinpath(*SAMPLE_PATH).read_bytes()


def _batch(entry: dict[str, Any]) -> SampleBatch:
    # Tolerate the spellings a hand-kept file may use for the same facts.
    codes = entry.get("codes") or entry.get("implementation_codes") or entry.get("matters") or []
    return SampleBatch(
        name=str(entry.get("name", "")),
        published_on=date.fromisoformat(str(entry.get("published_on") or entry.get("date"))),
        codes=[c if isinstance(c, str) else c["implementation_code"] for c in codes],
    )


def load_sample_matters() -> tuple[list[Matter], list[SampleBatch]]:
    """The sample's matters (validated like any import) and its batches in order."""
    data = sample_bytes()
    matters = read_catalogue(data, "json")
    document = json.loads(data.decode("utf-8-sig"))
    batches = document.get("batches", []) if isinstance(document, dict) else []
    return matters, [_batch(entry) for entry in batches]


def publish_sample(
    session: Session, node: ThisNode, actor: Actor, codes: Iterable[str] | None = None
) -> None:
    """Import the sample's matters as drafts and publish its batches, in ``session``;
    ``codes`` keeps only those matters (a quick test needs two, not the whole sample)."""
    from common.catalog.service import import_drafts

    matters, batches = load_sample_matters()
    wanted = None if codes is None else set(codes)
    import_drafts(
        session,
        node,
        actor,
        [m for m in matters if wanted is None or m.implementation_code in wanted],
    )
    list(publish_batches(session, node, actor, batches, wanted))  # each batch, in order


def publish_batches(
    session: Session,
    node: ThisNode,
    actor: Actor,
    batches: Iterable[SampleBatch],
    wanted: set[str] | None = None,
) -> Iterator[SignedEvent]:
    """Publish the sample's ``batches`` in order, each as it is iterated (so a caller can
    report one before the next is tried), yielding its event; only the ``wanted`` codes,
    and a batch left without any is skipped."""
    from common.catalog.service import publish_batch

    for batch in batches:
        chosen = [c for c in batch.codes if wanted is None or c in wanted]
        if chosen:
            yield publish_batch(
                session, node, actor, name=batch.name, published_on=batch.published_on, codes=chosen
            )
