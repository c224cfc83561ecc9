"""Whole failovers on azure-functions-durable's replay executor (the Azure host's path) against the simulator.

`df_driver.Driver` answers every activity by running it against the simulator, fires timers in real time,
completes sub-orchestrations from their own replays and raises the external events a script decides; the
tests judge by the simulator's state and request log as well as by the run's output. Small estates at x600.
"""

from __future__ import annotations

import asyncio
import copy
import itertools
import json
import re
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
import yaml

from failover.alerts import parse_alert
from failover.batching import groups_from_resolved, plan_batches
from failover.plan import load_plan
from failover.run import build_run_input, parse_iso
from local.stack import DEMO_PLAN, LocalStack
from tests.conftest import DEMO_ALERT
from tests.orchestrations.df_driver import (
    CUSTOM_STATUS_LIMIT,
    Driver,
    Instance,
    LimitExceeded,
    Waiting,
    status_bytes,
)

SCALE = 600.0
A = "oncall-lead@contoso.com"
B = "platform-owner@contoso.com"
TRIGGER = parse_alert(json.loads(DEMO_ALERT.read_text())).summary()


def approval(plan_approval: dict[str, Any] | None = None, **changes: Any) -> dict[str, Any]:
    """The demo plan's approval section with fields replaced."""
    base = plan_approval or yaml.safe_load(DEMO_PLAN.read_text())["approval"]
    return {**base, **changes}


def card_nonce(waiting: Waiting) -> str | None:
    """The nonce of the last approval card Teams accepted (what an approver's link carries)."""
    cards = [c for c in waiting.calls if c.name == "teams_post_approval_card" and c.result is not None]
    return str(cards[-1].input["nonce"]) if cards else None


def approve(waiting: Waiting, by: str = A) -> list[tuple[str, Any]]:
    nonce = card_nonce(waiting)
    if "approval" in waiting.events and nonce:
        return [("approval", {"decision": "approve", "approver": by, "nonce": nonce, "request_id": "r-1"})]
    return []


def resolutions_while_the_card_waits(sent: list[str]) -> Callable[[Waiting], list[tuple[str, Any]]]:
    """A script: while the card waits, another incident's Resolved notice, then, once the run has recorded it, the
    Resolved notice of the incident that started the run (`sent` gets "other", then "mine")."""
    other = {**TRIGGER, "alert_id": f"{TRIGGER['alert_id']}-b", "incident_key": "OTHER-1", "stage": "Resolved"}
    mine = {**TRIGGER, "alert_id": f"{TRIGGER['alert_id']}-r", "stage": "Resolved"}

    def script(waiting: Waiting) -> list[tuple[str, Any]]:
        if "control" not in waiting.events or not waiting.status.get("approval", {}).get("waiting"):
            return []
        if not sent:
            sent.append("other")
            return [("control", {"action": "resolved", "trigger": other})]
        if waiting.status.get("resolutions") and len(sent) == 1:
            sent.append("mine")
            return [("control", {"action": "resolved", "trigger": mine})]
        return []

    return script


def run_df(
    stack: LocalStack, script: Any = approve, mode: str | None = None, **options: Any
) -> tuple[Driver, Instance]:
    """Drive one failover orchestration of the stack's plan on the df executor to its end."""
    driver = Driver(script, timeout=90)
    run_input = build_run_input(stack.plan, mode=mode, trigger=TRIGGER, time_scale=SCALE, **options)
    root = driver.run("failover_orchestrator", f"failover-{stack.plan.name}", run_input)
    assert root.runtime_status == "Completed", root.error
    return driver, root


def plans(stack: LocalStack) -> dict[str, dict[str, Any]]:
    return {p["name"]: p for p in stack.estate.snapshot()["recovery_plans"]}


def records(stack: LocalStack) -> dict[tuple[str, str], list[str]]:
    return {(r["name"], r["type"]): r["values"] for r in stack.estate.snapshot()["record_sets"]}


def fired_timers(instance: Instance) -> int:
    return sum(1 for e in instance.history if e["EventType"] == 11)


