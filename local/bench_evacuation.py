"""`failover bench --evacuation`: an evacuation of a region's plans against the simulator, measured against the
critical path its shared in-flight cap allows and against its own prediction (docs/performance.md).

The estate: `plans` plans of about `vms / plans` VMs each (recovery plans of at most 40 VMs), spread over
`vaults` vaults, in the demo's recovery region; plan 0 is tier 0 (identity), the others tier 1, every tenth of
them `after` the one before it (a cross-plan dependency in the tier). The plans are the demo plan reduced to what
the floor counts, as `failover bench`'s: no approval, AVD, dependencies, standby, verify, DNS, drills or commit.

- **floor**: the schedule the evacuation's policy allows (tiers, `after`, the shared cap split among the plans
  started together, batch spacing) with every job taking exactly the simulator's duration and noticed the moment it
  ends: the evacuation's preview (`failover.evacuation_preview`) with the simulator's parameters as the plans'
  estimates;
- **elapsed**: from the `POST /api/evacuations` to the evacuation's end, wall-clock;
- **predicted**: the evacuation's own figure (`eta_seconds`, the card's), against what the simulator saw: the first
  failover POST to the last job's end (`achieved_s`).

The last stdout line with `--json` is the contract: {"plans", "vms", "floor_s", "elapsed_s", "overhead_ratio",
"predicted_s", "achieved_s", "prediction_error", "arm_requests", "arm_requests_min", "request_ratio",
"cpu_s_per_vm", "peak_rss_mb"} plus details (`peak_vms_in_flight`: the most VMs whose failover jobs the simulator ran
at once, against `in_flight_cap`; `throttled`, `status`).

`--wire-log FILE` writes the simulator's wire log as JSON lines: every request it answered during the evacuation,
`{"t0", "t1", "route", "method", "path", "status"}` (its arrival and answer, wall-clock seconds from the evacuation's
`POST`); every failover job the simulator ran, `{"t0", "t1", "job", "recovery_plan", "scenario"}` (its start and end);
every CloudEvent the run published, `{"t0", "event", "run", "subject"}` at the event's own `time`: where the time
between a plan's job end and the next plan's first failover goes (docs/performance.md).
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from failover.batching import RecoveryPlanRef
from failover.evacuation_preview import evacuation_preview
from failover.plan import Plan, load_plan
from failover.run import parse_iso
from local.bench import show_result
from local.stack import DEMO_PLAN, LocalStack
from simulator import Estate, EstateConfig
from simulator.dependencies import DependencyConfig
from simulator.estate import DEMO_ASR_RG, SUBSCRIPTION_ID, seed_recovery_plans
from simulator.faults import LatencyModel

NOT_ARM = ("sim.", "teams.", "eventgrid.", "logs.", "webhook")  # as local.bench: not ARM requests
FAILOVER_JOBS = ("UnplannedFailover", "PlannedFailover", "CommitFailover")


@dataclass(frozen=True)
class PlanShape:
    """One plan of an evacuation's estate: its VMs in recovery plans `rp-{name}-NN` in `vault`."""

    name: str
    vms: int
    vault: str = "rsv-evac-neu"
    tier: int = 1
    after: tuple[str, ...] = ()
    per_recovery_plan: int = 40
    batch_size: int = 100
    batch_interval: str = "10m"
    groups: int = 1  # the recovery plans split into this many groups, one after another
    provision: int = 0  # session hosts `recovery: provision` builds for the demo host pool (one plan of an estate)


# where a shape's provisioned session hosts are built (the simulator's demo estate seeds this VNet)
HOSTS_SUBNET = (
    f"/subscriptions/{SUBSCRIPTION_ID}/resourceGroups/rg-avd-neu/providers/Microsoft.Network/virtualNetworks/"
    "vnet-avd-neu/subnets/snet-hosts"
)


