"""Issue 20's batch rules on azure-functions-durable's replay executor (the Azure host's path): a hung job is
reported alone while its batch-mates are committed, the in-flight cap, and a leftover test failover cleaned up
before anyone is signed out. Judged by the simulator's state."""

from __future__ import annotations

import json
from typing import Any

from simulator import EstateConfig
from simulator.estate import DEMO_ASR_RG, DEMO_VAULT
from tests.e2e.test_batches import (
    demo_section,
    failover_jobs,
    hung_stack,
    make_stack_asr,
    peak_in_flight,
    sessions_never_log_off,
)
from tests.orchestrations.df_driver import Waiting
from tests.orchestrations.test_df_runs import B, approve, plans, run_df


class TestBatchesOnDf:
    def test_hung_job_reported_alone_batch_mates_committed(self, make_stack: Any) -> None:
        stack = hung_stack(make_stack)
        _, root = run_df(stack)
        summary = root.output
        batch = next(b for b in summary["batches"] if "rp-apps-01" in b["recovery_plans"])
        mates = [n for n in batch["recovery_plans"] if n != "rp-apps-01"]
        results = {p["name"]: p for p in summary["recovery_plans"]}
        assert mates and results["rp-apps-01"]["state"] == "TimedOut"
        for name in mates:
            assert plans(stack)[name]["state"] == "Committed" and results[name]["state"] == "Succeeded"

    def test_in_flight_cap(self, make_stack: Any) -> None:
        config = EstateConfig(time_scale=600.0, job_base_seconds=1500.0, job_seconds_per_vm=0.0)
        stack = make_stack(vms=200, sessions=2, batch_size=60, estate_config=config, asr=make_stack_asr())
        _, root = run_df(stack)
        jobs = failover_jobs(stack)
        assert len(jobs) >= 4 and peak_in_flight(jobs) <= 60
        assert root.output["peak_vms_in_flight"] <= 60

    def test_leftover_test_failover_cleaned_up_before_sign_out(self, make_stack: Any) -> None:
        stack = make_stack(vms=60, sessions=10)
        body = {"properties": {"failoverDirection": "PrimaryToRecovery", "networkType": "NoNetworkAttachAsInput"}}
        stack.estate.start_test_failover(DEMO_ASR_RG, DEMO_VAULT, "rp-identity", body)
        _, root = run_df(stack)
        summary = root.output
        assert summary["status"] == "Completed", summary["errors"]
        assert any("awaits cleanup on rp-identity" in w for w in summary["warnings"])
        assert plans(stack)["rp-identity"]["cleanup_calls"] == 1
        snapshot = stack.estate.snapshot()
        cleanup = next(j for j in snapshot["jobs"] if j["scenario"] == "TestFailoverCleanup")
        assert cleanup["ended_at"] <= min(entry["at"] for entry in snapshot["logged_off"])


class TestSignOutOnDf:
    @staticmethod
    def run_blocked(stack: Any, action: str | None) -> dict[str, Any]:
        sent: list[str] = []

        def script(waiting: Waiting) -> list[tuple[str, Any]]:
            if action and "sign-out" in waiting.status.get("operator", {}).get("blocked", []) and not sent:
                sent.append(action)
                assert sum(p["failover_calls"] for p in plans(stack).values()) == 0  # nothing before the decision
                stack.estate.faults.faults.routes.clear()  # the AVD service recovers
                return [("control", {"action": action, "recovery_plan": "sign-out", "by": B})]
            return approve(waiting)

        _, root = run_df(stack, script=script)
        assert sent == ([action] if action else [])
        return dict(root.output)

    def test_retry_signs_everyone_out_then_fails_over(self, make_stack: Any) -> None:
        stack = make_stack(vms=20, sessions=8, estate_config=sessions_never_log_off(), operator_wait="4h")
        summary = self.run_blocked(stack, "retry")
        assert summary["status"] == "Completed", json.dumps(
            [[s["name"], s["status"], s["started_at"][11:23], s["finished_at"][11:23]] for s in summary["steps"]]
            + [summary["operator"], summary["sessions"]]
        )
        assert stack.estate.sessions_remaining() == 0 and summary["vms_failed_over"] == 20

    def test_nobody_decides_nothing_fails_over(self, make_stack: Any) -> None:
        stack = make_stack(vms=20, sessions=8, estate_config=sessions_never_log_off(), operator_wait="5m")
        summary = self.run_blocked(stack, None)
        assert summary["status"] == "Failed"
        assert sum(p["failover_calls"] for p in plans(stack).values()) == 0


