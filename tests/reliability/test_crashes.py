"""Crashes: the local worker killed at random points of a run, and the whole process killed mid-run."""

from __future__ import annotations

import random
import threading
import time
from typing import Any

from tests.conftest import finish, post_alert, run_status, wait_for
from tests.reliability.conftest import FULL, assert_converged, start_approved

KILL_POINTS = 30 if FULL else 10


def test_worker_killed_at_random_points(fault_stack: Any) -> None:
    """The worker stops and starts again at seeded random moments across the whole run (approval, grace
    period, batches, commit, DNS): the run resumes from its history each time and finishes; nothing twice."""
    stack = fault_stack(vms=60, sessions=20, time_scale=300.0, batch_size=30)
    rng = random.Random(20261123)
    instance_id = start_approved(stack)
    restarts: list[str] = []
    done = threading.Event()

    def killer() -> None:
        for _ in range(KILL_POINTS):
            if done.wait(rng.uniform(0.2, 0.8)):
                return
            stage = (run_status(stack, instance_id).get("custom_status") or {}).get("stage", "?")
            stack.engine.stop_worker()
            restarts.append(stage)
            time.sleep(rng.uniform(0.05, 0.3))
            stack.engine.start_worker()

    thread = threading.Thread(target=killer, daemon=True)
    thread.start()
    status = wait_for(
        lambda: (s := run_status(stack, instance_id))["runtime_status"] != "Running" and len(restarts) >= 5 and s,
        timeout=240,
    )
    done.set()
    thread.join(10)
    summary = status["output"]
    assert summary["status"] == "Completed", summary["errors"]
    assert_converged(stack, summary)
    assert len(restarts) >= 5, restarts
    print(f"\nworker restarts at stages: {restarts}")


def test_process_killed_mid_run_then_plan_run_again(fault_stack: Any) -> None:
    """The whole service process dies while batches run: the in-memory engine's history is gone. The
    same alert again starts a new run of the plan, which converges: plans already failed over are
    skipped, running jobs attached, sessions already logged off stay so; no plan gets a second failover."""
    stack = fault_stack(vms=60, sessions=10, time_scale=300.0, batch_size=30)
    first = start_approved(stack)
    wait_for(lambda: (run_status(stack, first).get("progress") or {}).get("batches_started", 0) >= 2, timeout=120)
    in_flight = {p["name"] for p in stack.estate.snapshot()["recovery_plans"] if p["failover_calls"]}
    assert in_flight, "the crash must come with failovers started"
    stack.restart_host()
    assert stack.http.get(f"{stack.api_url}/api/failovers/{first}", timeout=10).status_code == 404  # history gone
    second = start_approved(stack)
    status = finish(stack, second, timeout=180)
    summary = status["output"]
    assert summary["status"] == "Completed", summary["errors"]
    assert_converged(stack, summary)
    actions = {p["name"]: p["action"] for p in summary["recovery_plans"]}
    assert {actions[name] for name in in_flight} <= {"skipped", "attached"}, actions
    print(f"\nsecond run's actions: {actions}")


def test_alert_again_after_crash_starts_fresh_run(fault_stack: Any) -> None:
    """After a crash the incident's alert is accepted again (a new run), not deduplicated into a lost one."""
    stack = fault_stack(vms=10, sessions=2)
    answer = post_alert(stack)
    assert answer.status_code == 202
    stack.restart_host()
    again = post_alert(stack)
    assert again.status_code == 202 and again.json()["deduplicated"] is False
