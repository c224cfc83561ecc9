"""The run model on azure-functions-durable's replay executor (the Azure host's path), against the simulator: the
plan's claim through the `plan_claim` entity as Durable Functions runs it, a callback replayed into the run,
unique event ids and every failback step's event, a drill cancelled by a superseding failover and cleaned up,
Resolved keyed by incident, a cancel during log-off and during verify, two retries decided once, outcomes."""

from __future__ import annotations

import json
from typing import Any

from failover.run import build_run_input
from local.stack import LocalStack
from simulator.dependencies import DEMO_WEBHOOK
from tests.orchestrations.df_driver import Driver, Instance, Waiting
from tests.orchestrations.test_df_runs import (
    SCALE,
    TRIGGER,
    A,
    B,
    approval,
    approve,
    plans,
    records,
    resolutions_while_the_card_waits,
)

ONE = {"required": 1, "approvers": [A, B], "timeout": "4h", "on_timeout": "abort"}
DEMO_CLAIM = "@plan_claim@demo"


def drive(
    stack: LocalStack, script: Any, run_id: str, driver: Driver | None = None, **options: Any
) -> tuple[Driver, Instance]:
    driver = driver or Driver(script, timeout=90)
    driver.script = script
    run_input = build_run_input(stack.plan, trigger=options.pop("trigger", TRIGGER), time_scale=SCALE, **options)
    root = driver.run("failover_orchestrator", run_id, run_input)
    assert root.runtime_status == "Completed", root.error
    return driver, root


def claim_state(driver: Driver) -> dict[str, Any]:
    return json.loads(driver.entities.get(DEMO_CLAIM) or "null") or {}


class TestClaim:
    def test_a_run_takes_and_gives_back_the_plan_and_a_second_is_refused(self, make_stack: Any) -> None:
        stack = make_stack(vms=10, sessions=2, approval=approval(**ONE))
        driver, first = drive(stack, approve, "failover-demo-20261206T100000Z-aaaa")
        assert first.output["status"] == "Completed" and first.output["claim"]["granted"] is True
        assert claim_state(driver)["holder"] is None  # released at the end (a signal to the entity)
        # Another run holds the plan (its claim as the entity keeps it): a new run does nothing and says so.
        driver.entities[DEMO_CLAIM] = json.dumps({"holder": {"run_id": "failover-demo-x", "mode": "unplanned"}})
        before = len(driver.calls)
        _, refused = drive(stack, approve, "failover-demo-20261206T100100Z-bbbb", driver=driver)
        assert refused.output["status"] == "Failed" and "failover-demo-x" in refused.output["errors"][0]
        assert [c.name for c in driver.calls[before:]] == []  # not even the vault was read
        # The holder ended without giving it back (crashed): the next run names it stale and is granted.
        _, third = drive(stack, approve, "failover-demo-20261206T100200Z-cccc", driver=driver,
                         stale_claims=["failover-demo-x"])  # fmt: skip
        assert third.output["claim"]["granted"] is True and third.output["status"] == "Completed"


