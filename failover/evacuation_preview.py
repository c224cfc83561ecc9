"""The predicted recovery time of a whole evacuation: the one estimate its approval card, its status
(`GET /api/evacuations/{id}`) and its dry run (`POST /api/evacuations` with `"dry_run": true`, `failover evacuate
REGION --dry-run`) show. Pure, unit tested.

It plays the evacuation as `orchestrations.evacuation` runs it, in plan seconds from the approval: the plans
start tier by tier (0 first) and after the plans they name in `after` (`failover.evacuation.startable`, every
plan assumed to complete); the plans started together each get their share of the shared in-flight cap
(`failover.evacuation.cap_shares`: per vault and recovery region, counting the plans still running, never below a
plan's largest recovery plan; a plan without room waits); each plan then takes what its own preview
says with that share as its in-flight cap (`failover.preview.preview`: batches, their spacing, the cap, job
and commit durations from `asr.expected_job_duration` + `asr.expected_seconds_per_vm` per VM, and the plan's
other steps); the evacuation ends when its last plan does. Like the plan preview, it excludes the time the
approval waits for a person.

It also counts the service's own time between one ASR step and the next, `STEP_SECONDS` of wall-clock time each:
after each job's end, the job read and the next call (the commit, the next batch), and a plan's run start (the
plans started together one step after another: their runs' first steps queue on the engine). Jobs that take
minutes hide it in Azure; a run compressed `time_scale` times (the demo's x120) does not: 0.1 s there is 12 plan
seconds per step, and plans that wait for one another (tiers, `after`, a cap that binds) add them up.
"""

from __future__ import annotations

from typing import Any

from failover.batching import RecoveryPlanRef, batch_limit, plan_batches
from failover.evacuation import cap_shares, failover_order, largest_units, plan_vms, startable
from failover.plan import Plan
from failover.preview import preview

Groups = list[tuple[str, list[RecoveryPlanRef]]]
# wall-clock seconds from an ASR job's end to the service's next call (the job read, then the commit or the next
# batch), and per plan's run started: measured on the local engine (docs/performance.md, "Evacuation")
STEP_SECONDS = 0.1


def evacuation_preview(
    plans: list[Plan],
    groups: dict[str, Groups | None],
    in_flight_cap: int,
    errors: dict[str, str] | None = None,
    time_scale: float = 1.0,
    step_seconds: float | None = None,
) -> dict[str, Any]:
    """`plans`: the evacuation's plans (exclusions already left out). `groups`: each plan's recovery plans with VM
    counts, as its run reads them (None when they could not be read: `errors` says why; the plan then counts as
    taking no time). `time_scale`: the run's (plan seconds per wall-clock second); `step_seconds`, in plan seconds,
    replaces `STEP_SECONDS * time_scale` (0: the floor of `failover bench --evacuation`). Returns `{eta_seconds,
    in_flight_cap, step_seconds, order, plans: [{plan, tier, after, vms, recovery_plans, batches, in_flight_cap,
    start_s, end_s, eta_seconds, rto_target_seconds, within_rto}]}`, rows in failover order; `end_s` is when the
    plan's run is expected to end, from the approval."""
    by_name = {p.name: p for p in plans}
    step = STEP_SECONDS * time_scale if step_seconds is None else step_seconds
    failed = errors or {}
    rows: dict[str, dict[str, Any]] = {}
    started: set[str] = set()
    ended: set[str] = set()
    running: dict[str, float] = {}  # plan -> its expected end
    held: dict[str, tuple[Plan, int]] = {}  # plan -> (plan, its share) while it runs
    units, sizes = largest_units(groups), plan_vms(groups)
    t = 0.0
    while True:
        ready, _ = startable(plans, started, ended, ended)  # every plan assumed to complete: none blocked
        shares = _shares(
            in_flight_cap, [by_name[n] for n in ready], held, units, sizes
        )  # a plan not in it waits for room
        for k, name in enumerate((n for n in ready if n in shares), start=1):  # one step after another
            rows[name] = _row(by_name[name], groups.get(name), shares[name], t + k * step, step, failed.get(name))
            running[name] = t + k * step + rows[name].get("eta_seconds", 0.0)
            held[name] = (by_name[name], shares[name])
            started.add(name)
        if not running:
            break
        name = min(running, key=lambda n: (running[n], n))  # the next plan's run to end
        t = running.pop(name)
        held.pop(name)
        ended.add(name)
    order = failover_order(plans)
    return {
        "eta_seconds": round(t, 1),
        "in_flight_cap": in_flight_cap,
        "step_seconds": round(step, 3),
        "order": order,
        "plans": [rows[name] for name in order if name in rows],
        "excludes": "the time the approval waits for a person",
    }


def _shares(
    cap: int, ready: list[Plan], held: dict[str, tuple[Plan, int]], units: dict[str, int], sizes: dict[str, int]
) -> dict[str, int]:
    """The share of the cap each plan of `ready` starts with, as the orchestrator gives it (the plans absent from the
    answer wait for a running plan to end): `failover.evacuation.cap_shares`."""
    return cap_shares(cap, ready, held, units, sizes)


def _row(plan: Plan, groups: Groups | None, share: int, start: float, step: float, error: str | None) -> dict[str, Any]:
    row: dict[str, Any] = {"plan": plan.name, "tier": plan.tier, "after": list(plan.after)}
    if groups is None:
        at = round(start, 1)
        return row | {"error": error or "its recovery plans were not read", "start_s": at, "end_s": at}
    document = preview(plan, groups, mode="unplanned", in_flight_cap=share, step_seconds=step)
    eta = float(document["eta_seconds"])
    return row | {
        "vms": sum(r.vms for _, refs in groups for r in refs),
        "recovery_plans": sum(len(refs) for _, refs in groups),
        "batches": len(plan_batches(groups, batch_limit(groups, plan.batch_size, share))),
        "in_flight_cap": document["in_flight_cap"],
        "start_s": round(start, 1),
        "end_s": round(start + eta, 1),
        "eta_seconds": eta,
        "rto_target_seconds": plan.rto_target,
        "within_rto": start + eta <= plan.rto_target,
    }
