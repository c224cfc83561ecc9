"""`failover demo`: a whole run against the simulator, approved as a demo approver would approve it (the Teams
card's link, its confirm page, the form), followed to its end and summarised."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

import requests

from local.demo_operator import TERMINAL, approve_as, find_approval_link, finish_demo, play_operator
from local.paths import DEMO_ALERT as DEMO_ALERT  # re-exported

# The stack (engine, simulator, SDKs) is imported by run_demo: `failover watch` and the tests use the rest of
# this module without it (docs/performance.md, "Start-up: imports").
if TYPE_CHECKING:
    from local.stack import LocalStack


class Progress:
    """Prints a line whenever the run's stage or batch progress changes."""

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.last = ""
        self.t0 = time.monotonic()

    def show(self, status: dict[str, Any]) -> None:
        custom = status.get("custom_status") or {}
        progress = custom.get("progress") or {}
        line = (
            f"{custom.get('stage', status.get('runtime_status'))}: "
            f"batches {progress.get('batches_done', 0)}/{progress.get('batches_total', 0)} done "
            f"({progress.get('batches_started', 0)} started), "
            f"VMs {progress.get('vms_failed_over', 0)}/{progress.get('vms_total', 0)}, "
            f"sessions logged off {progress.get('sessions_logged_off', 0)}/{progress.get('sessions_found', 0)}"
        )
        if line != self.last:
            self.last = line
            print(f"[{time.monotonic() - self.t0:6.1f}s] {line}", file=self.out, flush=True)


def run_demo(args: argparse.Namespace) -> int:
    from failover.logs import configure_logging
    from local.stack import LocalStack
    from simulator import EstateConfig
    from simulator.faults import FaultConfig, RouteFaults
    from simulator.outage import VARIANTS as OUTAGE_VARIANTS
    from simulator.outage import Outage

    if getattr(args, "evacuation", None):
        if args.mode != "failover" or args.faults is not None:
            print("failover demo: --evacuation is a failover; --mode and --faults do not apply", file=sys.stderr)
            return 2
        from local.demo_evacuation import run_evacuation_demo

        return run_evacuation_demo(args)
    out = sys.stderr if args.json else sys.stdout
    configure_logging("WARNING", json_output=False)
    alert = json.loads(Path(args.alert).read_text(encoding="utf-8"))
    estate_config = EstateConfig()
    if args.faults is not None:  # throttling and transient errors on every ARM route
        estate_config.faults = FaultConfig(arm=RouteFaults.transient(args.faults))
    with LocalStack(
        plan_path=Path(args.plan),
        vms=args.vms,
        sessions=args.sessions,
        time_scale=args.time_scale,
        estate_config=estate_config,
    ) as stack:
        print(f"simulator: {stack.simulator.url}", file=out)
        print(f"api: {stack.api_url}", file=out)
        print(
            f"plan: {stack.plan.name} ({args.vms} VMs, {args.sessions} sessions, time scale x{args.time_scale:g})",
            file=out,
        )
        if args.outage:
            region = stack.plan.primary_region
            stack.estate.set_outage(Outage.variant(args.outage, region, after_seconds=args.outage_at))
            when = f"{args.outage_at:g} simulated seconds from now" if args.outage_at else "now"
            print(f"outage ({args.outage}): {region} goes down {when}: {OUTAGE_VARIANTS[args.outage]}", file=out)
        if args.mode == "failback":  # first the failover the failback undoes, in the same simulator
            first = _demo_run(stack, args, out, stack.http.post(f"{stack.api_url}/api/alerts", json=alert, timeout=30))
            if first is None:
                return 1
            print(f"failover {first['status']}; failing back", file=out)
            answer = stack.http.post(
                f"{stack.api_url}/api/failbacks",
                json={"plan": stack.plan.name, "reason": "demo: the primary region is healthy again"},
                timeout=30,
            )
        elif args.mode == "test":  # a drill, as an operator or the monthly timer starts it
            answer = stack.http.post(
                f"{stack.api_url}/api/drills",
                json={"plan": stack.plan.name, "force": True, "reason": "demo drill"},
                timeout=30,
            )
        else:
            answer = stack.http.post(f"{stack.api_url}/api/alerts", json=alert, timeout=30)
        summary = _demo_run(stack, args, out, answer)
        if summary is None:
            return 1
        if args.report:
            from failover.report import report_html

            Path(args.report).write_text(report_html(summary), encoding="utf-8")
            print(f"report: {args.report}", file=out)
        return finish_demo(stack, summary, args, out, print_summary)