class TestApprovedFailover:
    def test_demo_completes_with_batches_spacing_and_commit(self, make_stack: Any) -> None:
        """Approved demo: batch sub-orchestrations spaced by timers, committed; DNS switched; Completed."""
        stack = make_stack(vms=60, sessions=30, batch_size=30)
        driver, root = run_df(stack)
        summary = root.output
        assert summary["status"] == "Completed", summary["errors"]
        batches = summary["batches"]
        assert [b["group"] for b in batches] == ["identity", "data", "apps", "apps"]
        children = [i for i in driver.instances.values() if i.parent is not None]
        assert sorted(c.instance_id for c in children) == [f"failover-demo:batch-{n}" for n in range(1, 5)]
        assert all(c.runtime_status == "Completed" and fired_timers(c) >= 1 for c in children)  # job polls
        starts = [parse_iso(b["started_at"]) for b in batches]
        interval = timedelta(seconds=stack.plan.batch_interval / SCALE)
        assert all(later - earlier >= interval for earlier, later in itertools.pairwise(starts))
        assert fired_timers(driver.instances["failover-demo"]) >= 2  # grace period, batch spacing
        # The simulator: every plan failed over once and committed; sessions gone before the first batch.
        assert all(p["failover_calls"] == 1 and p["state"] == "Committed" for p in plans(stack).values())
        state = stack.estate.snapshot()
        assert state["sessions_remaining"] == 0
        assert max(parse_iso(s["at"]) for s in state["logged_off"]) < starts[0]
        assert records(stack)[("app", "CNAME")] == ["app-neu.contoso.com"]
        types = [e["type"] for e in stack.estate.events]
        assert types[0] == "Contoso.Failover.RunStarted" and types[-1] == "Contoso.Failover.RunCompleted"
        assert len(stack.estate.events) == summary["events_published"]
        assert max(i.max_status_bytes for i in driver.instances.values()) <= CUSTOM_STATUS_LIMIT


class TestApprovalTimeout:
    def test_abort_on_timeout_touches_nothing(self, make_stack: Any) -> None:
        """Nobody decides: the gate's timer fires, on_timeout abort → Rejected, no AVD/ASR/DNS change."""
        stack = make_stack(vms=10, sessions=4, approval=approval(timeout="5m", on_timeout="abort"))
        driver, root = run_df(stack, script=lambda waiting: [])
        summary = root.output
        assert summary["status"] == "Rejected"
        assert [d["decision"] for d in summary["approvals"]] == ["timeout"]
        assert sum(p["failover_calls"] for p in plans(stack).values()) == 0
        assert stack.estate.snapshot()["sessions_remaining"] == 4
        # only the read that counted the sessions for the card
        touched = [c.name for c in driver.calls if c.name.startswith(("avd_", "asr_start", "dns_"))]
        assert touched == ["avd_count_sessions"]
        assert "timed out; nothing was changed" in json.dumps(stack.estate.teams_messages)


class TestCancelDuringWait:
    def test_cancel_in_the_grace_period(self, make_stack: Any) -> None:
        """Cancel while users are warned: the grace timer is abandoned, nobody is logged off, no batch starts."""

        def script(waiting: Waiting) -> list[tuple[str, Any]]:
            if waiting.status.get("stage") == "grace period" and not waiting.status["operator"]["cancel"]:
                return [("control", {"action": "cancel", "by": B, "reason": "false alarm"})]
            return approve(waiting)

        stack = make_stack(vms=10, sessions=4)
        _, root = run_df(stack, script=script)
        summary = root.output
        assert summary["status"] == "Cancelled" and summary["operator"]["cancel"]["by"] == B
        assert summary["batches"] == [] and summary["sessions"]["logged_off"] == 0
        assert stack.estate.snapshot()["sessions_remaining"] == 4
        assert sum(p["failover_calls"] for p in plans(stack).values()) == 0
        assert records(stack)[("app", "CNAME")] == ["app-weu.contoso.com"]
        assert stack.estate.events[-1]["type"] == "Contoso.Failover.RunCancelled"


