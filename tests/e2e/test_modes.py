"""Drills (mode test) and failback on the real local engine against the simulator: a drill touches no
production resource and always cleans up; a failback undoes a failover and leaves the estate protected
as before."""

from __future__ import annotations

import io
import json
from contextlib import redirect_stdout
from typing import Any

from local.cli import main
from local.stack import LocalStack
from tests.conftest import approval_link, approve_as, finish, post_alert, run_status, wait_for, wait_waiting

A = "oncall-lead@contoso.com"


def approve_and_finish(stack: LocalStack, instance_id: str) -> dict[str, Any]:
    wait_waiting(stack, instance_id)
    wait_for(lambda: approve_as(A, approval_link(stack, instance_id)).status_code == 200, timeout=30)
    status = finish(stack, instance_id, timeout=120)
    assert status["runtime_status"] == "Completed", status
    return dict(status["output"])


def drill(stack: LocalStack, **body: Any) -> str:
    answer = stack.http.post(f"{stack.api_url}/api/drills", json={"plan": "demo", **body}, timeout=30)
    assert answer.status_code == 202, answer.text
    return str(answer.json()["instance_id"])


def plans(stack: LocalStack) -> dict[str, dict[str, Any]]:
    return {p["name"]: p for p in stack.estate.snapshot()["recovery_plans"]}


def records(stack: LocalStack) -> dict[tuple[str, str], list[str]]:
    return {(r["name"], r["type"]): r["values"] for r in stack.estate.snapshot()["record_sets"]}


class TestDrill:
    def test_drill_touches_nothing_and_cleans_up(self, make_stack: Any) -> None:
        stack = make_stack(vms=30, sessions=4)
        # The recovery host pool takes sessions today: test session hosts would join it, so the drill keeps
        # it closed while they may be up, and reopens it afterwards.
        stack.estate.update_session_host(
            "rg-avd-neu", "hp-neu-pooled", "vm-avd-neu-0.contoso.local", {"properties": {"allowNewSession": True}}
        )
        instance_id = drill(stack, reason="monthly drill")
        summary = approve_and_finish(stack, instance_id)
        assert summary["mode"] == "test" and summary["status"] == "Completed", summary["errors"]
        assert summary["cleanup"] == "done"
        assert summary["drill"]["rto_met"] is True and summary["drill"]["rto_seconds"] > 0
        assert summary["verify"]["healthy"] is True
        state = plans(stack)
        assert all(p["failover_calls"] == 0 for p in state.values())  # no real failover
        assert all(p["test_failover_calls"] == 1 and p["cleanup_calls"] == 1 for p in state.values())
        snapshot = stack.estate.snapshot()
        assert snapshot["sessions_remaining"] == 4  # nobody signed out
        assert records(stack)[("app", "CNAME")] == ["app-weu.contoso.com"] and summary["dns"] == []
        assert summary["dependencies"] == []
        assert [s["name"] for s in summary["steps"]] == [
            "claim",
            "resolve",
            "capacity",
            "approval",
            "avd",
            "failover",
            "verify",
            "cleanup",
        ]
        hosts = {
            h["name"]: h["allow_new_session"] for h in snapshot["session_hosts"] if h["host_pool"] == "hp-neu-pooled"
        }
        assert hosts["vm-avd-neu-0.contoso.local"] is True and not any(
            v for k, v in hosts.items() if k != "vm-avd-neu-0.contoso.local"
        )  # reopened exactly what it closed
        reopened = next(h for h in snapshot["session_hosts"] if h["name"] == "vm-avd-neu-0.contoso.local")
        assert reopened["drained_at"] is not None  # it was closed during the drill

    def test_cleanup_after_a_failed_plan(self, make_stack: Any) -> None:
        stack = make_stack(vms=30, sessions=2)
        stack.estate.config.failing_plans["rp-data-01"] = "The test network is not reachable."
        summary = approve_and_finish(stack, drill(stack))
        assert summary["status"] == "CompletedWithErrors" and summary["cleanup"] == "done"
        assert any("test network is not reachable" in e for e in summary["errors"])
        state = plans(stack)
        assert all(p["test_failover_calls"] == 0 for n, p in state.items() if n.startswith("rp-apps"))  # stopped
        tested = [n for n, p in state.items() if p["test_failover_calls"]]
        assert tested and all(state[n]["cleanup_calls"] == 1 for n in tested)

    def test_cleanup_after_a_cancel(self, make_stack: Any) -> None:
        stack = make_stack(vms=30, sessions=2, time_scale=300.0)
        instance_id = drill(stack)
        wait_waiting(stack, instance_id)
        assert approve_as(A, approval_link(stack, instance_id)).status_code == 200
        wait_for(lambda: run_status(stack, instance_id)["progress"]["batches_started"] >= 1, timeout=60)
        stack.http.post(f"{stack.api_url}/api/failovers/{instance_id}/cancel", json={"reason": "stop"}, timeout=10)
        output = finish(stack, instance_id, timeout=120)["output"]
        assert output["status"] == "Cancelled" and output["cleanup"] == "done"
        tested = [n for n, p in plans(stack).items() if p["test_failover_calls"]]
        assert tested and all(plans(stack)[n]["cleanup_calls"] == 1 for n in tested)

    def test_maintenance_windows(self, make_stack: Any) -> None:
        never = {
            "network_id": "/subscriptions/x/vnet",
            "windows": [{"days": ["mon"], "start": "00:00", "end": "00:01"}],
        }
        stack = make_stack(vms=10, sessions=2, drill=never)
        stack.api.clock = lambda: 1_795_000_000.0  # a Wednesday
        refused = stack.http.post(f"{stack.api_url}/api/drills", json={"plan": "demo"}, timeout=10)
        assert refused.status_code == 409 and refused.json()["error"]["code"] == "OutsideMaintenanceWindow"
        by_mode = stack.http.post(f"{stack.api_url}/api/failovers", json={"plan": "demo", "mode": "test"}, timeout=10)
        assert by_mode.status_code == 409
        assert drill(stack, force=True).startswith("drill-demo-")