class TestCallbacks:
    def test_a_replayed_callback_completes_nothing(self, make_stack: Any) -> None:
        """The action group's step accepts only the nonce of its own call: an old URL's callback (another nonce)
        raised into the run is ignored; the real one completes it."""
        groups = [
            {"name": "identity", "recovery_plans": ["rp-identity"]},
            {"name": "azlocal-sites", "action": {"webhook": "hyperv-replica", "body": {}, "timeout": "4h"}},
            {"name": "apps", "recovery_plans": ["rp-apps-*"], "on_failure": "continue"},
            {"name": "data", "recovery_plans": ["rp-data-*"]},
        ]
        stack = make_stack(vms=10, sessions=2, approval=approval(**ONE), groups=groups)
        stack.estate.dependencies.webhooks[DEMO_WEBHOOK].call_back = False
        sent: list[str] = []

        def script(waiting: Waiting) -> list[tuple[str, Any]]:
            calls = [c for c in waiting.calls if c.name == "webhook_invoke" and c.result is not None]
            if calls and "replayed" not in sent:
                sent.append("replayed")
                return [("callback", {"step": "azlocal-sites", "nonce": "from-run-1", "status": "Failed"})]
            if calls and "real" not in sent and waiting.elapsed > 0:
                sent.append("real")
                nonce = calls[0].input["nonce"]
                return [
                    ("callback", {"step": "azlocal-sites", "nonce": nonce, "status": "Succeeded", "request_id": "r"})
                ]
            return approve(waiting)

        _, root = drive(stack, script, "failover-demo-20261206T100000Z-dddd")
        action = next(a for a in root.output["waves"] if a["group"] == "azlocal-sites")
        assert sent == ["replayed", "real"] and action["status"] == "Succeeded"
        assert root.output["status"] == "Completed", root.output["errors"]


class TestEventsAndFailback:
    def test_failback_publishes_every_step_with_ids_of_its_own(self, make_stack: Any) -> None:
        stack = make_stack(vms=20, sessions=2, approval=approval(**ONE))
        driver, first = drive(stack, approve, "failover-demo-20261206T100000Z-eeee")
        changed = {d["record"]: d for d in first.output["dns"]}
        restore = {
            "traffic_manager": [
                {"resource_group": e.resource_group, "subscription_id": e.subscription_id, "profile": e.profile,
                 "endpoint": e.endpoint, "endpoint_type": e.endpoint_type,
                 **{k: changed[e.label]["from"][k] for k in ("status", "priority")}}
                for e in stack.plan.dns.traffic_manager
            ]
        }  # fmt: skip
        _, back = drive(stack, approve, "failback-demo-20261206T110000Z-ffff", driver=driver, mode="failback",
                        restore=restore)  # fmt: skip
        assert back.output["status"] == "Completed", back.output["errors"]
        pairs = [(e["source"], e["id"]) for e in stack.estate.events]
        assert len(pairs) == len(set(pairs))
        types = [e["type"].removeprefix("Contoso.Failover.") for e in stack.estate.events if "failback-" in e["id"]]
        for expected in ("ReprotectCompleted", "ReplicationHealthChecked", "HostPoolsReopened", "DnsSwitched"):
            assert expected in types, types


class TestSupersededDrill:
    def test_a_cancelled_drill_is_cleaned_up_and_gives_the_plan_back(self, make_stack: Any) -> None:
        """A drill under way is cancelled by the failover that supersedes it: its test failovers are cleaned up,
        no batch starts after the cancel, and the claim is released for the waiting failover."""
        stack = make_stack(vms=30, sessions=2, approval=approval(**ONE))
        cancelled: list[str] = []

        def script(waiting: Waiting) -> list[tuple[str, Any]]:
            started = (waiting.status.get("progress") or {}).get("batches_started", 0)
            if started and not cancelled and waiting.instance_id.startswith("drill-"):
                cancelled.append("x")
                return [("control", {"action": "cancel", "by": "failover", "reason": "superseded by a real failover",
                                     "request_id": "s-1"})]  # fmt: skip
            return approve(waiting)

        driver, root = drive(stack, script, "drill-demo-20261206T100000Z-1111", mode="test")
        output = root.output
        assert output["status"] == "Cancelled" and output["cleanup"] == "done"
        assert output["operator"]["cancel"]["batches_started_after"] == 0
        touched = [p for p in plans(stack).values() if p["test_failover_calls"]]
        assert touched and all(p["cleanup_calls"] == 1 and p["failover_calls"] == 0 for p in touched)
        assert claim_state(driver)["holder"] is None
        _, real = drive(stack, approve, "failover-demo-20261206T100500Z-2222", driver=driver,
                        supersedes="drill-demo-20261206T100000Z-1111")  # fmt: skip
        assert real.output["status"] == "Completed" and records(stack)[("app", "CNAME")] == ["app-neu.contoso.com"]


