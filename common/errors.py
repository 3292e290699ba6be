"""Errors are answers: a stable machine code, a Chinese message, the field at fault.

Action functions raise ``DomainError`` (or a subclass); the app turns it into a 4xx
JSON body ``{"code", "message", "field"}`` and the transaction is rolled back, so
nothing half-written stays behind.
"""

from __future__ import annotations


class DomainError(Exception):
    status_code = 400

    def __init__(
        self, code: str, message: str, field: str | None = None, *, status: int | None = None
    ) -> None:
        super().__init__(f"{code}: {message}" + (f" ({field})" if field else ""))
        self.code = code
        self.message = message
        self.field = field
        if status is not None:
            self.status_code = status

    def as_dict(self) -> dict[str, str | None]:
        return {"code": self.code, "message": self.message, "field": self.field}


class NotFound(DomainError):
    status_code = 404


class Forbidden(DomainError):
    status_code = 403


class Conflict(DomainError):
    status_code = 409


class Unauthorised(DomainError):
    status_code = 401


class InitError(RuntimeError):
    """Initialisation cannot go on; the message says why, for the person at the console."""
