"""`failover bench`: a scaled failover against the simulator, measured against its floor and a sequential runbook.

One process runs, side by side (docs/performance.md):
- **ours**: the real service (local engine, real activities, SDK clients) failing over a seeded estate of
  `vms` VMs and `sessions` sessions, with ARM's throttle buckets and an ARM-like latency per route;
- **floor**: the critical path the plan allows, from the simulator's own parameters: the log-off phase's
  throttle floor (the session host PATCHes and user messages on the writes bucket, the log-offs on the
  deletes bucket: what exceeds the bucket, at the refill rate) + batch spacing x (batches - 1) + the
  longest job of the last batch;
- **sequential baseline**: what a PowerShell runbook does today, with the same SDK clients against a
  fresh copy of the estate: drain each session host, message each session, log each off, one call at a
  time; then fail over one recovery plan after another, polling each job every 30 s until it ends.

The bench plan is the demo plan reduced to what the floor counts: no approval (a person is not a
throughput), no grace period, no commit, dependencies, standby, verify, DNS or drills.
The last stdout line with `--json` is the contract: {"vms", "sessions", "floor_s", "elapsed_s",
"overhead_ratio", "logoff_s", "logoff_floor_s", "logoff_ratio", "baseline_s", "speedup_vs_sequential",
"arm_requests", "arm_requests_min", "request_ratio", "cpu_s_per_vm", "peak_rss_mb"} (plus details).
"""

from __future__ import annotations

import argparse
import json
import math
import resource
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml
from azure.mgmt.desktopvirtualization.models import SendMessage, SessionHostPatch
from azure.mgmt.recoveryservicessiterecovery.models import (
    RecoveryPlanUnplannedFailoverInput,
    RecoveryPlanUnplannedFailoverInputProperties,
)

from failover.clients import ClientFactory
from failover.plan import Plan, load_plan
from failover.run import rto_seconds
from local.stack import DEMO_PLAN, LocalStack
from simulator import Estate, EstateConfig, Simulator, seed_demo_estate
from simulator.estate import DEMO_ASR_RG, DEMO_AVD_RG, DEMO_HOST_POOL, DEMO_VAULT, SUBSCRIPTION_ID
from simulator.faults import LatencyModel

# Routes that are not ARM (data planes, sinks, inspection): not counted as ARM requests.
NOT_ARM = ("sim.", "teams.", "eventgrid.", "logs.", "webhook")
SEQUENTIAL_POLL = 30.0  # simulated seconds between a runbook's job polls (Start-Sleep 30)


def bench_plan(directory: Path, logoff_concurrency: int) -> Path:
    data = yaml.safe_load(DEMO_PLAN.read_text(encoding="utf-8"))
    for section in ("dependencies", "standby", "verify", "network", "identity", "drill", "dns"):
        data.pop(section, None)
    data["approval"] = {"required": 0}
    data["avd"]["grace_period"] = "0s"
    data["avd"]["logoff_concurrency"] = logoff_concurrency
    data["asr"]["commit"] = False
    data["name"] = "bench"
    path = directory / "bench.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def estate_config(time_scale: float) -> EstateConfig:
    return EstateConfig(time_scale=time_scale, latency=LatencyModel.azure())


def _arm_requests(estate: Estate) -> int:
    with estate.lock:
        return sum(count for route, count in estate.requests.items() if not route.startswith(NOT_ARM))


def floor_seconds(estate: Estate, summary: dict[str, Any], batch_interval: float) -> dict[str, float]:
    """The critical path the plan allows on this estate, in wall-clock seconds at the estate's time scale."""
    config = estate.config
    scale = config.time_scale
    hosts = sum(len(p.session_hosts) for p in estate.host_pools.values())
    sessions = summary["sessions"]["found"]
    messaged = summary["messages"]["sent"] + len(summary["messages"]["failed"])
    writes, deletes = config.throttle.writes, config.throttle.deletes
    writes_floor = max(0.0, hosts + messaged - writes.capacity) / writes.rate
    deletes_floor = max(0.0, sessions - deletes.capacity) / deletes.rate
    logoff = (writes_floor + deletes_floor) / scale
    batches = summary["batches"]
    sizes = {p["name"]: p["vms"] for p in summary["recovery_plans"]}
    last = batches[-1] if batches else None
    longest = (
        max(
            (config.job_base_seconds + config.job_seconds_per_vm * sizes[n] for n in last["recovery_plans"]),
            default=0.0,
        )
        if last
        else 0.0
    )
    failover = (batch_interval * max(0, len(batches) - 1) + longest) / scale
    return {"logoff": logoff, "failover": failover, "total": logoff + failover}


def host_counts(estate: Estate, plan: Plan) -> dict[str, int]:
    """Before the run, in the host pools the plan drains: the pools, their session hosts that accept new
    sessions (each needs a PATCH to drain) and those with sessions (each needs two session lists)."""
    names = {(ref.resource_group.lower(), ref.name.lower()) for ref in plan.avd.host_pools}
    with estate.lock:
        pools = [p for key, p in estate.host_pools.items() if key in names]
        hosts = [h for p in pools for h in p.session_hosts.values()]
        return {
            "pools": len(pools),
            "open": sum(1 for h in hosts if h.allow_new_session),
            "busy": sum(1 for h in hosts if h.sessions),
        }


