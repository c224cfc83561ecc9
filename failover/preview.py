"""Dry-run preview of a plan: its batches, their start offsets, the DNS changes, and the expected
recovery time against the plan's RTO target. Pure (the caller reads VM counts from ASR), unit tested.

The timeline follows what the orchestration does, in plan seconds from the run's start (approval
waiting is not included: a person decides it):
preflight checks (network, identity) → AVD grace period → for each group: its dependencies, then either its
custom action (`action.expected_duration`) or batches started `batch_interval` apart and with at most
`batch_size` VMs in flight (a batch waits for room), each ending when its slowest recovery plan's job (and
commit) is noticed to have ended → standby → session hosts provisioned (`recovery: provision`, in a drill too) →
verify → DNS. `waves` lists the groups in that order.
A recovery plan's job is estimated as `asr.expected_job_duration + asr.expected_seconds_per_vm * VMs`,
replaced by the duration measured in the plan's last run (a drill or a failover) when there is one. Provisioning
is estimated as the run sees it: its first look creates the VMs, then it looks every `PROVISION_POLL_SECONDS` until
`provision.expected_duration` (VM create, boot, AVD agent registration until Available) has passed.
"""

from __future__ import annotations

import math
from typing import Any

from failover.batching import Batch, RecoveryPlanRef, batch_limit, plan_batches
from failover.plan import NetAppReplication, Plan, SqlFailoverGroup, StorageAccountFailover
from failover.plan.avd import PROVISION_POLL_SECONDS
from failover.run import parse_iso

DEPENDENCY_ESTIMATES = {
    "sql_failover_group": 60.0,
    "storage_account": 900.0,
    "netapp_replication": 60.0,
    "webhook": 600.0,
}
STANDBY_ESTIMATE = 120.0  # start deallocated session hosts, open the host pool


def noticed_after(plan: Plan, seconds: float, first_read: float = 0.0) -> float:
    """When the orchestration notices a job of this duration has ended: it reads the job first at
    `first_read` (the plan's estimate of it; 0: after job_poll_interval), then waits job_poll_interval, doubling
    up to job_poll_max (the batch orchestration's backoff)."""
    poll = plan.asr.job_poll_interval
    t = first_read if first_read > 0 else poll
    if first_read <= 0:
        poll = min(poll * 2, max(plan.asr.job_poll_max, poll))
    while t < seconds and poll > 0:
        t += poll
        poll = min(poll * 2, max(plan.asr.job_poll_max, poll))
    return t


def provision_estimate(plan: Plan, step_seconds: float = 0.0) -> float:
    """When the run sees every session host of `recovery: provision` Available, from the step's start: each look
    calls the provisioning activity once per pool (`step_seconds` each, the service's own time), the first creates
    the VMs, then it waits `PROVISION_POLL_SECONDS` and looks again until the longest `provision.expected_duration`
    has passed (0 without such pools)."""
    pools = [p.provision for p in plan.avd.provisioned if p.provision is not None]
    if not pools:
        return 0.0
    look = step_seconds * len(pools)
    every = PROVISION_POLL_SECONDS + look
    return look + math.ceil(max(p.expected_duration for p in pools) / every) * every


def job_estimate(plan: Plan, vms: int, measured: dict[str, float] | None, name: str) -> tuple[float, str]:
    if measured and name in measured:
        return measured[name], "measured"
    return plan.asr.expected_job_duration + plan.asr.expected_seconds_per_vm * vms, "plan"


