"""The errors reported as they are: the one error shape the service answers with (an HTTP status and
`{"error": {"code", "message"}}`), and a plan file's validation errors.

Imports nothing, so the CLI can catch them without importing what raises them (docs/performance.md)."""

from __future__ import annotations


class ServiceError(Exception):
    """A refusal to report to the caller as it is: `status`, `code`, `message`."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


class PlanError(ValueError):
    """A plan file failed validation. `errors` are `file:line: field: message` lines (raised by
    failover.plan.loading, importable from failover.plan)."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__("\n".join(errors))
        self.errors = errors
