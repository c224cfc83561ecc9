"""The runbook's steps around the recovery plans, on the real local engine against the simulator:
custom webhook actions with completion callbacks, dependency failures, verify gating DNS, the Traffic
Manager safety rule, and a stopped group whose operator wait runs out."""

from __future__ import annotations

from typing import Any

import yaml

from local.stack import DEMO_PLAN, LocalStack
from tests.conftest import approval_link, approve_as, finish, post_alert, wait_waiting

DEMO = yaml.safe_load(DEMO_PLAN.read_text())
WEBHOOK = {
    "name": "hyperv-replica",
    "kind": "webhook",
    "webhook": "hyperv-replica",  # FAILOVER_WEBHOOK_HYPERV_REPLICA; LocalStack points it at the simulator
    "body": {"site": "azlocal-weu-01"},
    "before_group": "identity",
    "timeout": "30m",
}


def run(stack: LocalStack) -> dict[str, Any]:
    answer = post_alert(stack)
    assert answer.status_code == 202, answer.text
    instance_id = answer.json()["instance_id"]
    wait_waiting(stack, instance_id)
    assert approve_as(stack.plan.approval.approvers[0], approval_link(stack, instance_id)).status_code == 200
    status = finish(stack, instance_id, timeout=120)
    assert status["runtime_status"] == "Completed", status
    return dict(status["output"])


def calls(stack: LocalStack) -> dict[str, int]:
    return {p["name"]: p["failover_calls"] for p in stack.estate.snapshot()["recovery_plans"]}


def app_record(stack: LocalStack) -> list[str]:
    records = {(r["name"], r["type"]): r["values"] for r in stack.estate.snapshot()["record_sets"]}
    return list(records[("app", "CNAME")])


class TestCustomAction:
    def test_webhook_and_callback(self, make_stack: Any) -> None:
        stack = make_stack(vms=20, sessions=2, dependencies=[WEBHOOK, *DEMO["dependencies"]])
        summary = run(stack)
        assert summary["status"] == "Completed", summary["errors"]
        action = summary["dependencies"][0]
        assert action["name"] == "hyperv-replica" and action["status"] == "Succeeded"
        assert action["details"]["callback_status"] == "Succeeded" and action["details"]["http_status"] == 202
        call = stack.estate.dependencies.webhook_calls[0]
        assert call.body["site"] == "azlocal-weu-01" and call.body["step"] == "hyperv-replica"
        step = next(s for s in summary["steps"] if s["name"] == "dependency: hyperv-replica")
        assert step["finished_at"] <= summary["batches"][0]["started_at"]  # before the identity group
        assert calls(stack)["rp-identity"] == 1

    def test_webhook_without_callback_times_out_and_stops(self, make_stack: Any) -> None:
        stack = make_stack(vms=20, sessions=2, dependencies=[{**WEBHOOK, "timeout": "10m"}])
        stack.estate.dependencies.webhooks["hyperv-replica"].call_back = False
        summary = run(stack)
        assert summary["status"] == "CompletedWithErrors"
        assert any("no completion callback" in e for e in summary["errors"])
        assert sum(calls(stack).values()) == 0  # the identity group waited for it and never started
        assert app_record(stack) == ["app-weu.contoso.com"]


class TestDependencies:
    def test_failed_sql_failover_stops_the_apps(self, make_stack: Any) -> None:
        stack = make_stack(vms=20, sessions=2)
        stack.estate.dependencies.config.failing["fg-contoso"] = "The partner server is unreachable."
        summary = run(stack)
        assert summary["status"] == "CompletedWithErrors"
        assert summary["dependencies"][0]["status"] == "Failed"
        assert any("dependency sql" in e and "unreachable" in e for e in summary["errors"]), summary["errors"]
        done = calls(stack)
        assert done["rp-identity"] == 1 and all(v == 0 for k, v in done.items() if k.startswith("rp-apps"))
        assert app_record(stack) == ["app-weu.contoso.com"]


class TestVerifyAndTrafficManager:
    def test_unhealthy_verify_keeps_dns(self, make_stack: Any) -> None:
        verify = {**DEMO["verify"], "timeout": "3m", "poll_interval": "1m"}
        stack = make_stack(vms=20, sessions=2, verify=verify)
        stack.estate.network.config.silent_computers = ("dc-onprem-01",)
        summary = run(stack)
        assert summary["status"] == "CompletedWithErrors"
        checks = {c["name"]: c for c in summary["verify"]["checks"]}
        assert summary["verify"]["healthy"] is False and checks["domain_controllers"]["healthy"] is False
        assert checks["heartbeat"]["healthy"] is True
        assert summary["dns"] == [] and app_record(stack) == ["app-weu.contoso.com"]
        assert any("not switched" in e for e in summary["errors"])

    def test_traffic_manager_refuses_to_leave_no_healthy_endpoint(self, make_stack: Any) -> None:
        stack = make_stack(vms=20, sessions=2)
        stack.estate.network.set_endpoint_health("rg-dns-global", "tm-contoso-app", "neu", "Degraded")
        summary = run(stack)
        assert summary["status"] == "CompletedWithErrors"
        assert any("traffic manager tm-contoso-app/weu" in e for e in summary["errors"]), summary["errors"]
        assert [d["record"] for d in summary["dns"]] == ["app.contoso.com CNAME", "portal.contoso.com A"]
        profile = stack.estate.network.snapshot()["traffic_manager"][0]
        assert {e["name"]: e["status"] for e in profile["endpoints"]}["weu"] == "Enabled"
        assert profile["history"] == []  # refused before any write


class TestStoppedGroup:
    def test_operator_wait_runs_out(self, make_stack: Any) -> None:
        stack = make_stack(vms=20, sessions=2, operator_wait="1m")
        stack.estate.config.failing_plans["rp-data-01"] = "The replication of VM vm-sql-01 is not healthy."
        summary = run(stack)
        assert summary["status"] == "CompletedWithErrors"
        assert {s["name"]: s["status"] for s in summary["steps"]}["operator wait: data"] == "TimedOut"
        assert any("group 'data' failed" in e for e in summary["errors"])
        assert all(v == 0 for k, v in calls(stack).items() if k.startswith("rp-apps"))
        assert summary["dependencies"] == [] and app_record(stack) == ["app-weu.contoso.com"]
