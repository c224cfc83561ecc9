"""Contracts of the verify activities (activities/verify.py): ASR's VM names of recovery plans, and what
Azure Monitor Logs says about them."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from failover.contracts import ActivityInput, Contract, NonEmpty
from failover.contracts.asr import VaultInput

# A Logs look-back window in minutes; strict: a bool or a string is refused, not converted.
Minutes = Annotated[int, Field(strict=True, ge=1, le=1440)]


class RecoveryPlanVmsInput(VaultInput):
    """`asr_recovery_plan_vms`: the recovery plans whose VM names are wanted."""

    recovery_plans: list[NonEmpty]


class RecoveryPlanVmsResult(Contract):
    """Each recovery plan's VM (computer) names, in group order: recovery plan name -> VM names."""

    vms: dict[str, list[str]]


class HeartbeatInput(ActivityInput):
    """`logs_heartbeat`: which `computers` sent a Heartbeat to the workspace in the last `minutes`. The names go
    into KQL as escaped literals; the activity refuses an empty one or one with a control character."""

    workspace_id: NonEmpty
    computers: list[str]
    minutes: Minutes = 15


class HeartbeatResult(Contract):
    """The computers as given (in the given order, without duplicates) that reported, and those that did not."""

    reporting: list[str]
    missing: list[str]
    checked_at: str


class AvdAgentHealthInput(ActivityInput):
    """`logs_avd_agent_health`: the AVD agent health of `host_pool`'s session hosts in the last `minutes`;
    `session_hosts`, when given, are the names expected to report."""

    workspace_id: NonEmpty
    host_pool: NonEmpty
    minutes: Minutes = 15
    session_hosts: list[str] = Field(default_factory=list)


class AvdAgentHealthResult(Contract):
    """healthy: latest Status `Available`; unhealthy: any other latest Status, then the expected hosts that sent
    no row (`missing`); statuses: session host -> latest Status, for those not Available."""

    healthy: list[str]
    unhealthy: list[str]
    missing: list[str]
    statuses: dict[str, str]
    checked_at: str
