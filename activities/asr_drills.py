"""ASR drills: the test failover of a recovery plan (`asr_start_failover` in mode `test`) and its cleanup
(`asr_test_cleanup`), registered with the other ASR activities by `activities.asr`."""

from __future__ import annotations

from typing import Any

from activities._asr import CLEANUP_SCENARIO, TEST_SCENARIO, _allowed, _describe, _post, _provider_details, _scenario
from activities._common import clients, log
from failover.contracts.asr import RecoveryPlanJob, StartFailoverInput, TestCleanupInput

TEST_CLEANUP_PENDING = "test failover already done; cleanup pending"


def _start_test_failover(payload: StartFailoverInput, client: Any, plan: Any) -> RecoveryPlanJob:
    from azure.mgmt.recoveryservicessiterecovery.models import (
        RecoveryPlanTestFailoverInput,
        RecoveryPlanTestFailoverInputProperties,
    )

    rg, vault, name = payload.resource_group, payload.vault, payload.recovery_plan
    network_type = payload.network_type or "VmNetworkAsInput"
    if network_type != "NoNetworkAttachAsInput" and not payload.network_id:
        raise ValueError("activity input is missing network_id")
    scenario, job, status = _scenario(plan)
    allowed = _allowed(plan)
    if scenario == TEST_SCENARIO and status == "InProgress":
        return RecoveryPlanJob(recovery_plan=name, job=job, action="attached")
    if "testfailovercleanup" in allowed:
        if scenario == TEST_SCENARIO and status == "Failed":
            raise RuntimeError(
                f"recovery plan {name}: its last test failover failed (job {job}); clean it up before a new one"
            )
        test_job = job if scenario == TEST_SCENARIO else None
        return RecoveryPlanJob(recovery_plan=name, job=test_job, action="skipped", reason=TEST_CLEANUP_PENDING)
    if "testfailover" not in allowed:
        raise RuntimeError(f"recovery plan {name} cannot be test-failed over now: {_describe(plan)}")
    details = _provider_details(payload)
    properties = RecoveryPlanTestFailoverInputProperties(
        failover_direction="PrimaryToRecovery",
        network_type=network_type,
        network_id=payload.network_id if network_type != "NoNetworkAttachAsInput" else None,
        provider_specific_details=details,
    )
    action, job = _post(
        client,
        rg,
        vault,
        name,
        lambda: client.begin_test_failover(
            rg, vault, name, RecoveryPlanTestFailoverInput(properties=properties), polling=False
        ),
        {TEST_SCENARIO},
        "test failover",
    )
    log(payload, "asr.test_failover").info(
        "test failover job", recovery_plan=name, job=job, action=action, network_id=payload.network_id
    )
    return RecoveryPlanJob(recovery_plan=name, job=job, action=action)


def asr_test_cleanup(payload: TestCleanupInput) -> RecoveryPlanJob:
    """Clean up a recovery plan's test failover (start, attach to, or skip the cleanup job).

    Input: subscription_id, resource_group, vault, recovery_plan, and optionally comments (ASR keeps them
    with the job). Output: {recovery_plan, action: started | attached | skipped, job (None when skipped with
    nothing ever cleaned up), reason (when skipped)}. Attached while a cleanup job runs; skipped when no test
    failover awaits cleanup ("already cleaned up" after a cleanup, else "nothing to clean up: ..."), so a
    second run converges. A test failover still running raises (clean up once it ended, failed or not).
    Watch the job with `asr_get_job`.
    """
    from azure.mgmt.recoveryservicessiterecovery.models import (
        RecoveryPlanTestFailoverCleanupInput,
        RecoveryPlanTestFailoverCleanupInputProperties,
    )

    client = clients().site_recovery(payload.subscription_id).replication_recovery_plans
    rg, vault, name = payload.resource_group, payload.vault, payload.recovery_plan
    plan = client.get(rg, vault, name)
    scenario, job, status = _scenario(plan)
    if scenario == CLEANUP_SCENARIO and status == "InProgress":
        return RecoveryPlanJob(recovery_plan=name, action="attached", job=job)
    if scenario == TEST_SCENARIO and status == "InProgress":
        raise RuntimeError(f"recovery plan {name}: its test failover still runs (job {job}); clean up once it ended")
    if "testfailovercleanup" not in _allowed(plan):
        if scenario == CLEANUP_SCENARIO and status == "Succeeded":
            return RecoveryPlanJob(recovery_plan=name, action="skipped", job=job, reason="already cleaned up")
        return RecoveryPlanJob(
            recovery_plan=name,
            action="skipped",
            job=None,
            reason="nothing to clean up: no test failover awaits cleanup",
        )
    cleanup = RecoveryPlanTestFailoverCleanupInput(
        properties=RecoveryPlanTestFailoverCleanupInputProperties(comments=payload.comments)
    )
    action, job = _post(
        client,
        rg,
        vault,
        name,
        lambda: client.begin_test_failover_cleanup(rg, vault, name, cleanup, polling=False),
        {CLEANUP_SCENARIO},
        "test failover cleanup",
    )
    log(payload, "asr.test_cleanup").info("test failover cleanup job", recovery_plan=name, job=job, action=action)
    return RecoveryPlanJob(recovery_plan=name, action=action, job=job)
