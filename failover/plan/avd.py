"""A plan's Azure Virtual Desktop sections: the host pools to empty (`avd`) and the standby session hosts
to start in the recovery region (`standby`)."""

from __future__ import annotations

from pydantic import Field

from failover.plan.fields import Duration, _Model


class HostPoolRef(_Model):
    resource_group: str = Field(min_length=1)
    name: str = Field(min_length=1)
    subscription_id: str | None = None


class UserMessage(_Model):
    title: str = "Planned maintenance: please save your work"
    body: str = (
        "Your desktop is moving to our recovery region. Save your work and sign out; "
        "you will be signed out automatically in a few minutes."
    )


class Avd(_Model):
    host_pools: list[HostPoolRef] = Field(default_factory=list)
    message: UserMessage = Field(default_factory=UserMessage)
    grace_period: Duration = 300.0
    logoff_concurrency: int = Field(default=8, ge=1, le=64)


class VmSet(_Model):
    resource_group: str = Field(min_length=1)
    names: list[str] = Field(min_length=1)
    subscription_id: str | None = None


class Standby(_Model):
    """Start deallocated session hosts in the recovery region and let them take new sessions."""

    vms: VmSet
    host_pool: HostPoolRef
