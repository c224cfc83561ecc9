"""The dry-run preview: the timeline model the orchestration follows, on the demo plan."""

from __future__ import annotations

import itertools
import math
from typing import Any

from failover.batching import RecoveryPlanRef
from failover.plan import AvdHostPool, load_plan
from failover.preview import measured_durations, noticed_after, preview
from local.stack import DEMO_PLAN

PLAN = load_plan(DEMO_PLAN)
GROUPS = [
    ("identity", [RecoveryPlanRef("rp-identity", 4)]),
    ("data", [RecoveryPlanRef("rp-data-01", 18), RecoveryPlanRef("rp-data-02", 18)]),
    ("apps", [RecoveryPlanRef(f"rp-apps-0{i}", 40) for i in range(1, 6)]),
]


def test_noticed_after_follows_the_backoff() -> None:
    # polls at 15, 45 (15+30), 105 (+60), 165, 225 s ...
    assert [noticed_after(PLAN, s) for s in (1, 15, 16, 45, 46, 200)] == [15, 15, 45, 45, 105, 225]
    # first read at the plan's estimate (188 s), then 15, 30, 60 s later
    assert [noticed_after(PLAN, s, 188) for s in (100, 188, 189, 204, 240)] == [188, 188, 203, 233, 293]


def test_in_flight_cap_delays_a_batch_until_there_is_room() -> None:
    # jobs of 25 minutes against a 10-minute spacing and 60-VM batches
    slow = PLAN.model_copy(
        update={"batch_size": 60, "asr": PLAN.asr.model_copy(update={"expected_job_duration": 1500.0})}
    )
    result = preview(slow, [("apps", [RecoveryPlanRef(f"rp-apps-0{i}", 40) for i in range(1, 5)])])
    batches = result["batches"]
    assert result["in_flight_cap"] == 60 and len(batches) == 4
    for previous, current in itertools.pairwise(batches):
        # 40 + 40 > 60: each batch starts when the previous one is expected to end, not 10 minutes after it
        assert current["start_offset_s"] == previous["expected_end_s"]
        assert current["start_offset_s"] - previous["start_offset_s"] > slow.batch_interval


def test_timeline() -> None:
    result = preview(PLAN, GROUPS)
    batches = result["batches"]
    assert [b["group"] for b in batches] == ["identity", "data", "apps", "apps", "apps"]
    assert all(b["vms"] <= PLAN.batch_size for b in batches)
    starts = [b["start_offset_s"] for b in batches]
    assert starts[0] == PLAN.avd.grace_period  # users are signed out first
    assert all(b - a >= PLAN.batch_interval for a, b in itertools.pairwise(starts))
    for previous, current in itertools.pairwise(batches):
        if previous["group"] != current["group"]:
            assert current["start_offset_s"] >= previous["expected_end_s"]  # groups never overlap
    # a job of 180 s + 2 s/VM, first read when the plan expects it to have ended, then the commit (30 s, read then)
    identity = batches[0]
    assert identity["expected_end_s"] - identity["start_offset_s"] == 188 + 30
    steps = {s["name"]: s for s in result["steps"]}
    assert steps["dependency: sql"]["start_s"] == batches[1]["expected_end_s"]  # before the apps group
    assert batches[2]["start_offset_s"] == steps["dependency: fslogix"]["end_s"]
    assert result["eta_seconds"] == steps["standby"]["end_s"]
    assert result["within_rto"] is (result["eta_seconds"] <= PLAN.rto_target)
    assert [d["record"] for d in result["dns"]] == [
        "app.contoso.com CNAME",
        "portal.contoso.com A",
        "tm-contoso-app/weu",
    ]