def preview(
    plan: Plan,
    groups: list[tuple[str, list[RecoveryPlanRef]]],
    measured: dict[str, float] | None = None,
    mode: str | None = None,
    recovery_points: list[tuple[str, float | None]] | None = None,
    capacity: dict[str, Any] | None = None,
    in_flight_cap: int | None = None,
    step_seconds: float = 0.0,
) -> dict[str, Any]:
    """`groups`: each group's recovery plans with VM counts (from ASR). `measured`: recovery plan →
    seconds its job took last time. `recovery_points`: each protected item's current recovery point age (ASR's RPO,
    `activities.asr_health.recovery_point_ages`), None when not read. `capacity`: the recovery region's capacity
    check (`capacity_check`), shown with the plan's policy. `in_flight_cap`: the plan's share of an evacuation's cap
    when smaller than batch_size; `step_seconds`: the service's own time from an ASR job's end to its next call,
    added after each job (`failover.evacuation_preview`). Returns the preview document (`failover plan preview
    --json`)."""
    mode = mode or plan.asr.mode
    cap = min(plan.batch_size, in_flight_cap or plan.batch_size)  # as the run's (orchestrations.run_state)
    drill = mode == "test"
    batches: list[Batch] = plan_batches(groups, batch_limit(groups, plan.batch_size, cap))  # as the run packs them
    commit = plan.asr.commit and not drill
    t = plan.avd.grace_period if plan.avd.host_pools and not drill else 0.0
    last_start: float | None = None
    in_flight: list[tuple[float, int]] = []  # (expected end, VMs) of the batches started
    steps: list[dict[str, Any]] = []
    if t:
        steps.append({"name": "avd", "start_s": 0.0, "end_s": t})
    out_batches: list[dict[str, Any]] = []
    waves: list[dict[str, Any]] = []
    for group in plan.groups:
        if not drill:
            for dep in plan.dependencies:
                if dep.before_group == group.name or (dep.before_group is None and group is plan.groups[0]):
                    seconds = DEPENDENCY_ESTIMATES[dep.kind]
                    seconds = seconds if dep.kind == "webhook" else noticed_after(plan, seconds)
                    steps.append({"name": f"dependency: {dep.name}", "start_s": t, "end_s": t + seconds})
                    t += seconds
        if group.action is not None:
            seconds = group.action.expected_duration  # in every mode: the webhook gets the run's mode
            steps.append({"name": f"action: {group.name}", "start_s": t, "end_s": t + seconds})
            waves.append(
                {"group": group.name, "kind": "custom_action", "webhook": group.action.webhook,
                 "start_s": round(t, 1), "end_s": round(t + seconds, 1), "skipped": False}
            )  # fmt: skip
            t += seconds
            continue
        group_start = t
        group_end = t
        for batch in (b for b in batches if b.group == group.name):
            start = t if last_start is None else max(t, last_start + plan.batch_interval)
            # the in-flight cap: the batch also waits until the batches still running leave room for it
            running = sorted((e, v) for e, v in in_flight if e > start)
            while running and sum(v for _, v in running) + batch.vms > cap:
                start = running.pop(0)[0]
            in_flight = running
            last_start = start
            jobs: list[dict[str, Any]] = []
            longest = 0.0
            for ref in batch.recovery_plans:
                seconds, source = job_estimate(plan, ref.vms, measured, ref.name)
                jobs.append({"name": ref.name, "vms": ref.vms, "job_s": round(seconds, 1), "estimate": source})
                # the first read is at the plan's estimate (what the run knows), then the backoff
                noticed = noticed_after(plan, seconds, job_estimate(plan, ref.vms, None, ref.name)[0]) + step_seconds
                if commit:
                    noticed += noticed_after(plan, plan.asr.expected_commit_duration, plan.asr.expected_commit_duration)
                    noticed += step_seconds
                longest = max(longest, noticed)
            end = start + longest
            in_flight.append((end, batch.vms))
            group_end = max(group_end, end)
            out_batches.append(
                {
                    "group": batch.group,
                    "index": batch.index,
                    "vms": batch.vms,
                    "recovery_plans": jobs,
                    "start_offset_s": round(start, 1),
                    "expected_end_s": round(end, 1),
                }
            )
        mine = [b for b in out_batches if b["group"] == group.name]
        waves.append(
            {"group": group.name, "kind": "asr", "vms": sum(b["vms"] for b in mine),
             "recovery_plans": sum(len(b["recovery_plans"]) for b in mine),
             "start_s": round(mine[0]["start_offset_s"] if mine else group_start, 1), "end_s": round(group_end, 1)}
        )  # fmt: skip
        t = group_end
    if plan.standby is not None and not drill:
        steps.append({"name": "standby", "start_s": t, "end_s": t + STANDBY_ESTIMATE})
        t += STANDBY_ESTIMATE
    provisioning = provision_estimate(plan, step_seconds) if mode != "failback" else 0.0
    if provisioning:
        steps.append({"name": "provision", "start_s": t, "end_s": t + provisioning})
        t += provisioning
    dns = (
        []
        if drill
        else [{"record": r.label, "to": r.target, "ttl": r.ttl} for r in plan.dns.records]
        + [{"record": e.label, "to": {"status": e.status, "priority": e.priority}} for e in plan.dns.traffic_manager]
    )
    return {
        "plan": plan.name,
        "mode": mode,
        "groups": [g.name for g in plan.groups],
        "batches": out_batches,
        "waves": waves,
        "steps": steps,
        "checks": _checks(plan, drill),
        "data_loss": [] if drill else data_loss(plan),
        "dns": dns,
        "vms": sum(b.vms for b in batches),
        "in_flight_cap": cap,
        "eta_seconds": round(t, 1),
        "rto_target_seconds": plan.rto_target,
        "within_rto": t <= plan.rto_target,
        "rpo_target_seconds": plan.rpo_target,
        "recovery_points": None if recovery_points is None else recovery_point_table(plan, recovery_points),
        "estimates": "measured" if measured else "plan",
        "excludes": "the time the approval waits for a person",
        **({"capacity": {**capacity, "policy": plan.capacity}} if capacity is not None else {}),
    }


