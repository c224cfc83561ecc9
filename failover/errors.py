"""The one error shape the service answers with: an HTTP status and `{"error": {"code", "message"}}`."""

from __future__ import annotations


class ServiceError(Exception):
    """A refusal to report to the caller as it is: `status`, `code`, `message`."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
