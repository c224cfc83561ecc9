"""A plan's Azure Virtual Desktop sections: the host pools to empty (`avd`), the session hosts to build in the
recovery region for a pooled host pool marked `recovery: provision`, and the standby session hosts to start in
the recovery region (`standby`)."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, model_validator

from failover.plan.fields import Duration, _Model

# plan seconds between two looks of the run at the VMs and the host pool (orchestrations.provision; the preview's)
PROVISION_POLL_SECONDS = 30.0

_SUBNET_ID = re.compile(
    r"^/subscriptions/(?P<sub>[^/]+)/resourceGroups/(?P<rg>[^/]+)/providers/Microsoft\.Network/"
    r"virtualNetworks/[^/]+/subnets/[^/]+$",
    re.IGNORECASE,
)


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


class Provision(_Model):
    """Session hosts built on demand in the recovery region from the host pool's VM template (image and size):
    `count` VMs named `<name_prefix>-<n>` in `resource_group`, on `subnet_id`, registered to the host pool."""

    count: int = Field(ge=1, le=99)
    # Windows computer names are at most 15 characters: the prefix, a dash and up to two digits
    name_prefix: str = Field(pattern=r"^[a-z][a-z0-9-]{0,10}[a-z0-9]$|^[a-z]$")
    resource_group: str = Field(min_length=1)
    subnet_id: str = Field(min_length=1)
    vm_size: str | None = None  # else the VM template's `vmSize.id`
    timeout: Duration = 1800.0  # until every one reports Available; then an operator retries or skips
    # preview: a VM built from the image until it runs, then the AVD agent installed and registered until Available
    expected_duration: Duration = 600.0
    subscription_id: str | None = None

    @model_validator(mode="after")
    def _subnet_in_the_group(self) -> Provision:
        match = _SUBNET_ID.match(self.subnet_id)
        if match is None:
            raise ValueError(
                "provision.subnet_id: not a subnet id (/subscriptions/<id>/resourceGroups/<group>/providers/"
                "Microsoft.Network/virtualNetworks/<vnet>/subnets/<subnet>)"
            )
        if match["rg"].lower() != self.resource_group.lower():
            raise ValueError(
                f"provision.subnet_id: the subnet's virtual network must be in provision.resource_group "
                f"'{self.resource_group}' (the service's role is assigned there), not in '{match['rg']}'"
            )
        return self

    def names(self) -> list[str]:
        """The VMs' names: deterministic, so a repeated activity finds the VMs it created instead of adding more."""
        return [f"{self.name_prefix}-{index}" for index in range(self.count)]


class AvdHostPool(HostPoolRef):
    """A host pool the run drains; `recovery: provision` also builds `provision.count` session hosts for it in
    the recovery region (pooled host pools only: the run refuses a personal one)."""

    recovery: Literal["none", "provision"] = "none"
    provision: Provision | None = None

    @model_validator(mode="after")
    def _provision_when_asked(self) -> AvdHostPool:
        if self.recovery == "provision" and self.provision is None:
            raise ValueError(f"avd.host_pools[{self.name}].provision: required with recovery: provision (count, ...)")
        if self.recovery != "provision" and self.provision is not None:
            raise ValueError(
                f"avd.host_pools[{self.name}].recovery: set it to 'provision' to use its provision section"
            )
        return self


class Avd(_Model):
    host_pools: list[AvdHostPool] = Field(default_factory=list)
    message: UserMessage = Field(default_factory=UserMessage)
    grace_period: Duration = 300.0
    logoff_concurrency: int = Field(default=8, ge=1, le=64)

    @property
    def provisioned(self) -> list[AvdHostPool]:
        """The host pools marked `recovery: provision`."""
        return [pool for pool in self.host_pools if pool.provision is not None]

    @model_validator(mode="after")
    def _unique_vm_names(self) -> Avd:
        names = [n.lower() for pool in self.provisioned if pool.provision for n in pool.provision.names()]
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise ValueError(f"avd.host_pools[].provision.name_prefix: two pools would name a VM {repeated[0]}")
        return self


class VmSet(_Model):
    resource_group: str = Field(min_length=1)
    names: list[str] = Field(min_length=1)
    subscription_id: str | None = None


class Standby(_Model):
    """Start deallocated session hosts in the recovery region and let them take new sessions."""

    vms: VmSet
    host_pool: HostPoolRef
