"""Batches as ASR sees them, on the local engine against the simulator (issue 20): a hung job holds no
batch-mate, never more than batch_size VMs fail over at once, and each job is read about once.
Judged by the simulator's jobs and request counts, not by the run's summary."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from local.stack import LocalStack
from simulator import EstateConfig
from tests.conftest import approval_link, approve_as, finish, post_alert, wait_waiting


def run(stack: LocalStack, timeout: float = 120) -> dict[str, Any]:
    answer = post_alert(stack)
    assert answer.status_code == 202, answer.text
    instance_id = answer.json()["instance_id"]
    wait_waiting(stack, instance_id)
    assert approve_as(stack.plan.approval.approvers[0], approval_link(stack, instance_id)).status_code == 200
    status = finish(stack, instance_id, timeout=timeout)
    assert status["runtime_status"] == "Completed", status
    return dict(status["output"])


def failover_jobs(stack: LocalStack) -> list[dict[str, Any]]:
    snapshot = stack.estate.snapshot()
    vms = {p["name"]: p["vms"] for p in snapshot["recovery_plans"]}
    return [
        dict(job, vms=vms[job["plan"]])
        for job in snapshot["jobs"]
        if job["scenario"] in ("PlannedFailover", "UnplannedFailover")
    ]


def peak_in_flight(jobs: list[dict[str, Any]]) -> int:
    """The most VMs whose failover jobs ran at the same moment (from ASR's job start and end times)."""
    moments = []
    for job in jobs:
        moments.append((datetime.fromisoformat(job["started_at"]), 1, job["vms"]))
        moments.append((datetime.fromisoformat(job["ended_at"]), 0, -job["vms"]))  # an end before a start
    peak = current = 0
    for _, _, delta in sorted(moments):
        current += delta
        peak = max(peak, current)
    return peak


class TestHungJob:
    def test_a_hung_job_is_reported_alone_and_its_batch_mates_are_committed(self, make_stack: Any) -> None:
        stack = make_stack(
            vms=120,
            sessions=2,
            estate_config=EstateConfig(time_scale=600.0, hanging_plans=("rp-apps-01",)),
            asr={**make_stack_asr(), "job_timeout": "30m"},
            operator_wait="10m",
        )
        summary = run(stack)
        batch = next(b for b in summary["batches"] if "rp-apps-01" in b["recovery_plans"])
        mates = [n for n in batch["recovery_plans"] if n != "rp-apps-01"]
        assert mates, batch  # the estate puts another apps plan in the hung plan's batch
        plans = {p["name"]: p for p in summary["recovery_plans"]}
        assert plans["rp-apps-01"]["state"] == "TimedOut"
        assert "did not finish" in plans["rp-apps-01"]["errors"][0]
        asr = {p["name"]: p["state"] for p in stack.estate.snapshot()["recovery_plans"]}
        for name in mates:
            # ASR committed it; the run says the same, not "commit job did not finish"
            assert asr[name] == "Committed", asr
            assert plans[name]["state"] == "Succeeded" and plans[name]["commit"] == "started", plans[name]
        commits = {j["plan"]: j for j in stack.estate.snapshot()["jobs"] if j["scenario"] == "CommitFailover"}
        hung = next(j for j in failover_jobs(stack) if j["plan"] == "rp-apps-01")
        for name in mates:  # committed as soon as its own failover ended, while the hung job still ran
            assert hung["ended_at"] is None or commits[name]["started_at"] < hung["ended_at"]


class TestInFlightCap:
    def test_jobs_longer_than_the_spacing_never_put_more_than_batch_size_vms_in_flight(self, make_stack: Any) -> None:
        # jobs take 25 minutes against a 10-minute spacing: spacing alone would overlap three batches
        config = EstateConfig(time_scale=600.0, job_base_seconds=1500.0, job_seconds_per_vm=0.0)
        stack = make_stack(vms=200, sessions=2, batch_size=60, estate_config=config, asr=make_stack_asr())
        summary = run(stack, timeout=180)
        jobs = failover_jobs(stack)
        assert len(jobs) >= 4 and all(j["state"] == "Succeeded" for j in jobs), jobs
        assert peak_in_flight(jobs) <= 60
        assert summary["peak_vms_in_flight"] <= 60


class TestJobReads:
    def test_each_job_is_read_about_once_when_the_plan_estimates_it(self, make_stack: Any) -> None:
        stack = make_stack(vms=120, sessions=2, asr=make_stack_asr())
        run(stack)
        snapshot = stack.estate.snapshot()
        jobs = [j for j in snapshot["jobs"] if j["scenario"] in ("UnplannedFailover", "CommitFailover")]
        reads = snapshot["requests"]["asr.jobs.get"]
        # the demo plan's estimates (3m + 2s per VM, commit 30s) are the simulator's job durations: the first
        # read lands after the job ended; 3-4 reads a job before (15, 30, 60, 60 s polls)
        assert len(jobs) <= reads <= len(jobs) * 1.2, (reads, len(jobs))


def make_stack_asr() -> dict[str, Any]:
    """The demo plan's asr section, to override a key of it."""
    import yaml

    from local.stack import DEMO_PLAN

    return dict(yaml.safe_load(DEMO_PLAN.read_text())["asr"])
