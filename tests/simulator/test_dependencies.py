"""SQL failover groups, storage account failover, VMs and the Automation webhook: Azure's shapes (Microsoft's REST
examples), LRO headers, simulated time, error envelopes, and the callback on loopback."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from aiohttp import web
from azure.mgmt.compute import ComputeManagementClient
from azure.mgmt.sql import SqlManagementClient
from azure.mgmt.storage import StorageManagementClient

from failover.clients import SimulatorCredential
from simulator import Estate, EstateConfig, Simulator, seed_demo_estate
from simulator.background import BackgroundServer
from simulator.dependencies import DEMO_WEBHOOK, DependencyConfig, webhook_url
from tests.conftest import wait_for
from tests.simulator.conformance import example, json_type

SUB_ID = "5d3c0f34-7a2b-4e53-9d0e-1f2a3b4c5d6e"
SUB = f"/subscriptions/{SUB_ID}/resourceGroups"
FG_NEU = f"{SUB}/rg-data-neu/providers/Microsoft.Sql/servers/sql-contoso-neu/failoverGroups/fg-contoso"
FG_WEU = f"{SUB}/rg-data-weu/providers/Microsoft.Sql/servers/sql-contoso-weu/failoverGroups/fg-contoso"
ACCOUNT = f"{SUB}/rg-avd-weu/providers/Microsoft.Storage/storageAccounts/stcontosofslogix"
VM = f"{SUB}/rg-avd-neu/providers/Microsoft.Compute/virtualMachines/vm-avd-neu-0"
POOL = f"{SUB}/rg-avd-neu/providers/Microsoft.DesktopVirtualization/hostPools/hp-neu-pooled"
AUTH = {"Authorization": "Bearer sim"}
TIME_SCALE = 200  # a 60 s SQL failover takes 0.3 s


def shape_problems(expected: Any, actual: Any, path: str = "$") -> list[str]:
    """Every key of `expected` is in `actual` with the same JSON type (lists: their first items)."""
    if json_type(expected) != json_type(actual):
        return [f"{path}: {json_type(actual)} where the example has {json_type(expected)}"]
    problems: list[str] = []
    if isinstance(expected, dict):
        for key, value in expected.items():
            if key not in actual:
                problems.append(f"{path}.{key}: missing")
            else:
                problems += shape_problems(value, actual[key], f"{path}.{key}")
    elif isinstance(expected, list) and expected:
        if not actual:
            problems.append(f"{path}: empty where the example has items")
        else:
            problems += shape_problems(expected[0], actual[0], f"{path}[0]")
    return problems


# The shape of Microsoft's StorageAccountGetProperties example (Microsoft.Storage 2025-06-01; not in
# tests/reference/rest-examples): its keys and JSON types, the values our own.
STORAGE_GET_SHAPE: dict[str, Any] = {
    "name": "",
    "type": "",
    "id": "",
    "kind": "",
    "location": "",
    "properties": {
        "accountMigrationInProgress": False,
        "creationTime": "",
        "encryption": {
            "keySource": "",
            "services": {
                "blob": {"enabled": True, "keyType": "", "lastEnabledTime": ""},
                "file": {"enabled": True, "keyType": "", "lastEnabledTime": ""},
            },
        },
        "geoReplicationStats": {"canFailover": True, "lastSyncTime": "", "status": ""},
        "isHnsEnabled": False,
        "isSkuConversionBlocked": False,
        "keyCreationTime": {"key1": "", "key2": ""},
        "networkAcls": {
            "bypass": "",
            "defaultAction": "",
            "ipRules": [],
            "resourceAccessRules": [],
            "virtualNetworkRules": [],
        },
        "primaryEndpoints": {
            **{s: "" for s in ("blob", "dfs", "file", "queue", "table", "web")},
            "internetEndpoints": {s: "" for s in ("blob", "dfs", "file", "web")},
            "microsoftEndpoints": {s: "" for s in ("blob", "dfs", "file", "queue", "table", "web")},
        },
        "primaryLocation": "",
        "provisioningState": "",
        "routingPreference": {"publishInternetEndpoints": True, "publishMicrosoftEndpoints": True, "routingChoice": ""},
        "secondaryLocation": "",
        "statusOfPrimary": "",
        "statusOfSecondary": "",
        "supportsHttpsTrafficOnly": False,
        "geoPriorityReplicationStatus": {"isBlobEnabled": True},
    },
    "sku": {"name": "", "tier": ""},
    "tags": {},
}


def start(**knobs: Any) -> Simulator:
    deps = DependencyConfig(**knobs)
    estate = seed_demo_estate(Estate(EstateConfig(time_scale=TIME_SCALE, dependencies=deps)), vms=10, sessions=2)
    return Simulator(estate).start()


@pytest.fixture
def sim() -> Iterator[Simulator]:
    running = start(storage_failover_seconds=100)
    yield running
    running.stop()


def call(sim: Simulator, method: str, path: str, version: str = "2025-01-01", **kwargs: Any) -> requests.Response:
    params = {"api-version": version, **kwargs.pop("params", {})}
    headers = {**AUTH, **kwargs.pop("headers", {})}
    return requests.request(
        method, sim.url + path, params=params, headers=headers, verify=sim.ca_bundle, timeout=10, **kwargs
    )


def follow(sim: Simulator, url: str) -> requests.Response:
    return requests.get(url, headers=AUTH, verify=sim.ca_bundle, timeout=10)


def sdk_options(sim: Simulator) -> dict[str, Any]:
    return {"base_url": sim.url, "connection_verify": sim.ca_bundle, "polling_interval": 0.05}


class TestSeed:
    def test_demo_resources(self, sim: Simulator) -> None:
        weu = call(sim, "GET", FG_WEU).json()["properties"]
        assert weu["replicationRole"] == "Primary" and weu["partnerServers"][0]["replicationRole"] == "Secondary"
        assert weu["partnerServers"][0]["id"].endswith("/rg-data-neu/providers/Microsoft.Sql/servers/sql-contoso-neu")
        account = call(sim, "GET", ACCOUNT).json()
        assert account["sku"]["name"] == "Standard_GZRS" and account["properties"]["secondaryLocation"] == "northeurope"
        hosts = call(sim, "GET", POOL + "/sessionHosts", version="2024-04-03").json()["value"]
        assert sorted(h["name"] for h in hosts) == [f"hp-neu-pooled/vm-avd-neu-{i}.contoso.local" for i in range(4)]
        assert all(not h["properties"]["allowNewSession"] for h in hosts)
        assert all(h["properties"]["status"] == "Unavailable" for h in hosts)
        view = call(sim, "GET", VM + "/instanceView", version="2025-04-01").json()
        assert [s["code"] for s in view["statuses"]] == ["ProvisioningState/succeeded", "PowerState/deallocated"]


class TestSql:
    def test_shape_matches_the_rest_example(self, sim: Simulator) -> None:
        sim.estate.dependencies.failover_groups["fg-contoso"].failover_policy = "Automatic"  # as in the example
        body = example("sql/FailoverGroupFailover.json")["responses"]["200"]["body"]
        assert shape_problems(body, call(sim, "GET", FG_NEU).json()) == []
        assert shape_problems(body, call(sim, "GET", FG_WEU).json()) == []

    def test_failover_lro(self, sim: Simulator) -> None:
        on_primary = call(sim, "POST", FG_WEU + "/failover")
        assert on_primary.status_code == 400
        assert on_primary.json()["error"]["code"] == "FailoverGroupFailoverRequestOnPrimary"
        started = call(sim, "POST", FG_NEU + "/failover")
        assert started.status_code == 202
        status_url, result_url = started.headers["Azure-AsyncOperation"], started.headers["Location"]
        assert "/providers/Microsoft.Sql/locations/northeurope/failoverGroupAzureAsyncOperation/" in status_url
        assert started.headers["Retry-After"] == "0"  # 10 simulated seconds at x200
        assert follow(sim, status_url).json()["status"] == "InProgress"
        assert follow(sim, result_url).status_code == 202
        again = call(sim, "POST", FG_NEU + "/forceFailoverAllowDataLoss")
        assert again.status_code == 409 and again.json()["error"]["code"] == "FailoverGroupOperationInProgress"
        assert call(sim, "GET", FG_NEU).json()["properties"]["replicationRole"] == "Secondary"
        wait_for(lambda: follow(sim, status_url).json()["status"] == "Succeeded", timeout=10)
        final = follow(sim, result_url)
        body = example("sql/FailoverGroupFailover.json")["responses"]["200"]["body"]
        assert final.status_code == 200 and final.json()["properties"]["replicationRole"] == "Primary"
        assert (
            shape_problems({**body, "properties": {**body["properties"], "readWriteEndpoint": {}}}, final.json()) == []
        )
        assert sim.estate.dependencies.failover_groups["fg-contoso"].failover_calls == 3

    def test_sdk_poller_waits_for_simulated_time(self, sim: Simulator) -> None:
        client = SqlManagementClient(SimulatorCredential(), SUB_ID, **sdk_options(sim))
        began = time.monotonic()
        group = client.failover_groups.begin_failover("rg-data-neu", "sql-contoso-neu", "fg-contoso").result()
        assert time.monotonic() - began >= 60 / TIME_SCALE * 0.9
        assert group.replication_role == "Primary" and group.partner_servers[0].replication_role == "Secondary"
        forced = client.failover_groups.begin_force_failover_allow_data_loss(
            "rg-data-weu", "sql-contoso-weu", "fg-contoso"
        )
        assert forced.result().replication_role == "Primary"

    def test_errors(self, sim: Simulator) -> None:
        missing = call(sim, "GET", FG_NEU.replace("fg-contoso", "fg-nope"))
        assert missing.status_code == 404 and missing.json()["error"]["code"] == "ResourceNotFound"
        assert call(sim, "GET", FG_NEU, headers={"Authorization": ""}).status_code == 401


class TestStorage:
    def test_shape_matches_the_rest_example(self, sim: Simulator) -> None:
        body = call(sim, "GET", ACCOUNT, version="2025-06-01", params={"$expand": "geoReplicationStats"}).json()
        assert shape_problems(STORAGE_GET_SHAPE, body) == []
        stats = body["properties"]["geoReplicationStats"]
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", stats["lastSyncTime"])
        assert stats["postFailoverRedundancy"] == "Standard_LRS" and stats["canPlannedFailover"] is True
        plain = call(sim, "GET", ACCOUNT, version="2025-06-01").json()
        assert "geoReplicationStats" not in plain["properties"]  # only with $expand
        assert "failoverInProgress" not in plain["properties"]  # Azure: absent unless a failover runs

    def test_failover_lro(self, sim: Simulator) -> None:
        started = call(sim, "POST", ACCOUNT + "/failover", version="2025-06-01")
        assert started.status_code == 202
        template = example("storage/StorageAccountFailover.json")["responses"]["202"]["headers"]["Location"]
        pattern = re.escape(template.split("/subscriptions/", 1)[1].split("?")[0])
        pattern = re.sub(r"\\\{[^}]+\\\}", "[^/?]+", pattern)
        location = started.headers["Location"]
        assert re.search("/subscriptions/" + pattern + r"\?monitor=true&api-version=", location), location
        props = call(sim, "GET", ACCOUNT, version="2025-06-01").json()["properties"]
        assert props["failoverInProgress"] is True
        assert follow(sim, location).status_code == 202
        again = call(sim, "POST", ACCOUNT + "/failover", version="2025-06-01")
        assert again.status_code == 409 and again.json()["error"]["code"] == "FailoverInProgress"
        wait_for(lambda: follow(sim, location).status_code == 200, timeout=10)
        after = call(sim, "GET", ACCOUNT, version="2025-06-01", params={"$expand": "geoReplicationStats"}).json()
        props = after["properties"]
        assert props["primaryLocation"] == "northeurope" and after["location"] == "northeurope"
        assert "secondaryLocation" not in props and "geoReplicationStats" not in props
        assert after["sku"]["name"] == "Standard_LRS" and props["lastGeoFailoverTime"]
        lrs = call(sim, "POST", ACCOUNT + "/failover", version="2025-06-01")
        assert lrs.status_code == 400 and lrs.json()["error"]["code"] == "FailoverNotSupported"
        assert sim.estate.dependencies.accounts[("rg-avd-weu", "stcontosofslogix")].failover_calls == 3

    def test_planned_failover_keeps_geo_redundancy(self, sim: Simulator) -> None:
        client = StorageManagementClient(SimulatorCredential(), SUB_ID, **sdk_options(sim))
        began = time.monotonic()
        client.storage_accounts.begin_failover("rg-avd-weu", "stcontosofslogix").result()  # the SDK's default: Planned
        assert time.monotonic() - began >= 100 / TIME_SCALE * 0.9
        account = client.storage_accounts.get_properties("rg-avd-weu", "stcontosofslogix")
        assert (account.primary_location, account.secondary_location) == ("northeurope", "westeurope")
        assert account.sku is not None and account.sku.name == "Standard_GRS"

    def test_outage_stops_last_sync_and_refuses_planned(self, sim: Simulator) -> None:
        sim.estate.dependencies.region_down("westeurope")
        first = call(sim, "GET", ACCOUNT, params={"$expand": "geoReplicationStats"}).json()["properties"]
        assert first["statusOfPrimary"] == "unavailable"
        assert first["geoReplicationStats"]["canPlannedFailover"] is False
        time.sleep(1.1)
        later = call(sim, "GET", ACCOUNT, params={"$expand": "geoReplicationStats"}).json()["properties"]
        assert later["geoReplicationStats"]["lastSyncTime"] == first["geoReplicationStats"]["lastSyncTime"]
        planned = call(sim, "POST", ACCOUNT + "/failover", params={"failoverType": "Planned"})
        assert planned.status_code == 400 and planned.json()["error"]["code"] == "PlannedFailoverNotSupported"
        assert call(sim, "POST", ACCOUNT + "/failover").status_code == 202  # customer-managed (unplanned) works


class TestCompute:
    def test_start_lro_and_instance_view_shape(self, sim: Simulator) -> None:
        started = call(sim, "POST", VM + "/start", version="2025-04-01")
        assert started.status_code == 202
        assert set(example("compute/VirtualMachine_Start_MaximumSet_Gen.json")["responses"]["202"]["headers"]) <= {
            h.lower() for h in started.headers
        }
        assert (
            "/providers/Microsoft.Compute/locations/northeurope/operations/" in started.headers["Azure-AsyncOperation"]
        )
        view = call(sim, "GET", VM + "/instanceView", version="2025-04-01").json()
        assert view["statuses"][1]["code"] == "PowerState/starting"
        wait_for(lambda: follow(sim, started.headers["Azure-AsyncOperation"]).json()["status"] == "Succeeded")
        assert follow(sim, started.headers["Location"]).status_code == 200
        running = call(sim, "GET", VM + "/instanceView", version="2025-04-01").json()
        expected = example("compute/VirtualMachine_Get_InstanceView.json")["responses"]["200"]["body"]
        assert shape_problems(expected, running) == []
        assert running["statuses"][1] == {"code": "PowerState/running", "level": "Info", "displayStatus": "VM running"}
        vm = call(sim, "GET", VM, version="2025-04-01", params={"$expand": "instanceView"}).json()
        assert shape_problems(expected, vm["properties"]["instanceView"]) == []
        assert "instanceView" not in call(sim, "GET", VM, version="2025-04-01").json()["properties"]

    def test_sdk_start_waits_and_repeats_are_harmless(self, sim: Simulator) -> None:
        client = ComputeManagementClient(SimulatorCredential(), SUB_ID, **sdk_options(sim))
        began = time.monotonic()
        client.virtual_machines.begin_start("rg-avd-neu", "vm-avd-neu-2").result()
        assert time.monotonic() - began >= 90 / TIME_SCALE * 0.9
        view = client.virtual_machines.instance_view("rg-avd-neu", "vm-avd-neu-2")
        assert [s.code for s in view.statuses or []][-1] == "PowerState/running"
        client.virtual_machines.begin_start("rg-avd-neu", "vm-avd-neu-2").result()  # already running: done at once
        assert sim.estate.dependencies.vms[("rg-avd-neu", "vm-avd-neu-2")].start_calls == 2
        host = call(sim, "GET", POOL + "/sessionHosts/vm-avd-neu-2.contoso.local", version="2024-04-03").json()
        assert host["properties"]["status"] == "Available"


class Receiver:
    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []
        app = web.Application()
        app.router.add_post("/{tail:.*}", self.handle)
        self.server = BackgroundServer(app, "127.0.0.1", 0, name="test-callbacks").start()
        self.url = f"http://127.0.0.1:{self.server.port}"

    async def handle(self, request: web.Request) -> web.Response:
        self.calls.append({"path": request.path, "query": dict(request.query), "body": await request.json()})
        return web.Response(status=202)


class TestWebhook:
    def test_call_then_callback_after_simulated_delay(self, sim: Simulator) -> None:
        receiver = Receiver()
        try:
            url = webhook_url(sim.url, sim.estate, DEMO_WEBHOOK)
            callback = f"{receiver.url}/api/failovers/run-1/callbacks/hyperv-replica?token=signed"
            body = {"instance_id": "run-1", "plan": "demo", "step": "hyperv-replica", "callback_url": callback}
            began = time.monotonic()
            answer = requests.post(url, json=body, verify=sim.ca_bundle, timeout=10)
            assert answer.status_code == 202 and len(answer.json()["JobIds"]) == 1
            got = wait_for(lambda: receiver.calls, timeout=10)
            assert time.monotonic() - began >= 120 / TIME_SCALE * 0.9
            assert got == [
                {
                    "path": "/api/failovers/run-1/callbacks/hyperv-replica",
                    "query": {"token": "signed"},
                    "body": {"status": "Succeeded", "output": sim.estate.dependencies.webhooks[DEMO_WEBHOOK].output},
                }
            ]
            calls = requests.get(sim.url + "/_sim/webhooks", verify=sim.ca_bundle, timeout=10).json()
            wait_for(
                lambda: (
                    requests.get(sim.url + "/_sim/webhooks", verify=sim.ca_bundle, timeout=10)
                    .json()[0]["callback"]
                    .get("sent")
                )
            )
            assert calls[0]["webhook"] == DEMO_WEBHOOK and calls[0]["body"] == body
        finally:
            receiver.server.stop()

    def test_token_and_loopback(self, sim: Simulator) -> None:
        bad = requests.post(
            sim.url + "/automation/webhooks/hyperv-replica?token=wrong", json={}, verify=sim.ca_bundle, timeout=10
        )
        assert bad.status_code == 404 and bad.json()["error"]["code"] == "NotFound"
        url = webhook_url(sim.url, sim.estate, DEMO_WEBHOOK)
        body = {"instance_id": "run-1", "step": "s", "callback_url": "https://203.0.113.10/api/failovers/run-1"}
        assert requests.post(url, json=body, verify=sim.ca_bundle, timeout=10).status_code == 202
        state = requests.get(sim.url + "/_sim/dependencies", verify=sim.ca_bundle, timeout=10).json()
        assert state["webhook_calls"][0]["callback"] == {
            "sent": False,
            "reason": "no loopback callback_url in the body",
        }


def test_asr_commit_twice_is_409(sim: Simulator) -> None:
    plan = (
        f"{SUB}/rg-dr-neu/providers/Microsoft.RecoveryServices/vaults/rsv-dr-neu/replicationRecoveryPlans/rp-identity"
    )
    failover = {
        "properties": {
            "failoverDirection": "PrimaryToRecovery",
            "sourceSiteOperations": "NotRequired",
            "providerSpecificDetails": [],
        }
    }
    assert call(sim, "POST", plan + "/unplannedFailover", version="2025-08-01", json=failover).status_code == 202
    wait_for(
        lambda: (
            call(sim, "GET", plan, version="2025-08-01").json()["properties"]["currentScenarioStatus"] == "Succeeded"
        )
    )
    assert call(sim, "POST", plan + "/failoverCommit", version="2025-08-01").status_code == 202
    again = call(sim, "POST", plan + "/failoverCommit", version="2025-08-01")
    assert again.status_code == 409 and again.json()["error"]["code"] == "RecoveryPlanOperationInProgress"