def recovery_point_table(plan: Plan, ages: list[tuple[str, float | None]]) -> dict[str, Any]:
    """Each protected item's current recovery point age against the plan's rpo_target (the data an unplanned
    failover now would lose), oldest first."""
    items = [
        {"vm": name, "age_seconds": age, "within": None if age is None else age <= plan.rpo_target}
        for name, age in sorted(ages, key=lambda a: (-(a[1] if a[1] is not None else -1.0), a[0]))
    ]
    known = [i["age_seconds"] for i in items if i["age_seconds"] is not None]
    return {
        "target_seconds": plan.rpo_target,
        "max_age_seconds": max(known) if known else None,
        "over": sum(1 for i in items if i["within"] is False),
        "items": items,
    }


def _checks(plan: Plan, drill: bool) -> list[str]:
    """What the run checks before it proposes the failover (preflight) and in its verify step."""
    out: list[str] = []
    if plan.network is not None:
        net = plan.network
        gateways = ", ".join(g.name for g in net.gateways) or "none listed"
        out.append(f"preflight network: recovery VNet {net.recovery_vnet.name}; gateways connected: {gateways}")
        if net.asr_network_mappings or net.primary_networks:
            out.append(f"preflight network_mappings: ASR maps {len(net.primary_networks) or 'a'} primary network(s) "
                       f"to {net.recovery_vnet.name}")  # fmt: skip
    if plan.identity is not None:
        dcs = ", ".join(f"{d.name} ({d.location.replace('_', ' ')})" for d in plan.identity.domain_controllers)
        out.append(f"preflight identity: {dcs}")
        if plan.verify is not None and not drill:
            out.append(f"verify identity: {dcs}")
    return out


def data_loss(plan: Plan) -> list[dict[str, str]]:
    """Each dependency's data-loss window, as the preview and the approval card state it."""
    out = []
    for dep in plan.dependencies:
        if isinstance(dep, SqlFailoverGroup):
            bound = (
                "forced failover: transactions not yet replicated to the secondary are lost"
                if dep.allow_data_loss
                else "none (friendly failover; if the primary cannot be reached an operator may force it, "
                "losing what was not replicated)"
            )
            out.append({"dependency": dep.name, "bound": bound})
        elif isinstance(dep, StorageAccountFailover):
            out.append({"dependency": dep.name, "bound": "writes after the account's last sync time (reported at "
                        "failover) may be lost"})  # fmt: skip
        elif isinstance(dep, NetAppReplication):
            out.append({"dependency": dep.name, "bound": "up to one replication interval of writes may be lost"})
    return out


def measured_durations(summary: Any) -> dict[str, float]:
    """Recovery plan → seconds its failover (or test failover) job took, from a run's summary."""
    found: dict[str, float] = {}
    for entry in (summary or {}).get("recovery_plans") or []:
        started, ended = entry.get("job_started_at"), entry.get("job_ended_at")
        if entry.get("state") == "Succeeded" and started and ended:
            seconds = (parse_iso(ended) - parse_iso(started)).total_seconds() * float(summary.get("time_scale") or 1)
            found[entry["name"]] = round(seconds, 1)
    return found
