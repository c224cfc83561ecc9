"""Replication protected items: Azure's JSON shape, vault-wide paging, health knobs, and the failover lifecycle."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from azure.mgmt.recoveryservicessiterecovery import models

from simulator import Estate, EstateConfig, Simulator, seed_demo_estate
from tests.conftest import REFERENCE

VAULT = (
    "/subscriptions/5d3c0f34-7a2b-4e53-9d0e-1f2a3b4c5d6e/resourceGroups/rg-dr-neu/providers/"
    "Microsoft.RecoveryServices/vaults/rsv-dr-neu"
)
ITEMS = VAULT + "/replicationProtectedItems"
CONTAINER = (
    VAULT + "/replicationFabrics/asr-a2a-default-westeurope/replicationProtectionContainers/"
    "asr-a2a-default-westeurope-container"
)
AUTH = {"Authorization": "Bearer sim"}
BODY = {
    "properties": {
        "failoverDirection": "PrimaryToRecovery",
        "sourceSiteOperations": "NotRequired",  # required by unplannedFailover, ignored by plannedFailover
        "providerSpecificDetails": [{"instanceType": "A2A", "recoveryPointType": "Latest"}],
    }
}
EXAMPLE = json.loads((REFERENCE / "rest-examples" / "asr" / "ReplicationProtectedItems_List.json").read_text())


def start(config: EstateConfig) -> Simulator:
    return Simulator(seed_demo_estate(Estate(config), vms=10, sessions=2)).start()


@pytest.fixture
def sim() -> Iterator[Simulator]:
    running = start(
        EstateConfig(
            time_scale=1,
            unhealthy_items=("vm-app-0007",),
            warning_items=("vm-sql-0005",),
            rpo_seconds={"vm-app-0008": 600},
            protected_items_page_size=4,
        )
    )
    yield running
    running.stop()


def get(sim: Simulator, path: str, **params: str) -> requests.Response:
    return requests.get(
        sim.url + path, params={"api-version": "2025-08-01", **params}, headers=AUTH, verify=sim.ca_bundle, timeout=10
    )


def all_items(sim: Simulator, path: str = ITEMS) -> tuple[list[dict[str, Any]], int]:
    """Follow nextLink like the SDK does; returns (items, pages)."""
    answer = get(sim, path).json()
    items, pages = list(answer["value"]), 1
    while answer.get("nextLink"):
        answer = requests.get(answer["nextLink"], headers=AUTH, verify=sim.ca_bundle, timeout=10).json()
        items += answer["value"]
        pages += 1
    return items, pages


def by_name(sim: Simulator) -> dict[str, dict[str, Any]]:
    return {item["name"]: item for item in all_items(sim)[0]}


def rest_names(model: type) -> set[str]:
    """The JSON property names an SDK model knows (its rest fields, inherited ones included)."""
    return {field._rest_name for field in model()._attr_to_rest_field.values()}


def missing_keys(example: Any, ours: Any, path: str = "") -> list[str]:
    """Keys of the example (recursively, through dicts and the first list element) that ours lacks."""
    if isinstance(example, dict):
        if not isinstance(ours, dict):
            return [path or "."]
        out = []
        for key, value in example.items():
            if key not in ours:
                out.append(f"{path}.{key}")
            elif key != "providerSpecificDetails":  # polymorphic: the example is HyperVReplicaAzure, ours A2A
                out += missing_keys(value, ours[key], f"{path}.{key}")
        return out
    if isinstance(example, list) and example and isinstance(example[0], dict):
        return missing_keys(example[0], ours[0] if isinstance(ours, list) and ours else None, f"{path}[0]")
    return []


class TestShape:
    def test_has_every_key_of_the_rest_example(self, sim: Simulator) -> None:
        example = EXAMPLE["responses"]["200"]["body"]["value"][0]
        ours = by_name(sim)
        assert missing_keys(example, ours["vm-dc-0001"]) == []
        assert missing_keys(example, ours["vm-app-0007"]) == []

    def test_uses_only_keys_the_sdk_models_know(self, sim: Simulator) -> None:
        item = by_name(sim)["vm-app-0007"]  # Critical: has a health error
        assert set(item) <= rest_names(models.ReplicationProtectedItem)
        props = item["properties"]
        assert set(props) <= rest_names(models.ReplicationProtectedItemProperties)
        assert set(props["currentScenario"]) <= rest_names(models.CurrentScenarioDetails)
        assert props["healthErrors"] and set(props["healthErrors"][0]) <= rest_names(models.HealthError)
        details = props["providerSpecificDetails"]
        assert details["instanceType"] == "A2A"
        assert set(details) <= rest_names(models.A2AReplicationDetails)

    def test_ids_match_the_recovery_plans_groups(self, sim: Simulator) -> None:
        items = by_name(sim)
        plan = get(sim, VAULT + "/replicationRecoveryPlans/rp-identity").json()
        refs = [r["id"] for g in plan["properties"]["groups"] for r in g["replicationProtectedItems"]]
        assert refs == [items[f"vm-dc-{n:04d}"]["id"] for n in range(1, 5)]
        assert items["vm-dc-0001"]["type"] == EXAMPLE["responses"]["200"]["body"]["value"][0]["type"]


class TestList:
    def test_vault_list_pages_with_skip_token(self, sim: Simulator) -> None:
        first = get(sim, ITEMS).json()
        assert len(first["value"]) == 4 and "skipToken=4" in first["nextLink"]
        assert first["nextLink"].startswith(sim.url + ITEMS)
        items, pages = all_items(sim)
        assert pages == 3
        assert sorted(i["name"] for i in items) == sorted(
            [f"vm-dc-{n:04d}" for n in range(1, 5)] + ["vm-sql-0005"] + [f"vm-app-{n:04d}" for n in range(6, 11)]
        )

    def test_bad_skip_token(self, sim: Simulator) -> None:
        answer = get(sim, ITEMS, skipToken="FabricId")
        assert answer.status_code == 400 and answer.json()["error"]["code"] == "InvalidParameterValue"

    def test_container_list_and_get(self, sim: Simulator) -> None:
        items, _ = all_items(sim, CONTAINER + "/replicationProtectedItems")
        assert len(items) == 10
        one = get(sim, CONTAINER + "/replicationProtectedItems/vm-sql-0005").json()
        assert one["properties"]["friendlyName"] == "vm-sql-0005"
        missing = get(sim, CONTAINER + "/replicationProtectedItems/vm-nope")
        assert missing.status_code == 404 and missing.json()["error"]["code"] == "ReplicationProtectedItemNotFound"
        other = get(sim, CONTAINER.replace("westeurope/", "eastus/") + "/replicationProtectedItems")
        assert other.status_code == 404 and other.json()["error"]["code"] == "FabricNotFound"

    def test_needs_a_bearer_token(self, sim: Simulator) -> None:
        answer = requests.get(sim.url + ITEMS, params={"api-version": "2025-08-01"}, verify=sim.ca_bundle, timeout=10)
        assert answer.status_code == 401


class TestHealth:
    def test_knobs(self, sim: Simulator) -> None:
        items = by_name(sim)
        critical = items["vm-app-0007"]["properties"]
        assert critical["replicationHealth"] == "Critical"
        assert critical["healthErrors"][0]["errorLevel"] == "Error"
        assert "vm-app-0007" in critical["healthErrors"][0]["errorMessage"]
        assert critical["providerSpecificDetails"]["rpoInSeconds"] > 1800
        warning = items["vm-sql-0005"]["properties"]
        assert warning["replicationHealth"] == "Warning" and warning["healthErrors"][0]["errorLevel"] == "Warning"
        assert items["vm-app-0008"]["properties"]["providerSpecificDetails"]["rpoInSeconds"] == 600
        normal = [i["properties"] for n, i in items.items() if n not in ("vm-app-0007", "vm-sql-0005", "vm-app-0008")]
        assert all(p["replicationHealth"] == "Normal" and p["healthErrors"] == [] for p in normal)
        assert all(30 <= p["providerSpecificDetails"]["rpoInSeconds"] <= 120 for p in normal)
        assert all(p["activeLocation"] == "Primary" and p["protectionState"] == "Protected" for p in normal)

    def test_rpo_is_deterministic_per_vm(self, sim: Simulator) -> None:
        other = start(EstateConfig())
        try:
            ours = {n: i["properties"]["providerSpecificDetails"]["rpoInSeconds"] for n, i in by_name(sim).items()}
            theirs = {n: i["properties"]["providerSpecificDetails"]["rpoInSeconds"] for n, i in by_name(other).items()}
            assert ours["vm-dc-0001"] == theirs["vm-dc-0001"] and ours["vm-app-0010"] == theirs["vm-app-0010"]
            assert len(set(theirs.values())) > 1
        finally:
            other.stop()


class TestLifecycle:
    def post(self, sim: Simulator, path: str, body: dict[str, Any] | None = None) -> requests.Response:
        return requests.post(
            sim.url + path,
            params={"api-version": "2025-08-01"},
            json=body or {},
            headers=AUTH,
            verify=sim.ca_bundle,
            timeout=10,
        )

    def test_failover_then_commit(self, sim: Simulator) -> None:
        plan = VAULT + "/replicationRecoveryPlans/rp-identity"
        assert self.post(sim, plan + "/unplannedFailover", BODY).status_code == 202
        running = by_name(sim)["vm-dc-0001"]["properties"]
        assert running["currentScenario"]["scenarioName"] == "UnplannedFailover"
        assert running["currentScenario"]["jobId"].startswith(VAULT.replace("/subscriptions", "/Subscriptions"))
        assert running["allowedOperations"] == [] and running["activeLocation"] == "Primary"
        assert by_name(sim)["vm-app-0006"]["properties"]["currentScenario"]["scenarioName"] == "None"

        sim.estate.finish_running_jobs()
        items = by_name(sim)
        done = items["vm-dc-0001"]["properties"]
        assert done["activeLocation"] == "Recovery"
        assert done["protectionState"] == "UnplannedFailoverCommitPendingStatesBegin"
        assert done["replicationHealth"] == "None" and done["providerSpecificDetails"]["rpoInSeconds"] is None
        assert done["failoverRecoveryPointId"].startswith(items["vm-dc-0001"]["id"] + "/recoveryPoints/")
        assert done["lastSuccessfulFailoverTime"] and "Commit" in done["allowedOperations"]
        assert items["vm-app-0006"]["properties"]["activeLocation"] == "Primary"  # other plans untouched

        assert self.post(sim, plan + "/failoverCommit").status_code == 202
        sim.estate.finish_running_jobs()
        committed = by_name(sim)["vm-dc-0004"]["properties"]
        assert committed["protectionState"] == "UnplannedFailoverCommitted"
        assert committed["activeLocation"] == "Recovery" and committed["allowedOperations"][0] == "ReverseReplicate"

    def test_failed_failover_leaves_items_on_primary(self) -> None:
        sim = start(EstateConfig(time_scale=10_000, failing_plans={"rp-identity": "boom"}))
        try:
            plan = VAULT + "/replicationRecoveryPlans/rp-identity"
            assert self.post(sim, plan + "/plannedFailover", BODY).status_code == 202
            sim.estate.finish_running_jobs()
            props = by_name(sim)["vm-dc-0002"]["properties"]
            assert props["protectionState"] == "PlannedFailoverFailed"
            assert props["protectionStateDescription"] == "Failover failed"
            assert props["activeLocation"] == "Primary" and "UnplannedFailover" in props["allowedOperations"]
        finally:
            sim.stop()
