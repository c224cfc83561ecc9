"""ASR drills and failback in the simulator: test failover, cleanup, reprotect, failover RecoveryToPrimary.

Shapes are compared with Microsoft's REST examples (`tests/reference/rest-examples/asr`): every key of the example's
final recovery plan is present with the same JSON type. The state machine is driven over HTTPS as the
SDK would drive it; jobs are finished early by moving their due time, as in the other simulator tests.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
import requests

from simulator import Estate, EstateConfig, Simulator, seed_demo_estate
from simulator.estate import DEMO_ASR_RG, DEMO_VAULT
from tests.conftest import REFERENCE

VAULT = (
    "/subscriptions/5d3c0f34-7a2b-4e53-9d0e-1f2a3b4c5d6e/resourceGroups/rg-dr-neu/providers/"
    "Microsoft.RecoveryServices/vaults/rsv-dr-neu"
)
PLAN = VAULT + "/replicationRecoveryPlans/rp-identity"
ITEMS = VAULT + "/replicationProtectedItems"
AUTH = {"Authorization": "Bearer sim"}
VNET = (
    "/subscriptions/5d3c0f34-7a2b-4e53-9d0e-1f2a3b4c5d6e/resourceGroups/rg-network-neu/providers/"
    "Microsoft.Network/virtualNetworks/vnet-drill-neu"
)
A2A = [{"instanceType": "A2A", "recoveryPointType": "Latest"}]
EXAMPLES = REFERENCE / "rest-examples" / "asr"
DC_VMS = [f"vm-dc-{n:04d}" for n in range(1, 5)]  # rp-identity's VMs
PROTECTED_ITEM_OPERATIONS = ["PlannedFailover", "UnplannedFailover", "DisableProtection", "TestFailover"]


def example(name: str) -> dict[str, Any]:
    return json.loads((EXAMPLES / f"ReplicationRecoveryPlans_{name}.json").read_text())


def as_a2a(body: dict[str, Any]) -> dict[str, Any]:
    """A REST example's failover input (Hyper-V to Azure) for an A2A plan: the same body with the A2A provider entry."""
    return {"properties": {**body["properties"], "providerSpecificDetails": A2A}}


def drill_body(direction: str = "PrimaryToRecovery", **overrides: Any) -> dict[str, Any]:
    props: dict[str, Any] = {"failoverDirection": direction, "networkType": "VmNetworkAsInput", "networkId": VNET}
    props["providerSpecificDetails"] = A2A
    props.update(overrides)
    return {"properties": {k: v for k, v in props.items() if v is not None}}


def failover_body(direction: str = "PrimaryToRecovery") -> dict[str, Any]:
    """A planned or unplanned failover's input (`sourceSiteOperations` is required by unplannedFailover)."""
    props = {"failoverDirection": direction, "sourceSiteOperations": "NotRequired", "providerSpecificDetails": A2A}
    return {"properties": props}


def start(config: EstateConfig | None = None) -> Simulator:
    return Simulator(seed_demo_estate(Estate(config or EstateConfig(time_scale=1)), vms=10, sessions=2)).start()


@pytest.fixture
def sim() -> Iterator[Simulator]:
    running = start()
    yield running
    running.stop()


def call(sim: Simulator, method: str, path: str, body: dict[str, Any] | None = None) -> requests.Response:
    return requests.request(
        method,
        sim.url + path if path.startswith("/") else path,
        params={"api-version": "2025-08-01"} if path.startswith("/") else None,
        json=body,
        headers=AUTH,
        verify=sim.ca_bundle,
        timeout=10,
    )


def post(sim: Simulator, op: str, body: dict[str, Any] | None = None, plan: str = PLAN) -> requests.Response:
    return call(sim, "POST", f"{plan}/{op}", body)


def plan_props(sim: Simulator, plan: str = PLAN) -> dict[str, Any]:
    return call(sim, "GET", plan).json()["properties"]


def snapshot_plan(sim: Simulator, name: str = "rp-identity") -> dict[str, Any]:
    return next(p for p in sim.estate.snapshot()["recovery_plans"] if p["name"] == name)


