"""A node's Ed25519 key pair, stored as a PEM file readable only by the node's user."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from common.ledger.envelope import b64u, unb64u


def public_key_bytes(public_key: Ed25519PublicKey) -> bytes:
    return public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def fingerprint_of(public_key_raw: bytes) -> str:
    """Hex SHA-256 of the raw public key: what is installed as the anchor of trust."""
    return hashlib.sha256(public_key_raw).hexdigest()


def kid_of(public_key_raw: bytes) -> str:
    return "ed25519:" + fingerprint_of(public_key_raw)[:16]


def load_public_key(text: str) -> Ed25519PublicKey:
    return Ed25519PublicKey.from_public_bytes(unb64u(text))


@dataclass
class NodeKey:
    node_id: str
    private_key: Ed25519PrivateKey

    @property
    def public_raw(self) -> bytes:
        return public_key_bytes(self.private_key.public_key())

    @property
    def public_b64(self) -> str:
        return b64u(self.public_raw)

    @property
    def kid(self) -> str:
        return kid_of(self.public_raw)

    @property
    def fingerprint(self) -> str:
        return fingerprint_of(self.public_raw)

    def sign(self, data: bytes) -> bytes:
        return self.private_key.sign(data)


def generate_key_file(path: Path) -> Ed25519PrivateKey:
    """Create a new key; refuses to overwrite an existing one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    os.chmod(path.parent, 0o700)
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    # O_EXCL: never clobber a key; mode 0600 from the first byte, not chmod after.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(pem)
    return key


def load_key_file(path: Path, node_id: str) -> NodeKey:
    mode = path.stat().st_mode & 0o777
    if mode & 0o077:
        raise PermissionError(
            f"key file {path} is readable by others (mode {mode:o}); chmod 600 it"
        )
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError(f"{path} is not an Ed25519 key")  # noqa: TRY004 - a bad file, not a caller's type error
    return NodeKey(node_id=node_id, private_key=key)
