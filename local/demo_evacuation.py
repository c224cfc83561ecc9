"""`failover demo --evacuation`: the outage of a whole region as one evacuation. The three plans of
plans/evacuation/ (identity and data in tier 0, apps in tier 1 after both) share the demo estate; the demo
incident matches all three, so the alert starts one evacuation (`FAILOVER_EVACUATE_ON_INCIDENT`), approved
once on its one card; with `--outage` the region is really down and the demo plays the on-call engineer on
each plan's run. The summary is the evacuation's: each plan's row, the in-flight cap they shared, and each
plan's recovery time and data-loss window (from the plan's own run report)."""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

import requests

from local.demo_operator import TERMINAL, approve_as, find_approval_link, finish_demo, play_operator


def run_evacuation_demo(args: argparse.Namespace) -> int:
    from failover.logs import configure_logging
    from local.stack import LocalStack
    from simulator import EstateConfig
    from simulator.outage import VARIANTS as OUTAGE_VARIANTS
    from simulator.outage import Outage

    out = sys.stderr if args.json else sys.stdout
    configure_logging("WARNING", json_output=False)
    files = sorted(Path(args.evacuation).glob("*.y*ml"))
    if len(files) < 2:
        print(f"failover demo: --evacuation {args.evacuation}: needs two or more plan files", file=sys.stderr)
        return 2
    alert = json.loads(Path(args.alert).read_text(encoding="utf-8"))
    with LocalStack(
        plan_path=files[0],
        extra_plans=files[1:],
        vms=args.vms,
        sessions=args.sessions,
        time_scale=args.time_scale,
        estate_config=EstateConfig(),
    ) as stack:
        print(f"simulator: {stack.simulator.url}", file=out)
        print(f"api: {stack.api_url}", file=out)
        names = ", ".join(sorted(stack.api.plans))
        print(f"plans: {names} ({args.vms} VMs, {args.sessions} sessions, time scale x{args.time_scale:g})", file=out)
        region = stack.plan.primary_region
        if args.outage:
            stack.estate.set_outage(Outage.variant(args.outage, region, after_seconds=args.outage_at))
            print(f"outage ({args.outage}): {region} goes down: {OUTAGE_VARIANTS[args.outage]}", file=out)
        essentials = (alert.get("data") or {}).get("essentials") or {}
        if "firedDateTime" in essentials:  # the incident fires now, once the region is down (the RPO table's start)
            essentials["firedDateTime"] = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
        answer = stack.http.post(f"{stack.api_url}/api/alerts", json=alert, timeout=30)
        evacuations = answer.json().get("evacuations") if answer.status_code == 202 else None
        if not evacuations:
            print(f"the alert started no evacuation: HTTP {answer.status_code} {answer.text}", file=sys.stderr)
            return 1
        instance_id = evacuations[0]["instance_id"]
        print(f"evacuation {instance_id} accepted: {', '.join(p['plan'] for p in evacuations[0]['plans'])}", file=out)
        summary = _follow(stack, instance_id, args, out)
        if summary is None:
            return 1
        summary["reports"] = _reports(stack, summary)
        evacuation_report = f"{stack.api_url}/api/evacuations/{instance_id}/report"
        summary["report"] = stack.http.get(evacuation_report, params={"format": "json"}, timeout=30).json()
        if args.report:
            Path(args.report).write_text(stack.http.get(evacuation_report, timeout=30).text, encoding="utf-8")
            print(f"report: {args.report}", file=out)
        return finish_demo(stack, summary, args, out, print_evacuation)


def progress_line(status: dict[str, Any]) -> str:
    """One line of the evacuation's progress: its stage and each plan's status. Before its first episode has set
    a status the evacuation has neither: "starting (Pending)"."""
    rows = status.get("plans") or []
    stage = status.get("stage") or f"starting ({status.get('runtime_status') or 'not yet listed'})"
    return f"{stage}: " + ", ".join(f"{r['plan']} {r['status']}" for r in rows) if rows else stage


def _follow(stack: Any, instance_id: str, args: argparse.Namespace, out: TextIO) -> dict[str, Any] | None:
    """Approve the evacuation's one card as its first approver, play the operator on each plan's run in an
    outage, print each change of stage, return the evacuation's summary."""
    url = f"{stack.api_url}/api/evacuations/{instance_id}"
    approved, last = False, ""
    deadline = time.monotonic() + args.timeout
    started = time.monotonic()
    while time.monotonic() < deadline:
        status = stack.http.get(url, timeout=10).json()
        rows = status.get("plans") or []
        line = progress_line(status)
        if line != last:
            print(f"[{time.monotonic() - started:6.1f}s] {line}", file=out, flush=True)
            last = line
        if status["runtime_status"] in TERMINAL:
            output = status.get("output")
            if status["runtime_status"] != "Completed" or not isinstance(output, dict):
                print(f"evacuation ended {status['runtime_status']}: {output}", file=sys.stderr)
                return None
            return output
        approval = status.get("approval") or {}
        if not approved and approval.get("waiting") and approval.get("approvers"):
            messages = requests.get(
                f"{stack.simulator.url}/_sim/teams/messages", verify=stack.simulator.ca_bundle, timeout=10
            ).json()
            link = find_approval_link(messages, instance_id)
            if link:
                approver = approval["approvers"][0]
                decision = approve_as(approver, link, comment="demo approval of the evacuation")
                print(f"approved by {approver}: HTTP {decision.status_code}", file=out)
                approved = decision.ok
        if args.outage:
            for row in rows:
                if row.get("status") == "Running" and row.get("run_id"):
                    run = stack.http.get(f"{stack.api_url}/api/failovers/{row['run_id']}", timeout=10).json()
                    play_operator(stack, row["run_id"], run, out)
        time.sleep(0.2)
    print(f"the evacuation did not finish within {args.timeout}s", file=sys.stderr)
    return None


def _reports(stack: Any, summary: dict[str, Any]) -> dict[str, Any]:
    """Each plan's run report (JSON), as `GET /api/failovers/{run}/report?format=json` answers it."""
    found = {}
    for row in summary["plans"]:
        if row.get("run_id"):
            answer = stack.http.get(
                f"{stack.api_url}/api/failovers/{row['run_id']}/report", params={"format": "json"}, timeout=30
            )
            if answer.ok:
                found[row["plan"]] = answer.json()
    return found


def print_evacuation(summary: dict[str, Any], out: TextIO) -> None:
    print("", file=out)
    print(f"Evacuation {summary['instance_id']} of {summary['region']}: {summary['status']}", file=out)
    for decision in summary["approvals"]:
        print(f"  approval (one card): {decision['decision']} by {decision['approver']} at {decision['at']}", file=out)
    print(f"  in-flight cap: {summary['in_flight_cap']} VMs per vault and recovery region, shared", file=out)
    for row in summary["plans"]:
        report = summary["reports"].get(row["plan"]) or {}
        achieved = (report.get("rto") or {}).get("achieved_seconds")
        loss = (report.get("rpo") or {}).get("worst_window_seconds")
        print(
            f"  tier {row['tier']} {row['plan']:<10} {row['status']:<20} run {row.get('run_id')}: "
            f"{row.get('vms_failed_over') or 0} VMs, at most {row.get('peak_vms_in_flight') or 0} in flight "
            f"(share {row.get('in_flight_cap')})"
            + (f", recovery time {achieved / 60:.0f} min" if isinstance(achieved, int | float) else "")
            + (f", data loss up to {loss:.0f} s (its report's RPO table)" if isinstance(loss, int | float) else ""),
            file=out,
        )
    for error in summary["errors"]:
        print(f"  error: {error}", file=out)
