"""A backup restore test of one plan's `backup_tests[i]` (instance `backup-test-{plan}-{i}`): restore the VM from its
latest Azure Backup recovery point into the isolated network as a new VM, wait for its Heartbeat in Logs, delete it
(always, once a restore was started), and report the restore time against the test's target. The protected VM is
never touched (the activities refuse it as a target). Deterministic: activities and durable timers only."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import azure.durable_functions as df

from failover.contracts.backup import (
    BackupItemInput,
    BackupJobInput,
    BackupRestoreInput,
    BackupTestResult,
    BackupTestRunInput,
    RestoredVmInput,
)
from failover.contracts.verify import HeartbeatInput
from failover.run import rto_seconds
from orchestrations.common import ARM_RETRY, as_utc, isoformat


def backup_test_orchestrator(context: df.DurableOrchestrationContext):
    """Input: `BackupTestRunInput`. Output: the restore test's result (`BackupTestResult`, as JSON: df 1.7's
    executor json.dumps an orchestration's output without the custom-object hook)."""
    spec = context.get_input()
    if not isinstance(spec, BackupTestRunInput):  # a history started before the contract: {plan, test, time_scale}
        spec = BackupTestRunInput.model_validate(spec)
    plan = spec.plan
    test = plan.backup_tests[spec.test]
    scale = spec.time_scale

    def now() -> Any:
        return as_utc(context.current_utc_datetime)

    started_at = isoformat(now())
    sub = test.vm.subscription_id or plan.subscription_id
    ids = {"instance_id": context.instance_id, "plan": plan.name}
    item = BackupItemInput(
        **ids,
        subscription_id=sub,
        vault_resource_group=test.vault.resource_group,
        vault=test.vault.name,
        vm_resource_group=test.vm.resource_group,
        vm=test.vm.name,
    )
    target = RestoredVmInput(
        **ids,
        subscription_id=sub,
        target_resource_group=test.target_resource_group,
        target_vm=f"{test.vm.name}-rt",
        vm_resource_group=test.vm.resource_group,
        vm=test.vm.name,
    )
    result: dict[str, Any] = {"plan": plan.name, "vm": test.vm.name, "restored_vm": target.target_vm,
                              "network_id": test.network_id, "status": "Failed", "errors": []}  # fmt: skip
    deadline = now() + timedelta(seconds=test.timeout / scale)
    restored = False
    try:
        point = yield context.call_activity_with_retry("backup_latest_point", ARM_RETRY, item)
        result["recovery_point"] = point.plain()
        started = yield context.call_activity_with_retry(
            "backup_restore_start",
            ARM_RETRY,
            BackupRestoreInput(
                **item.model_dump(),
                recovery_point=point.recovery_point,
                target_resource_group=target.target_resource_group,
                target_vm=target.target_vm,
                network_id=test.network_id,
                subnet=test.subnet,
                staging_storage_account=test.staging_storage_account,
                location=plan.recovery_region,
            ),
        )
        restored = True
        poll = max(plan.asr.job_poll_interval / scale, 0.05)
        done, failed, status, error = started.action == "skipped", False, "not finished", None
        while not done and started.job:
            yield context.create_timer(min(deadline, now() + timedelta(seconds=poll)))
            job = yield context.call_activity_with_retry(
                "backup_job_status",
                ARM_RETRY,
                BackupJobInput(**item.model_dump(exclude={"vm_resource_group", "vm"}), job=started.job),
            )
            done, failed, status, error = job.done, job.failed, job.status, job.error
            if not done and now() >= deadline:
                break
        result["restore_seconds"] = rto_seconds(started_at, isoformat(now())) * scale
        if not done or failed:
            result["errors"].append(f"restore {status}: {error or ''}".strip())
        else:
            workspace = test.workspace_id or (plan.verify.workspace_id if plan.verify else "")
            while True:
                beat = yield context.call_activity_with_retry(
                    "logs_heartbeat",
                    ARM_RETRY,
                    HeartbeatInput(
                        **ids,
                        workspace_id=workspace,
                        computers=[target.target_vm],
                        minutes=test.heartbeat_minutes,
                    ),
                )
                if beat.reporting or now() >= deadline:
                    break
                yield context.create_timer(min(deadline, now() + timedelta(seconds=poll)))
            result["healthy"] = bool(beat.reporting)
            if not beat.reporting:
                result["errors"].append(f"{target.target_vm} sent no Heartbeat after the restore")
    except Exception as err:
        result["errors"].append(str(err)[:300])
    if restored:
        try:
            deleted = yield context.call_activity_with_retry("backup_delete_vm", ARM_RETRY, target)
            result["deleted"] = bool(deleted.deleted or deleted.reason == "not found")
        except Exception as err:
            result["deleted"] = False
            result["errors"].append(f"the restored VM {target.target_vm} was not deleted: {err}")
    result["target_seconds"] = test.target
    seconds = result.get("restore_seconds")
    result["target_met"] = seconds is not None and seconds <= test.target
    if not result["errors"]:
        result["status"] = "Succeeded"
    result["started_at"], result["finished_at"] = started_at, isoformat(now())
    return BackupTestResult.model_validate(result).plain()


bp = df.Blueprint()
bp.orchestration_trigger(context_name="context")(backup_test_orchestrator)
