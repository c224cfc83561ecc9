"""Contracts of the Azure Backup restore-test activities (activities/backup.py)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from failover.contracts import ActivityInput, Contract, NonEmpty
from failover.plan import Plan


class BackupVaultInput(ActivityInput):
    """A Recovery Services vault that backs VMs up."""

    subscription_id: NonEmpty
    vault_resource_group: NonEmpty
    vault: NonEmpty


class BackupItemInput(BackupVaultInput):
    """`backup_latest_point`: a protected (production) VM of the vault."""

    vm_resource_group: NonEmpty
    vm: NonEmpty


class BackupRestoreInput(BackupItemInput):
    """`backup_restore_start`: restore `recovery_point` of the protected VM as a new VM `target_vm` in
    `target_resource_group`, on `subnet` of the isolated network `network_id` (ARM id), staged through
    `staging_storage_account` (ARM id), in `location`. The target may not be the protected VM."""

    recovery_point: NonEmpty
    target_resource_group: NonEmpty
    target_vm: NonEmpty
    network_id: NonEmpty
    subnet: NonEmpty
    staging_storage_account: NonEmpty
    location: NonEmpty
    job: str | None = None  # the job of an earlier start, answered again when the restore is skipped


class BackupJobInput(BackupVaultInput):
    """`backup_job_status`: a backup job of the vault."""

    job: NonEmpty


class RestoredVmInput(ActivityInput):
    """`backup_delete_vm`: the restored VM to delete; the protected VM, when given, is refused as the target."""

    subscription_id: NonEmpty
    target_resource_group: NonEmpty
    target_vm: NonEmpty
    vm_resource_group: str | None = None
    vm: str | None = None


class RecoveryPointResult(Contract):
    """The newest recovery point (its name), its time, and how many points the VM has."""

    recovery_point: str
    time: str
    points: int


class BackupRestoreResult(Contract):
    """started (with the backup job to watch), or skipped (the restored VM already exists, `reason`)."""

    action: Literal["started", "skipped"]
    job: str | None = None
    reason: str | None = None


class BackupJobResult(Contract):
    """The job's status (Azure's word), `done` once it ended, `failed` when it did not complete cleanly."""

    status: str
    done: bool
    failed: bool
    error: str | None = None
    start_time: str = ""
    end_time: str = ""


class BackupDeleteResult(Contract):
    """Whether the restored VM was deleted now (`reason` when there was nothing to delete)."""

    deleted: bool
    reason: str | None = None


class BackupTestRunInput(Contract):
    """The restore-test orchestration's input (the monthly timer, `failover.api`): the plan, which of its
    `backup_tests` to run, and the time scale that divides the test's timeout and poll interval."""

    plan: Plan
    test: int = Field(default=0, ge=0)
    time_scale: float = Field(default=1.0, gt=0)


class BackupTestResult(Contract):
    """The restore test's result (the orchestration's output, as JSON). The fields after `errors` are None when
    the test stopped before reaching them (no recovery point, no restore, no Heartbeat check, no delete)."""

    plan: str
    vm: str
    restored_vm: str
    network_id: str
    status: Literal["Succeeded", "Failed"]
    errors: list[str]
    recovery_point: RecoveryPointResult | None = None
    restore_seconds: float | None = None
    healthy: bool | None = None
    deleted: bool | None = None
    target_seconds: float
    target_met: bool
    started_at: str
    finished_at: str
