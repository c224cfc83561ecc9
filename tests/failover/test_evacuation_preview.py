"""The evacuation's predicted recovery time (failover.evacuation_preview): the evacuation played as its orchestrator
runs it - tiers, `after`, the shared cap split among the plans started together - each plan timed by its own preview
with its share."""

from __future__ import annotations

from typing import Any

import pytest

from failover.batching import RecoveryPlanRef
from failover.evacuation_preview import STEP_SECONDS, evacuation_preview
from failover.plan import Plan, load_plan
from failover.preview import preview
from local.stack import DEMO_PLAN

DEMO = load_plan(DEMO_PLAN)


def plan(name: str, tier: int = 1, after: list[str] | None = None, **extra: Any) -> Plan:
    """The demo plan reduced to its batches: no grace period, dependencies, standby or commit."""
    asr = DEMO.asr.model_copy(update={"commit": False})
    return DEMO.model_copy(
        update={
            "name": name,
            "tier": tier,
            "after": after or [],
            "avd": DEMO.avd.model_copy(update={"host_pools": []}),
            "dependencies": [],
            "standby": None,
            "asr": asr,
            "groups": DEMO.groups[:1],
            **extra,
        }
    )


def groups(*sizes: int) -> list[tuple[str, list[RecoveryPlanRef]]]:
    return [("identity", [RecoveryPlanRef(f"rp-{i}", vms) for i, vms in enumerate(sizes)])]


def job(vms: int) -> float:
    return 180.0 + 2.0 * vms  # the demo plan's estimate: 3 min + 2 s per VM


def test_tiers_and_after_follow_each_other() -> None:
    plans = [plan("ad", tier=0), plan("db"), plan("web", after=["db"]), plan("mail")]
    found = evacuation_preview(plans, {p.name: groups(10) for p in plans}, 100, step_seconds=0.0)
    rows = {r["plan"]: r for r in found["plans"]}
    assert found["order"] == ["ad", "db", "mail", "web"] == [r["plan"] for r in found["plans"]]
    assert rows["ad"]["start_s"] == 0 and rows["ad"]["end_s"] == job(10)
    assert rows["db"]["start_s"] == rows["mail"]["start_s"] == job(10)  # tier 1 once tier 0 has ended
    assert rows["web"]["start_s"] == rows["db"]["end_s"] == 2 * job(10)  # after db, not with it
    assert found["eta_seconds"] == rows["web"]["end_s"] == 3 * job(10)
    # the old estimate (the slowest plan of each tier, added up) said 2 jobs: web waits for db within its tier


def test_the_shared_cap_is_split_among_the_plans_started_together() -> None:
    # two plans of 4 recovery plans of 25 VMs in one batch each: alone, a plan's batch of 100 takes one job
    plans = [plan("a"), plan("b")]
    four = groups(25, 25, 25, 25)
    alone = evacuation_preview(plans[:1], {"a": four}, 100, step_seconds=0.0)
    assert alone["plans"][0]["in_flight_cap"] == 100 and alone["eta_seconds"] == job(25)
    # started together under a cap of 100 each takes its batch_size, 50, as the orchestrator gives it (cap_shares) ...
    small = [p.model_copy(update={"batch_size": 50, "batch_interval": 60.0}) for p in plans]
    shared = evacuation_preview(small, {"a": four, "b": four}, 100, step_seconds=0.0)
    assert [r["in_flight_cap"] for r in shared["plans"]] == [50, 50]
    # ... so each runs its two batches of 50 one after the other
    assert shared["eta_seconds"] == 2 * job(25)
    assert shared["eta_seconds"] == preview(small[0], four, mode="unplanned", in_flight_cap=50)["eta_seconds"]


def test_a_plan_after_another_of_its_tier_gets_the_cap_left() -> None:
    plans = [plan("a"), plan("b", after=["a"]), plan("c")]
    sizes = {"a": groups(10), "b": groups(10), "c": groups(10, 10, 10)}
    found = evacuation_preview(plans, sizes, 60, step_seconds=0.0)
    rows = {r["plan"]: r for r in found["plans"]}
    # a and c started together, each taking what it can use (its VMs) of the cap, as the orchestrator gives it
    assert (rows["a"]["in_flight_cap"], rows["c"]["in_flight_cap"]) == (10, 30)
    assert rows["b"]["start_s"] == rows["a"]["end_s"]
    assert rows["b"]["in_flight_cap"] == 10  # c still running with 30 of the 60: room enough for b's 10


def test_each_job_and_plan_start_costs_the_service_s_step_at_the_run_s_compression() -> None:
    plans = [plan("ad", tier=0, asr=DEMO.asr), plan("web")]  # ad commits: two jobs, web one; two plan starts
    sizes = {"ad": groups(4), "web": groups(40)}
    exact = evacuation_preview(plans, sizes, 100, step_seconds=0.0)
    compressed = evacuation_preview(plans, sizes, 100, time_scale=120)
    assert compressed["step_seconds"] == STEP_SECONDS * 120
    assert compressed["eta_seconds"] == exact["eta_seconds"] + 5 * STEP_SECONDS * 120
    at_scale_1 = evacuation_preview(plans, sizes, 100)["eta_seconds"]  # Azure's: a step is 0.1 s
    assert at_scale_1 == pytest.approx(exact["eta_seconds"] + 5 * STEP_SECONDS, abs=0.1)


def test_plans_started_together_start_one_step_after_another() -> None:
    plans = [plan(f"app{i}") for i in range(3)]
    found = evacuation_preview(plans, {p.name: groups(10) for p in plans}, 300, step_seconds=10.0)
    assert [r["start_s"] for r in found["plans"]] == [10.0, 20.0, 30.0]
    assert found["eta_seconds"] == 30.0 + job(10) + 10.0  # the last one's start, its job, the step after it


def test_a_plan_not_read_is_listed_with_its_error_and_takes_no_time() -> None:
    plans = [plan("ad", tier=0), plan("web")]
    found = evacuation_preview(plans, {"ad": None, "web": groups(4)}, 100, {"ad": "vault not found"}, 1.0, 0.0)
    rows = {r["plan"]: r for r in found["plans"]}
    assert rows["ad"]["error"] == "vault not found" and rows["ad"]["end_s"] == 0
    assert rows["web"]["start_s"] == 0 and found["eta_seconds"] == job(4)


def test_a_recovery_plan_larger_than_the_cap_runs_alone() -> None:
    """A cap of 1 VM and recovery plans of 4: each runs alone, one after another (not refused: found by the fuzzer as
    a 500 of the dry run with `in_flight_cap` 1)."""
    from failover.batching import batch_limit

    sizes = groups(4, 4)
    assert batch_limit(sizes, 100, 1) == 4 and batch_limit(sizes, 100, 50) == 50 and batch_limit(sizes, 3, 1) == 3
    found = evacuation_preview([plan("a")], {"a": sizes}, 1, step_seconds=0.0)
    assert found["plans"][0]["batches"] == 2 and found["eta_seconds"] > 2 * job(4)
