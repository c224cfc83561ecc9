"""A plan's `dns` section: the DNS records and Traffic Manager endpoints to switch after failover."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, model_validator

from failover.plan.fields import _Model


class DnsRecord(_Model):
    resource_group: str = Field(min_length=1)
    zone: str = Field(min_length=1)
    name: str = Field(min_length=1)
    type: Literal["A", "CNAME"] = "CNAME"
    target: str = Field(min_length=1, description="The value in the recovery region (CNAME target or IPv4).")
    ttl: int = Field(default=60, ge=1, le=86400)
    subscription_id: str | None = None

    @model_validator(mode="after")
    def _ipv4_for_a(self) -> DnsRecord:
        if self.type == "A" and not re.fullmatch(r"(\d{1,3}\.){3}\d{1,3}", self.target):
            raise ValueError(f"target '{self.target}' is not an IPv4 address (record type A)")
        return self

    @property
    def label(self) -> str:
        return f"{self.name}.{self.zone} {self.type}"


class TrafficManagerEndpoint(_Model):
    """A Traffic Manager endpoint to change after failover (e.g. disable the primary's, promote the recovery's)."""

    resource_group: str = Field(min_length=1)
    profile: str = Field(min_length=1)
    endpoint: str = Field(min_length=1)
    endpoint_type: Literal["azureEndpoints", "externalEndpoints", "nestedEndpoints"] = "externalEndpoints"
    status: Literal["Enabled", "Disabled"] | None = None
    priority: int | None = Field(default=None, ge=1, le=1000)
    subscription_id: str | None = None

    @model_validator(mode="after")
    def _changes_something(self) -> TrafficManagerEndpoint:
        if self.status is None and self.priority is None:
            raise ValueError("set status and/or priority")
        return self

    @property
    def label(self) -> str:
        return f"{self.profile}/{self.endpoint}"


class Dns(_Model):
    records: list[DnsRecord] = Field(default_factory=list)
    traffic_manager: list[TrafficManagerEndpoint] = Field(default_factory=list)