class TestFailedDependencyOnDf:
    def test_force_after_the_friendly_sql_failover_failed(self, make_stack: Any) -> None:
        stack = make_stack(vms=60, sessions=2, operator_wait="4h")
        stack.estate.dependencies.region_down("westeurope")
        sent: list[str] = []

        def script(waiting: Waiting) -> list[tuple[str, Any]]:
            operator = waiting.status.get("operator", {})
            if operator.get("blocked") == ["sql"] and not sent:
                assert operator.get("forceable") == ["sql"]
                assert all(p["failover_calls"] == 0 for n, p in plans(stack).items() if n.startswith("rp-apps"))
                sent.append("force")
                return [("control", {"action": "force", "recovery_plan": "sql", "by": B})]
            return approve(waiting)

        _, root = run_df(stack, script=script)
        summary = root.output
        assert sent == ["force"] and summary["status"] == "Completed", summary["errors"]
        assert [d["status"] for d in summary["dependencies"] if d["name"] == "sql"] == ["Failed", "Succeeded"]
        assert all(p["failover_calls"] == 1 for p in plans(stack).values())


class TestSourceSiteDownOnDf:
    def test_force_fails_a_failed_planned_plan_over_unplanned(self, make_stack: Any) -> None:
        """ASR's source site is down in a planned failover: rp-identity's planned job fails, the operator forces
        it, and it is failed over unplanned in a new batch (simulator.outage, `asr` only)."""
        from simulator.outage import Outage

        stack = make_stack(vms=20, sessions=2, operator_wait="4h", groups=demo_section("groups")[:1], dependencies=[])
        stack.estate.set_outage(Outage("westeurope", services=frozenset({"asr"})))
        sent: list[str] = []

        def script(waiting: Waiting) -> list[tuple[str, Any]]:
            operator = waiting.status.get("operator", {})
            if operator.get("blocked") == ["rp-identity"] and not sent:
                assert operator.get("forceable") == ["rp-identity"]
                sent.append("force")
                return [("control", {"action": "force", "recovery_plan": "rp-identity", "by": B})]
            return approve(waiting)

        _, root = run_df(stack, script=script, mode="planned")
        summary = root.output
        assert sent == ["force"] and summary["status"] == "Completed", summary["errors"]
        jobs = [(j["scenario"], j["state"]) for j in failover_jobs(stack)]
        assert jobs == [("PlannedFailover", "Failed"), ("UnplannedFailover", "Succeeded")]
        assert plans(stack)["rp-identity"]["state"] == "Committed"


class TestDrillCleanupOnDf:
    def test_cleanup_only_drill(self, make_stack: Any) -> None:
        stack = make_stack(vms=30, sessions=2)
        body = {"properties": {"failoverDirection": "PrimaryToRecovery", "networkType": "NoNetworkAttachAsInput"}}
        stack.estate.start_test_failover(DEMO_ASR_RG, DEMO_VAULT, "rp-identity", body)
        _, root = run_df(stack, script=lambda waiting: [], mode="test", cleanup_only=True)
        summary = root.output
        assert summary["status"] == "Completed" and summary["cleanup"] == "done", summary["errors"]
        assert plans(stack)["rp-identity"]["cleanup_calls"] == 1
        assert all(
            p["failover_calls"] == 0 and p["cleanup_calls"] == (n == "rp-identity") for n, p in plans(stack).items()
        )
