"""Errors like Azure's: 404 codes for unknown resources, 409 for an operation the current state does not allow
(never a silent success), 429 with Retry-After from ARM's token buckets, ARM's asynchronous operation status
bodies (InProgress, then Succeeded or Failed with `error`), and the request-id headers on every answer.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator

import pytest
import requests

from simulator import Estate, EstateConfig, Simulator, seed_demo_estate
from simulator.dependencies import DependencyConfig
from simulator.estate import SUBSCRIPTION_ID
from simulator.faults import Bucket, ThrottleConfig
from simulator.network import DEMO_WORKSPACE_ID
from tests.simulator.conformance import arm_error, call, finish_operations

SUB = f"/subscriptions/{SUBSCRIPTION_ID}"
VAULT = f"{SUB}/resourceGroups/rg-dr-neu/providers/Microsoft.RecoveryServices/vaults/rsv-dr-neu"
PLANS = VAULT + "/replicationRecoveryPlans"
CONTAINER = (
    VAULT + "/replicationFabrics/asr-a2a-default-westeurope/replicationProtectionContainers/"
    "asr-a2a-default-westeurope-container"
)
POOL = f"{SUB}/resourceGroups/rg-avd-weu/providers/Microsoft.DesktopVirtualization/hostPools/hp-weu-pooled"
ZONE = f"{SUB}/resourceGroups/rg-dns-global/providers/Microsoft.Network/dnszones/contoso.com"
PROFILE = f"{SUB}/resourceGroups/rg-dns-global/providers/Microsoft.Network/trafficmanagerprofiles/tm-contoso-app"
FG = f"{SUB}/resourceGroups/rg-data-neu/providers/Microsoft.Sql/servers/sql-contoso-neu/failoverGroups/fg-contoso"
ACCOUNT = f"{SUB}/resourceGroups/rg-avd-weu/providers/Microsoft.Storage/storageAccounts/stcontosofslogix"
VM = f"{SUB}/resourceGroups/rg-avd-neu/providers/Microsoft.Compute/virtualMachines/vm-avd-neu-0"
ASR = {"api-version": "2025-08-01"}
COMPUTE = {"api-version": "2025-04-01"}
FAILOVER = {
    "properties": {
        "failoverDirection": "PrimaryToRecovery",
        "sourceSiteOperations": "NotRequired",
        "providerSpecificDetails": [{"instanceType": "A2A", "recoveryPointType": "Latest"}],
    }
}


def start(config: EstateConfig) -> Simulator:
    return Simulator(seed_demo_estate(Estate(config), vms=12, sessions=6)).start()


@pytest.fixture(scope="module")
def sim() -> Iterator[Simulator]:
    running = start(
        EstateConfig(
            time_scale=1,
            throttle=ThrottleConfig(enabled=False),
            failing_plans={"rp-data-01": "The recovery VM could not be created: quota exceeded."},
            dependencies=DependencyConfig(failing={"vm-avd-neu-3": "Allocation failed: no capacity in the zone."}),
        )
    )
    yield running
    running.stop()


UNKNOWN = [
    (
        "host pool",
        f"{SUB}/resourceGroups/rg-avd-weu/providers/Microsoft.DesktopVirtualization/hostPools/hp-x",
        "hostPoolDoesNotExist",
    ),
    ("session host", POOL + "/sessionHosts/sh-x.contoso.local", "ResourceNotFound"),
    ("user session", POOL + "/sessionHosts/sh-weu-001.contoso.local/userSessions/999", "ResourceNotFound"),
    ("recovery plan", PLANS + "/rp-x", "ReplicationRecoveryPlanNotFound"),
    ("recovery plan operation", PLANS + "/rp-x/failoverCommit", "ReplicationRecoveryPlanNotFound"),
    ("replication job", VAULT + "/replicationJobs/00000000-0000-0000-0000-000000000000", "ReplicationJobNotFound"),
    ("operation status", VAULT + "/replicationOperationStatus/nope", "ReplicationJobNotFound"),
    ("protected item", CONTAINER + "/replicationProtectedItems/vm-x", "ReplicationProtectedItemNotFound"),
    (
        "fabric",
        VAULT + "/replicationFabrics/x/replicationProtectionContainers/y/replicationProtectedItems",
        "FabricNotFound",
    ),
    ("DNS record set", ZONE + "/CNAME/nope", "NotFound"),
    ("Traffic Manager profile", PROFILE.replace("tm-contoso-app", "tm-x"), "ResourceNotFound"),
    ("Traffic Manager endpoint", PROFILE + "/externalEndpoints/x", "NotFound"),
    ("SQL failover group", FG.replace("fg-contoso", "fg-x"), "ResourceNotFound"),
    ("storage account", ACCOUNT.replace("stcontosofslogix", "stx"), "ResourceNotFound"),
    ("virtual machine", VM.replace("vm-avd-neu-0", "vm-x"), "ResourceNotFound"),
]


@pytest.mark.parametrize(("what", "path", "code"), UNKNOWN, ids=[u[0] for u in UNKNOWN])
def test_conformance_unknown_resource_is_404(sim: Simulator, what: str, path: str, code: str) -> None:
    method = "POST" if path.endswith("/failoverCommit") else "GET"
    answer = call(sim, method, path, params={"api-version": "2025-01-01"})
    assert answer.status_code == 404, answer.text
    assert arm_error(answer)["code"] == code
    assert uuid.UUID(answer.headers["x-ms-request-id"])


def test_conformance_unknown_logs_workspace_is_404(sim: Simulator) -> None:
    answer = call(sim, "POST", "/v1/workspaces/00000000-0000-0000-0000-000000000000/query", json_body={"query": "x"})
    assert answer.status_code == 404
    error = answer.json()["error"]
    assert error["code"] == "WorkspaceNotFoundError" and error["message"]
    assert answer.headers["x-ms-request-id"] == error["correlationId"]


def plan_state(sim: Simulator, name: str) -> str:
    return next(p["state"] for p in sim.estate.snapshot()["recovery_plans"] if p["name"] == name)


def test_conformance_failover_of_a_failed_over_plan_is_409_not_a_success(sim: Simulator) -> None:
    plan = PLANS + "/rp-identity"
    assert call(sim, "POST", plan + "/unplannedFailover", params=ASR, json_body=FAILOVER).status_code == 202
    busy = call(sim, "POST", plan + "/unplannedFailover", params=ASR, json_body=FAILOVER)
    assert busy.status_code == 409 and arm_error(busy)["code"] == "RecoveryPlanOperationInProgress"
    finish_operations(sim)
    jobs = len(sim.estate.jobs)
    again = call(sim, "POST", plan + "/unplannedFailover", params=ASR, json_body=FAILOVER)
    assert again.status_code == 409, again.text
    error = arm_error(again)
    assert error["code"] == "RecoveryPlanAlreadyFailedOver"
    assert error["possibleCauses"] and error["recommendedAction"]  # ASR's error details
    assert len(sim.estate.jobs) == jobs and plan_state(sim, "rp-identity") == "FailedOver"  # nothing started
    reprotect = call(sim, "POST", plan + "/reProtect", params=ASR)  # not committed yet
    assert reprotect.status_code == 409 and arm_error(reprotect)["code"] == "RecoveryPlanFailoverNotCommitted"
    cleanup = call(sim, "POST", plan + "/testFailoverCleanup", params=ASR, json_body={"properties": {}})
    assert cleanup.status_code == 409 and arm_error(cleanup)["code"] == "RecoveryPlanNoTestFailoverToCleanUp"
    assert len(sim.estate.jobs) == jobs


def test_conformance_second_dependency_failover_is_409(sim: Simulator) -> None:
    for path, version in ((FG + "/failover", "2025-01-01"), (ACCOUNT + "/failover", "2025-06-01")):
        first = call(sim, "POST", path, params={"api-version": version})
        assert first.status_code == 202, first.text
        second = call(sim, "POST", path, params={"api-version": version})
        assert second.status_code == 409, second.text
        arm_error(second)
    finish_operations(sim)


def test_conformance_throttled_request_is_429_with_retry_after() -> None:
    # refilled one token a second: the third read comes before a refill even on a loaded machine
    sim = start(EstateConfig(time_scale=1, throttle=ThrottleConfig(reads=Bucket(2, 1))))
    try:
        answers = [call(sim, "GET", PLANS, params=ASR) for _ in range(3)]
        assert [a.status_code for a in answers] == [200, 200, 429]
        throttled = answers[2]
        assert arm_error(throttled)["code"] == "SubscriptionRequestsThrottled"
        assert throttled.headers["Retry-After"].isdigit() and int(throttled.headers["Retry-After"]) >= 1
        assert throttled.headers["x-ms-ratelimit-remaining-subscription-reads"] == "0"
        assert answers[0].headers["x-ms-ratelimit-remaining-subscription-reads"] == "1"
        assert uuid.UUID(throttled.headers["x-ms-request-id"])
        time.sleep(1.1)  # the bucket refills a token a second
        assert call(sim, "GET", PLANS, params=ASR).status_code == 200
        writes = call(sim, "POST", PLANS + "/rp-identity/failoverCommit", params=ASR)
        assert writes.status_code == 409  # another bucket: writes are not throttled by reads
    finally:
        sim.stop()


def test_conformance_asr_operation_status_in_progress_then_failed_with_error(sim: Simulator) -> None:
    started = call(sim, "POST", PLANS + "/rp-data-01/unplannedFailover", params=ASR, json_body=FAILOVER)
    assert started.status_code == 202
    status_url, location = started.headers["Azure-AsyncOperation"], started.headers["Location"]
    running = call(sim, "GET", status_url).json()
    assert running["status"] == "InProgress" and running["endTime"] is None and "error" not in running
    pending = call(sim, "GET", location)
    assert pending.status_code == 202 and pending.headers["Retry-After"] == "30"
    finish_operations(sim)
    failed = call(sim, "GET", status_url).json()
    assert failed["status"] == "Failed" and failed["endTime"]
    assert set(failed["error"]) == {"code", "message"} and "quota exceeded" in failed["error"]["message"]
    final = call(sim, "GET", location)
    assert final.status_code == 400 and arm_error(final)["message"] == failed["error"]["message"]
    assert plan_state(sim, "rp-data-01") == "Protected"  # a failed failover leaves the plan where it was


def test_conformance_asr_operation_status_succeeded(sim: Simulator) -> None:
    started = call(sim, "POST", PLANS + "/rp-apps-01/testFailover", params=ASR, json_body=_drill())
    assert started.status_code == 202
    finish_operations(sim)
    done = call(sim, "GET", started.headers["Azure-AsyncOperation"]).json()
    assert done["status"] == "Succeeded" and "error" not in done
    assert done["name"] == started.headers["Azure-AsyncOperation"].split("?")[0].rsplit("/", 1)[-1]
    plan = call(sim, "GET", started.headers["Location"])
    assert plan.status_code == 200 and plan.json()["name"] == "rp-apps-01"


def _drill() -> dict[str, object]:
    vnet = f"{SUB}/resourceGroups/rg-network-neu/providers/Microsoft.Network/virtualNetworks/vnet-drill"
    return {
        "properties": {
            "failoverDirection": "PrimaryToRecovery",
            "networkType": "VmNetworkAsInput",
            "networkId": vnet,
            "providerSpecificDetails": [{"instanceType": "A2A", "recoveryPointType": "Latest"}],
        }
    }


def test_conformance_vm_start_operation_status_failed_with_error(sim: Simulator) -> None:
    vm = VM.replace("vm-avd-neu-0", "vm-avd-neu-3")
    started = call(sim, "POST", vm + "/start", params={"api-version": "2025-04-01"})
    assert started.status_code == 202
    status_url = started.headers["Azure-AsyncOperation"]
    assert call(sim, "GET", status_url).json()["status"] == "InProgress"
    finish_operations(sim)
    failed = call(sim, "GET", status_url).json()
    assert failed["status"] == "Failed" and "no capacity" in failed["error"]["message"] and failed["error"]["code"]
    final = call(sim, "GET", started.headers["Location"])
    assert final.status_code >= 400 and "no capacity" in arm_error(final)["message"]


def test_conformance_request_ids_on_every_arm_answer(sim: Simulator) -> None:
    correlation = str(uuid.uuid4())
    headers = {"x-ms-correlation-request-id": correlation}
    answers = {
        "200": call(sim, "GET", PLANS + "/rp-apps-01", params=ASR, headers=headers),
        "202": call(sim, "POST", VM.replace("neu-0", "neu-2") + "/start", params=COMPUTE, headers=headers),
        "400": call(sim, "POST", PLANS + "/rp-apps-01/plannedFailover", params=ASR, json_body={}, headers=headers),
        "404": call(sim, "GET", PLANS + "/rp-x", params=ASR, headers=headers),
        "409": call(sim, "POST", PLANS + "/rp-apps-01/failoverCommit", params=ASR, headers=headers),
    }
    ids = set()
    for status, answer in answers.items():
        assert str(answer.status_code) == status, answer.text
        ids.add(str(uuid.UUID(answer.headers["x-ms-request-id"])))
        assert answer.headers["x-ms-correlation-request-id"] == correlation  # ARM echoes the caller's
    assert len(ids) == len(answers)  # one id per request
    fresh = call(sim, "GET", PLANS + "/rp-apps-01", params=ASR)
    assert uuid.UUID(fresh.headers["x-ms-correlation-request-id"])  # none sent: ARM makes one
    finish_operations(sim)


def test_conformance_request_ids_on_logs_answers(sim: Simulator) -> None:
    path = f"/v1/workspaces/{DEMO_WORKSPACE_ID}/query"
    for body, status in (({"query": "Usage | take 10"}, 400), ({}, 400)):
        answer = call(sim, "POST", path, json_body=body)
        assert answer.status_code == status
        assert answer.headers["x-ms-request-id"] == answer.json()["error"]["correlationId"]
        assert answer.headers["x-ms-correlation-request-id"] == answer.headers["x-ms-request-id"]
    keyless = requests.post(sim.url + path, json={"query": "x"}, verify=sim.ca_bundle, timeout=10)
    assert keyless.status_code == 401 and keyless.json()["error"]["code"] == "AuthenticationFailed"
