"""Mode `failback`, once the disaster is mitigated: reprotect (replicate back to the primary), wait until that
replication is healthy, planned failover RecoveryToPrimary batch by batch (committed), reopen the primary host
pools, DNS and Traffic Manager back to the values the failover recorded, then reprotect again (primary →
recovery) so the estate is protected as before. Every step publishes its CloudEvent; the control channel is
open at every wait, and after a cancel nothing new starts."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from failover.azure_local import restored_vms
from failover.batching import Batch
from failover.contracts.asr import ReplicationHealthInput, VmPlacement, VmPlacementInput
from failover.contracts.avd import NewSessionsInput
from failover.contracts.traffic import TmEndpointInput
from failover.run import isoformat, overall_status, rto_seconds
from orchestrations import runbook
from orchestrations.avd import pool_ref
from orchestrations.dispatch import run_groups
from orchestrations.provision import remove_provisioned
from orchestrations.run_state import Run


def _call(run: Run, activity: str, payload: Any):
    return (yield from run.call(activity, payload))


def _reprotect(run: Run, step: str, names: list[str]):
    """Reprotect every recovery plan; returns True if one failed."""
    run.begin(step)
    run.publish_status(f"{step} ({'to the primary' if step == 'reprotect' else 'to the recovery'} region)")
    outcome = yield from runbook.plan_jobs(run, "asr_reprotect", names)
    failed = {k: v for k, v in outcome.items() if v.startswith("Failed")}
    for name, why in failed.items():
        run.errors.append(f"{step} of {name}: {why.removeprefix('Failed: ')}")
    run.end(step, "Failed" if failed else "Succeeded")
    yield from run.events.publish(
        "ReprotectCompleted", "asr", {"step": step, "recovery_plans": outcome, "failed": sorted(failed)}
    )
    return bool(failed)


def _replication_healthy(run: Run, names: list[str]):
    plan = run.plan
    run.begin("replication health")
    run.publish_status("waiting for healthy replication to the primary region")
    health_payload = ReplicationHealthInput(
        **run.ids, **plan.vault_ref(), recovery_plans=names, direction="RecoveryToPrimary"
    )
    deadline = run.at(plan.asr.job_timeout)
    healthy = False
    while not run.cancel:
        health = yield from run.call("asr_replication_health", health_payload)
        run.approval["readiness"] = {k: v for k, v in health.plain().items() if k != "unhealthy"}
        if health.protected_items and not health.unhealthy_total and health.healthy:
            healthy = True
            break
        if run.now() >= deadline:
            break
        wake = min(deadline, run.now() + timedelta(seconds=run.seconds(plan.asr.job_poll_max)))
        yield from run.sleep_until(wake, interruptible=True)
    run.end("replication health", "Succeeded" if healthy else "Cancelled" if run.cancel else "TimedOut")
    yield from run.events.publish(
        "ReplicationHealthChecked", "asr", {"healthy": healthy, "readiness": run.approval.get("readiness")}
    )
    return healthy


def _reopen_host_pools(run: Run):
    plan = run.plan
    # the session hosts the failover built in the recovery region: drained and deleted before users come back
    yield from remove_provisioned(run, "failback")
    run.begin("avd")
    try:
        for pool in plan.avd.host_pools:  # users come back to the primary region's session hosts
            yield from run.call("avd_allow_new_sessions", NewSessionsInput(**pool_ref(run, pool), allow=True))
        if plan.standby is not None:  # the recovery region's standby hosts stop taking sessions
            closing = NewSessionsInput(**pool_ref(run, plan.standby.host_pool), allow=False)
            yield from run.call("avd_allow_new_sessions", closing)
        run.end("avd")
        ok = True
    except Exception as err:
        run.errors.append(f"host pools not reopened: {err}")
        run.end("avd", "Failed")
        ok = False
    yield from run.events.publish("HostPoolsReopened", "avd", {"ok": ok, "host_pools": len(plan.avd.host_pools)})


def _restore_dns(run: Run, restore: dict[str, Any], record_ref: Any):
    plan = run.plan
    run.begin("dns")
    run.publish_status("restoring dns")
    for record in plan.dns.records:
        if run.cancel:
            run.errors.append(f"dns {record.label} not restored (cancelled)")
            continue
        try:
            result = yield from run.call("dns_restore_record", record_ref(run, record))
            run.dns.append(result.plain())
        except Exception as err:
            run.errors.append(f"dns {record.label} not restored: {err}")
    for previous in restore.get("traffic_manager") or []:
        if run.cancel:
            run.errors.append(
                f"traffic manager {previous.get('profile')}/{previous.get('endpoint')}: not restored (cancelled)"
            )
            continue
        try:
            endpoint = TmEndpointInput(
                **run.ids,
                subscription_id=previous.get("subscription_id") or plan.subscription_id,
                resource_group=previous.get("resource_group"),
                profile=previous.get("profile"),
                endpoint=previous.get("endpoint"),
                endpoint_type=previous.get("endpoint_type"),
                status=previous.get("status"),
                priority=previous.get("priority"),
            )
            result = yield from run.call("tm_set_endpoint", endpoint)
            run.dns.append({**result.plain(), "kind": "traffic_manager"})
        except Exception as err:
            run.errors.append(f"traffic manager {previous.get('profile')}/{previous.get('endpoint')}: {err}")
    run.end("dns", "Succeeded" if not any(e.startswith(("dns", "traffic")) for e in run.errors) else "Failed")
    yield from run.events.publish("DnsSwitched", "dns", {"records": run.dns, "failback": True})


def _placement(run: Run, names: list[str]):
    """Where the VMs of these Azure Local recovery plans run (`asr_vm_placement`); None when it cannot be read
    (a warning: the failback goes on, the report then lacks the restored VMs)."""
    try:
        result = yield from run.call("asr_vm_placement", VmPlacementInput(**run.ids, **run.plan.vault_ref(),
                                                                          recovery_plans=names))  # fmt: skip
    except Exception as err:
        run.warnings.append(f"where the Azure Local VMs run could not be read: {err}")
        return None
    return list(result.vms)


def _restored(run: Run, before: list[VmPlacement] | None, names: list[str]):
    """After the failback: the Azure Local VMs it brought back, where, and what the operator must do (report)."""
    after = (yield from _placement(run, names)) if before is not None else None
    if before is None or after is None:
        return
    run.restored_vms = [vm.plain() for vm in restored_vms(before, after, isoformat(run.now()), run.scale)]
    moved = [vm["name"] for vm in run.restored_vms if vm["in_place"] is False]
    if moved:
        run.warnings.append(
            f"{len(moved)} Azure Local VM(s) came back on another cluster and run unmanaged: register them there and "
            f"reconnect them to their Azure resources ({', '.join(moved[:10])}{', ...' if len(moved) > 10 else ''})"
        )


def failback(run: Run, batches: list[Batch], restore: dict[str, Any], end_run: Any, record_ref: Any):
    """Returns the run's summary through `end_run(run, status, event, data, stage=None)`."""
    names = [p.name for b in batches for p in b.recovery_plans]

    def stopped(where: str):
        if run.cancel:
            run.errors.append(f"failback cancelled by {run.cancel.get('by')} before {where}")
            return end_run(run, "Cancelled", "RunCancelled", {"cancel": run.cancel_record()})
        return end_run(run, "CompletedWithErrors", "RunCompleted", {"stopped": where}, stage="stopped")

    if (yield from _reprotect(run, "reprotect", names)) or run.cancel:
        return (yield from stopped("reprotect"))
    if not (yield from _replication_healthy(run, names)):
        if not run.cancel:
            run.errors.append("replication back to the primary region is not healthy: nothing was failed back")
        return (yield from stopped("health"))

    # Azure Local (HyperVReplicaAzure) plans: where their VMs ran before, to tell in-place restores from others
    azure_local = [p.name for b in batches if run.plan.provider_of_group(b.group) != "A2A" for p in b.recovery_plans]
    before = (yield from _placement(run, azure_local)) if azure_local else None
    run.begin("failover")
    run.publish_status("failing back")
    outcome = yield from run_groups(
        run, batches, dependencies=False, operator_wait=False, what="failed back", stage="failing back"
    )
    yield from _restored(run, before, azure_local)
    run.end(
        "failover",
        {"cancelled": "Cancelled", "stopped": "Failed"}.get(outcome)
        or ("Succeeded" if not run.plan_errors else "CompletedWithErrors"),
    )
    if outcome != "completed":
        return (yield from stopped("failover"))

    yield from _reopen_host_pools(run)
    yield from _restore_dns(run, restore, record_ref)
    if run.cancel:
        return (yield from stopped("reprotect again"))
    yield from _reprotect(run, "reprotect again", names)

    status = overall_status([{"status": p["state"]} for p in run.final_plans()], run.all_errors())
    return (
        yield from end_run(
            run,
            status,
            "RunCompleted",
            {"rto_seconds": rto_seconds(run.started_at, isoformat(run.now())), "failback": True},
        )
    )