class TestFailback:
    def test_failover_then_failback(self, make_stack: Any) -> None:
        stack = make_stack(vms=30, sessions=2)
        answer = post_alert(stack)
        failover = approve_and_finish(stack, answer.json()["instance_id"])
        assert failover["status"] == "Completed", failover["errors"]
        assert records(stack)[("app", "CNAME")] == ["app-neu.contoso.com"]

        started = stack.http.post(f"{stack.api_url}/api/failbacks", json={"plan": "demo"}, timeout=30)
        assert started.status_code == 202, started.text
        summary = approve_and_finish(stack, started.json()["instance_id"])
        assert summary["mode"] == "failback" and summary["status"] == "Completed", summary["errors"]
        steps = [s["name"] for s in summary["steps"]]
        assert steps == [
            "claim",
            "resolve",
            "capacity",  # the primary region's quota, before the card
            "approval",
            "reprotect",
            "replication health",
            "failover",
            "avd",
            "dns",
            "reprotect again",
        ]
        assert records(stack)[("app", "CNAME")] == ["app-weu.contoso.com"]
        assert records(stack)[("portal", "A")] == ["20.50.10.10"]
        endpoints = {e["name"]: e["status"] for e in stack.estate.network.snapshot()["traffic_manager"][0]["endpoints"]}
        assert endpoints["weu"] == "Enabled"
        hosts = stack.estate.snapshot()["session_hosts"]
        assert all(h["allow_new_session"] for h in hosts if h["host_pool"] == "hp-weu-pooled")
        assert not any(h["allow_new_session"] for h in hosts if h["host_pool"] == "hp-neu-pooled")
        assert all(p["failover_calls"] == 2 for p in plans(stack).values())  # one failover, one failback