def test_measured_durations_replace_estimates() -> None:
    summary = {
        "time_scale": 10,
        "recovery_plans": [
            {"name": "rp-identity", "state": "Succeeded", "job_started_at": "2026-01-01T00:00:00Z",
             "job_ended_at": "2026-01-01T00:01:00Z"},
            {"name": "rp-data-01", "state": "Failed", "job_started_at": "2026-01-01T00:00:00Z",
             "job_ended_at": "2026-01-01T00:00:10Z"},
        ],
    }  # fmt: skip
    measured = measured_durations(summary)
    assert measured == {"rp-identity": 600.0}  # scaled back to plan time; failed jobs are not measurements
    result = preview(PLAN, GROUPS, measured)
    first = result["batches"][0]["recovery_plans"][0]
    assert first == {"name": "rp-identity", "vms": 4, "job_s": 600.0, "estimate": "measured"}
    assert result["batches"][1]["recovery_plans"][0]["estimate"] == "plan"


def test_drill_touches_no_production_step() -> None:
    result = preview(PLAN, GROUPS, mode="test")
    assert result["mode"] == "test" and result["dns"] == [] and result["steps"] == []
    assert result["batches"][0]["start_offset_s"] == 0.0  # no user sign-out in a drill
    committed = preview(PLAN, GROUPS)["batches"][0]
    drill = result["batches"][0]
    assert drill["expected_end_s"] - drill["start_offset_s"] < committed["expected_end_s"] - committed["start_offset_s"]


def test_recovery_points_against_the_rpo_target() -> None:
    """Each protected item's recovery point age against the plan's rpo_target, oldest first; none for a drill."""
    ages = [("vm-a", 60.0), ("vm-b", PLAN.rpo_target + 1), ("vm-c", None)]
    table = preview(PLAN, GROUPS, recovery_points=ages)["recovery_points"]
    assert [(i["vm"], i["within"]) for i in table["items"]] == [("vm-b", False), ("vm-a", True), ("vm-c", None)]
    assert table["over"] == 1 and table["max_age_seconds"] == PLAN.rpo_target + 1
    assert table["target_seconds"] == PLAN.rpo_target
    assert preview(PLAN, GROUPS)["recovery_points"] is None


def provisioned(plan: Any, *expected: float) -> Any:
    """The plan with a `recovery: provision` pool per `expected` duration (count 3)."""
    subnet = "/subscriptions/s/resourceGroups/rg-avd-neu/providers/Microsoft.Network/virtualNetworks/v/subnets/h"
    pools = [
        AvdHostPool(
            resource_group="rg-avd-weu",
            name=f"hp-{i}",
            recovery="provision",
            provision={
                "count": 3,
                "name_prefix": f"dr{i}",
                "resource_group": "rg-avd-neu",
                "subnet_id": subnet,
                "expected_duration": seconds,
            },
        )
        for i, seconds in enumerate(expected)
    ]
    return plan.model_copy(update={"avd": plan.avd.model_copy(update={"host_pools": pools})})


def test_provisioning_is_in_the_schedule_after_standby() -> None:
    """`recovery: provision`: the run's first look creates the VMs, then a look every 30 s until
    provision.expected_duration has passed; with the service's step per pool and look."""
    from failover.preview import provision_estimate

    before = preview(PLAN, GROUPS)
    plan = provisioned(PLAN, 300.0)
    after = preview(plan, GROUPS)
    assert provision_estimate(plan) == 300.0  # 10 looks of 30 s
    assert after["eta_seconds"] == before["eta_seconds"] + 300.0
    standby, provision = after["steps"][-2:]
    assert standby["name"] == "standby" and provision == {
        "name": "provision", "start_s": standby["end_s"], "end_s": standby["end_s"] + 300.0
    }  # fmt: skip
    # two pools: each look calls the activity once per pool (12 s each at x120), the longest pool decides
    two = provisioned(PLAN, 300.0, 200.0)
    assert provision_estimate(two, step_seconds=12.0) == 24.0 + math.ceil(300 / 54) * 54
    assert preview(two, GROUPS, mode="test")["steps"][-1]["name"] == "provision"  # a drill builds them too
    assert preview(two, GROUPS, mode="failback")["eta_seconds"] < preview(two, GROUPS)["eta_seconds"]
    assert provision_estimate(PLAN) == 0.0
