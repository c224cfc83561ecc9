"""A plan's `backup_tests` section: restore tests of Azure Backup."""

from __future__ import annotations

from pydantic import Field, field_validator

from failover.plan.fields import Duration, ResourceRef, _Model, is_vnet_id


class BackupTest(_Model):
    """A restore test (Azure Backup): restore a VM from its latest recovery point into an isolated network,
    check its Heartbeat, delete it, and report the restore time against `target`. Never touches the source VM."""

    vault: ResourceRef  # the Recovery Services vault that backs the VM up
    vm: ResourceRef  # the protected (production) VM
    network_id: str = Field(description="ARM id of the isolated virtual network for the restored VM")
    subnet: str = "default"
    staging_storage_account: str = Field(min_length=1, description="ARM id of the restore's staging storage account")
    target_resource_group: str = Field(min_length=1, description="where the restored VM is created (and deleted)")
    workspace_id: str | None = None  # default: verify.workspace_id
    target: Duration = 14400.0  # restore time objective
    timeout: Duration = 14400.0
    heartbeat_minutes: int = Field(default=15, ge=1, le=1440)
    scheduled: bool = True

    @field_validator("network_id")
    @classmethod
    def _network(cls, value: str) -> str:
        if not is_vnet_id(value.strip()):
            raise ValueError(f"'{value}' is not a virtual network's ARM id")
        return value.strip()
