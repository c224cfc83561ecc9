"""`failover plan check|preview`: validate plan files; preview a plan's batches and expected recovery time."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from failover.logs import configure_logging
from failover.plan import PlanError, load_plan
from failover.settings import Settings, configure
from local.stack import LocalStack


def run_plan_preview(args: argparse.Namespace) -> int:
    """Batches, offsets, DNS changes and the expected recovery time, with VM counts read from ASR: the
    simulator's demo estate, or Azure when FAILOVER_ARM_ENDPOINT is set."""
    from activities.planning import read_groups, read_recovery_points
    from failover.preview import preview

    plan = load_plan(args.plan)
    configure_logging("WARNING", json_output=False)
    if os.environ.get("FAILOVER_ARM_ENDPOINT"):
        configure(Settings.from_env())
        groups, capacity = read_groups(plan), _capacity(plan)
        points = read_recovery_points(plan) if args.mode != "test" else None
    else:
        with LocalStack(plan_path=Path(args.plan), vms=args.vms, sessions=1) as _stack:
            groups, capacity = read_groups(plan), _capacity(plan)
            points = read_recovery_points(plan) if args.mode != "test" else None
    result = preview(plan, groups, mode=args.mode, recovery_points=points, capacity=capacity)
    if args.json:
        print(json.dumps(result))
        return 0
    print(f"Plan {plan.name} ({result['mode']}): {result['vms']} VMs in {len(result['batches'])} batches")
    for batch in result["batches"]:
        names = ", ".join(f"{j['name']} ({j['vms']})" for j in batch["recovery_plans"])
        print(
            f"  batch {batch['index']} [{batch['group']}] {batch['vms']:>3} VMs "
            f"start +{batch['start_offset_s'] / 60:.1f} min, done +{batch['expected_end_s'] / 60:.1f} min: {names}"
        )
    for step in result["steps"]:
        print(f"  {step['name']}: +{step['start_s'] / 60:.1f} → +{step['end_s'] / 60:.1f} min")
    for change in result["dns"]:
        print(f"  dns: {change['record']} → {_target(change['to'])}")
    print(f"  at most {result['in_flight_cap']} VMs failing over at once")
    table = result.get("recovery_points")
    if table and table["items"]:
        worst = table["max_age_seconds"]
        print(
            f"  recovery points: {len(table['items'])} protected items, oldest "
            f"{'unknown' if worst is None else f'{worst:.0f} s'}, {table['over']} over the rpo_target "
            f"{table['target_seconds']:.0f} s"
        )
        for item in [i for i in table["items"] if i["within"] is False][:10]:
            print(f"    {item['vm']}: {item['age_seconds']:.0f} s old (OVER)")
    if capacity is not None:
        print(f"  recovery capacity in {plan.recovery_region}: {_capacity_line(result['capacity'])}")
    verdict = "within" if result["within_rto"] else "OVER"
    print(
        f"  expected recovery time {result['eta_seconds'] / 60:.1f} min, {verdict} the RTO target "
        f"{result['rto_target_seconds'] / 60:.0f} min (approval time not included)"
    )
    return 0


def _capacity(plan: Any) -> dict[str, Any] | None:
    """The recovery region's capacity for the plan's recovery plans, or why it could not be read."""
    from activities.planning import read_capacity, read_groups

    try:
        return read_capacity(plan, [ref.name for _, refs in read_groups(plan) for ref in refs])
    except Exception as err:  # the preview still prints; the capacity line says why it is missing
        return {"error": f"{type(err).__name__}: {str(err)[:200]}"}


def _capacity_line(capacity: dict[str, Any]) -> str:
    from failover.capacity import describe

    if capacity.get("error"):
        return f"not checked ({capacity['error']})"
    short = describe(capacity)
    policy = capacity.get("policy")
    return f"SHORT (policy {policy}): {short}" if short else f"fits {capacity['vms']} VMs (policy {policy})"


def _target(to: Any) -> str:
    """A DNS record's new value, or a Traffic Manager endpoint's new status and priority."""
    if isinstance(to, dict):
        priority = f", priority {to['priority']}" if to.get("priority") is not None else ""
        return f"{to.get('status') or 'unchanged'}{priority}"
    return str(to)


def run_plan_check(args: argparse.Namespace) -> int:
    failed = False
    for path in args.files:
        try:
            plan = load_plan(path)
        except PlanError as err:
            failed = True
            for line in err.errors:
                print(line, file=sys.stderr)
            continue
        print(f"{path}: ok (plan '{plan.name}', {len(plan.groups)} groups)")
    return 1 if failed else 0