class TestResolvedAndCancel:
    def test_another_incidents_resolution_is_only_recorded(self, make_stack: Any) -> None:
        stack = make_stack(vms=10, sessions=2, approval=approval(**ONE))
        sent: list[str] = []
        _, root = drive(stack, resolutions_while_the_card_waits(sent), "failover-demo-20261206T100000Z-3333")
        assert sent == ["other", "mine"]
        assert [r["incident_key"] for r in root.output["resolutions"]] == ["OTHER-1"]
        assert (
            root.output["status"] == "Cancelled" and root.output["resolved"]["incident_key"] == TRIGGER["incident_key"]
        )

    def test_cancel_during_log_off_starts_no_batch(self, make_stack: Any) -> None:
        stack = make_stack(vms=20, sessions=20, approval=approval(**ONE))
        stack.estate.config.latency.routes["avd.usersessions.delete"] = 120.0  # 0.2 s each at x600

        def script(waiting: Waiting) -> list[tuple[str, Any]]:
            if waiting.status.get("stage") == "logging off sessions" and not waiting.status["operator"]["cancel"]:
                return [("control", {"action": "cancel", "by": B, "reason": "false alarm", "request_id": "c-1"})]
            return approve(waiting)

        driver, root = drive(stack, script, "failover-demo-20261206T100000Z-4444")
        output = root.output
        assert output["status"] == "Cancelled" and output["batches"] == []
        assert output["operator"]["cancel"]["batches_started_after"] == 0 and output["rto_met"] is False
        assert sum(p["failover_calls"] for p in plans(stack).values()) == 0
        assert not [c for c in driver.calls if c.name.startswith(("asr_start", "dns_", "tm_"))]

    def test_cancel_during_verify_switches_nothing(self, make_stack: Any) -> None:
        stack = make_stack(vms=10, sessions=2, approval=approval(**ONE))
        stack.estate.config.latency.routes["logs.query"] = 600.0  # 1 s per verify query at x600

        def script(waiting: Waiting) -> list[tuple[str, Any]]:
            if waiting.status.get("stage") == "verifying" and not waiting.status["operator"]["cancel"]:
                return [("control", {"action": "cancel", "by": B, "reason": "stop", "request_id": "c-2"})]
            return approve(waiting)

        driver, root = drive(stack, script, "failover-demo-20261206T100000Z-5555")
        assert root.output["status"] == "Cancelled" and root.output["dns"] == []
        assert records(stack)[("app", "CNAME")] == ["app-weu.contoso.com"]
        assert not [c for c in driver.calls if c.name.startswith(("dns_", "tm_"))]

    def test_two_retries_of_one_plan_are_decided_once(self, make_stack: Any) -> None:
        stack = make_stack(vms=30, sessions=2, approval=approval(**ONE), operator_wait="4h")
        stack.estate.config.failing_plans["rp-data-01"] = "The replication of VM vm-sql-01 is not healthy."
        sent: list[str] = []

        def script(waiting: Waiting) -> list[tuple[str, Any]]:
            if "rp-data-01" in (waiting.status.get("operator") or {}).get("blocked", []) and not sent:
                sent.append("both")
                stack.estate.config.failing_plans.clear()
                return [
                    ("control", {"action": "retry", "recovery_plan": "rp-data-01", "by": A, "request_id": "q-a"}),
                    ("control", {"action": "retry", "recovery_plan": "rp-data-01", "by": B, "request_id": "q-b"}),
                ]
            return approve(waiting)

        _, root = drive(stack, script, "failover-demo-20261206T100000Z-6666")
        assert root.output["status"] == "Completed", root.output["errors"]
        assert plans(stack)["rp-data-01"]["failover_calls"] == 2  # the failed attempt and ONE retry
        assert [a["by"] for a in root.output["operator"]["actions"]] == [A]
