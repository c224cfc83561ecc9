"""Azure Backup (Microsoft.RecoveryServices backup, 2025-08-01): a protected Azure VM, its recovery points, and a
restore to an alternate location (a restore test).

State (`Backup`: protected VMs, restores and their operations on the toolkit's `OperationBook`; a restore that
succeeds creates the restored VM, running, in the compute provider), routes (`add_routes`: recovery points list,
restore trigger (202 + `Location` + `Azure-AsyncOperation`), the backup job), the demo seed (`seed_demo`: the
backed-up app VM vm-app-0001 with three daily recovery points) and its part of `GET /_sim/sites` (`snapshot`).
Shapes follow Microsoft's REST specs `RecoveryPoints_List`, `Restores_Trigger` and `JobDetails_Get`. Error codes
Microsoft does not document are the simulator's own.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from aiohttp import web

from simulator.arm import (
    PRIMARY_REGION,
    RG,
    Cloud,
    Operation,
    OperationBook,
    RouteTable,
    SimError,
    iso,
    utcnow,
)
from simulator.providers.compute import Compute, VirtualMachine

_VAULT = RG + r"/microsoft\.recoveryservices/vaults/(?P<vault>[^/]+)"
_BACKUP_ITEM = _VAULT + r"/backupfabrics/azure/protectioncontainers/(?P<container>[^/]+)/protecteditems/(?P<item>[^/]+)"

BACKUP_API = "2025-08-01"

# ---- the demo estate (names) -------------------------------------------------------------------
DEMO_BACKUPRG = "rg-backup-weu"
DEMO_BACKUP_VAULT = "rsv-backup-weu"
DEMO_BACKUP_VMRG = "rg-apps-weu"
DEMO_BACKUP_VM = "vm-app-0001"


class BackupKnobs(Protocol):
    """The knobs Backup reads, in simulated seconds (`simulator.sites.SitesConfig`)."""

    restore_seconds: float  # an Azure Backup VM restore (Azure: often 20 minutes to hours)
    failing: dict[str, str]  # backed-up VM name -> error text: its next restore ends Failed


@dataclass
class RecoveryPoint:
    name: str
    time: datetime
    kind: str = "AppConsistent"


@dataclass
class BackupItem:
    """An Azure VM protected by Azure Backup (IaasVMContainer / VM item names as Azure builds them)."""

    vault_rg: str
    vault: str
    vm_rg: str
    vm: str
    location: str
    points: list[RecoveryPoint] = field(default_factory=list)

    @property
    def container(self) -> str:
        return f"iaasvmcontainer;iaasvmcontainerv2;{self.vm_rg};{self.vm}".lower()

    @property
    def item(self) -> str:
        return f"vm;iaasvmcontainerv2;{self.vm_rg};{self.vm}".lower()


@dataclass
class Restore:
    job_id: str
    item: BackupItem
    recovery_point: str
    target_rg: str
    target_vm: str
    network_id: str
    subnet_id: str
    body: dict[str, Any]
    operation: Operation | None = None


class Backup(OperationBook):
    """The backed-up VMs and restores of one estate. Every method takes the estate's lock."""

    def __init__(self, cloud: Cloud, config: BackupKnobs, compute: Compute) -> None:
        super().__init__(cloud)
        self.config = config
        self.compute = compute  # the VMs a restore creates
        self.backup_items: dict[tuple[str, str], BackupItem] = {}  # (vm rg, vm)
        self.restores: dict[str, Restore] = {}

    # ---- operations (simulator.arm.OperationBook: start, refresh, look up) ----------------
    def _finish(self, op: Operation) -> None:
        op.status = "Failed" if op.fail_with else "Succeeded"
        if op.fail_with:
            op.error = {"code": "OperationFailed", "message": op.fail_with}
        if op.status == "Succeeded":
            restore: Restore = op.target
            self._restored_vm(restore, running=True)

    def _restored_vm(self, restore: Restore, running: bool) -> None:
        """The restored VM is a real VM of the estate: it starts, and sends Heartbeat (simulator.network counts
        running VMs of `simulator.providers.compute`)."""
        vms = self.compute.vms
        key = (restore.target_rg.lower(), restore.target_vm.lower())
        if running:
            vms[key] = VirtualMachine(
                restore.target_rg,
                restore.target_vm,
                restore.item.location,
                power_state="running",
                vm_id=str(uuid.uuid4()),
            )
        else:
            vms.pop(key, None)

    # ---- Backup ---------------------------------------------------------------------------
    def backup_item(self, vault_rg: str, vault: str, container: str, item: str) -> BackupItem:
        with self.lock:
            self.refresh()
            for entry in self.backup_items.values():
                if (
                    entry.vault_rg.lower() == vault_rg.lower()
                    and entry.vault.lower() == vault.lower()
                    and entry.container == container.lower()
                    and entry.item == item.lower()
                ):
                    return entry
            raise SimError(404, "BMSUserErrorItemNotFound", f"Item '{item}' not found in vault '{vault}'.")

    def trigger_restore(self, entry: BackupItem, point: str, body: dict[str, Any]) -> Restore:
        with self.lock:
            if not any(p.name == point for p in entry.points):
                raise SimError(404, "BMSUserErrorRecoveryPointNotFound", f"Recovery point '{point}' not found.")
            props = body.get("properties") or {}
            if props.get("objectType") != "IaasVMRestoreRequest":
                raise SimError(400, "BMSUserErrorInvalidInput", "properties.objectType must be IaasVMRestoreRequest.")
            if props.get("recoveryType") != "AlternateLocation":
                raise SimError(
                    400, "BMSUserErrorInvalidInput", "The simulator restores to an alternate location only."
                )  # an original-location restore would overwrite the production VM
            for name in ("targetVirtualMachineId", "virtualNetworkId", "subnetId", "storageAccountId"):
                if not props.get(name):
                    raise SimError(400, "BMSUserErrorInvalidInput", f"properties.{name} is required.")
            target_id = str(props["targetVirtualMachineId"])
            parts = target_id.strip("/").split("/")
            if len(parts) < 8:
                raise SimError(400, "BMSUserErrorInvalidInput", "properties.targetVirtualMachineId is not a VM id.")
            target_rg, target_vm = parts[3], parts[-1]
            if (target_rg.lower(), target_vm.lower()) == (entry.vm_rg.lower(), entry.vm.lower()):
                raise SimError(400, "BMSUserErrorInvalidInput", "The target VM is the protected VM itself.")
            busy = [r for r in self.restores.values() if r.target_vm.lower() == target_vm.lower()]
            if any(r.operation and r.operation.status == "InProgress" for r in busy):
                raise SimError(409, "BMSUserErrorConflictingOperation", f"A restore to {target_vm} is in progress.")
            job_id = str(uuid.uuid4())
            restore = Restore(
                job_id, entry, point, target_rg, target_vm, str(props["virtualNetworkId"]), str(props["subnetId"]), body
            )
            restore.operation = self._start(
                "backup.restore",
                "microsoft.recoveryservices",
                entry.location,
                restore,
                self.config.restore_seconds,
                self.config.failing.get(entry.vm),
            )
            self.restores[job_id] = restore
            return restore

    def restore_job(self, job_id: str) -> Restore:
        with self.lock:
            self.refresh()
            restore = self.restores.get(job_id.lower())
            if restore is None:
                raise SimError(404, "BMSUserErrorJobNotFound", f"Job '{job_id}' not found.")
            return restore

    # ---- the demo estate ------------------------------------------------------------------
    def seed_demo(self, primary: str = PRIMARY_REGION) -> None:
        """The backed-up app VM in `primary`, with a recovery point a day for the last three days."""
        with self.lock:
            now = utcnow()
            self.backup_items[(DEMO_BACKUP_VMRG, DEMO_BACKUP_VM)] = BackupItem(
                DEMO_BACKUPRG,
                DEMO_BACKUP_VAULT,
                DEMO_BACKUP_VMRG,
                DEMO_BACKUP_VM,
                primary,
                [RecoveryPoint(str(90000000000000 + days), now - timedelta(days=days, hours=2)) for days in range(3)],
            )

    def snapshot(self) -> dict[str, Any]:
        with self.lock:
            self.refresh()
            return {
                "restores": [
                    {
                        "job": r.job_id,
                        "vm": r.item.vm,
                        "target_vm": r.target_vm,
                        "network_id": r.network_id,
                        "status": r.operation.status if r.operation else None,
                    }
                    for r in self.restores.values()
                ],
            }


