"""Azure Backup restore tests ("a backup is only as good as your ability to restore it"): restore a protected VM
from its latest recovery point into an isolated network as a *new* VM, and delete that VM afterwards. The protected
(production) VM is never a target: `backup_restore_start` refuses a target equal to the source.

- `backup_latest_point`: the newest recovery point of the VM's protected item (IaasVMContainer naming).
- `backup_restore_start`: trigger an alternate-location restore (`polling=False`); returns the backup job to watch.
  Idempotent: a restored VM that already exists is not restored again (`action: skipped`).
- `backup_job_status`: the restore job's state (`done`, `failed`, `error`, `duration`).
- `backup_delete_vm`: delete the restored VM (absent: nothing to do).

Simulator note: the simulator's restore answers with a `Location` on the backup job itself; Azure answers with an
operation-result URL whose status names the job (`properties.jobId`). Both are read here.
"""

from __future__ import annotations

from typing import Any

import azure.durable_functions as df
from azure.core.rest import HttpRequest

from activities._arm import LroHeaders, text
from activities._common import clients, log
from failover.contracts.backup import (
    BackupDeleteResult,
    BackupItemInput,
    BackupJobInput,
    BackupJobResult,
    BackupRestoreInput,
    BackupRestoreResult,
    BackupVaultInput,
    RecoveryPointResult,
    RestoredVmInput,
)


def _item(payload: BackupItemInput) -> tuple[str, str]:
    rg, vm = payload.vm_resource_group, payload.vm
    return f"iaasvmcontainer;iaasvmcontainerv2;{rg};{vm}", f"vm;iaasvmcontainerv2;{rg};{vm}"


def _backup(payload: BackupVaultInput) -> Any:
    return clients().backup(payload.subscription_id)


def backup_latest_point(payload: BackupItemInput) -> RecoveryPointResult:
    container, item = _item(payload)
    points = list(
        _backup(payload).recovery_points.list(payload.vault, payload.vault_resource_group, "Azure", container, item)
    )
    if not points:
        raise RuntimeError(f"VM {payload.vm} has no recovery point in vault {payload.vault}")

    def when(point: Any) -> str:
        return str(getattr(point.properties, "recovery_point_time", "") or "")

    latest = max(points, key=when)
    return RecoveryPointResult(recovery_point=latest.name, time=when(latest), points=len(points))


def _vm_id(sub: str, rg: str, name: str) -> str:
    from azure.mgmt.core.tools import resource_id

    return resource_id(
        subscription=sub, resource_group=rg, namespace="Microsoft.Compute", type="virtualMachines", name=name
    )


def backup_restore_start(payload: BackupRestoreInput) -> BackupRestoreResult:
    from azure.mgmt.core.tools import resource_id
    from azure.mgmt.recoveryservicesbackup.models import IaasVMRestoreRequest, RestoreRequestResource

    sub = payload.subscription_id
    if (payload.target_resource_group.lower(), payload.target_vm.lower()) == (
        payload.vm_resource_group.lower(),
        payload.vm.lower(),
    ):
        raise ValueError("a restore test never restores over the protected VM: choose another target")
    compute = clients().compute(sub)
    try:
        compute.virtual_machines.get(payload.target_resource_group, payload.target_vm)
        return BackupRestoreResult(action="skipped", reason=f"{payload.target_vm} already exists", job=payload.job)
    except Exception as err:
        if getattr(err, "status_code", None) != 404:
            raise
    container, item = _item(payload)
    request = RestoreRequestResource(
        properties=IaasVMRestoreRequest(
            recovery_point_id=payload.recovery_point,
            recovery_type="AlternateLocation",
            source_resource_id=_vm_id(sub, payload.vm_resource_group, payload.vm),
            target_virtual_machine_id=_vm_id(sub, payload.target_resource_group, payload.target_vm),
            target_resource_group_id=resource_id(subscription=sub, resource_group=payload.target_resource_group),
            storage_account_id=payload.staging_storage_account,
            virtual_network_id=payload.network_id,
            subnet_id=f"{payload.network_id}/subnets/{payload.subnet}",
            region=payload.location,
            create_new_cloud_service=False,
            original_storage_account_option=False,
        )
    )
    hook = LroHeaders()
    _backup(payload).restores.begin_trigger(
        payload.vault, payload.vault_resource_group, "Azure", container, item, payload.recovery_point,
        request, polling=False, raw_response_hook=hook,
    )  # fmt: skip
    job = _job_of(payload, hook.headers.get("location") or "")
    log(payload, "backup.restore").info("restore started", vm=payload.vm, target=payload.target_vm, job=job)
    return BackupRestoreResult(action="started", job=job)


def _job_of(payload: BackupVaultInput, url: str) -> str:
    if "/backupjobs/" in url.lower():
        return url.split("?")[0].rstrip("/").rsplit("/", 1)[-1]
    response = _backup(payload).send_request(HttpRequest("GET", url))  # Azure: the operation result names the job
    response.raise_for_status()
    job = ((response.json() or {}).get("properties") or {}).get("jobId")
    if not job:
        raise RuntimeError("the restore was accepted but Azure did not name its job")
    return str(job)


def backup_job_status(payload: BackupJobInput) -> BackupJobResult:
    job = _backup(payload).job_details.get(payload.vault, payload.vault_resource_group, payload.job)
    props = job.properties
    status = text(getattr(props, "status", None)) or "Unknown"
    errors = [str(getattr(e, "error_string", "") or "") for e in getattr(props, "error_details", None) or []]
    return BackupJobResult(
        status=status,
        done=status.lower() not in ("inprogress", "cancelling", "unknown"),
        failed=status.lower() in ("failed", "cancelled", "completedwithwarnings") and status != "Completed",
        error="; ".join(e for e in errors if e) or None,
        start_time=str(getattr(props, "start_time", "") or ""),
        end_time=str(getattr(props, "end_time", "") or ""),
    )


def backup_delete_vm(payload: RestoredVmInput) -> BackupDeleteResult:
    if (payload.target_resource_group.lower(), payload.target_vm.lower()) == (
        (payload.vm_resource_group or "").lower(),
        (payload.vm or "").lower(),
    ):
        raise ValueError("refusing to delete the protected VM")
    vms = clients().compute(payload.subscription_id).virtual_machines
    try:
        vms.get(payload.target_resource_group, payload.target_vm)
    except Exception as err:
        if getattr(err, "status_code", None) == 404:
            return BackupDeleteResult(deleted=False, reason="not found")
        raise
    vms.begin_delete(payload.target_resource_group, payload.target_vm, polling=False)
    log(payload, "backup.delete").info("restored vm deleted", target=payload.target_vm)
    return BackupDeleteResult(deleted=True)


ACTIVITIES = [backup_latest_point, backup_restore_start, backup_job_status, backup_delete_vm]

bp = df.Blueprint()
for _activity in ACTIVITIES:
    bp.activity_trigger(input_name="payload")(_activity)