def minimum_requests(estate: Estate, summary: dict[str, Any], hosts: dict[str, int]) -> int:
    """ARM requests a perfect client needs: per host pool of the plan 1 host list + 1 session count, 1 PATCH per session
    host open to new sessions (`hosts["open"]`, counted before the run); 2 session lists (message, log off)
    per session host with sessions (`hosts["busy"]`); 1 message + 1 DELETE per session; 1 list of recovery
    plans; per recovery plan 1 GET, 1 POST, 1 GET of the plan (its job) and 1 job read at the end; the recovery
    capacity check (when the run made it): the vault's protected items (their recovery sizes, in pages), 1 SKU list
    and the compute and network usages."""
    pools = hosts["pools"]
    messaged = summary["messages"]["sent"] + len(summary["messages"]["failed"])
    plans = len(summary["recovery_plans"])
    sessions = summary["sessions"]["found"]
    capacity = 0
    if (summary.get("capacity") or {}).get("rows"):
        with estate.lock:
            items = sum(p.vm_count for p in estate.recovery_plans.values())
        capacity = 3 + math.ceil(items / estate.config.protected_items_page_size)
    return 2 * pools + hosts["open"] + 2 * hosts["busy"] + messaged + sessions + 1 + 4 * plans + capacity


def run_ours(vms: int, sessions: int, time_scale: float, concurrency: int, timeout: float) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        plan_path = bench_plan(Path(tmp), concurrency)
        plan = load_plan(plan_path)
        with LocalStack(
            plan_path=plan_path,
            vms=vms,
            sessions=sessions,
            time_scale=time_scale,
            estate_config=estate_config(time_scale),
        ) as stack:
            hosts = host_counts(stack.estate, plan)
            cpu0 = time.process_time()
            started = time.monotonic()
            answer = stack.http.post(
                f"{stack.api_url}/api/failovers",
                json={"plan": plan.name, "mode": "unplanned", "reason": "bench"},
                timeout=60,
            )
            if answer.status_code != 202:
                raise RuntimeError(f"the bench run was not started: HTTP {answer.status_code} {answer.text}")
            instance_id = answer.json()["instance_id"]
            status: dict[str, Any] = {}
            while time.monotonic() - started < timeout:
                status = stack.http.get(f"{stack.api_url}/api/failovers/{instance_id}", timeout=30).json()
                if status["runtime_status"] not in ("Running", "Pending"):
                    break
                time.sleep(0.25)
            else:
                raise RuntimeError(f"the bench run did not finish within {timeout:.0f}s")
            cpu = time.process_time() - cpu0
            summary = status.get("output")
            if not isinstance(summary, dict):
                raise RuntimeError(f"the bench run ended {status['runtime_status']} without a summary")
            steps = {
                s["name"]: rto_seconds(s["started_at"], s["finished_at"])
                for s in summary["steps"]
                if s.get("started_at") and s.get("finished_at")
            }
            return {
                "summary": summary,
                "elapsed_s": float(summary["rto_seconds"]),
                "logoff_s": steps.get("avd", 0.0),
                "failover_s": steps.get("failover", 0.0),
                "steps": steps,
                "floor": floor_seconds(stack.estate, summary, plan.batch_interval),
                "arm_requests": _arm_requests(stack.estate),
                "arm_requests_min": minimum_requests(stack.estate, summary, hosts),
                "throttled": stack.estate.faults.snapshot()["throttled"],
                "cpu_s": cpu,
                "batches": len(summary["batches"]),
            }


