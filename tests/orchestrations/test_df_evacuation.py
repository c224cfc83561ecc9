"""The evacuation (issue 23) on azure-functions-durable's replay executor (the Azure host's path): one approval,
then each plan a child run (a `failover_orchestrator` sub-orchestration with its own batches), tier by tier.
Judged by the simulator's jobs and the child runs' own outputs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from failover.contracts.run import EvacuationInput
from failover.plan import load_plan
from local.stack import LocalStack
from tests.e2e.test_evacuation import plan_files
from tests.orchestrations.df_driver import Driver
from tests.orchestrations.test_df_runs import SCALE, TRIGGER, approve, resolutions_while_the_card_waits


def test_evacuation_on_the_df_executor(tmp_path: Path) -> None:
    identity_path, apps_path = plan_files(tmp_path)
    with LocalStack(plan_path=identity_path, extra_plans=[apps_path], vms=60, sessions=4, time_scale=SCALE) as stack:
        plans = [load_plan(identity_path), load_plan(apps_path)]
        spec = EvacuationInput(region="westeurope", plans=plans, time_scale=SCALE, in_flight_cap=100)
        cards: list[Any] = []

        def script(waiting: Any) -> list[tuple[str, Any]]:
            cards.extend(c for c in waiting.calls if c.name == "teams_post_approval_card" and c not in cards)
            return approve(waiting)

        driver = Driver(script, timeout=120)
        root = driver.run("evacuation_orchestrator", "evacuation-westeurope-test", spec)
        assert root.runtime_status == "Completed", root.error
        output = root.output
        assert output["status"] == "Completed", output["errors"]
        rows = {row["plan"]: row for row in output["plans"]}
        assert rows["identity"]["run_id"] == "evacuation-westeurope-test:identity"
        assert rows["identity"]["status"] == rows["apps"]["status"] == "Completed"
        assert len(cards) == 1  # the plans' runs posted no card of their own
        snapshot = stack.estate.snapshot()
        identity_end = max(j["ended_at"] for j in snapshot["jobs"] if j["plan"] == "rp-identity")
        apps = [j for j in snapshot["jobs"] if j["plan"] != "rp-identity" and j["scenario"] == "UnplannedFailover"]
        assert apps and all(j["started_at"] >= identity_end for j in apps)
        assert all(p["state"] == "Committed" for p in snapshot["recovery_plans"])


def test_the_incidents_resolution_cancels_the_evacuation_awaiting_approval_on_the_df_executor(tmp_path: Path) -> None:
    """Another incident's Resolved notice is recorded; the notice of the incident that started the evacuation
    cancels it while its card waits: no plan's run starts, the simulator fails nothing over."""
    identity_path, apps_path = plan_files(tmp_path)
    with LocalStack(plan_path=identity_path, extra_plans=[apps_path], vms=60, sessions=4, time_scale=SCALE) as stack:
        plans = [load_plan(identity_path), load_plan(apps_path)]
        spec = EvacuationInput(region="westeurope", plans=plans, time_scale=SCALE, in_flight_cap=100, trigger=TRIGGER)
        sent: list[str] = []
        driver = Driver(resolutions_while_the_card_waits(sent), timeout=120)
        root = driver.run("evacuation_orchestrator", "evacuation-westeurope-resolved", spec)
        assert root.runtime_status == "Completed", root.error
        output = root.output
        assert sent == ["other", "mine"]
        assert output["status"] == "Cancelled" and output["cancel"]["by"] == "alert", output
        assert output["resolved"]["incident_key"] == TRIGGER["incident_key"]
        assert all(row["run_id"] is None for row in output["plans"])
        assert not stack.estate.snapshot()["jobs"]
