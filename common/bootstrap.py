"""Creating and opening a node's data directory.

``init_root`` founds the network: the root key, the database, the registry's first
version and the first administrator. ``init_member`` enrols a township or village
(or any lower node) through its parent with a one-time token and keeps the signed
registry it receives. ``open_node`` opens an initialised data directory.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx

from common.db import make_engine, transaction
from common.domains import load_projections
from common.errors import DomainError, InitError
from common.identity.divisions import NODE_ID_RE, default_tier
from common.identity.enrolment import keep_registry
from common.identity.keys import NodeKey, generate_key_file, load_key_file
from common.identity.registry import get_node_entry
from common.identity.service import found_root, split_token
from common.migrate import upgrade
from common.node import ThisNode
from common.settings import NODE_FILE, NodeSettings, load_settings, write_node_file


def open_node(data_dir: Path | str, **overrides: Any) -> ThisNode:
    settings = load_settings(data_dir, **overrides)
    if settings.node_id is None:
        raise InitError(f"{settings.data_dir} is not an initialised node (run `onetrip init`)")
    return node_from_settings(settings)


def node_from_settings(settings: NodeSettings) -> ThisNode:
    from common.sync.outbox import install_routing

    load_projections()
    assert settings.node_id is not None
    key = load_key_file(settings.key_path, settings.node_id)
    engine = make_engine(settings.effective_database_url)
    # Every write through this engine fills the outboxes of the neighbours that need it.
    install_routing(engine, settings.node_id)
    return ThisNode(settings=settings, engine=engine, key=key)


def _prepare(settings: NodeSettings) -> NodeKey:
    if (settings.data_dir / NODE_FILE).exists():
        raise InitError(f"{settings.data_dir} already holds a node; refusing to overwrite it")
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    settings.data_dir.chmod(0o700)
    settings.blob_dir.mkdir(exist_ok=True)
    assert settings.node_id is not None
    private = generate_key_file(settings.key_path)
    return NodeKey(node_id=settings.node_id, private_key=private)


def init_root(
    data_dir: Path | str,
    *,
    node_id: str,
    name: str,
    admin_username: str,
    admin_password: str,
    tier: str | None = None,
    **overrides: Any,
) -> ThisNode:
    """Found the network at its root node (the county in the reference deployment)."""
    from common.calendar.service import seed_calendar_days
    from common.users.service import create_root_admin

    if not NODE_ID_RE.match(node_id):
        raise InitError("node id must be a 12-digit division code")
    settings = load_settings(
        data_dir, node_id=node_id, tier=tier or default_tier(node_id), **overrides
    )
    key = _prepare(settings)
    settings = settings.model_copy(update={"root_fingerprint": key.fingerprint})
    node = node_from_settings(settings)
    upgrade(node.engine)
    with transaction(node.engine) as session:
        found_root(session, node, name)
        create_root_admin(session, node, admin_username, name + "管理员", admin_password)
        seed_calendar_days(session)
    write_node_file(settings)
    return node


def init_member(
    data_dir: Path | str,
    *,
    node_id: str,
    parent_url: str,
    token: str,
    tier: str | None = None,
    client: httpx.Client | None = None,
    **overrides: Any,
) -> ThisNode:
    """Enrol a new node through its parent and keep the root-signed registry."""
    from common.calendar.service import seed_calendar_days

    if not NODE_ID_RE.match(node_id):
        raise InitError("node id must be a 12-digit division code")
    try:
        _, root_fingerprint = split_token(token)
    except DomainError as exc:
        raise InitError(exc.message) from exc
    settings = load_settings(
        data_dir,
        node_id=node_id,
        tier=tier or default_tier(node_id),
        parent_url=parent_url.rstrip("/"),
        root_fingerprint=root_fingerprint,
        **overrides,
    )
    key = _prepare(settings)
    node: ThisNode | None = None
    try:
        registry = _request_enrolment(settings, key, token, client)
        node = node_from_settings(settings)
        upgrade(node.engine)
        with transaction(node.engine) as session:
            keep_registry(session, node, registry)
            entry = get_node_entry(session, node_id)
            if entry is None or entry.parent_id is None:
                raise InitError("the registry received does not list this node")
            if settings.tier != entry.tier:
                settings = settings.model_copy(update={"tier": entry.tier})
            seed_calendar_days(session)
    except BaseException:
        # Nothing half-written: a failed enrolment leaves no key or database behind.
        _remove_partial(settings)
        raise
    finally:
        # The node is returned with its final settings on an engine of its own: this one
        # must not keep the database open behind the caller's back.
        if node is not None:
            node.engine.dispose()
    write_node_file(settings)
    return node_from_settings(settings)


def _remove_partial(settings: NodeSettings) -> None:
    for path in (
        settings.key_path,
        settings.data_dir / "node.db",
        settings.data_dir / "node.db-wal",
        settings.data_dir / "node.db-shm",
    ):
        if path.exists():
            path.unlink()


def _request_enrolment(
    settings: NodeSettings, key: NodeKey, token: str, client: httpx.Client | None
) -> list[str]:
    payload: dict[str, Any] = {
        "node_id": settings.node_id,
        "public_key": key.public_b64,
        "token": token,
        "via": [],
    }
    own_client = client is None
    http = client or httpx.Client(timeout=30)
    try:
        response = http.post(f"{settings.parent_url}/api/v1/enrol", json=payload)
    except httpx.HTTPError as exc:
        raise InitError(f"cannot reach the parent node at {settings.parent_url}: {exc}") from exc
    finally:
        if own_client:
            http.close()
    if response.status_code != 200:
        try:
            detail = response.json()
            message = f"{detail.get('message')} [{detail.get('code')}]"
        except (ValueError, json.JSONDecodeError):
            message = response.text[:300]
        raise InitError(f"enrolment refused ({response.status_code}): {message}")
    return list(response.json()["registry"])