def items(sim: Simulator) -> dict[str, dict[str, Any]]:
    answer = call(sim, "GET", ITEMS).json()
    found = list(answer["value"])
    while answer.get("nextLink"):
        answer = call(sim, "GET", answer["nextLink"]).json()
        found += answer["value"]
    return {item["name"]: item["properties"] for item in found}


def dc_items(sim: Simulator) -> list[dict[str, Any]]:
    all_items = items(sim)
    return [all_items[name] for name in DC_VMS]


def accepted(answer: requests.Response) -> None:
    assert answer.status_code == 202, answer.text
    assert "/replicationOperationStatus/" in answer.headers["Azure-AsyncOperation"]
    assert answer.headers["Location"] and answer.headers["Retry-After"] == "30"


def error(answer: requests.Response, status: int, code: str) -> dict[str, Any]:
    assert answer.status_code == status, answer.text
    err = answer.json()["error"]
    assert err["code"] == code and err["message"]
    return err


def json_type(value: Any) -> str:
    return {dict: "object", list: "array", str: "string", bool: "boolean", type(None): "null"}.get(
        type(value), "number"
    )


def shape_differences(example: Any, ours: Any, path: str = "") -> list[str]:
    """Keys of the example (recursively, through objects and the first list element) that ours lacks or
    holds with another JSON type."""
    if json_type(example) != json_type(ours):
        return [f"{path or '.'}: {json_type(example)} in the example, {json_type(ours)} here"]
    if isinstance(example, dict):
        out = []
        for key, value in example.items():
            if key not in ours:
                out.append(f"{path}.{key}: missing")
            else:
                out += shape_differences(value, ours[key], f"{path}.{key}")
        return out
    if isinstance(example, list) and example and ours:
        return shape_differences(example[0], ours[0], f"{path}[0]")
    return []


def assert_shape(sim: Simulator, name: str) -> dict[str, Any]:
    ours = call(sim, "GET", PLAN).json()
    assert shape_differences(example(name)["responses"]["200"]["body"], ours) == []
    return ours["properties"]


class TestShapes:
    def test_routes_answer_like_the_rest_examples(self, sim: Simulator) -> None:
        """A full tour, so that each example's plan (which has seen earlier failovers) can be compared."""
        # failover, commit, reprotect, failback, commit, reprotect: back where it started, with history
        for op, body in (
            ("plannedFailover", failover_body()),
            ("failoverCommit", None),
            ("reProtect", None),
            ("plannedFailover", failover_body("RecoveryToPrimary")),
            ("failoverCommit", None),
            ("reProtect", None),
        ):
            accepted(post(sim, op, body))
            sim.estate.finish_running_jobs()
        assert snapshot_plan(sim)["state"] == "Protected"

        # the test failover example's own request body, its Hyper-V provider entry replaced by the A2A one this plan
        # replicates with (a HyperVReplicaAzure entry is refused: tests/simulator/test_hyperv.py)
        started = post(sim, "testFailover", as_a2a(example("TestFailover")["parameters"]["input"]))
        accepted(started)
        status = call(sim, "GET", started.headers["Azure-AsyncOperation"]).json()
        assert status["status"] == "InProgress"
        sim.estate.finish_running_jobs()
        assert call(sim, "GET", started.headers["Azure-AsyncOperation"]).json()["status"] == "Succeeded"
        props = assert_shape(sim, "TestFailover")
        assert props["allowedOperations"] == ["TestFailoverCleanup"]
        assert props["currentScenario"]["scenarioName"] == "TestFailover"
        assert (props["currentScenarioStatus"], props["currentScenarioStatusDescription"]) == (
            "Suspended",
            "WaitingForStopTestFailover",
        )

        accepted(post(sim, "testFailoverCleanup", example("TestFailoverCleanup")["parameters"]["input"]))
        sim.estate.finish_running_jobs()
        props = assert_shape(sim, "TestFailoverCleanup")
        assert props["allowedOperations"] == ["PlannedFailover", "UnplannedFailover", "TestFailover"]
        assert props["currentScenario"]["scenarioName"] == "TestFailoverCleanup"
        assert (props["currentScenarioStatus"], props["currentScenarioStatusDescription"]) == ("Succeeded", "Completed")

        accepted(post(sim, "plannedFailover", as_a2a(example("PlannedFailover")["parameters"]["input"])))
        sim.estate.finish_running_jobs()
        props = assert_shape(sim, "PlannedFailover")
        assert "Commit" in props["allowedOperations"]

        accepted(post(sim, "failoverCommit"))
        sim.estate.finish_running_jobs()
        assert_shape(sim, "FailoverCommit")

        accepted(post(sim, "reProtect"))
        sim.estate.finish_running_jobs()
        props = assert_shape(sim, "Reprotect")
        assert props["allowedOperations"] == ["PlannedFailover", "UnplannedFailover", "TestFailover"]
        assert props["currentScenario"]["scenarioName"] == "ReverseReplication"

    def test_new_jobs_are_asr_jobs(self, sim: Simulator) -> None:
        accepted(post(sim, "testFailover", drill_body()))
        job_id = plan_props(sim)["currentScenario"]["jobId"]
        job = call(sim, "GET", job_id[job_id.index("/Subscriptions") :]).json()
        assert job["properties"]["scenarioName"] == "TestFailover"
        assert job["properties"]["friendlyName"] == "Test failover"
        assert job["properties"]["state"] == "InProgress" and job["properties"]["targetObjectName"] == "rp-identity"
        assert job["properties"]["allowedActions"] == ["Cancel"]
        names = {j["properties"]["scenarioName"] for j in call(sim, "GET", VAULT + "/replicationJobs").json()["value"]}
        assert names == {"TestFailover"}