# ---- HTTPS routes ----------------------------------------------------------------------------
class Routes:
    """The handlers, over one estate's `Backup`; LRO headers point back at `table.base_url`."""

    def __init__(self, table: RouteTable, backup: Backup) -> None:
        self.table = table
        self.backup = backup

    async def recovery_points(self, request: web.Request, m: dict[str, str]) -> web.Response:
        entry = self.backup.backup_item(m["rg"], m["vault"], m["container"], m["item"])
        base = request.path
        with self.backup.lock:
            points = sorted(entry.points, key=lambda p: p.time, reverse=True)
            value = [
                {
                    "id": f"{base}/{p.name}",
                    "name": p.name,
                    "type": "Microsoft.RecoveryServices/vaults/backupFabrics/protectionContainers/protectedItems/"
                    "recoveryPoints",
                    "properties": {
                        "objectType": "IaasVMRecoveryPoint",
                        "recoveryPointType": p.kind,
                        "recoveryPointTime": iso(p.time),
                        "sourceVMStorageType": "PremiumVMOnPartialPremiumStorage",
                        "isSourceVMEncrypted": False,
                        "isManagedVirtualMachine": True,
                        "originalStorageAccountOption": False,
                        "osType": "Windows",
                        "virtualMachineSize": "Standard_D4s_v5",
                        "zones": None,
                    },
                }
                for p in points
            ]
            return web.json_response({"value": value})

    async def restore(self, request: web.Request, m: dict[str, str]) -> web.Response:
        entry = self.backup.backup_item(m["rg"], m["vault"], m["container"], m["item"])
        raw = await request.read()
        try:
            body = json.loads(raw) if raw else {}
        except ValueError as err:
            raise SimError(400, "BMSUserErrorInvalidInput", "The body is not JSON.") from err
        restore = self.backup.trigger_restore(entry, m["point"], body if isinstance(body, dict) else {})
        vault = request.path.split("/backupFabrics/")[0]
        return web.Response(
            status=202,
            headers={
                "Location": f"{self.table.base_url}{vault}/backupJobs/{restore.job_id}?api-version={BACKUP_API}",
                "Azure-AsyncOperation": f"{self.table.base_url}{vault}/backupJobs/{restore.job_id}"
                f"?api-version={BACKUP_API}",
                "Retry-After": "0",
            },
        )

    async def backup_job(self, request: web.Request, m: dict[str, str]) -> web.Response:
        restore = self.backup.restore_job(m["job"])
        with self.backup.lock:
            op = restore.operation
            assert op is not None
            status = {"InProgress": "InProgress", "Succeeded": "Completed", "Failed": "Failed"}[op.status]
            props: dict[str, Any] = {
                "jobType": "AzureIaaSVMJob",
                "entityFriendlyName": restore.item.vm,
                "backupManagementType": "AzureIaasVM",
                "operation": "Restore",
                "status": status,
                "startTime": iso(op.started_at),
                "activityId": restore.job_id,
                "virtualMachineVersion": "Compute",
                "extendedInfo": {
                    "propertyBag": {
                        "Recovery point time": iso(
                            next(p.time for p in restore.item.points if p.name == restore.recovery_point)
                        ),
                        "Target VM Name": restore.target_vm,
                        "Target resource group": restore.target_rg,
                    },
                    "tasksList": [{"taskId": "Transfer data from vault", "status": status}],
                },
            }
            if op.ended_at:
                props["endTime"] = iso(op.ended_at)
                props["duration"] = _timespan(op.ended_at - op.started_at)
            if op.error:
                props["errorDetails"] = [{"errorCode": 400001, "errorString": _message(op), "recommendations": []}]
            return web.json_response(
                {
                    "id": request.path,
                    "name": restore.job_id,
                    "type": "Microsoft.RecoveryServices/vaults/backupJobs",
                    "properties": {"objectType": "AzureIaaSVMJob", **props},
                }
            )


def _message(op: Operation) -> str:
    return (op.error or {}).get("message") or "The operation failed."


def _timespan(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    return f"{seconds // 3600:02d}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


def add_routes(table: RouteTable, backup: Backup) -> None:
    """Register the recovery point, restore and backup job routes."""
    r = Routes(table, backup)
    add = table.add
    add("GET", _BACKUP_ITEM + r"/recoverypoints$", "backup.recoverypoints.list", r.recovery_points)
    add("POST", _BACKUP_ITEM + r"/recoverypoints/(?P<point>[^/]+)/restore$", "backup.restores.trigger", r.restore)
    add("GET", _VAULT + r"/backupjobs/(?P<job>[^/]+)$", "backup.jobs.get", r.backup_job)