def _provisioned_avd(shape: PlanShape, demo: dict[str, Any]) -> dict[str, Any]:
    """The demo host pool marked `recovery: provision` with `shape.provision` hosts, its estimate the simulator's
    own VM create and AVD registration times (as the plans' job estimates are the simulator's), no grace period."""
    knobs = DependencyConfig()
    provision = {
        "count": shape.provision,
        "name_prefix": f"dr-{shape.name}"[:12].rstrip("-"),
        "resource_group": "rg-avd-neu",
        "subnet_id": HOSTS_SUBNET,
        "expected_duration": f"{knobs.vm_create_seconds + knobs.session_host_register_seconds:g}s",
    }
    pool = {**demo["avd"]["host_pools"][0], "recovery": "provision", "provision": provision}
    return {**demo["avd"], "host_pools": [pool], "grace_period": "0s"}


def write_plans(directory: Path, shapes: list[PlanShape], commit: bool = True, approvals: int = 0) -> list[Path]:
    """The shapes as plan files: the demo plan's vault settings and estimates, without AVD (but the session hosts a
    shape provisions), dependencies, standby, verify, DNS or drills (the failover window is the whole run)."""
    demo = yaml.safe_load(DEMO_PLAN.read_text(encoding="utf-8"))
    paths = []
    for shape in shapes:
        data = {k: v for k, v in demo.items() if k not in ("avd", "standby", "dns", "dependencies", "verify", "drill")}
        data.update(
            name=shape.name,
            tier=shape.tier,
            after=list(shape.after),
            batch_size=shape.batch_size,
            batch_interval=shape.batch_interval,
            groups=_groups(shape),
        )
        data["approval"] = {**demo["approval"], "required": approvals}
        data["asr"] = {**demo["asr"], "vault": shape.vault, "commit": commit}
        if shape.provision:
            data["avd"] = _provisioned_avd(shape, demo)
        path = directory / f"{shape.name}.yaml"
        path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
        paths.append(path)
    return paths