class TestDemoModes:
    def test_demo_drill_json(self) -> None:
        out = io.StringIO()
        with redirect_stdout(out):
            code = main(["demo", "--mode", "test", "--json", "--vms", "20", "--sessions", "2", "--time-scale", "600"])
        summary = json.loads(out.getvalue().strip().splitlines()[-1])
        assert code == 0 and summary["mode"] == "test" and summary["cleanup"] == "done"

    def test_demo_outage_completes_an_unplanned_failover_in_order(self) -> None:
        """`failover demo --outage`: West Europe is down from the start. The friendly SQL failover cannot reach
        the primary; the run waits for the operator, who forces it; then the apps, standby, verify and DNS."""
        out = io.StringIO()
        with redirect_stdout(out):
            code = main(["demo", "--outage", "--json", "--vms", "60", "--sessions", "10", "--time-scale", "600"])
        summary = json.loads(out.getvalue().strip().splitlines()[-1])
        assert code == 0 and summary["mode"] == "unplanned" and summary["status"] == "Completed", summary["errors"]
        simulator = summary["simulator"]
        group = simulator["dependencies"]["failover_groups"][0]
        # the simulator's state: forced over (the old primary is unreachable, so replication is suspended)
        assert "neu" in group["primary"] and group["replication_state"] == "SUSPENDED", group
        assert "westeurope" in simulator["dependencies"]["outages"]
        assert all(p["state"] == "Committed" for p in simulator["recovery_plans"])
        steps = [s["name"] for s in summary["steps"]]
        order = ["avd", "dependency: sql", "operator wait: sql", "dependency: fslogix", "standby", "verify", "dns"]
        assert [n for n in steps if n in order] == [
            "avd", "dependency: sql", "operator wait: sql", "dependency: sql", "dependency: fslogix",
            "standby", "verify", "dns",
        ]  # fmt: skip
        assert summary["operator"]["actions"][0]["action"] == "force"
        data_batches = [b for b in summary["batches"] if b["group"] == "data"]
        apps = [b for b in summary["batches"] if b["group"] == "apps"]
        forced = next(s for s in summary["steps"] if s["name"] == "dependency: sql" and s["status"] == "Succeeded")
        assert data_batches and all(b["started_at"] >= forced["finished_at"] for b in apps)
        assert summary["dns"] and summary["rto_met"] is not None
        # the session hosts are in the region that is down: their sessions are gone with them, not messaged
        assert summary["sessions"] == {"found": 10, "logged_off": 0, "unreachable": 10}
        assert summary["messages"]["sent"] == 0 and any("unreachable session hosts" in w for w in summary["warnings"])

    def test_demo_partial_outage_counts_only_the_hosts_that_are_down(self) -> None:
        """`--outage partial`: half the region's session hosts are down, its data planes up. Users on the hosts
        that answer are logged off; those on the hosts that are down count as gone (the incident names the
        region); the friendly SQL failover works, nobody is asked to force anything."""
        out = io.StringIO()
        with redirect_stdout(out):
            args = ["--json", "--vms", "60", "--sessions", "48", "--time-scale", "600"]
            code = main(["demo", "--outage", "partial", *args])
        summary = json.loads(out.getvalue().strip().splitlines()[-1])
        assert code == 0 and summary["status"] == "Completed", summary["errors"]
        simulator = summary["simulator"]
        assert simulator["outage"]["services"] == ["avd"] and simulator["outage"]["session_hosts_down"] == 2
        assert simulator["dependencies"]["outages"] == {}
        group = simulator["dependencies"]["failover_groups"][0]
        assert "neu" in group["primary"] and group["replication_state"] != "SUSPENDED"  # friendly: no data lost
        sessions = summary["sessions"]
        # 48 sessions on 4 hosts; the 2 that are down keep their 24 in AVD's list, the others were logged off
        assert sessions == {"found": 48, "logged_off": 24, "unreachable": 24}
        assert simulator["sessions_remaining"] == 24
        assert not summary["operator"]["actions"]
        assert all(p["state"] == "Committed" for p in simulator["recovery_plans"])

    def test_demo_flapping_outage_still_completes(self) -> None:
        """`--outage flapping`: the whole region down and up every 5 simulated minutes. Whatever the phases, the
        run completes: every recovery plan committed, SQL's primary in the recovery region, and every user either
        logged off, gone with a host that was down, or decided on by the operator."""
        out = io.StringIO()
        with redirect_stdout(out):
            args = ["--json", "--vms", "60", "--sessions", "24", "--time-scale", "600"]
            code = main(["demo", "--outage", "flapping", *args])
        summary = json.loads(out.getvalue().strip().splitlines()[-1])
        assert code == 0 and summary["status"] == "Completed", summary["errors"]
        simulator = summary["simulator"]
        assert simulator["outage"]["flap_seconds"] == 300
        assert all(p["state"] == "Committed" for p in simulator["recovery_plans"])
        assert "neu" in simulator["dependencies"]["failover_groups"][0]["primary"]
        sessions = summary["sessions"]
        assert simulator["sessions_remaining"] == sessions["found"] - sessions["logged_off"]


AZLOCAL = {"name": "azlocal-sites", "action": {"webhook": "hyperv-replica", "body": {"sites": ["azlocal-weu-01"]}}}


def with_azlocal_wave(make_stack: Any) -> LocalStack:
    """The demo plan with a Hyper-V Replica wave (an Azure Local site, driven by an Automation runbook) after
    the identity group."""
    import yaml

    from local.stack import DEMO_PLAN

    groups = yaml.safe_load(DEMO_PLAN.read_text())["groups"]
    return make_stack(vms=20, sessions=2, groups=[groups[0], AZLOCAL, *groups[1:]])  # type: ignore[no-any-return]


def webhook_calls(stack: LocalStack) -> list[dict[str, Any]]:
    return [c.body for c in stack.estate.dependencies.webhook_calls if not c.duplicate]


class TestAzureLocalWave:
    def test_the_hyper_v_replica_wave_gets_the_mode_in_every_run_and_a_drill_cleans_it_up(
        self, make_stack: Any
    ) -> None:
        stack = with_azlocal_wave(make_stack)
        summary = approve_and_finish(stack, drill(stack, reason="monthly drill"))
        assert summary["status"] == "Completed", summary["errors"]
        calls = webhook_calls(stack)
        assert [(c["step"], c["mode"], c["cleanup"]) for c in calls] == [
            ("azlocal-sites", "test", False),
            ("azlocal-sites-cleanup", "test", True),
        ]
        assert calls[0]["sites"] == ["azlocal-weu-01"]
        steps = [s["name"] for s in summary["steps"]]
        assert (
            steps.index("action: azlocal-sites") < steps.index("cleanup") < steps.index("action: azlocal-sites-cleanup")
        )

        failover = str(post_alert(stack).json()["instance_id"])
        assert approve_and_finish(stack, failover)["status"] == "Completed"
        started = stack.http.post(f"{stack.api_url}/api/failbacks", json={"plan": "demo"}, timeout=30)
        assert started.status_code == 202, started.text
        back = approve_and_finish(stack, started.json()["instance_id"])
        assert back["status"] == "Completed", back["errors"]
        modes = [(c["step"], c["mode"]) for c in webhook_calls(stack)[2:]]
        assert modes == [("azlocal-sites", "unplanned"), ("azlocal-sites", "failback")]
