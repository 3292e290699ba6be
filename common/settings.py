"""Node settings: read once at start-up and injected (``create_app(settings)``).

Nothing reads settings at import time, so a test can run several nodes in one process.
Values come from, in increasing priority: defaults, the node file ``node.json`` that
``onetrip init`` writes into the data directory, ``ONETRIP_*`` environment variables,
and explicit keyword arguments.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

NODE_FILE = "node.json"
DEFAULT_NETWORK_ID = "hengdong-430424"


class NodeSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ONETRIP_", extra="ignore")

    data_dir: Path
    node_id: str | None = Field(default=None, pattern=r"^\d{12}$")
    tier: str | None = None
    parent_url: str | None = None
    database_url: str | None = None
    host: str = "127.0.0.1"
    port: int = 8400
    network_id: str = DEFAULT_NETWORK_ID
    people_timezone: str = "Asia/Shanghai"
    # Hex SHA-256 of the root's public key: the anchor of trust (set at init/enrolment).
    root_fingerprint: str | None = None
    enrolment_token_hours: int = 72
    sync_enabled: bool = True
    sync_interval_seconds: float = Field(default=10.0, gt=0, le=3600)
    # A node is 失联 (silent) on the health page after this many sync intervals without
    # contact (its own, or relayed by the node between).
    silent_after_rounds: int = Field(default=3, ge=1, le=10_000)
    # Working days a bad rating's rectification may take (DOMAIN.md: locally 5–15).
    rectification_days: int = Field(default=10, ge=5, le=15)
    # Working days to verify a 告知承诺制 approval after the decision.
    verification_days: int = Field(default=20, ge=1, le=120)
    # Validity in years per licence type code; types not listed are long-term.
    licence_validity_years: dict[str, int] = Field(default_factory=dict)
    # A Chinese TrueType font to embed in PDFs: "PATH" or "PATH#INDEX" for a .ttc;
    # "STSong-Light" forces reportlab's standard CID font (not embedded).
    document_font: str | None = None
    log_json: bool = True
    # Addresses of the reverse proxies in front of this node whose X-Forwarded-For is
    # believed (the client address that throttles key on); none by default.
    trusted_proxies: list[str] = Field(default_factory=list)

    @field_validator("data_dir")
    @classmethod
    def _absolute(cls, value: Path) -> Path:
        return value.expanduser().resolve()

    @property
    def effective_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'node.db'}"

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.people_timezone)

    @property
    def key_path(self) -> Path:
        return self.data_dir / "keys" / "node_ed25519.pem"

    @property
    def blob_dir(self) -> Path:
        return self.data_dir / "blobs"


def read_node_file(data_dir: Path) -> dict[str, Any]:
    path = Path(data_dir).expanduser() / NODE_FILE
    if not path.exists():
        return {}
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def write_node_file(settings: NodeSettings) -> None:
    """Persist what identifies this node so that later commands need only --data-dir."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    content = {
        "node_id": settings.node_id,
        "tier": settings.tier,
        "parent_url": settings.parent_url,
        "network_id": settings.network_id,
        "root_fingerprint": settings.root_fingerprint,
        "host": settings.host,
        "port": settings.port,
    }
    if settings.database_url:
        content["database_url"] = settings.database_url
    path = settings.data_dir / NODE_FILE
    path.write_text(json.dumps(content, ensure_ascii=False, indent=2), encoding="utf-8")


def load_settings(data_dir: Path | str, **overrides: Any) -> NodeSettings:
    """Settings for the node in ``data_dir``: node file, then environment, then overrides."""
    from_file = read_node_file(Path(data_dir))
    explicit = {k: v for k, v in overrides.items() if v is not None}
    # Environment variables beat the node file but not explicit arguments: pydantic-settings
    # gives init kwargs priority, so only pass file values the environment does not set.
    import os

    merged: dict[str, Any] = {}
    for key, value in from_file.items():
        if value is not None and f"ONETRIP_{key.upper()}" not in os.environ:
            merged[key] = value
    merged.update(explicit)
    merged["data_dir"] = Path(data_dir)
    return NodeSettings(**merged)
