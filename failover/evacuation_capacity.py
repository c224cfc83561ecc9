"""An evacuation's recovery capacity: every plan's recovery plans checked together against each recovery region's
quota, before its one approval card (pure, unit tested; the reads are `activities.capacity.capacity_check_region`'s,
the arithmetic `failover.capacity`'s).

Five plans that each fit can together exceed a region's quota, so the evacuation sums what its plans will start per
(subscription, recovery region), their VMs and the session hosts of their `recovery: provision` pools, as a plan's own
check counts them; the capacity reservations their VMs name are reserved for all the region's VMs at once (a group's
free slots are shared by every plan naming it, not counted once per plan): `regions` names the reads (one per
subscription and region, every plan's recovery plans and session hosts in it), `verdict` sets the answers against the
plans' policies - a region short where any of its plans has `capacity: block` refuses the whole evacuation before
anything is changed; under `warn` the shortfall is a warning on the card and in the report. `for_plan` is what a plan's
child run records instead of checking again (the evacuation's verdict handed down: one read per region, not one per
plan); a region the evacuation could not read hands nothing down, so its plans' runs check on their own. `compact` is
the bounded form the evacuation's live status carries.
"""

from __future__ import annotations

from typing import Any

from failover.capacity import describe, describe_reservations
from failover.contracts.capacity import session_host_needs
from failover.plan import Plan

STATUS_REGIONS = 3  # regions in the live status (the short ones first); the summary and the dry run have all
STATUS_ROW_KEYS = ("quota", "needed", "available", "limit", "shortfall")
CHECKED = ("vms", "rows", "unknown_sizes", "reserved", "reservations", "session_hosts")  # of a region's answer


def region_key(plan: Plan) -> tuple[str, str]:
    """What one quota is counted against: the subscription the plan's VMs come up in (its vault's, as
    `capacity_check` reads it) and its recovery region."""
    return plan.vault_ref()["subscription_id"], plan.recovery_region


def regions(plans: list[Plan], recovery_plans: dict[str, list[str] | None]) -> list[dict[str, Any]]:
    """One read per (subscription, recovery region): `{subscription_id, region, plans: [{plan, subscription_id,
    resource_group, vault, recovery_plans, session_hosts}]}` (`RegionCapacityInput`'s fields), in the plans' order. A
    plan whose recovery plans were not read (None) or has none is left out (its row says why)."""
    found: dict[tuple[str, str], dict[str, Any]] = {}
    for plan in plans:
        names = recovery_plans.get(plan.name)
        if not names:
            continue
        subscription, region = region_key(plan)
        entry = found.setdefault(
            (subscription.lower(), region), {"subscription_id": subscription, "region": region, "plans": []}
        )
        hosts = [need.plain() for need in session_host_needs(plan)]  # `recovery: provision`, as a run counts them
        entry["plans"].append(
            {"plan": plan.name, **plan.vault_ref(), "recovery_plans": list(names), "session_hosts": hosts}
        )
    return list(found.values())


def verdict(
    plans: list[Plan], asked: list[dict[str, Any]], answers: list[dict[str, Any] | None], errors: list[str | None]
) -> dict[str, Any]:
    """The evacuation's check from each region's answer (`RegionCapacityResult` as JSON, or None with its error):
    `{short, refused, regions: [{subscription_id, region, plans, vms, rows, unknown_sizes, reserved, reservations,
    session_hosts, policy, short} or
    {subscription_id, region, plans, policy, error}], errors, warnings}`. A region's policy is `block` when any of
    its plans blocks; `refused` when such a region is short; `errors` the refusal's reasons, `warnings` the
    shortfalls under `warn`, the capacity reservations smaller than the VMs naming them and the regions not
    read."""
    by_name = {p.name: p for p in plans}
    many = len({(a["subscription_id"].lower()) for a in asked}) > 1
    out: list[dict[str, Any]] = []
    refusals: list[str] = []
    warnings: list[str] = []
    for request, answer, error in zip(asked, answers, errors, strict=True):
        names = [p["plan"] for p in request["plans"]]
        blocking = [n for n in names if by_name[n].capacity == "block"]
        where = request["region"] + (f" (subscription {request['subscription_id']})" if many else "")
        entry: dict[str, Any] = {
            "subscription_id": request["subscription_id"],
            "region": request["region"],
            "plans": names,
            "policy": "block" if blocking else "warn",
        }
        if answer is None:
            out.append({**entry, "error": (error or "not read")[:300]})
            warnings.append(
                f"recovery capacity in {where} could not be checked for {', '.join(names)}: {(error or '')[:200]} "
                "(each plan's run checks its own)"
            )
            continue
        short = describe(answer)
        out.append({**entry, **{k: answer.get(k) for k in CHECKED if k in answer}, "short": bool(short)})
        together = f"the evacuation's {len(names)} plans together ({', '.join(names)})"
        beyond = describe_reservations(answer)
        if beyond:  # those VMs need quota: the rows count them, and the policy judges those
            warnings.append(f"recovery capacity in {where} for {together}: {beyond}")
        if short and blocking:
            refusals.append(
                f"recovery capacity in {where} is short for {together}: {short}. Capacity policy block "
                f"({', '.join(blocking)}): the evacuation was refused before anything was changed (nobody signed "
                "out, no failover started)"
            )
        elif short:
            warnings.append(
                f"recovery capacity in {where} is short for {together}: {short} (capacity policy warn: the plans "
                "fail over when approved; VMs that do not fit will fail, reported per VM)"
            )
    return {
        "short": any(r.get("short") for r in out),
        "refused": bool(refusals),
        "regions": out,
        "errors": refusals,
        "warnings": warnings,
    }


def for_plan(check: dict[str, Any] | None, plan: Plan, evacuation: str) -> dict[str, Any] | None:
    """What the plan's child run records as its capacity check: its region's summed check (the needs of every plan
    of the evacuation coming up there) under the plan's own policy; None when the evacuation did not read that
    region (the run then checks on its own)."""
    subscription, region = region_key(plan)
    for entry in (check or {}).get("regions") or []:
        if entry["subscription_id"].lower() == subscription.lower() and entry["region"] == region:
            if "error" in entry or plan.name not in entry["plans"]:
                return None
            fields = {k: entry[k] for k in ("region", *CHECKED, "short", "plans") if k in entry}
            return {**fields, "policy": plan.capacity, "checked_by": evacuation}
    return None


def compact(check: dict[str, Any] | None) -> dict[str, Any] | None:
    """The check as the live status carries it (Durable Functions' 16 KB): the short regions first, at most
    `STATUS_REGIONS`, each row its quota, needed, available, limit and shortfall; `regions_total` counts them all."""
    if not check:
        return None
    ranked = sorted(check["regions"], key=lambda r: (not r.get("short"), "error" not in r))[:STATUS_REGIONS]
    shown = []
    for entry in ranked:
        row = {
            k: entry[k]
            for k in ("region", "policy", "short", "vms", "reserved", "session_hosts", "error")
            if k in entry
        }
        if "rows" in entry:
            row["rows"] = [{k: r[k] for k in STATUS_ROW_KEYS} for r in entry["rows"]]
        shown.append(row | {"plans_total": len(entry["plans"])})
    return {
        "short": check["short"],
        "refused": check["refused"],
        "regions": shown,
        "regions_total": len(check["regions"]),
    }