class TestOperatorRetryAndSkip:
    @staticmethod
    def blocked_then(stack: LocalStack, action: str) -> dict[str, Any]:
        stack.estate.config.failing_plans["rp-data-01"] = "The replication of VM vm-sql-01 is not healthy."
        sent: list[str] = []

        def script(waiting: Waiting) -> list[tuple[str, Any]]:
            if "rp-data-01" in waiting.status.get("operator", {}).get("blocked", []) and not sent:
                sent.append(action)
                stack.estate.config.failing_plans.clear()  # the operator fixed replication (a retry succeeds)
                return [("control", {"action": action, "recovery_plan": "rp-data-01", "by": B})]
            return approve(waiting)

        _, root = run_df(stack, script=script)
        assert sent == [action]
        return dict(root.output)

    def test_retry_a_failed_plan(self, make_stack: Any) -> None:
        """rp-data-01's job fails, the group stops; the operator's retry fails it over again → Completed."""
        stack = make_stack(vms=30, sessions=2, operator_wait="4h")
        summary = self.blocked_then(stack, "retry")
        assert summary["status"] == "Completed", summary["errors"]
        assert plans(stack)["rp-data-01"]["failover_calls"] == 2  # the failed attempt and the retry
        assert {p["name"]: p["state"] for p in summary["recovery_plans"]}["rp-data-01"] == "Succeeded"
        assert summary["batches"][-1]["recovery_plans"] == ["rp-data-01"]  # the retry: a batch of its own
        assert all(p["failover_calls"] == 1 for n, p in plans(stack).items() if n.startswith("rp-apps"))
        assert summary["operator"]["actions"][0]["action"] == "retry" and summary["dns"]

    def test_skip_a_failed_plan(self, make_stack: Any) -> None:
        """The operator skips the failed plan: later groups run, the run ends CompletedWithErrors."""
        stack = make_stack(vms=30, sessions=2, operator_wait="4h")
        summary = self.blocked_then(stack, "skip")
        assert summary["status"] == "CompletedWithErrors"
        assert summary["operator"]["skipped"][0]["name"] == "rp-data-01"
        assert plans(stack)["rp-data-01"]["failover_calls"] == 1
        assert all(p["failover_calls"] == 1 for n, p in plans(stack).items() if n.startswith("rp-apps"))
        assert any("skipped by" in e for e in summary["errors"])


class TestDrillAndFailback:
    def test_drill_touches_nothing_and_cleans_up(self, make_stack: Any) -> None:
        """Mode test: test failover of every plan, verify, cleanup; no real failover, nobody signed out."""
        stack = make_stack(vms=30, sessions=4)
        _, root = run_df(stack, mode="test", reason="monthly drill")
        summary = root.output
        assert summary["mode"] == "test" and summary["status"] == "Completed", summary["errors"]
        assert summary["cleanup"] == "done" and summary["drill"]["rto_met"] is True
        assert all(p["failover_calls"] == 0 for p in plans(stack).values())
        assert all(p["test_failover_calls"] == 1 and p["cleanup_calls"] == 1 for p in plans(stack).values())
        assert stack.estate.snapshot()["sessions_remaining"] == 4
        assert records(stack)[("app", "CNAME")] == ["app-weu.contoso.com"]

    def test_failover_then_failback(self, make_stack: Any) -> None:
        """A failover, then a failback from its recorded values: DNS, Traffic Manager and host pools restored."""
        stack = make_stack(vms=30, sessions=2)
        _, failover = run_df(stack)
        assert failover.output["status"] == "Completed"
        changed = {d["record"]: d for d in failover.output["dns"]}
        restore = {
            "traffic_manager": [
                {"resource_group": e.resource_group, "subscription_id": e.subscription_id, "profile": e.profile,
                 "endpoint": e.endpoint, "endpoint_type": e.endpoint_type, **{
                     k: changed[e.label]["from"][k] for k in ("status", "priority")}}
                for e in stack.plan.dns.traffic_manager
            ]
        }  # fmt: skip
        _, root = run_df(stack, mode="failback", restore=restore)
        summary = root.output
        assert summary["mode"] == "failback" and summary["status"] == "Completed", summary["errors"]
        assert [s["name"] for s in summary["steps"]] == [
            "claim", "resolve", "capacity", "approval", "reprotect", "replication health", "failover", "avd", "dns",
            "reprotect again",
        ]  # fmt: skip
        assert records(stack)[("app", "CNAME")] == ["app-weu.contoso.com"]
        endpoints = {e["name"]: e["status"] for e in stack.estate.network.snapshot()["traffic_manager"][0]["endpoints"]}
        assert endpoints["weu"] == "Enabled"
        assert all(p["failover_calls"] == 2 for p in plans(stack).values())  # one failover, one failback


