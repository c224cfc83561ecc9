"""A whole failover on the real local engine against the simulator: alert in, approval, batches, DNS, events.

The estate is small and time compressed (x600: 10-minute batch spacing becomes 1 s).
"""

from __future__ import annotations

import io
import itertools
import json
import time
from contextlib import redirect_stdout
from datetime import timedelta
from typing import Any

import requests

from failover.run import parse_iso
from local.cli import main
from local.stack import LocalStack
from tests.conftest import (
    approval_link,
    approve_as,
    finish,
    post_alert,
    run_status,
    teams_messages,
    wait_for,
    wait_waiting,
)

SCALE = 600.0


def run_to_end(stack: LocalStack) -> dict[str, Any]:
    answer = post_alert(stack)
    assert answer.status_code == 202, answer.text
    instance_id = answer.json()["instance_id"]
    wait_waiting(stack, instance_id)
    decided = approve_as(stack.plan.approval.approvers[0], approval_link(stack, instance_id))
    assert decided.status_code == 200, decided.text
    status = finish(stack, instance_id)
    assert status["runtime_status"] == "Completed", status
    return status["output"]


class TestFailoverRun:
    def test_walking_skeleton(self, make_stack: Any) -> None:
        """Completed; batches ≤ batch_size, ≥ interval apart, groups in order; sessions gone first; DNS; events."""
        stack = make_stack(vms=60, sessions=30, batch_size=30)
        summary = run_to_end(stack)
        state = stack.estate.snapshot()

        assert summary["status"] == "Completed", summary["errors"]
        assert summary["approvals"][0]["approver"] == stack.plan.approval.approvers[0]
        assert summary["approvals"][0]["decision"] == "approve"

        batches = summary["batches"]
        assert len(batches) == 4 and all(b["vms"] <= 30 and b["status"] == "Succeeded" for b in batches)
        assert [b["group"] for b in batches] == ["identity", "data", "apps", "apps"]
        starts = [parse_iso(b["started_at"]) for b in batches]
        interval = timedelta(seconds=stack.plan.batch_interval / SCALE)
        assert all(later - earlier >= interval for earlier, later in itertools.pairwise(starts))
        for previous, current in itertools.pairwise(batches):
            if previous["group"] != current["group"]:  # a group finishes before the next starts
                assert parse_iso(current["started_at"]) >= parse_iso(previous["finished_at"])
        assert summary["vms_failed_over"] == 60

        # Every session was logged off, and before the first batch started.
        assert summary["sessions"] == {"found": 30, "logged_off": 30}
        assert state["sessions_remaining"] == 0
        assert max(parse_iso(s["at"]) for s in state["logged_off"]) < starts[0]
        hosts = state["session_hosts"]
        assert all(not h["allow_new_session"] for h in hosts if h["host_pool"] == "hp-weu-pooled")
        # The recovery region's standby session hosts were started and take new sessions.
        assert all(h["allow_new_session"] for h in hosts if h["host_pool"] == "hp-neu-pooled")
        assert summary["verify"]["healthy"] is True and {c["name"] for c in summary["verify"]["checks"]} == {
            "heartbeat",
            "domain_controllers",
            "avd_agent_health",
        }
        assert [s["name"] for s in summary["steps"]] == [
            "claim",
            "resolve",
            "capacity",
            "approval",
            "avd",
            "failover",
            "dependency: sql",
            "dependency: fslogix",
            "standby",
            "verify",
            "dns",
            "traffic manager",
        ]
        assert all(s["status"] == "Succeeded" for s in summary["steps"])

        # Exactly one failover call per recovery plan; every plan failed over and was committed.
        assert all(p["failover_calls"] == 1 and p["state"] == "Committed" for p in state["recovery_plans"])
        assert all(p["commit"] == "started" for p in summary["recovery_plans"])

        # DNS points at the recovery targets; the summary keeps the previous values.
        records = {(r["name"], r["type"]): r["values"] for r in state["record_sets"]}
        assert records[("app", "CNAME")] == ["app-neu.contoso.com"]
        assert records[("portal", "A")] == ["20.60.10.10"]
        assert {"record": "app.contoso.com CNAME", "from": "app-weu.contoso.com", "to": "app-neu.contoso.com"} in (
            summary["dns"]
        )

        # The simulator holds the CloudEvents and the Teams card.
        events = requests.get(f"{stack.simulator.url}/_sim/events", verify=stack.simulator.ca_bundle, timeout=10).json()
        assert len(events) == summary["events_published"] > 0
        types = [e["type"] for e in events]
        assert types[0] == "Contoso.Failover.RunStarted" and types[-1] == "Contoso.Failover.RunCompleted"
        assert types.count("Contoso.Failover.BatchStarted") == 4
        assert len({e["id"] for e in events}) == len(events)
        cards = [m for m in teams_messages(stack) if "Approval needed" in json.dumps(m)]
        assert len(cards) == 1
        assert summary["rto_seconds"] > 0 and summary["errors"] == []

    def test_failed_plan_in_continue_group(self, make_stack: Any) -> None:
        """A recovery plan whose ASR job fails: reported with ASR's error text, run CompletedWithErrors."""
        stack = make_stack(vms=60, sessions=10, batch_size=30)
        stack.estate.config.failing_plans["rp-apps-02"] = "The VM could not be started in the target region."
        summary = run_to_end(stack)
        assert summary["status"] == "CompletedWithErrors"
        assert any("rp-apps-02" in e and "could not be started" in e for e in summary["errors"])
        assert summary["vms_failed_over"] == 60 - 24
        assert [b["status"] for b in summary["batches"]].count("Failed") == 1
        # apps is on_failure: continue, so DNS still switches
        assert [d["record"] for d in summary["dns"]][:2] == ["app.contoso.com CNAME", "portal.contoso.com A"]


