"""Network, identity and NetApp activities with the real SDK clients (azure-mgmt-network, -recoveryservicessiterecovery,
-netapp, azure-monitor-query) against the simulator's demo estate (one simulator for the module)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import yaml
from azure.core.exceptions import ResourceNotFoundError

from activities.backup import backup_delete_vm, backup_job_status, backup_latest_point, backup_restore_start
from activities.netapp import netapp_break_start, netapp_break_status
from activities.network import identity_check, network_checks, preflight_checks
from failover import settings as settings_module
from failover.contracts.backup import BackupItemInput, BackupJobInput, BackupRestoreInput, RestoredVmInput
from failover.contracts.netapp import NetAppBreakInput, NetAppBreakStatusInput
from failover.contracts.network import PreflightInput
from failover.plan import Plan
from failover.settings import Settings
from local.stack import DEMO_PLAN
from simulator import Estate, EstateConfig, Simulator, seed_demo_estate
from simulator import sites as sim_sites
from tests.sites_plan import NETWORK_AND_IDENTITY

DEMO = {**yaml.safe_load(DEMO_PLAN.read_text()), **NETWORK_AND_IDENTITY}
VOLUME = {
    "subscription_id": DEMO["subscription_id"],
    "resource_group": "rg-avd-neu",
    "account": "anf-contoso-neu",
    "pool": "pool-premium",
    "volume": "vol-fslogix-neu",
}


@pytest.fixture(scope="module")
def sim() -> Iterator[Simulator]:
    config = EstateConfig()
    config.time_scale = 6000.0
    simulator = Simulator(seed_demo_estate(Estate(config), vms=10, sessions=2)).start()
    yield simulator
    simulator.stop()


@pytest.fixture(autouse=True)
def configured(sim: Simulator, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    settings = Settings(arm_endpoint=sim.url, ca_bundle=sim.ca_bundle, credential="simulator", logs_endpoint=sim.url)
    monkeypatch.setattr(settings_module, "_current", settings)
    yield
    sim_sites.of(sim.estate).set_connection("vgw-neu", "Connected")


def plan(**overrides: Any) -> Plan:
    return Plan.model_validate({**DEMO, **overrides})


def checks(p: Plan) -> dict[str, dict[str, Any]]:
    return {c["name"]: c for c in network_checks(p) + identity_check(p)}


def test_demo_network_and_identity_pass() -> None:
    found = checks(plan())
    assert found["network"]["status"] == "pass", found
    assert "vgw-neu (Vpn) connected" in found["network"]["message"]
    assert found["network_mappings"]["status"] == "pass"
    assert "vnet-avd-weu → vnet-avd-neu" in found["network_mappings"]["message"]
    assert found["identity"]["status"] == "pass" and "dc-onprem-01" in found["identity"]["message"]


def test_gateway_down_fails_network_and_on_premises_identity(sim: Simulator) -> None:
    sim_sites.of(sim.estate).set_connection("vgw-neu", "NotConnected")
    result = preflight_checks(PreflightInput(plan=plan()))
    found = {c.name: c.plain() for c in result.checks}
    assert result.status == "fail"
    assert "cn-neu-onprem NotConnected" in found["network"]["message"]
    assert found["identity"]["status"] == "fail" and "no connected gateway" in found["identity"]["message"]
    assert found["network_mappings"]["status"] == "pass"


def test_missing_vnet_mapping_and_dc() -> None:
    network = {**DEMO["network"], "recovery_vnet": {"resource_group": "rg-net-neu", "name": "vnet-other"}}
    identity = {"domain_controllers": ["dc-neu-01", {"name": "dc-onprem-01", "location": "on_premises"}]}
    found = checks(plan(network=network, identity=identity))
    assert found["network"]["status"] == "fail" and "vnet-other not found" in found["network"]["message"]
    assert (
        found["network_mappings"]["status"] == "fail"
        and "no ASR network mapping" in found["network_mappings"]["message"]
    )
    assert found["identity"]["status"] == "warn" and "dc-neu-01 (no Heartbeat)" in found["identity"]["message"]


def test_unmapped_primary_network() -> None:
    sub = DEMO["subscription_id"]
    other = f"/subscriptions/{sub}/resourceGroups/rg-net-weu/providers/Microsoft.Network/virtualNetworks/vnet-sap-weu"
    found = checks(plan(network={**DEMO["network"], "primary_networks": [other]}))
    assert found["network_mappings"]["status"] == "fail" and "vnet-sap-weu" in found["network_mappings"]["message"]


def test_netapp_break_is_idempotent(sim: Simulator) -> None:
    started = netapp_break_start(NetAppBreakInput(**VOLUME))
    assert started.action == "started" and started.mirror_state_before == "Mirrored"
    assert started.replication_schedule == "_10minutely" and started.data_loss_window_seconds == 600
    assert started.operation and "/operationResults/" in started.operation
    status = netapp_break_status(NetAppBreakStatusInput(**VOLUME, operation=started.operation))
    while not status.done:
        status = netapp_break_status(NetAppBreakStatusInput(**VOLUME, operation=started.operation))
    assert status.mirror_state == "Broken" and not status.failed
    again = netapp_break_start(NetAppBreakInput(**VOLUME))
    assert again.action == "skipped"
    volume = sim_sites.of(sim.estate).snapshot()["volumes"][0]
    assert volume["break_calls"] == 1


def test_netapp_break_failure_is_reported(sim: Simulator) -> None:
    sites = sim_sites.of(sim.estate)
    with sites.lock:
        volume = next(iter(sites.volumes.values()))
        volume.mirror_state = "Mirrored"
        sites.config.failing["vol-fslogix-neu"] = "The source region cannot be reached."
    try:
        started = netapp_break_start(NetAppBreakInput(**VOLUME))
        status = netapp_break_status(NetAppBreakStatusInput(**VOLUME, operation=started.operation))
        while not status.done:
            status = netapp_break_status(NetAppBreakStatusInput(**VOLUME, operation=started.operation))
        assert status.failed and status.error and "cannot be reached" in status.error
        assert status.mirror_state == "Mirrored"
    finally:
        sites.config.failing.clear()


def test_netapp_missing_volume_raises() -> None:
    with pytest.raises(ResourceNotFoundError, match=r"vol-nope"):
        netapp_break_start(NetAppBreakInput(**{**VOLUME, "volume": "vol-nope"}))


BACKUP = {
    "subscription_id": DEMO["subscription_id"],
    "vault_resource_group": "rg-backup-weu",
    "vault": "rsv-backup-weu",
    "vm_resource_group": "rg-apps-weu",
    "vm": "vm-app-0001",
}
RESTORE = {
    **BACKUP,
    "target_resource_group": "rg-restoretest-neu",
    "target_vm": "vm-app-0001-rt",
    "network_id": DEMO["drill"]["network_id"],
    "subnet": "default",
    "staging_storage_account": f"/subscriptions/{DEMO['subscription_id']}/resourceGroups/rg-backup-weu/providers/"
    "Microsoft.Storage/storageAccounts/strestorestaging",
    "location": "westeurope",
}


def test_backup_restore_into_isolated_network_then_delete(sim: Simulator) -> None:
    latest = backup_latest_point(BackupItemInput(**BACKUP))
    assert latest.points == 3 and latest.recovery_point == "90000000000000"  # the newest
    started = backup_restore_start(BackupRestoreInput(**RESTORE, recovery_point=latest.recovery_point))
    assert started.action == "started" and started.job
    vault = {k: BACKUP[k] for k in ("subscription_id", "vault_resource_group", "vault")}
    status = backup_job_status(BackupJobInput(**vault, job=started.job))
    while not status.done:
        status = backup_job_status(BackupJobInput(**vault, job=started.job))
    assert status.status == "Completed" and not status.failed
    restore = sim_sites.of(sim.estate).snapshot()["restores"][0]
    assert restore["network_id"] == RESTORE["network_id"] and restore["target_vm"] == "vm-app-0001-rt"
    again = backup_restore_start(BackupRestoreInput(**RESTORE, recovery_point=latest.recovery_point))
    assert again.action == "skipped"  # the restored VM exists: not restored twice
    restored = RestoredVmInput(
        subscription_id=BACKUP["subscription_id"],
        target_resource_group=RESTORE["target_resource_group"],
        target_vm=RESTORE["target_vm"],
        vm_resource_group=BACKUP["vm_resource_group"],
        vm=BACKUP["vm"],
    )
    assert backup_delete_vm(restored).plain() == {"deleted": True, "reason": None}
    assert backup_delete_vm(restored).deleted is False
    assert sim_sites.of(sim.estate).snapshot()["deleted_vms"] == ["vm-app-0001-rt"]


def test_backup_restore_never_targets_the_protected_vm() -> None:
    with pytest.raises(ValueError, match="never restores over the protected VM"):
        backup_restore_start(
            BackupRestoreInput(
                **{**RESTORE, "target_resource_group": "rg-apps-weu", "target_vm": "vm-app-0001"}, recovery_point="x"
            )
        )