class TestDrill:
    def test_test_failover_then_cleanup(self, sim: Simulator) -> None:
        accepted(post(sim, "testFailover", drill_body()))
        running = plan_props(sim)
        assert running["allowedOperations"] == [] and running["currentScenarioStatus"] == "InProgress"
        assert snapshot_plan(sim)["state"] == "TestFailoverInProgress"
        assert all(i["testFailoverState"] == "TestFailoverInProgress" for i in dc_items(sim))
        # a second test failover, a failover, a cleanup while the job runs: 409
        error(post(sim, "testFailover", drill_body()), 409, "RecoveryPlanOperationInProgress")
        error(post(sim, "plannedFailover", failover_body()), 409, "RecoveryPlanOperationInProgress")
        error(post(sim, "testFailoverCleanup", {"properties": {}}), 409, "RecoveryPlanOperationInProgress")

        sim.estate.finish_running_jobs()
        assert snapshot_plan(sim)["state"] == "TestFailedOver"
        for item in dc_items(sim):  # the VMs stay on the primary, replicating; a test VM runs
            assert item["activeLocation"] == "Primary" and item["protectionState"] == "Protected"
            assert item["replicationHealth"] == "Normal" and item["providerSpecificDetails"]["rpoInSeconds"]
            assert item["testFailoverState"] == "TestFailoverCompleted"
            assert item["allowedOperations"] == ["TestFailoverCleanup", "DisableProtection"]
            assert item["lastSuccessfulTestFailoverTime"]
            assert item["providerSpecificDetails"]["selectedTfoAzureNetworkId"] == VNET
            assert item["providerSpecificDetails"]["tfoAzureVMName"].endswith("-test")
        err = error(post(sim, "testFailover", drill_body()), 409, "RecoveryPlanTestFailoverCleanupPending")
        assert err["possibleCauses"] and err["recommendedAction"] and "TestFailoverCleanup" in err["message"]
        error(post(sim, "unplannedFailover", failover_body()), 409, "RecoveryPlanTestFailoverCleanupPending")
        error(post(sim, "reProtect"), 409, "RecoveryPlanAlreadyProtected")

        accepted(post(sim, "testFailoverCleanup", {"properties": {"comments": "monthly drill"}}))
        assert snapshot_plan(sim)["state"] == "TestFailoverCleanupInProgress"
        assert all(i["testFailoverState"] == "MarkedForDeletion" for i in dc_items(sim))
        error(post(sim, "testFailoverCleanup", {"properties": {}}), 409, "RecoveryPlanOperationInProgress")
        sim.estate.finish_running_jobs()

        state = snapshot_plan(sim)
        assert state["state"] == "Protected" and state["active_location"] == "Primary"
        assert (state["test_failover_calls"], state["cleanup_calls"], state["failover_calls"]) == (3, 3, 2)
        assert state["test_network_id"] is None and state["last_test_failover_at"]
        assert sim.estate.recovery_plan(DEMO_ASR_RG, DEMO_VAULT, "rp-identity").cleanup_comments == "monthly drill"
        for item in dc_items(sim):
            assert item["testFailoverState"] == "None" and item["testFailoverStateDescription"] == "None"
            assert item["providerSpecificDetails"]["tfoAzureVMName"] is None
            assert "TestFailover" in item["allowedOperations"]
        err = error(post(sim, "testFailoverCleanup", {"properties": {}}), 409, "RecoveryPlanNoTestFailoverToCleanUp")
        assert err["possibleCauses"] and err["recommendedAction"]
        assert snapshot_plan(sim)["cleanup_calls"] == 4  # refused calls count too
        # and a new drill may start
        accepted(post(sim, "testFailover", drill_body()))

    def test_jobs_take_simulated_time(self) -> None:
        sim = start(EstateConfig(time_scale=4, job_base_seconds=100, job_seconds_per_vm=5, cleanup_seconds=40))
        try:
            accepted(post(sim, "testFailover", drill_body()))
            job = sim.estate.jobs[next(iter(sim.estate.jobs))]
            assert job.due_at - job.started_at == timedelta(seconds=(100 + 5 * 4) / 4)
            sim.estate.finish_running_jobs()
            accepted(post(sim, "testFailoverCleanup", {"properties": {}}))
            cleanup = next(j for j in sim.estate.jobs.values() if j.scenario == "TestFailoverCleanup")
            assert cleanup.due_at - cleanup.started_at == timedelta(seconds=10)
            assert call(sim, "GET", PLAN).json()["properties"]["currentScenarioStatus"] == "InProgress"
        finally:
            sim.stop()

    @pytest.mark.parametrize(
        ("body", "needle"),
        [
            ({}, "properties"),
            (drill_body("Sideways"), "failoverDirection"),
            (drill_body(networkType=None), "networkType is required"),
            (drill_body(networkType="SomeNetwork"), "networkType 'SomeNetwork'"),
            (drill_body(networkId=None), "networkId is required when networkType is VmNetworkAsInput"),
            (drill_body(networkId="vnet-drill"), "not the resource id of a virtual network"),
            (drill_body(networkType="LogicalNetworkAsInput", networkId=None), "networkId is required"),
        ],
    )
    def test_bad_test_failover_bodies(self, sim: Simulator, body: dict[str, Any], needle: str) -> None:
        answer = post(sim, "testFailover", body)
        assert answer.status_code == 400 and needle in answer.json()["error"]["message"]
        state = snapshot_plan(sim)
        assert state["state"] == "Protected" and state["test_failover_calls"] == 0 and not sim.estate.jobs

    def test_no_network_needs_no_network_id(self, sim: Simulator) -> None:
        accepted(post(sim, "testFailover", drill_body(networkType="NoNetworkAttachAsInput", networkId=None)))
        assert snapshot_plan(sim)["test_network_id"] is None

    def test_bad_cleanup_bodies(self, sim: Simulator) -> None:
        accepted(post(sim, "testFailover", drill_body()))
        sim.estate.finish_running_jobs()
        assert post(sim, "testFailoverCleanup", {}).status_code == 400
        assert post(sim, "testFailoverCleanup", {"properties": {"comments": 7}}).status_code == 400
        assert snapshot_plan(sim)["state"] == "TestFailedOver"

    def test_failed_test_failover_still_needs_cleanup(self) -> None:
        sim = start(EstateConfig(time_scale=1, failing_plans={"rp-identity": "The test VM could not be created."}))
        try:
            accepted(post(sim, "testFailover", drill_body()))
            sim.estate.finish_running_jobs()
            props = plan_props(sim)
            assert props["currentScenarioStatus"] == "Failed" and props["allowedOperations"] == ["TestFailoverCleanup"]
            job_id = props["currentScenario"]["jobId"]
            job = call(sim, "GET", job_id[job_id.index("/Subscriptions") :]).json()["properties"]
            assert job["state"] == "Failed"
            assert job["errors"][0]["serviceErrorDetails"]["message"] == "The test VM could not be created."
            assert all(i["testFailoverState"] == "TestFailoverFailed" for i in dc_items(sim))
            assert sim.estate.network.heartbeat_rows(DC_VMS, timedelta(minutes=15)) == []
            accepted(post(sim, "testFailoverCleanup", {"properties": {}}))
            sim.estate.finish_running_jobs()
            assert snapshot_plan(sim)["state"] == "Protected"
        finally:
            sim.stop()

    def test_failing_cleanup(self) -> None:
        sim = start(EstateConfig(time_scale=1, failing_cleanups={"rp-identity": "Deleting the test VM failed."}))
        try:
            accepted(post(sim, "testFailover", drill_body()))
            sim.estate.finish_running_jobs()
            accepted(post(sim, "testFailoverCleanup", {"properties": {}}))
            sim.estate.finish_running_jobs()
            props = plan_props(sim)
            assert props["currentScenario"]["scenarioName"] == "TestFailoverCleanup"
            assert props["currentScenarioStatus"] == "Failed" and props["allowedOperations"] == ["TestFailoverCleanup"]
            assert snapshot_plan(sim)["state"] == "TestFailedOver"
            assert all(i["testFailoverState"] == "TestFailoverCompleted" for i in dc_items(sim))
            # the test VMs are still up (and report), and the cleanup may be retried
            assert len(sim.estate.network.heartbeat_rows(DC_VMS, timedelta(minutes=15))) == 4
            accepted(post(sim, "testFailoverCleanup", {"properties": {}}))
            assert snapshot_plan(sim)["cleanup_calls"] == 2
        finally:
            sim.stop()

    def test_test_vms_send_heartbeats_until_cleanup(self, sim: Simulator) -> None:
        window = timedelta(minutes=15)
        assert sim.estate.network.heartbeat_rows(DC_VMS, window) == []
        accepted(post(sim, "testFailover", drill_body()))
        assert sim.estate.network.heartbeat_rows(DC_VMS, window) == []  # not up before the job ends
        sim.estate.finish_running_jobs()
        rows = sim.estate.network.heartbeat_rows([*DC_VMS, "vm-app-0006"], window)
        assert [row[0] for row in rows] == DC_VMS  # only the drill's VMs
        accepted(post(sim, "testFailoverCleanup", {"properties": {}}))
        sim.estate.finish_running_jobs()
        assert sim.estate.network.heartbeat_rows(DC_VMS, window) == []