def _groups(shape: PlanShape) -> list[dict[str, Any]]:
    count = -(-shape.vms // shape.per_recovery_plan)
    names = [f"rp-{shape.name}-{i + 1:02d}" for i in range(count)]
    per_group = -(-count // max(1, min(shape.groups, count)))
    return [
        {"name": f"g{n + 1}", "recovery_plans": names[i : i + per_group]}
        for n, i in enumerate(range(0, count, per_group))
    ]


def seed(estate: Estate, shapes: list[PlanShape]) -> None:
    for shape in shapes:
        seed_recovery_plans(estate, shape.vault, f"rp-{shape.name}", shape.vms, shape.per_recovery_plan)


def region_shapes(plans: int, vms: int, vaults: int = 4) -> list[PlanShape]:
    """`plans` plans sharing `vms` VMs: plan 0 tier 0, the rest tier 1, every tenth after the one before it."""
    sizes = [vms // plans + (1 if i < vms % plans else 0) for i in range(plans)]
    return [
        PlanShape(
            name=f"p{i:03d}",
            vms=size,
            vault=f"rsv-dr-neu-{i % vaults + 1}",
            tier=0 if i == 0 else 1,
            after=(f"p{i - 1:03d}",) if i > 1 and i % 10 == 0 else (),
        )
        for i, size in enumerate(sizes)
    ]


def failover_window(estate: Estate) -> float:
    """The evacuation as the simulator saw it, in simulated seconds: its first failover POST (a job's start) to the
    end of its last failover or commit job, or to the last provisioned session host's registration (Available)."""
    snapshot = estate.snapshot()
    jobs = [j for j in snapshot["jobs"] if j["scenario"] in FAILOVER_JOBS]
    if not jobs or any(not j.get("ended_at") for j in jobs):
        raise RuntimeError("the evacuation left failover jobs unfinished")
    first = min(parse_iso(j["started_at"]) for j in jobs)
    registered = [parse_iso(r["at"]) for r in snapshot["registrations"] if r["registered"]]
    last = max([parse_iso(j["ended_at"]) for j in jobs] + registered)
    return (last - first).total_seconds() * estate.config.time_scale


def peak_in_flight(estate: Estate) -> int:
    """The most VMs whose failover jobs ran at once, as the simulator saw them (against the shared cap)."""
    snapshot = estate.snapshot()
    vms = {p["name"]: p["vms"] for p in snapshot["recovery_plans"]}
    edges = sorted(
        (parse_iso(j[at]), sign * vms[j["plan"]])
        for j in snapshot["jobs"]
        if j["scenario"] in FAILOVER_JOBS[:2] and j.get("ended_at")
        for at, sign in (("started_at", 1), ("ended_at", -1))
    )
    peak = current = 0
    for _, change in edges:  # at equal times an end (-) sorts before a start (+)
        current += change
        peak = max(peak, current)
    return peak


def floor_seconds(plans: list[Plan], groups: dict[str, Any], config: EstateConfig, cap: int) -> float:
    """The critical path under the shared cap in simulated seconds: the evacuation's schedule with the simulator's
    own job and commit durations as every plan's estimate (each job then noticed the moment it ends)."""
    exact = [
        p.model_copy(
            update={
                "asr": p.asr.model_copy(
                    update={
                        "expected_job_duration": config.job_base_seconds,
                        "expected_seconds_per_vm": config.job_seconds_per_vm,
                        "expected_commit_duration": config.commit_seconds,
                    }
                )
            }
        )
        for p in plans
    ]
    return float(evacuation_preview(exact, groups, cap, step_seconds=0.0)["eta_seconds"])


def _arm_requests(estate: Estate) -> int:
    with estate.lock:
        return sum(count for route, count in estate.requests.items() if not route.startswith(NOT_ARM))


def minimum_requests(plans: list[Plan], groups: dict[str, Any], commit: bool) -> int:
    """ARM requests a perfect client needs: per plan 1 list of its vault's recovery plans; per recovery plan 1 GET,
    1 POST, 1 GET of the plan (its job) and 1 job read at the end (with commit: 1 POST and 1 job read more)."""
    recovery_plans = sum(len(refs) for p in plans for _, refs in groups[p.name])
    return len(plans) + recovery_plans * (6 if commit else 4)


def write_wire_log(path: Path, estate: Estate, since: float) -> None:
    """The simulator's wire log and the events it received as JSON lines, times in seconds from `since`
    (time.time())."""
    with estate.lock:
        wire, events = list(estate.wire or []), list(estate.sinks.events)
    jobs = [j for j in estate.snapshot()["jobs"] if j["scenario"] in FAILOVER_JOBS and j.get("ended_at")]
    with path.open("w", encoding="utf-8") as out:
        for t0, t1, route, method, url, status in wire:
            entry = {"t0": round(t0 - since, 4), "t1": round(t1 - since, 4), "route": route, "method": method}
            out.write(json.dumps(entry | {"path": url, "status": status}) + "\n")
        for job in jobs:
            start, end = (round(parse_iso(job[k]).timestamp() - since, 4) for k in ("started_at", "ended_at"))
            entry = {"t0": start, "t1": end, "job": job["name"], "recovery_plan": job["plan"]}
            out.write(json.dumps(entry | {"scenario": job["scenario"]}) + "\n")
        for event in events:
            at = parse_iso(event["time"]).timestamp() - since
            data = event.get("data") or {}
            entry = {"t0": round(at, 4), "event": str(event["type"]).rsplit(".", 1)[-1], "run": data.get("instance_id")}
            out.write(json.dumps(entry | {"subject": event.get("subject")}) + "\n")


def run_evacuation(stack: LocalStack, cap: int, timeout: float) -> dict[str, Any]:
    """Start the evacuation of the stack's region (no approval asked), wait for its end. Returns its API view
    (`posted_at`: the POST's time.time())."""
    started, posted_at = time.monotonic(), time.time()
    answer = stack.http.post(
        f"{stack.api_url}/api/evacuations",
        json={"region": stack.plan.primary_region, "in_flight_cap": cap, "reason": "bench"},
        timeout=60,
    )
    if answer.status_code != 202:
        raise RuntimeError(f"the evacuation was not started: HTTP {answer.status_code} {answer.text}")
    url = f"{stack.api_url}/api/evacuations/{answer.json()['instance_id']}"
    while time.monotonic() - started < timeout:
        view: dict[str, Any] = stack.http.get(url, timeout=30).json()
        if view["runtime_status"] not in ("Running", "Pending"):
            view["elapsed_s"] = time.monotonic() - started
            view["posted_at"] = posted_at
            return view
        time.sleep(0.25)
    raise RuntimeError(f"the evacuation did not finish within {timeout:.0f}s")


def bench_evacuation(
    plans: int,
    vms: int,
    time_scale: float,
    cap: int = 100,
    vaults: int = 4,
    timeout: float = 3600,
    wire_log: Path | None = None,
) -> dict[str, Any]:
    shapes = region_shapes(plans, vms, vaults)
    config = EstateConfig(time_scale=time_scale, latency=LatencyModel.azure())
    with tempfile.TemporaryDirectory() as tmp:
        paths = write_plans(Path(tmp), shapes, commit=False)
        loaded = [load_plan(p) for p in paths]
        with LocalStack(
            plan_path=paths[0], extra_plans=paths[1:], vms=6, sessions=0, time_scale=time_scale, estate_config=config
        ) as stack:
            seed(stack.estate, shapes)
            requests0 = _arm_requests(stack.estate)  # the stack's own start (none today)
            if wire_log is not None:
                stack.estate.wire = []
            cpu0 = time.process_time()
            view = run_evacuation(stack, cap, timeout)
            cpu = time.process_time() - cpu0
            output = view.get("output") or {}
            achieved = failover_window(stack.estate) / time_scale
            peak = peak_in_flight(stack.estate)
            groups = {
                p.name: [
                    (g.name, [RecoveryPlanRef(n, _vms(stack.estate, p, n)) for n in g.recovery_plans]) for g in p.groups
                ]
                for p in loaded
            }
            floor = floor_seconds(loaded, groups, config, cap) / time_scale
            arm = _arm_requests(stack.estate) - requests0
            if wire_log is not None:
                write_wire_log(wire_log, stack.estate, view["posted_at"])
    arm_min = minimum_requests(loaded, groups, commit=False)
    predicted = float(view.get("eta_seconds") or 0.0) / time_scale
    elapsed = (  # the evacuation's own start and end (wall-clock): not this loop's polling
        (parse_iso(output["finished_at"]) - parse_iso(output["started_at"])).total_seconds()
        if output.get("finished_at")
        else float(view["elapsed_s"])
    )
    return {
        "plans": plans,
        "vms": vms,
        "vaults": vaults,
        "time_scale": time_scale,
        "in_flight_cap": cap,
        "floor_s": round(floor, 3),
        "elapsed_s": round(elapsed, 3),
        "overhead_ratio": round(elapsed / floor, 3) if floor else None,
        "predicted_s": round(predicted, 3),
        "achieved_s": round(achieved, 3),
        "prediction_error": round((predicted - achieved) / achieved, 3) if achieved else None,
        "arm_requests": arm,
        "arm_requests_min": arm_min,
        "request_ratio": round(arm / arm_min, 3),
        "peak_vms_in_flight": peak,
        "throttled": stack.estate.faults.snapshot()["throttled"],
        "cpu_s_per_vm": round(cpu / vms, 5),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "status": output.get("status") or view["runtime_status"],
    }


def _vms(estate: Estate, plan: Plan, name: str) -> int:
    return int(estate.recovery_plan(DEMO_ASR_RG, plan.asr.vault, name).vm_count)


def main(args: argparse.Namespace) -> int:
    from failover.logs import configure_logging

    configure_logging("WARNING", json_output=False)
    if args.plans < 2 or args.vms < args.plans or args.time_scale <= 0 or args.cap < 1 or args.vaults < 1:
        print(
            "failover bench --evacuation: --plans must be >= 2, --vms >= --plans, --time-scale > 0, --cap and "
            "--vaults >= 1",
            file=sys.stderr,
        )
        return 2
    wire_log = Path(args.wire_log) if getattr(args, "wire_log", None) else None
    result = bench_evacuation(args.plans, args.vms, args.time_scale, args.cap, args.vaults, wire_log=wire_log)
    show_result(result, args.json)
    return 0 if result["status"] == "Completed" else 1