class TestDemoCommand:
    def test_demo_json_contract(self) -> None:
        """`failover demo --json`: the last stdout line is the summary with every contract field."""
        out = io.StringIO()
        with redirect_stdout(out):
            code = main(["demo", "--json", "--vms", "30", "--sessions", "20", "--time-scale", "900"])
        assert code == 0
        summary = json.loads(out.getvalue().strip().splitlines()[-1])
        for key in (
            "instance_id",
            "plan",
            "mode",
            "status",
            "approvals",
            "sessions",
            "batches",
            "vms_failed_over",
            "dns",
            "events_published",
            "started_at",
            "finished_at",
            "rto_seconds",
            "errors",
        ):
            assert key in summary, key
        assert summary["status"] == "Completed"
        assert set(summary["batches"][0]) >= {
            "group",
            "index",
            "recovery_plans",
            "vms",
            "started_at",
            "finished_at",
            "status",
        }
        assert summary["started_at"].endswith("Z") and summary["sessions"] == {"found": 20, "logged_off": 20}


def test_status_route_unknown_run(make_stack: Any) -> None:
    stack = make_stack(vms=10, sessions=2)
    answer = stack.http.get(f"{stack.api_url}/api/failovers/nope", timeout=10)
    assert answer.status_code == 404 and answer.json()["error"]["code"] == "RunNotFound"
    assert run_status(stack, "nope")["error"]


class TestWorkerRestart:
    def test_worker_restarted_mid_batch(self, make_stack: Any) -> None:
        """The local worker stops while a batch's jobs run and starts again: the run carries on from its
        history, finishes, and no recovery plan got two failover calls."""
        stack = make_stack(vms=60, sessions=4, time_scale=240.0, batch_size=30)
        answer = post_alert(stack)
        instance_id = answer.json()["instance_id"]
        wait_waiting(stack, instance_id)
        assert approve_as(stack.plan.approval.approvers[0], approval_link(stack, instance_id)).status_code == 200
        wait_for(lambda: run_status(stack, instance_id)["progress"]["batches_started"] >= 2, timeout=60)
        stack.engine.stop_worker()
        running = [p for p in stack.estate.snapshot()["recovery_plans"] if p["failover_calls"]]
        assert running, "the restart must happen with failovers in flight"
        time.sleep(1.0)
        stack.engine.start_worker()
        status = finish(stack, instance_id, timeout=120)
        assert status["output"]["status"] == "Completed", status["output"]["errors"]
        calls = {p["name"]: p["failover_calls"] for p in stack.estate.snapshot()["recovery_plans"]}
        assert set(calls.values()) == {1}, calls