class TestFailback:
    def test_failover_commit_reprotect_failback_commit_reprotect(self, sim: Simulator) -> None:
        error(post(sim, "plannedFailover", failover_body("RecoveryToPrimary")), 409, "RecoveryPlanNotReprotected")
        error(post(sim, "reProtect"), 409, "RecoveryPlanAlreadyProtected")

        accepted(post(sim, "unplannedFailover", failover_body()))
        sim.estate.finish_running_jobs()
        assert (snapshot_plan(sim)["state"], snapshot_plan(sim)["active_location"]) == ("FailedOver", "Recovery")
        error(post(sim, "reProtect"), 409, "RecoveryPlanFailoverNotCommitted")
        error(post(sim, "testFailover", drill_body()), 409, "RecoveryPlanNotProtected")
        accepted(post(sim, "failoverCommit"))
        sim.estate.finish_running_jobs()
        assert snapshot_plan(sim)["state"] == "Committed"
        error(post(sim, "plannedFailover", failover_body("RecoveryToPrimary")), 409, "RecoveryPlanAlreadyFailedOver")

        accepted(post(sim, "reProtect"))
        assert snapshot_plan(sim)["state"] == "ReprotectInProgress"
        assert plan_props(sim)["currentScenario"]["scenarioName"] == "ReverseReplication"
        error(post(sim, "reProtect"), 409, "RecoveryPlanOperationInProgress")
        sim.estate.finish_running_jobs()
        assert (snapshot_plan(sim)["state"], snapshot_plan(sim)["active_location"]) == ("Reprotected", "Recovery")
        for item in dc_items(sim):  # replicating back: Recovery → Primary
            assert item["activeLocation"] == "Recovery" and item["protectionState"] == "Protected"
            assert item["replicationHealth"] == "Normal" and item["providerSpecificDetails"]["rpoInSeconds"]
            assert "PlannedFailover" in item["allowedOperations"]
        err = error(post(sim, "plannedFailover", failover_body()), 409, "RecoveryPlanAlreadyFailedOver")
        assert "RecoveryToPrimary" in err["recommendedAction"]
        error(post(sim, "reProtect"), 409, "RecoveryPlanAlreadyProtected")

        accepted(post(sim, "plannedFailover", failover_body("RecoveryToPrimary")))  # the failback
        assert snapshot_plan(sim)["state"] == "FailoverInProgress"
        sim.estate.finish_running_jobs()
        assert (snapshot_plan(sim)["state"], snapshot_plan(sim)["active_location"]) == ("FailedOver", "Primary")
        for item in dc_items(sim):
            assert item["activeLocation"] == "Primary"
            assert item["protectionState"] == "PlannedFailoverCommitPendingStatesBegin"
            assert item["replicationHealth"] == "None" and "Commit" in item["allowedOperations"]
        accepted(post(sim, "failoverCommit"))
        sim.estate.finish_running_jobs()
        assert snapshot_plan(sim)["state"] == "Committed"
        assert all(i["protectionState"] == "PlannedFailoverCommitted" for i in dc_items(sim))
        accepted(post(sim, "reProtect"))
        sim.estate.finish_running_jobs()

        state = snapshot_plan(sim)
        assert (state["state"], state["active_location"]) == ("Protected", "Primary")
        assert (state["failover_calls"], state["reprotect_calls"], state["test_failover_calls"]) == (5, 6, 1)
        for item in dc_items(sim):  # back at the start
            assert item["activeLocation"] == "Primary" and item["protectionState"] == "Protected"
            assert item["replicationHealth"] == "Normal"
            assert item["allowedOperations"] == [
                "PlannedFailover",
                "UnplannedFailover",
                "DisableProtection",
                "TestFailover",
            ]
        props = plan_props(sim)
        assert props["lastPlannedFailoverTime"] and props["lastUnplannedFailoverTime"]
        assert "lastTestFailoverTime" not in props  # never test-failed over: ASR leaves it out
        accepted(post(sim, "plannedFailover", failover_body()))  # and it may fail over again

    def test_test_failover_of_a_reprotected_plan_goes_back_to_reprotected(self, sim: Simulator) -> None:
        for op, body in (("plannedFailover", failover_body()), ("failoverCommit", None), ("reProtect", None)):
            accepted(post(sim, op, body))
            sim.estate.finish_running_jobs()
        error(post(sim, "testFailover", drill_body()), 409, "InvalidFailoverDirection")
        accepted(post(sim, "testFailover", drill_body("RecoveryToPrimary")))
        sim.estate.finish_running_jobs()
        assert snapshot_plan(sim)["state"] == "TestFailedOver"
        accepted(post(sim, "testFailoverCleanup", {"properties": {}}))
        sim.estate.finish_running_jobs()
        assert (snapshot_plan(sim)["state"], snapshot_plan(sim)["active_location"]) == ("Reprotected", "Recovery")

    def test_failed_failback_stays_reprotected(self) -> None:
        sim = start(EstateConfig(time_scale=1))
        try:
            for op, body in (("plannedFailover", failover_body()), ("failoverCommit", None), ("reProtect", None)):
                accepted(post(sim, op, body))
                sim.estate.finish_running_jobs()
            sim.estate.config.failing_plans["rp-identity"] = "The primary region cannot host the VMs."
            accepted(post(sim, "plannedFailover", failover_body("RecoveryToPrimary")))
            sim.estate.finish_running_jobs()
            assert (snapshot_plan(sim)["state"], snapshot_plan(sim)["active_location"]) == ("Reprotected", "Recovery")
            for item in dc_items(sim):
                assert item["activeLocation"] == "Recovery" and item["protectionState"] == "PlannedFailoverFailed"
                assert item["replicationHealth"] == "Normal"  # still replicating back
            del sim.estate.config.failing_plans["rp-identity"]
            accepted(post(sim, "plannedFailover", failover_body("RecoveryToPrimary")))
        finally:
            sim.stop()
