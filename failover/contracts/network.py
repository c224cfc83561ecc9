"""Contracts of the network and identity readiness activities (activities/network.py)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from failover.contracts import ActivityInput, CheckStatus, Contract, NonEmpty
from failover.plan import Plan

DcLocation = Literal["recovery", "on_premises"]


class DomainControllerRef(Contract):
    """A domain controller by the computer name its Heartbeat reports: in the recovery region, or on-premises
    (reached through a gateway of the recovery VNet)."""

    name: NonEmpty
    location: DcLocation = "recovery"


class GatewayRef(Contract):
    """A virtual network gateway (VPN or ExpressRoute) of the recovery VNet."""

    subscription_id: NonEmpty
    resource_group: NonEmpty
    name: NonEmpty


class IdentityStatusInput(ActivityInput):
    """`identity_status`: which domain controllers sent a Heartbeat to `workspace_id` in the last `minutes`;
    an on-premises one counts only while one of `gateways` is connected."""

    workspace_id: NonEmpty
    minutes: int = 15
    domain_controllers: Annotated[list[DomainControllerRef], Field(min_length=1)]
    gateways: list[GatewayRef] = Field(default_factory=list)


class UnavailableDomainController(Contract):
    name: str
    location: DcLocation
    reason: str


class IdentityStatusResult(Contract):
    """The available domain controllers (names), the others with why; `gateways_connected` None when no
    gateway is listed."""

    available: list[str]
    unavailable: list[UnavailableDomainController]
    gateways_connected: bool | None = None
    checked_at: str


class PreflightInput(Contract):
    """`preflight_checks`: the plan itself (its network and identity sections). Not an `ActivityInput`: there,
    `plan` is the plan's name; here it is the whole plan, as the orchestration has always passed it."""

    instance_id: str | None = None
    plan: Plan


class PreflightCheck(Contract):
    name: str
    status: CheckStatus
    message: str


class PreflightResult(Contract):
    """The worst status of the checks (`fail` > `warn` > `pass`) and the checks: network, network_mappings,
    identity, provision (`recovery: provision`)."""

    status: CheckStatus
    checks: list[PreflightCheck]
