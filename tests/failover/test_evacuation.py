"""The pure parts of an evacuation (failover.evacuation): which plans a region's outage hits, their order (tier,
then `after`), what may start now, and the shares of the in-flight cap."""

from __future__ import annotations

import json
from typing import Any

import pytest

from failover.evacuation import (
    cap_share,
    cap_shares,
    check_order,
    evacuation_status,
    failover_order,
    plans_in,
    startable,
)
from failover.plan import Plan, PlanError, load_plan
from local.stack import DEMO_PLAN

DEMO = load_plan(DEMO_PLAN)


def plan(name: str, tier: int = 1, after: list[str] | None = None, region: str = "westeurope", **extra: Any) -> Plan:
    return DEMO.model_copy(update={"name": name, "tier": tier, "after": after or [], "primary_region": region, **extra})


def test_plans_in_a_region_by_tier() -> None:
    plans = [plan("apps"), plan("ad", tier=0), plan("us", region="eastus")]
    assert [p.name for p in plans_in("West Europe", plans)] == ["ad", "apps"]


def test_order_tier_then_after() -> None:
    plans = [plan("web", after=["db"]), plan("db"), plan("ad", tier=0)]
    assert failover_order(plans) == ["ad", "db", "web"]
    check_order(plans)


@pytest.mark.parametrize(
    ("plans", "message"),
    [
        ([plan("a", after=["ghost"])], "a: after: 'ghost' is not a plan of this evacuation"),
        ([plan("a", after=["a"])], "a: after: names the plan itself"),
        ([plan("a", tier=0, after=["b"]), plan("b", tier=1)], "a: after: 'b' is in tier 1, after this plan's tier 0"),
        ([plan("a", after=["b"]), plan("b", after=["a"])], "wait for each other (a cycle)"),
    ],
)
def test_bad_orders_are_named(plans: list[Plan], message: str) -> None:
    with pytest.raises(PlanError, match=message.replace("(", r"\(").replace(")", r"\)")):
        check_order(plans)


def test_startable_waits_for_the_tier_and_blocks_dependents() -> None:
    plans = [plan("ad", tier=0), plan("db"), plan("web", after=["db"]), plan("mail")]
    assert startable(plans, set(), set(), set()) == (["ad"], [])
    assert startable(plans, {"ad"}, set(), set()) == ([], [])  # tier 0 still running
    assert startable(plans, {"ad"}, {"ad"}, {"ad"}) == (["db", "mail"], [])
    started = {"ad", "db", "mail"}
    assert startable(plans, started, {"ad"}, {"ad", "db"}) == ([], ["web"])  # db did not complete
    assert startable(plans, started, {"ad", "db"}, {"ad", "db"}) == (["web"], [])


def test_cap_shares() -> None:
    assert cap_share(100, 3) == 33 and cap_share(100, 0) == 100 and cap_share(2, 5) == 1


def _in_vault(name: str, vault: str, recovery_region: str = "northeurope") -> Plan:
    return plan(name, asr=DEMO.asr.model_copy(update={"vault": vault}), recovery_region=recovery_region)


def test_the_cap_holds_per_vault_and_per_recovery_region() -> None:
    a, b, c = _in_vault("a", "rsv-1"), _in_vault("b", "rsv-1"), _in_vault("c", "rsv-1")
    # in failover order each plan takes what it can use of the room left (its VMs, at most its batch_size)
    assert cap_shares(100, [a, b, c], {}, vms={"a": 30, "b": 30, "c": 30}) == {"a": 30, "b": 30, "c": 30}
    assert cap_shares(100, [a, b, c], {}, vms={"a": 60, "b": 60, "c": 60}) == {"a": 60, "b": 40}  # c waits
    assert cap_shares(100, [a, b, c], {}) == {"a": 100}  # sizes unknown: each could use its batch_size
    # a plan starting while another of its vault runs gets what is left, not a fresh share
    assert cap_shares(100, [b], {"a": (a, 100)}) == {}  # no room: it waits
    assert cap_shares(100, [b, c], {"a": (a, 60)}, vms={"b": 30, "c": 30}) == {"b": 30, "c": 10}
    # another vault in another recovery region has a cap of its own
    other = _in_vault("d", "rsv-2", recovery_region="swedencentral")
    assert cap_shares(100, [other], {"a": (a, 100)}) == {"d": 100}
    # another vault failing over into the same recovery region shares the region's cap
    same_region = _in_vault("e", "rsv-3")
    assert cap_shares(100, [same_region], {"a": (a, 70)}) == {"e": 30}
    assert cap_shares(100, [same_region, other], {"a": (a, 70)}) == {"e": 30, "d": 100}


