"""Contracts of the backup restore-test activities (failover.contracts.backup)."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from failover import contracts
from failover.contracts.backup import BackupJobResult, BackupRestoreInput, RecoveryPointResult, RestoredVmInput

RESTORE = {
    "subscription_id": "s",
    "vault_resource_group": "rg-backup",
    "vault": "rsv",
    "vm_resource_group": "rg-apps",
    "vm": "vm-app",
    "recovery_point": "900",
    "target_resource_group": "rg-restoretest",
    "target_vm": "vm-app-rt",
    "network_id": "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/vnet-iso",
    "subnet": "default",
    "staging_storage_account": "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/st",
    "location": "northeurope",
}


def test_missing_or_empty_ids_are_named() -> None:
    with pytest.raises(ValidationError, match="network_id"):
        BackupRestoreInput(**{k: v for k, v in RESTORE.items() if k != "network_id"})
    with pytest.raises(ValidationError, match="target_vm"):
        BackupRestoreInput(**{**RESTORE, "target_vm": ""})
    with pytest.raises(ValidationError, match="target_resource_group"):
        RestoredVmInput(subscription_id="s", target_resource_group="", target_vm="vm-app-rt")


@pytest.mark.parametrize(
    "model",
    [
        BackupRestoreInput(**RESTORE, instance_id="backup-test-demo-0", plan="demo"),
        RestoredVmInput(subscription_id="s", target_resource_group="rg", target_vm="vm-rt"),
        RecoveryPointResult(recovery_point="900", time="2026-01-01 00:00:00+00:00", points=3),
        BackupJobResult(status="Completed", done=True, failed=False),
    ],
)
def test_round_trip(model: contracts.Contract) -> None:
    assert contracts.loads(contracts.dumps(model)) == model