def run_sequential(vms: int, sessions: int, time_scale: float, settings: Any) -> dict[str, Any]:
    """The runbook as people run it: one call at a time, same SDK clients, a fresh copy of the estate."""
    estate = seed_demo_estate(Estate(estate_config(time_scale)), vms=vms, sessions=sessions)
    with Simulator(estate) as simulator:
        factory = ClientFactory(
            settings.model_copy(update={"arm_endpoint": simulator.url, "ca_bundle": simulator.ca_bundle})
        )
        avd = factory.desktop_virtualization(SUBSCRIPTION_ID)
        asr = factory.site_recovery(SUBSCRIPTION_ID).replication_recovery_plans
        jobs = factory.site_recovery(SUBSCRIPTION_ID).replication_jobs
        started = time.monotonic()
        hosts = [str(h.name).rsplit("/", 1)[-1] for h in avd.session_hosts.list(DEMO_AVD_RG, DEMO_HOST_POOL) if h.name]
        for host in hosts:
            avd.session_hosts.update(
                DEMO_AVD_RG, DEMO_HOST_POOL, host, session_host=SessionHostPatch(allow_new_session=False)
            )
        message = SendMessage(message_title="Region failover", message_body="You will be signed out.")
        for host in hosts:
            for session in list(avd.user_sessions.list(DEMO_AVD_RG, DEMO_HOST_POOL, host)):
                avd.user_sessions.send_message(
                    DEMO_AVD_RG, DEMO_HOST_POOL, host, str(session.name).rsplit("/", 1)[-1], send_message=message
                )
        for host in hosts:
            for session in list(avd.user_sessions.list(DEMO_AVD_RG, DEMO_HOST_POOL, host)):
                avd.user_sessions.delete(
                    DEMO_AVD_RG, DEMO_HOST_POOL, host, str(session.name).rsplit("/", 1)[-1], force=True
                )
        logoff = time.monotonic() - started
        names = sorted(p.name for p in asr.list(DEMO_ASR_RG, DEMO_VAULT) if p.name)
        order = [n for prefix in ("rp-identity", "rp-data", "rp-apps") for n in names if n.startswith(prefix)]
        poll = SEQUENTIAL_POLL / time_scale
        for name in order:
            asr.begin_unplanned_failover(
                DEMO_ASR_RG,
                DEMO_VAULT,
                name,
                RecoveryPlanUnplannedFailoverInput(
                    properties=RecoveryPlanUnplannedFailoverInputProperties(
                        failover_direction="PrimaryToRecovery", source_site_operations="NotRequired"
                    )
                ),
                polling=False,
            )
            plan: Any = asr.get(DEMO_ASR_RG, DEMO_VAULT, name)
            job = str(plan.properties.current_scenario.job_id).rsplit("/", 1)[-1]
            while True:
                time.sleep(poll)
                found: Any = jobs.get(DEMO_ASR_RG, DEMO_VAULT, job)
                state = found.properties.state
                if state not in ("InProgress", "NotStarted"):
                    break
        elapsed = time.monotonic() - started
        return {"baseline_s": elapsed, "baseline_logoff_s": logoff, "baseline_failover_s": elapsed - logoff}


def bench(
    vms: int, sessions: int, time_scale: float, concurrency: int = 32, baseline: bool = True, timeout: float = 3600
) -> dict[str, Any]:
    ours = run_ours(vms, sessions, time_scale, concurrency, timeout)
    from failover.settings import current

    sequential = run_sequential(vms, sessions, time_scale, current()) if baseline else {}
    floor = ours["floor"]
    peak_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    result: dict[str, Any] = {
        "vms": vms,
        "sessions": sessions,
        "time_scale": time_scale,
        "batches": ours["batches"],
        "floor_s": round(floor["total"], 3),
        "elapsed_s": round(ours["elapsed_s"], 3),
        "overhead_ratio": round(ours["elapsed_s"] / floor["total"], 3) if floor["total"] else None,
        "logoff_s": round(ours["logoff_s"], 3),
        "logoff_floor_s": round(floor["logoff"], 3),
        "logoff_ratio": round(ours["logoff_s"] / floor["logoff"], 3) if floor["logoff"] else None,
        "failover_s": round(ours["failover_s"], 3),
        "failover_floor_s": round(floor["failover"], 3),
        "baseline_s": round(sequential["baseline_s"], 3) if sequential else None,
        "speedup_vs_sequential": round(sequential["baseline_s"] / ours["elapsed_s"], 2) if sequential else None,
        # the most any automation could gain on this estate: the sequential runbook against the floor itself
        "speedup_bound": round(sequential["baseline_s"] / floor["total"], 2) if sequential and floor["total"] else None,
        "logoff_speedup_vs_sequential": (
            round(sequential["baseline_logoff_s"] / ours["logoff_s"], 2) if sequential and ours["logoff_s"] else None
        ),
        "arm_requests": ours["arm_requests"],
        "arm_requests_min": ours["arm_requests_min"],
        "request_ratio": round(ours["arm_requests"] / ours["arm_requests_min"], 3),
        "throttled": ours["throttled"],
        "cpu_s_per_vm": round(ours["cpu_s"] / vms, 5),
        "peak_rss_mb": round(peak_rss_mb, 1),
        "status": ours["summary"]["status"],
    }
    return result


def main(args: argparse.Namespace) -> int:
    from failover.logs import configure_logging

    configure_logging("WARNING", json_output=False)
    if args.vms < 6 or args.sessions < 0 or args.time_scale <= 0:
        print("failover bench: --vms must be >= 6, --sessions >= 0, --time-scale > 0", file=sys.stderr)
        return 2
    result = bench(args.vms, args.sessions, args.time_scale, args.concurrency, baseline=not args.no_baseline)
    show_result(result, args.json)
    return 0 if result["status"] == "Completed" and not math.isnan(result["elapsed_s"]) else 1


def show_result(result: dict[str, Any], as_json: bool) -> None:
    """A bench's figures: one JSON line (the contract), or one aligned line each."""
    if as_json:
        print(json.dumps(result))
    else:
        width = max(len(k) for k in result)
        for key, value in result.items():
            print(f"{key:<{width}}  {value}")