# ---- parity with the local engine ---------------------------------------------------------------------
TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)?$")
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
LOOPBACK = re.compile(r"https?://127\.0\.0\.1:\d+")  # each stack's simulator listens on its own port
MEASURED = {"rto_seconds", "data_loss_window_seconds"}  # wall-clock durations of this run


def normalise(value: Any, key: str = "") -> Any:
    """A run summary with what differs between two runs of the same plan replaced by placeholders: timestamps
    (each host's clock: when a step, batch or decision happened), measured durations (`rto_seconds`, the wall
    time of this run; `data_loss_window_seconds`, the simulator's clock since its last sync), UUIDs (ASR job
    ids and the like, new per run), the simulator's port in operation URLs, and the last-sync time in the
    storage account's note. Structure, counts, states, names, VM numbers, errors, DNS values and the order of
    steps and batches are kept: those must not depend on the host."""
    if isinstance(value, dict):
        return {k: normalise(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [normalise(v, key) for v in value]
    if key in MEASURED and isinstance(value, int | float):
        return "<seconds>"
    if isinstance(value, str):
        if TIMESTAMP.match(value):
            return "<time>"
        value = LOOPBACK.sub("<simulator>", UUID.sub("<uuid>", value))
        return re.sub(r"last sync [^:]+:\d\d:\d\d[^ )]*", "last sync <time>", value)
    return value


def run_local(stack: LocalStack, instance_id: str, run_input: dict[str, Any]) -> dict[str, Any]:
    """The same run input on the local engine (durabletask), approved with the nonce its status shows."""
    client = stack.engine.client

    async def start_and_approve() -> None:
        await client.start_new("failover_orchestrator", instance_id, run_input)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            status = await client.get_status(instance_id)
            gate = (status.custom_status or {}).get("approval") or {}
            if gate.get("waiting") and gate.get("nonce") and stack.estate.teams_messages:
                decision = {"decision": "approve", "approver": A, "nonce": gate["nonce"], "request_id": "r-1"}
                await client.raise_event(instance_id, "approval", decision)
                return
            await asyncio.sleep(0.05)

    asyncio.run(start_and_approve())
    return dict(client.wait_for_completion(instance_id, timeout=90).output)


class TestParity:
    def test_local_engine_and_df_executor_agree(self, make_stack: Any) -> None:
        """The same plan on durabletask and on the df executor: equal summaries but for times, durations, ids."""
        local = make_stack(vms=30, sessions=6)
        run_input = build_run_input(local.plan, trigger=TRIGGER, time_scale=SCALE)
        on_local = run_local(local, "failover-demo", copy.deepcopy(run_input))
        azure = make_stack(vms=30, sessions=6)
        _, root = run_df(azure)
        assert on_local["status"] == "Completed", on_local["errors"]
        df_summary, local_summary = normalise(root.output), normalise(on_local)
        for key in df_summary.keys() | local_summary.keys():
            assert df_summary.get(key) == local_summary.get(key), key
        assert plans(azure).keys() == plans(local).keys()


# ---- the custom status limit ----------------------------------------------------------------------------
class TestCustomStatusSize:
    def test_fifty_alert_notifications(self, make_stack: Any) -> None:
        """50 alert notifications attach to a run awaiting approval: its custom status stays under 16 KB."""
        stack = make_stack(vms=10, sessions=2)
        sent: list[int] = []

        def script(waiting: Waiting) -> list[tuple[str, Any]]:
            if "approval" not in waiting.events or not card_nonce(waiting):
                return []
            if len(sent) < 50:
                sent.append(len(sent))
                alert = {**TRIGGER, "alert_id": f"{TRIGGER['alert_id']}-copy-{len(sent)}"}
                return [("control", {"action": "trigger", "trigger": alert})]
            if waiting.status.get("triggers_total") != 51:  # the run has not read every copy yet (a loaded host)
                return []
            return [("approval", {"decision": "reject", "approver": A, "nonce": card_nonce(waiting), "comment": "x"})]

        driver = Driver(script, timeout=60)
        run_input = build_run_input(stack.plan, trigger=TRIGGER, time_scale=SCALE)
        try:
            root = driver.run("failover_orchestrator", "failover-demo", run_input)
        except LimitExceeded as err:
            pytest.fail(f"custom status over the limit: {err}")
        assert root.output["status"] == "Rejected" and len(root.output["triggers"]) == 51  # the summary keeps all
        status = root.custom_status
        assert status["triggers_total"] == 51 and status["triggers"][0]["alert_id"] == TRIGGER["alert_id"]
        assert root.max_status_bytes <= CUSTOM_STATUS_LIMIT

    def test_ten_thousand_vm_plan(self) -> None:
        """A 10,000-VM plan's status with every batch done (RunState built directly, no run) fits in 16 KB."""
        from orchestrations.run_state import Run

        class Context:
            instance_id, is_replaying, status = "failover-demo", False, None
            current_utc_datetime = parse_iso("2026-11-23T02:15:00Z")

            def set_custom_status(self, status: Any) -> None:
                self.status = status

        plan = load_plan(DEMO_PLAN)
        sizes = [("identity", "rp-identity", 1, 40), ("data", "rp-data", 20, 48), ("apps", "rp-apps", 180, 50)]
        resolved = {
            "groups": [
                {"name": g, "recovery_plans": [{"name": f"{p}-{i:03}" if n > 1 else p, "vms": v} for i in range(n)]}
                for g, p, n, v in sizes
            ],
            "unmatched": [],
        }
        context = Context()
        run = Run(context, plan, build_run_input(plan, trigger=TRIGGER))
        run.batches = [b.to_dict() for b in plan_batches(groups_from_resolved(resolved, plan.asr.vault), 100)]
        assert sum(b["vms"] for b in run.batches) == 10_000
        run.publish_status("awaiting approval")  # every batch pending
        assert status_bytes(context.status) <= CUSTOM_STATUS_LIMIT
        pending = context.status
        assert len(pending["batches"]) < len(run.batches) and pending["batches"][0]["index"] == 1
        assert sum(g["batches"] for g in pending["batch_groups"]) == len(run.batches)
        assert sum(g["vms"] for g in pending["batch_groups"]) == 10_000
        run.batches_started = 3  # two done, one failed, one running: the rows that matter are listed
        for b in run.batches[:2]:
            run.batch_results[b["index"]] = {**b, "recovery_plans": [p["name"] for p in b["recovery_plans"]],
                                             "status": "Succeeded", "plans": []}  # fmt: skip
        run.batch_results[run.batches[2]["index"]] = {
            **run.batches[2], "recovery_plans": [p["name"] for p in run.batches[2]["recovery_plans"]],
            "status": "Failed", "plans": [{"name": p["name"], "vms": p["vms"], "state": "Failed"}
                                          for p in run.batches[2]["recovery_plans"]],
        }  # fmt: skip
        run.batches_started = 4
        run.publish_status("failing over")
        middle = {r["index"]: r["status"] for r in context.status["batches"]}
        assert middle[run.batches[2]["index"]] == "Failed" and middle[run.batches[3]["index"]] == "Running"
        assert run.batches[4]["index"] in middle and middle[run.batches[4]["index"]] == "Pending"
        groups = {g["group"]: g for g in context.status["batch_groups"]}
        assert sum(g["done"] for g in groups.values()) == 3 and sum(g["failed"] for g in groups.values()) == 1
        for b in run.batches:
            run.batch_results[b["index"]] = {
                **b,
                "recovery_plans": [p["name"] for p in b["recovery_plans"]],
                "status": "Succeeded",
                "plans": [{**p, "job": str(b["index"]), "action": "started", "state": "Succeeded", "errors": []}
                          for p in b["recovery_plans"]],
            }  # fmt: skip
        run.publish_status("failing over")
        assert status_bytes(context.status) <= CUSTOM_STATUS_LIMIT
