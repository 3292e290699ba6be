"""The one error type every identifier validator raises."""

from __future__ import annotations


class IdentifierError(ValueError):
    """An identifier was rejected.

    ``code`` is a stable machine code ("id.checksum", "uscc.authority", ...) that API
    clients and tests match on; ``message`` is the Chinese sentence shown to people.
    Neither ever contains the rejected value itself, so the error is safe to log.
    """

    def __init__(self, code: str, message: str) -> None:
        super().__init__(code, message)
        self.code = code
        self.message = message

    def __str__(self) -> str:
        return f"{self.message} ({self.code})"