def _demo_run(stack: LocalStack, args: argparse.Namespace, out: TextIO, answer: requests.Response) -> Any:
    """Follow one run the demo started: approve it as the first approver, show progress, return its summary."""
    if answer.status_code != 202:
        print(f"the run was not started: HTTP {answer.status_code} {answer.text}", file=sys.stderr)
        return None
    instance_id = answer.json()["instance_id"]
    print(f"run {instance_id} accepted", file=out)

    from contextlib import nullcontext

    from local.live import live_view

    live = live_view(out)  # a terminal: the live view (lines printed to `out` go above it); else line by line
    out = live.out if live else out
    progress = live or Progress(out)
    approver = stack.plan.approval.approvers[0] if stack.plan.approval.approvers else None
    approved = stack.plan.approval.required == 0
    deadline = time.monotonic() + args.timeout
    status: dict[str, Any] = {}
    with live or nullcontext():
        while time.monotonic() < deadline:
            status = stack.http.get(f"{stack.api_url}/api/failovers/{instance_id}", timeout=10).json()
            progress.show(status)
            if status["runtime_status"] in TERMINAL:
                break
            if not approved and approver and (status.get("custom_status") or {}).get("approval", {}).get("waiting"):
                messages = requests.get(
                    f"{stack.simulator.url}/_sim/teams/messages", verify=stack.simulator.ca_bundle, timeout=10
                ).json()
                link = find_approval_link(messages, instance_id)
                if link:
                    decision = approve_as(approver, link, comment="demo approval")
                    print(f"approved by {approver}: HTTP {decision.status_code}", file=out)
                    approved = decision.ok
            if args.outage:
                play_operator(stack, instance_id, status, out)
            time.sleep(0.2)
        else:
            print(f"the run did not finish within {args.timeout}s", file=sys.stderr)
            return None
    summary = status.get("output")
    if status["runtime_status"] != "Completed" or not isinstance(summary, dict):
        print(f"run ended {status['runtime_status']}: {summary}", file=sys.stderr)
        return None
    return summary


def print_summary(summary: dict[str, Any], out: TextIO) -> None:
    print("", file=out)
    print(f"Run {summary['instance_id']} ({summary['plan']}, {summary['mode']}): {summary['status']}", file=out)
    for decision in summary["approvals"]:
        print(f"  approval: {decision['decision']} by {decision['approver']} at {decision['at']}", file=out)
    sessions = summary["sessions"]
    gone = f", {sessions['unreachable']} on unreachable session hosts" if sessions.get("unreachable") else ""
    print(f"  sessions: {sessions['logged_off']} of {sessions['found']} logged off{gone}", file=out)
    for batch in summary["batches"]:
        print(
            f"  batch {batch['index']} [{batch['group']}] {batch['vms']:>3} VMs "
            f"{batch['started_at']} → {batch['finished_at']} {batch['status']} ({', '.join(batch['recovery_plans'])})",
            file=out,
        )
    moved = "test-failed over (isolated network)" if summary.get("mode") == "test" else "failed over"
    print(f"  VMs {moved}: {summary['vms_failed_over']}", file=out)
    for dep in summary.get("dependencies") or []:
        detail = dep.get("details") or {}
        synced = detail.get("last_sync_time")
        extra = f" (last sync {synced}: later writes may be lost)" if synced else ""
        print(f"  dependency {dep['name']} ({dep['kind']}): {dep['status']}{extra}", file=out)
    if summary.get("standby"):
        print(f"  standby session hosts started: {', '.join(summary['standby']['vms'])}", file=out)
    verify = summary.get("verify") or {}
    for check in verify.get("checks", []):
        print(f"  verify {check['name']}: {'healthy' if check['healthy'] else 'NOT healthy'}", file=out)
    for change in summary["dns"]:
        before, after = change["from"], change["to"]
        if isinstance(before, dict):  # a Traffic Manager endpoint
            before, after = f"{before['status']} p{before['priority']}", f"{after['status']} p{after['priority']}"
        print(f"  dns: {change['record']}: {before} → {after}", file=out)
    print(f"  events published: {summary['events_published']}", file=out)
    scale = summary.get("time_scale", 1)
    unscaled_min = summary["rto_seconds"] * scale / 60
    target_min = summary["rto_target_seconds"] * scale / 60
    print(
        f"  recovery time: {summary['rto_seconds']:.1f}s at time scale x{scale:g} "
        f"(≈ {unscaled_min:.0f} min unscaled; target {target_min:.0f} min): "
        + ("met" if summary.get("rto_met") else f"not met ({summary.get('rto_note') or 'no verdict'})"),
        file=out,
    )
    if summary.get("drill"):
        drill = summary["drill"]
        verdict = "met" if drill["rto_met"] else f"not met ({drill.get('rto_note') or 'over the target'})"
        achieved, target = drill["rto_seconds"] * scale / 60, drill["rto_target_seconds"] * scale / 60
        print(f"  drill: recovery time ≈ {achieved:.0f} min unscaled, target {target:.0f} min: {verdict}", file=out)
    if summary.get("cleanup") is not None:
        print(f"  drill cleanup: {summary['cleanup']}", file=out)
    for error in summary["errors"]:
        print(f"  error: {error}", file=out)
