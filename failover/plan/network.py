"""A plan's `network` and `identity` sections: the recovery region's network and domain controllers, checked by
readiness and before a failover is proposed."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, field_validator

from failover.plan.fields import ResourceRef, _Model, is_vnet_id


class NetworkReadiness(_Model):
    """The recovery region's network, checked by readiness and before a failover is proposed: the recovery VNet
    exists in the recovery region, each gateway (VPN or ExpressRoute) is provisioned with a Connected connection
    to on-premises, and the vault has ASR network mappings to the recovery VNet."""

    recovery_vnet: ResourceRef
    gateways: list[ResourceRef] = Field(default_factory=list)
    asr_network_mappings: bool = True  # the vault must map a primary network to recovery_vnet
    primary_networks: list[str] = Field(default_factory=list)  # ARM ids: each must be mapped to recovery_vnet

    @field_validator("primary_networks")
    @classmethod
    def _vnet_ids(cls, values: list[str]) -> list[str]:
        wrong = [v for v in values if not is_vnet_id(v.strip())]
        if wrong:
            raise ValueError(f"'{wrong[0]}' is not a virtual network's ARM id")
        return [v.strip() for v in values]


def _dc(value: Any) -> Any:
    return {"name": value} if isinstance(value, str) else value


class DomainController(_Model):
    name: str = Field(min_length=1, description="the computer name its Heartbeat reports")
    location: Literal["recovery", "on_premises"] = "recovery"


class Identity(_Model):
    """Domain controllers that must be available in or from the recovery region: a DC in the recovery region
    counts when it sends a Heartbeat; an on-premises DC when it sends a Heartbeat and a gateway of
    `network.gateways` is connected (the recovery VNet reaches it)."""

    domain_controllers: list[Annotated[DomainController, BeforeValidator(_dc)]] = Field(min_length=1)
    workspace_id: str | None = None  # default: verify.workspace_id
    heartbeat_minutes: int = Field(default=15, ge=1, le=1440)
