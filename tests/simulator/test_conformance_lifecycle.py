"""The ASR state machine, walked over HTTPS through a whole cycle: drill (test failover, cleanup), planned failover,
commit, reprotect, failback, commit, reprotect. At every step the recovery plan's and its protected items' fields
the REST examples show (`allowedOperations`, `currentScenario`, `currentScenarioStatus`, `activeLocation`,
`protectionState`, `replicationHealth`, `testFailoverState`) are compared with what ASR reports at that point, and
the operations the state does not allow are refused with 409 (nothing starts).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from simulator import Estate, EstateConfig, Simulator, seed_demo_estate
from simulator.estate import SUBSCRIPTION_ID
from simulator.faults import ThrottleConfig
from tests.simulator.conformance import arm_error, call, finish_operations, iter_pages

VAULT = (
    f"/subscriptions/{SUBSCRIPTION_ID}/resourceGroups/rg-dr-neu/providers/Microsoft.RecoveryServices/vaults/rsv-dr-neu"
)
PLAN = VAULT + "/replicationRecoveryPlans/rp-identity"
ASR = {"api-version": "2025-08-01"}
A2A = [{"instanceType": "A2A", "recoveryPointType": "Latest"}]
VNET = (
    f"/subscriptions/{SUBSCRIPTION_ID}/resourceGroups/rg-network-neu/providers/Microsoft.Network/virtualNetworks/"
    "vnet-drill-neu"
)
DRILL = {
    "properties": {
        "failoverDirection": "PrimaryToRecovery",
        "networkType": "VmNetworkAsInput",
        "networkId": VNET,
        "providerSpecificDetails": A2A,
    }
}


def failover(direction: str) -> dict[str, Any]:
    return {
        "properties": {
            "failoverDirection": direction,
            "sourceSiteOperations": "NotRequired",
            "providerSpecificDetails": A2A,
        }
    }


REPLICATING = ["PlannedFailover", "UnplannedFailover", "TestFailover"]
ITEM_REPLICATING = ["PlannedFailover", "UnplannedFailover", "DisableProtection", "TestFailover"]

# (plan: allowedOperations, currentScenario.scenarioName, currentScenarioStatus;
#  items: activeLocation, protectionState, replicationHealth, testFailoverState, allowedOperations,
#         currentScenario.scenarioName)
Observed = tuple[list[str], str | None, str | None, str, str, str, str, list[str], str]


@pytest.fixture(scope="module")
def sim() -> Iterator[Simulator]:
    config = EstateConfig(time_scale=1, throttle=ThrottleConfig(enabled=False))
    with Simulator(seed_demo_estate(Estate(config), vms=10, sessions=2)) as running:
        yield running


def observe(sim: Simulator) -> Observed:
    plan = call(sim, "GET", PLAN, params=ASR).json()["properties"]
    ids = {ref["id"] for group in plan["groups"] for ref in group["replicationProtectedItems"]}
    first = call(sim, "GET", VAULT + "/replicationProtectedItems", params=ASR)
    items = [i["properties"] for i in iter_pages(sim, first) if i["id"] in ids]
    assert len(items) == 4
    views = {
        (
            i["activeLocation"],
            i["protectionState"],
            i["replicationHealth"],
            i["testFailoverState"],
            tuple(i["allowedOperations"]),
            i["currentScenario"]["scenarioName"],
        )
        for i in items
    }
    assert len(views) == 1, views  # the plan's items move together
    location, state, health, test_state, allowed, scenario = views.pop()
    current = plan.get("currentScenario") or {}
    if current:
        job = call(sim, "GET", current["jobId"].split("?")[0], params=ASR)
        assert job.status_code == 200 and job.json()["properties"]["scenarioName"] == current["scenarioName"]
    return (
        plan["allowedOperations"],
        current.get("scenarioName"),
        plan.get("currentScenarioStatus"),
        location,
        state,
        health,
        test_state,
        list(allowed),
        scenario,
    )


def post(sim: Simulator, operation: str, body: dict[str, Any] | None = None) -> Any:
    return call(sim, "POST", f"{PLAN}/{operation}", params=ASR, json_body=body)


def refused(sim: Simulator, operation: str, body: dict[str, Any] | None, code: str) -> None:
    jobs = len(sim.estate.jobs)
    answer = post(sim, operation, body)
    assert answer.status_code == 409, answer.text
    assert arm_error(answer)["code"] == code
    assert len(sim.estate.jobs) == jobs


# Each step: the request, then what the plan and items show while its job runs and once it succeeded.
CYCLE: list[tuple[str, dict[str, Any] | None, Observed, Observed]] = [
    (
        "testFailover",
        DRILL,
        (
            [],
            "TestFailover",
            "InProgress",
            "Primary",
            "Protected",
            "Normal",
            "TestFailoverInProgress",
            [],
            "TestFailover",
        ),
        (
            ["TestFailoverCleanup"],
            "TestFailover",
            "Suspended",  # as ReplicationRecoveryPlans_TestFailover: waiting for the cleanup
            "Primary",
            "Protected",
            "Normal",
            "TestFailoverCompleted",
            ["TestFailoverCleanup", "DisableProtection"],
            "None",
        ),
    ),
    (
        "testFailoverCleanup",
        {"properties": {"comments": "monthly drill"}},
        (
            [],
            "TestFailoverCleanup",
            "InProgress",
            "Primary",
            "Protected",
            "Normal",
            "MarkedForDeletion",
            [],
            "TestFailoverCleanup",
        ),
        (
            REPLICATING,
            "TestFailoverCleanup",
            "Succeeded",
            "Primary",
            "Protected",
            "Normal",
            "None",
            ITEM_REPLICATING,
            "None",
        ),
    ),
    (
        "plannedFailover",
        failover("PrimaryToRecovery"),
        ([], "PlannedFailover", "InProgress", "Primary", "Protected", "Normal", "None", [], "PlannedFailover"),
        (
            ["Commit", "ChangePit", "CancelFailover"],
            "PlannedFailover",
            "Succeeded",
            "Recovery",
            "PlannedFailoverCommitPendingStatesBegin",
            "None",  # nothing replicates until reprotect
            "None",
            ["Commit", "ChangePit", "DisableProtection"],
            "None",
        ),
    ),
    (
        "failoverCommit",
        None,
        (
            [],
            "CommitFailover",
            "InProgress",
            "Recovery",
            "PlannedFailoverCommitPendingStatesBegin",
            "None",
            "None",
            [],
            "CommitFailover",
        ),
        (
            ["ReverseReplicate"],
            "CommitFailover",
            "Succeeded",
            "Recovery",
            "PlannedFailoverCommitted",
            "None",
            "None",
            ["ReverseReplicate", "DisableProtection"],
            "None",
        ),
    ),
    (
        "reProtect",
        None,
        (
            [],
            "ReverseReplication",
            "InProgress",
            "Recovery",
            "PlannedFailoverCommitted",
            "None",
            "None",
            [],
            "ReverseReplication",
        ),
        (
            REPLICATING,
            "ReverseReplication",
            "Succeeded",
            "Recovery",
            "Protected",
            "Normal",
            "None",
            ITEM_REPLICATING,
            "None",
        ),
    ),
    (
        "plannedFailover",  # the failback
        failover("RecoveryToPrimary"),
        ([], "PlannedFailover", "InProgress", "Recovery", "Protected", "Normal", "None", [], "PlannedFailover"),
        (
            ["Commit", "ChangePit", "CancelFailover"],
            "PlannedFailover",
            "Succeeded",
            "Primary",
            "PlannedFailoverCommitPendingStatesBegin",
            "None",
            "None",
            ["Commit", "ChangePit", "DisableProtection"],
            "None",
        ),
    ),
    (
        "failoverCommit",
        None,
        (
            [],
            "CommitFailover",
            "InProgress",
            "Primary",
            "PlannedFailoverCommitPendingStatesBegin",
            "None",
            "None",
            [],
            "CommitFailover",
        ),
        (
            ["ReverseReplicate"],
            "CommitFailover",
            "Succeeded",
            "Primary",
            "PlannedFailoverCommitted",
            "None",
            "None",
            ["ReverseReplicate", "DisableProtection"],
            "None",
        ),
    ),
    (
        "reProtect",
        None,
        (
            [],
            "ReverseReplication",
            "InProgress",
            "Primary",
            "PlannedFailoverCommitted",
            "None",
            "None",
            [],
            "ReverseReplication",
        ),
        (
            REPLICATING,
            "ReverseReplication",
            "Succeeded",
            "Primary",
            "Protected",
            "Normal",
            "None",
            ITEM_REPLICATING,
            "None",
        ),
    ),
]
# Operations refused (409) once a step succeeded, with ASR-style codes: the state machine's edges that are not there.
REFUSED_AFTER: dict[int, list[tuple[str, dict[str, Any] | None, str]]] = {
    0: [
        ("plannedFailover", failover("PrimaryToRecovery"), "RecoveryPlanTestFailoverCleanupPending"),
        ("testFailover", DRILL, "RecoveryPlanTestFailoverCleanupPending"),
        ("reProtect", None, "RecoveryPlanAlreadyProtected"),
    ],
    1: [("testFailoverCleanup", {"properties": {}}, "RecoveryPlanNoTestFailoverToCleanUp")],
    2: [
        ("plannedFailover", failover("PrimaryToRecovery"), "RecoveryPlanAlreadyFailedOver"),
        ("unplannedFailover", failover("PrimaryToRecovery"), "RecoveryPlanAlreadyFailedOver"),
        ("reProtect", None, "RecoveryPlanFailoverNotCommitted"),
        ("testFailover", DRILL, "RecoveryPlanNotProtected"),
    ],
    3: [
        ("failoverCommit", None, "OperationNotAllowed"),
        ("plannedFailover", failover("RecoveryToPrimary"), "RecoveryPlanAlreadyFailedOver"),
    ],
    4: [
        ("unplannedFailover", failover("PrimaryToRecovery"), "RecoveryPlanAlreadyFailedOver"),
        ("testFailover", DRILL, "InvalidFailoverDirection"),
        ("reProtect", None, "RecoveryPlanAlreadyProtected"),
    ],
    7: [
        ("plannedFailover", failover("RecoveryToPrimary"), "RecoveryPlanNotReprotected"),
        ("failoverCommit", None, "OperationNotAllowed"),
    ],
}


def test_conformance_recovery_plan_cycle(sim: Simulator) -> None:
    assert observe(sim) == (REPLICATING, None, None, "Primary", "Protected", "Normal", "None", ITEM_REPLICATING, "None")
    refused(sim, "plannedFailover", failover("RecoveryToPrimary"), "RecoveryPlanNotReprotected")
    for index, (operation, body, running, done) in enumerate(CYCLE):
        answer = post(sim, operation, body)
        assert answer.status_code == 202, (index, operation, answer.text)
        assert observe(sim) == running, (index, operation, "running")
        refused(sim, operation, body, "RecoveryPlanOperationInProgress")  # one job at a time
        finish_operations(sim)
        assert observe(sim) == done, (index, operation, "done")
        for refused_operation, refused_body, code in REFUSED_AFTER.get(index, []):
            refused(sim, refused_operation, refused_body, code)
    states = [p for p in sim.estate.snapshot()["recovery_plans"] if p["name"] == "rp-identity"]
    assert states[0]["state"] == "Protected" and states[0]["active_location"] == "Primary"
