"""The domain packages a node is made of, in one list.

Models must be imported before migrations compare metadata; projections must be
registered before any event is applied; routers are mounted by ``create_app``.
"""

from __future__ import annotations

from importlib import import_module

MODEL_MODULES = [
    "common.ledger.models",
    "common.identity.models",
    "common.users.models",
    "common.calendar.models",
    "common.catalog.models",
    "common.blobs.models",
    "common.cases.models",
    "common.licences.models",
    "common.ratings.models",
    "common.sync.models",
    "common.authority.models",
    "common.supervision.models",
]

PROJECTION_MODULES = [
    "common.identity.projection",
    "common.users.projection",
    "common.calendar.projection",
    "common.catalog.projection",
    "common.cases.projection",
    # The cases projection's handlers, by part of the lifecycle (they register on it).
    "common.cases.handoff.projection",
    "common.cases.intake.projection",
    "common.cases.review.projection",
    "common.licences.projection",
    "common.ratings.projection",
    "common.supervision.projection",
    "common.sync.routing",
    "common.sync.custody",  # an after-pull hook: custody settles itself as records arrive
    "common.authority.events",  # installs the authority check; last, so every table it reads exists
]

ROUTER_MODULES = [
    "common.health.router",
    "common.identity.router",
    "common.users.router",
    "common.calendar.router",
    "common.catalog.router",
    "common.blobs.router",
    "common.cases.intake.router",
    "common.cases.review.router",
    "common.cases.handoff.router",
    "common.documents.router",  # before licences: /licences/{id}.pdf must not match /licences/{id}
    "common.licences.router",
    "common.ratings.router",
    "common.oversight.router",
    "common.supervision.router",
    "common.sync.router",
    "common.sync.admin_router",
]


def load_models() -> None:
    for name in MODEL_MODULES:
        import_module(name)


def load_projections() -> None:
    load_models()
    for name in PROJECTION_MODULES:
        import_module(name)
