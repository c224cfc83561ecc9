"""Contracts of the readiness activity (activities/readiness.py)."""

from __future__ import annotations

from typing import Any

from failover.contracts import CheckStatus, Contract
from failover.plan import Plan


class ReadinessInput(Contract):
    """`readiness_check`: the whole plan to check. Not an `ActivityInput`: its `plan` is the plan itself, not
    its name (the activity logs `plan.name`)."""

    instance_id: str | None = None
    plan: Plan


class ReadinessCheck(Contract):
    name: str
    status: CheckStatus
    message: str


class ReadinessResult(Contract):
    """The readiness document (also `GET /api/plans/{name}/readiness`): the worst status, and each check."""

    plan: str
    status: CheckStatus
    checked_at: str
    checks: list[ReadinessCheck]


class ReadinessRunInput(Contract):
    """The readiness orchestration's input (the 30-minute timer, `failover.api`): the plan, and the last
    result (its output, plain JSON) so that a change publishes `Contoso.Failover.ReadinessChanged`."""

    plan: Plan
    previous: dict[str, Any] | None = None


class ReadinessRunResult(ReadinessResult):
    """The readiness orchestration's output: the readiness document, and `published` when the status changed
    (whether the change event went out). The key is absent when nothing changed."""

    published: bool | None = None

    def plain(self) -> dict[str, Any]:
        data = super().plain()
        if self.published is None:
            del data["published"]
        return data
