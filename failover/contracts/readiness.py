"""Contracts of the readiness activity (activities/readiness.py)."""

from __future__ import annotations

from typing import Literal

from failover.contracts import Contract
from failover.plan import Plan

CheckStatus = Literal["pass", "warn", "fail"]


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