def test_a_share_is_never_below_the_plans_largest_recovery_plan() -> None:
    """ASR fails a recovery plan over as one job: a share smaller than a plan's largest recovery plan would be
    exceeded, so the plan waits for room instead (90 plans of 100-VM recovery plans: one at a time, not 90 x 100)."""
    plans = [_in_vault(f"p{i:02d}", "rsv-1") for i in range(90)]
    units = {p.name: 100 for p in plans}
    assert cap_shares(100, plans, {}, units) == {"p00": 100}
    assert cap_shares(100, plans[1:], {"p00": (plans[0], 100)}, units) == {}
    small = {p.name: 30 for p in plans}
    sizes = {p.name: 45 for p in plans}  # recovery plans of 30 VMs, 45 VMs a plan
    assert cap_shares(100, plans[:5], {}, small, sizes) == {"p00": 45, "p01": 45}  # then no room for 30 more
    # a recovery plan larger than the cap runs alone, with the whole cap
    assert cap_shares(100, plans[:2], {}, {"p00": 150, "p01": 150}) == {"p00": 100}


def _utf16(value: Any) -> int:
    """A custom status's size as Durable Functions counts it: UTF-16 bytes of its compact JSON."""
    return len(json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-16-le"))


def test_status_of_a_hundred_plan_evacuation_fits_16_kb() -> None:
    """An evacuation of 100 plans (63-character names, every row filled, 500 errors, 100 exclusions) publishes a
    custom status within Durable Functions' 16 KB of UTF-16 JSON, with the rows that matter and counts of the rest."""
    names = [f"{i:03}-" + "p" * 59 for i in range(100)]
    statuses = ["Completed"] * 60 + ["Running"] * 10 + ["Failed"] * 5 + ["Pending"] * 25
    rows = [
        {"plan": n, "tier": i // 10, "after": [names[i - 1]] if i else [], "status": statuses[i],
         "run_id": f"evacuation-westeurope-20261206T174424Z-abcd:{n}", "vms": 100, "in_flight_cap": 10,
         "eta_seconds": 4321.5, "recovery_plans": 1, "batches": 1, "vms_failed_over": 100, "rto_seconds": 1234.5,
         "peak_vms_in_flight": 10, "error": "x" * 300}
        for i, n in enumerate(names)
    ]  # fmt: skip
    state = {
        "kind": "evacuation", "region": "westeurope", "stage": "failing over", "requested_by": "oncall@contoso.com",
        "reason": "West Europe is down", "started_at": "2026-12-06T17:44:24Z", "in_flight_cap": 100,
        "order": names, "plans": rows, "eta_seconds": 43215.0,
        "excluded": [{"plan": n, "by": "oncall@contoso.com", "when": "approved"} for n in names],
        "approval": {"required": 2, "approvers": ["a@contoso.com", "b@contoso.com"], "waiting": False,
                     "decisions": [], "used": {}, "nonce": "n" * 36,
                     "excludable": [{"recovery_plan": n, "why": "a plan of the evacuation (tier 1)",
                                     "approving": "fails it over"} for n in names]},
        "cancel": None, "errors": [f"{n}: recovery plan failed " + "e" * 200 for n in names for _ in range(5)],
    }  # fmt: skip
    assert _utf16(state) > 16 * 1024  # as the orchestration published it before
    status = evacuation_status(state)
    assert _utf16(status) <= 16 * 1024
    assert status["plans_total"] == 100 and status["plan_counts"] == {
        "Completed": 60, "Running": 10, "Failed": 5, "Pending": 25,
    }  # fmt: skip
    shown = [r["status"] for r in status["plans"]]
    assert shown[:10] == ["Running"] * 10 and len(shown) >= 10  # the running plans first, in failover order
    assert [r["plan"] for r in status["plans"]] == sorted(r["plan"] for r in status["plans"])
    assert status["errors_total"] == 500 and len(status["errors"]) == 5 and status["excluded_total"] == 100
    assert "excludable" not in status["approval"] and status["approval"]["required"] == 2


def test_status_of_a_small_evacuation_lists_every_plan() -> None:
    """Two plans: both rows, in failover order, without null fields."""
    rows = [
        {"plan": "apps", "tier": 1, "after": ["identity"], "status": "Pending", "run_id": None, "vms": 50},
        {"plan": "identity", "tier": 0, "after": [], "status": "Running", "run_id": "e:identity", "vms": 10},
    ]
    state = {"plans": rows, "order": ["identity", "apps"], "approval": {"excludable": []}, "errors": []}
    status = evacuation_status(state)
    assert status["plans"] == [
        {"plan": "identity", "tier": 0, "after": [], "status": "Running", "run_id": "e:identity", "vms": 10},
        {"plan": "apps", "tier": 1, "after": ["identity"], "status": "Pending", "vms": 50},
    ]
