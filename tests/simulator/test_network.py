"""Traffic Manager and the Logs query API of the simulator, over raw HTTPS: Azure's shapes, errors and rules."""

from __future__ import annotations

import json
import zlib
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
import requests
from azure.mgmt.trafficmanager import models

from simulator import Estate, EstateConfig, Simulator, seed_demo_estate
from simulator.estate import DEMO_ASR_RG, DEMO_VAULT, HostPool, SessionHost, utcnow
from simulator.network import DEMO_WORKSPACE_ID, NetworkConfig
from tests.conftest import REFERENCE

SUB = "/subscriptions/5d3c0f34-7a2b-4e53-9d0e-1f2a3b4c5d6e"
PROFILE = f"{SUB}/resourceGroups/rg-dns-global/providers/Microsoft.Network/trafficmanagerprofiles/tm-contoso-app"
WEU = PROFILE + "/externalEndpoints/weu"
NEU = PROFILE + "/ExternalEndpoints/neu"  # the SDK spells the type in PascalCase; ARM paths are case-insensitive
AUTH = {"Authorization": "Bearer sim"}
EXAMPLES = REFERENCE / "rest-examples"
TM_PROFILE = json.loads((EXAMPLES / "trafficmanager" / "Profile-GET-WithEndpoints.json").read_text())
TM_PATCH = json.loads((EXAMPLES / "trafficmanager" / "Endpoint-PATCH-External-Target.json").read_text())
LOGS = json.loads((EXAMPLES / "loganalytics" / "oms-post-example.json").read_text())
FAILOVER = {"properties": {"failoverDirection": "PrimaryToRecovery", "providerSpecificDetails": []}}

HEARTBEAT = (
    "Heartbeat | where TimeGenerated > ago(15m) | where Computer in~ ({names}) "
    "| summarize LastSeen = max(TimeGenerated) by Computer"
)
AGENT = (
    'WVDAgentHealthStatus | where TimeGenerated > ago(15m) | where _ResourceId endswith "/hostpools/{pool}" '
    "| summarize arg_max(TimeGenerated, Status) by SessionHostName"
)


def start(**network: Any) -> Simulator:
    config = EstateConfig(time_scale=10_000, network=NetworkConfig(**network))
    return Simulator(seed_demo_estate(Estate(config), vms=10, sessions=2)).start()


@pytest.fixture
def sim() -> Iterator[Simulator]:
    running = start()
    yield running
    running.stop()


def arm(sim: Simulator, method: str, path: str, body: dict[str, Any] | None = None, **kw: Any) -> requests.Response:
    return requests.request(
        method,
        sim.url + path,
        params={"api-version": "2022-04-01"},
        json=body,
        headers=kw.pop("headers", AUTH),
        verify=sim.ca_bundle,
        timeout=10,
    )


def query(sim: Simulator, text: str, workspace: str = DEMO_WORKSPACE_ID, **body: Any) -> requests.Response:
    return requests.post(
        f"{sim.url}/v1/workspaces/{workspace}/query",
        json={"query": text, "timespan": "PT15M", **body},
        headers=body.pop("headers", AUTH),
        verify=sim.ca_bundle,
        timeout=10,
    )


def heartbeat(sim: Simulator, *names: str) -> dict[str, str]:
    answer = query(sim, HEARTBEAT.format(names=", ".join(json.dumps(n) for n in names)))
    assert answer.status_code == 200, answer.text
    return {row[0]: row[1] for row in answer.json()["tables"][0]["rows"]}


def json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, dict):
        return "object"
    if isinstance(value, list):
        return "array"
    return "string" if isinstance(value, str) else "null"


def shape_differences(example: Any, ours: Any, path: str = "") -> list[str]:
    """Every key of the example (recursively; lists through their first element) present in ours with
    the same JSON type. A null in the example says nothing about the type."""
    if example is None:
        return []
    if json_type(example) != json_type(ours):
        return [f"{path or '.'}: {json_type(ours)} instead of {json_type(example)}"]
    if isinstance(example, dict):
        out = []
        for key, value in example.items():
            if key not in ours:
                out.append(f"{path}.{key}: missing")
            else:
                out += shape_differences(value, ours[key], f"{path}.{key}")
        return out
    if isinstance(example, list) and example and isinstance(example[0], dict) and ours:
        return shape_differences(example[0], ours[0], f"{path}[0]")
    return []


def rest_names(model: type) -> set[str]:
    return {f._rest_name for f in model()._attr_to_rest_field.values()}


def fail_over(sim: Simulator, plan: str) -> None:
    sim.estate.start_failover(DEMO_ASR_RG, DEMO_VAULT, plan, "UnplannedFailover", FAILOVER)
    sim.estate.finish_running_jobs()


class TestTrafficManagerShape:
    def test_profile_has_every_key_of_the_rest_example(self, sim: Simulator) -> None:
        ours = arm(sim, "GET", PROFILE).json()
        assert shape_differences(TM_PROFILE["responses"]["200"]["body"], ours) == []
        assert ours["properties"]["trafficRoutingMethod"] == "Priority"
        assert [(e["name"], e["properties"]["priority"]) for e in ours["properties"]["endpoints"]] == [
            ("weu", 1),
            ("neu", 2),
        ]

    def test_endpoint_has_every_key_of_the_patch_example(self, sim: Simulator) -> None:
        example = TM_PATCH["parameters"]["parameters"]
        answer = arm(sim, "PATCH", WEU, {"properties": example["properties"]})
        assert answer.status_code == 200
        assert shape_differences(TM_PATCH["responses"]["200"]["body"], answer.json()) == []
        assert answer.json()["properties"]["target"] == "another.foobar.contoso.com"
        assert answer.json()["type"] == "Microsoft.Network/trafficManagerProfiles/externalEndpoints"

    def test_uses_only_keys_the_sdk_models_know(self, sim: Simulator) -> None:
        profile = arm(sim, "GET", PROFILE).json()
        assert set(profile) <= rest_names(models.Profile)
        assert set(profile["properties"]) <= rest_names(models.ProfileProperties)
        assert set(profile["properties"]["dnsConfig"]) <= rest_names(models.DnsConfig)
        assert set(profile["properties"]["monitorConfig"]) <= rest_names(models.MonitorConfig)
        endpoint = profile["properties"]["endpoints"][0]
        assert set(endpoint) <= rest_names(models.Endpoint)
        assert set(endpoint["properties"]) <= rest_names(models.EndpointProperties)


class TestTrafficManagerBehaviour:
    def test_patch_merges_and_disabled_endpoints_report_disabled(self, sim: Simulator) -> None:
        answer = arm(sim, "PATCH", WEU, {"properties": {"endpointStatus": "Disabled"}}).json()["properties"]
        assert answer["endpointStatus"] == "Disabled" and answer["endpointMonitorStatus"] == "Disabled"
        assert answer["priority"] == 1 and answer["target"] == "app-weu.contoso.com"
        again = arm(sim, "GET", WEU).json()["properties"]
        assert again["endpointStatus"] == "Disabled"
        history = requests.get(sim.url + "/_sim/network", verify=sim.ca_bundle, timeout=10).json()
        assert history["traffic_manager"][0]["history"][0]["to"] == {"status": "Disabled", "priority": 1}

    def test_health_knob(self) -> None:
        running = start(endpoint_health={"weu": "Degraded"})
        try:
            profile = arm(running, "GET", PROFILE).json()["properties"]
            monitor = {e["name"]: e["properties"]["endpointMonitorStatus"] for e in profile["endpoints"]}
            assert monitor == {"weu": "Degraded", "neu": "Online"}
            assert profile["monitorConfig"]["profileMonitorStatus"] == "Online"
            running.estate.network.set_endpoint_health("rg-dns-global", "tm-contoso-app", "neu", "Degraded")
            profile = arm(running, "GET", PROFILE).json()["properties"]
            assert profile["monitorConfig"]["profileMonitorStatus"] == "Degraded"
        finally:
            running.stop()

    def test_priorities_are_unique(self, sim: Simulator) -> None:
        answer = arm(sim, "PATCH", NEU, {"properties": {"priority": 1}})
        assert answer.status_code == 400 and "same priority" in answer.json()["error"]["message"]
        assert arm(sim, "GET", NEU).json()["properties"]["priority"] == 2  # a refused write changes nothing

    def test_bad_values(self, sim: Simulator) -> None:
        for props in ({"endpointStatus": "Maybe"}, {"priority": 0}, {"priority": "1"}, {"weight": 1001}):
            answer = arm(sim, "PATCH", WEU, {"properties": props})
            assert answer.status_code == 400 and answer.json()["error"]["code"] == "BadRequest", props

    def test_put_creates_then_replaces(self, sim: Simulator) -> None:
        body = {"properties": {"target": "app-frc.contoso.com", "endpointStatus": "Disabled", "priority": 3}}
        created = arm(sim, "PUT", PROFILE + "/externalEndpoints/frc", body)
        assert created.status_code == 201 and created.json()["properties"]["endpointMonitorStatus"] == "Disabled"
        replaced = arm(sim, "PUT", PROFILE + "/externalEndpoints/frc", {"properties": {"target": "x.contoso.com"}})
        assert replaced.status_code == 200
        assert replaced.json()["properties"]["endpointStatus"] == "Enabled"  # PUT replaces: defaults again
        assert len(arm(sim, "GET", PROFILE).json()["properties"]["endpoints"]) == 3

    def test_unknown_profile_and_endpoint_404(self, sim: Simulator) -> None:
        profile = arm(sim, "GET", PROFILE.replace("tm-contoso-app", "tm-nope"))
        assert profile.status_code == 404 and profile.json()["error"]["code"] == "ResourceNotFound"
        for method in ("GET", "PATCH"):
            answer = arm(sim, method, PROFILE + "/externalEndpoints/nope", {"properties": {"priority": 5}})
            assert answer.status_code == 404 and set(answer.json()["error"]) == {"code", "message"}
        wrong_type = arm(sim, "GET", PROFILE + "/azureEndpoints/weu")
        assert wrong_type.status_code == 404

    def test_needs_a_bearer_token(self, sim: Simulator) -> None:
        assert arm(sim, "GET", PROFILE, headers={}).status_code == 401


class TestLogsShape:
    def test_answer_has_every_key_of_the_rest_example(self) -> None:
        running = start(always_reporting=("dc-onprem-01",))
        try:
            answer = query(running, HEARTBEAT.format(names='"dc-onprem-01"'))
            assert answer.status_code == 200 and answer.headers["x-ms-request-id"]
            body = answer.json()
            assert shape_differences(LOGS["responses"]["200"]["body"], body) == []
            table = body["tables"][0]
            assert table["columns"] == [
                {"name": "Computer", "type": "string"},
                {"name": "LastSeen", "type": "datetime"},
            ]
            assert table["rows"][0][0] == "dc-onprem-01"
            seen = datetime.fromisoformat(table["rows"][0][1].replace("Z", "+00:00"))
            assert utcnow() - timedelta(minutes=1) <= seen <= utcnow()
        finally:
            running.stop()

    def test_unknown_query_is_a_400_in_the_logs_error_shape(self, sim: Simulator) -> None:
        answer = query(sim, LOGS["parameters"]["body"]["query"])
        assert answer.status_code == 400
        error = answer.json()["error"]
        assert error["code"] == "BadArgumentError" and error["message"]
        assert error["innererror"]["code"] == "SemanticError" and "cannot run KQL" in error["innererror"]["message"]

    def test_other_errors(self, sim: Simulator) -> None:
        unknown = query(sim, HEARTBEAT.format(names='"a"'), workspace="00000000-0000-0000-0000-000000000000")
        assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "WorkspaceNotFoundError"
        assert query(sim, HEARTBEAT.format(names='"a"'), headers={}).status_code == 401
        assert query(sim, "").status_code == 400
        bad_span = query(sim, HEARTBEAT.format(names='"a"'), timespan="fifteen minutes")
        assert bad_span.status_code == 400 and bad_span.json()["error"]["innererror"]["code"] == "InvalidTimespan"


class TestHeartbeat:
    def test_failed_over_vms_report_after_their_plan_fails_over(self, sim: Simulator) -> None:
        dcs = ["vm-dc-0001", "vm-dc-0002", "vm-dc-0003", "vm-dc-0004"]
        assert set(heartbeat(sim, *dcs, "vm-sql-0005", "dc-onprem-01")) == {"dc-onprem-01"}  # the on-premises DC
        fail_over(sim, "rp-identity")
        rows = heartbeat(sim, *dcs, "vm-sql-0005", "dc-onprem-01")
        assert sorted(rows) == ["dc-onprem-01", *dcs]  # rp-data-01 (vm-sql-0005) has not failed over
        plan = sim.estate.recovery_plan(DEMO_ASR_RG, DEMO_VAULT, "rp-identity")
        failed_at = plan.groups[2][1][0].last_failover_at
        assert failed_at is not None
        assert datetime.fromisoformat(rows["vm-dc-0001"].replace("Z", "+00:00")) >= failed_at

    def test_a_running_or_failed_job_does_not_bring_vms_back(self) -> None:
        running = Simulator(
            seed_demo_estate(
                Estate(EstateConfig(time_scale=10_000, failing_plans={"rp-identity": "boom"})), vms=10, sessions=2
            )
        ).start()
        try:
            job = running.estate.start_failover(DEMO_ASR_RG, DEMO_VAULT, "rp-identity", "UnplannedFailover", FAILOVER)
            job.due_at = utcnow() + timedelta(hours=1)
            assert heartbeat(running, "vm-dc-0001") == {}  # the job is still running
            running.estate.finish_running_jobs()
            assert heartbeat(running, "vm-dc-0001") == {}  # and it failed
        finally:
            running.stop()

    def test_silent_and_case_insensitive_and_primary_knob(self) -> None:
        running = start(silent_computers=("vm-dc-0002",), primary_reporting=True)
        try:
            assert sorted(heartbeat(running, "VM-DC-0001", "vm-dc-0002", "vm-app-0010")) == [
                "vm-app-0010",
                "vm-dc-0001",  # the estate's spelling, as Logs stores it
            ]
        finally:
            running.stop()

    def test_names_are_string_literals_and_layout_does_not_matter(self, sim: Simulator) -> None:
        fail_over(sim, "rp-identity")
        text = (
            "Heartbeat\n| where TimeGenerated > ago(15m)\n"
            '| where Computer in~ ("vm-dc-0001", "x\\") | union (Heartbeat", "a\\\\b")\n'
            "| summarize LastSeen = max(TimeGenerated) by Computer"
        )
        answer = query(sim, text)
        assert answer.status_code == 200
        assert [row[0] for row in answer.json()["tables"][0]["rows"]] == ["vm-dc-0001"]

    def test_the_window_is_the_narrower_of_ago_and_timespan(self) -> None:
        names = [f"dc-onprem-{n:02d}" for n in range(1, 9)]
        running = start(always_reporting=tuple(names))
        try:
            # A computer's last heartbeat is 0-49 s old, fixed per name: pick one at least 5 s old.
            old = next(n for n in names if zlib.crc32(n.encode()) % 50 >= 5)
            quoted = json.dumps(old)
            assert heartbeat(running, old)
            assert query(running, HEARTBEAT.format(names=quoted), timespan="PT1S").json()["tables"][0]["rows"] == []
            assert (
                query(running, HEARTBEAT.format(names=quoted).replace("ago(15m)", "ago(0m)")).json()["tables"][0][
                    "rows"
                ]
                == []
            )
        finally:
            running.stop()


class TestAgentHealth:
    def test_session_hosts_of_the_estates_recovery_host_pool(self) -> None:
        running = start(session_host_status={"sh-neu-c": "NeedsAssistance"}, silent_computers=("sh-neu-d",))
        try:
            with running.estate.lock:
                pool = running.estate.host_pools.setdefault(
                    ("rg-avd-neu", "hp-neu-pooled"), HostPool("rg-avd-neu", "hp-neu-pooled", "northeurope")
                )
                pool.session_hosts = {
                    name: SessionHost(name, status=status)
                    for name, status in (
                        ("sh-neu-a.contoso.local", "Available"),
                        ("sh-neu-b.contoso.local", "Unavailable"),  # e.g. its VM is deallocated
                        ("sh-neu-c.contoso.local", "Available"),  # overridden by session_host_status
                        ("sh-neu-d.contoso.local", "Available"),  # silent
                    )
                }
            answer = query(running, AGENT.format(pool="HP-NEU-POOLED"))
            assert answer.status_code == 200
            table = answer.json()["tables"][0]
            assert [c["name"] for c in table["columns"]] == ["SessionHostName", "TimeGenerated", "Status"]
            assert [(r[0], r[2]) for r in table["rows"]] == [
                ("sh-neu-a.contoso.local", "Available"),
                ("sh-neu-b.contoso.local", "Unavailable"),
                ("sh-neu-c.contoso.local", "NeedsAssistance"),
            ]
            # The primary pool is down: no agent reports there.
            assert query(running, AGENT.format(pool="hp-weu-pooled")).json()["tables"][0]["rows"] == []
        finally:
            running.stop()

    def test_generated_session_hosts_when_the_estate_has_no_such_pool(self) -> None:
        running = start(recovery_host_pool="hp-frc-pooled", recovery_session_hosts=2)
        try:
            rows = query(running, AGENT.format(pool="hp-frc-pooled")).json()["tables"][0]["rows"]
            assert [(r[0], r[2]) for r in rows] == [
                ("sh-neu-001.contoso.local", "Available"),
                ("sh-neu-002.contoso.local", "Available"),
            ]
        finally:
            running.stop()

    def test_only_a_host_pool_suffix_is_understood(self, sim: Simulator) -> None:
        text = AGENT.format(pool="x").replace('"/hostpools/x"', '"/sessionhosts/x"')
        answer = query(sim, text)
        assert answer.status_code == 400 and answer.json()["error"]["innererror"]["code"] == "SemanticError"


class TestWithDependencies:
    """The parts of `simulator.dependencies` (region outages, standby VMs) Traffic Manager and Logs follow."""

    def test_an_endpoint_in_a_region_declared_down_is_degraded(self, sim: Simulator) -> None:
        deps: Any = getattr(sim.estate, "dependencies", None)
        if not hasattr(deps, "region_down"):
            pytest.skip("this estate has no region outages")
        deps.region_down("westeurope")
        profile = arm(sim, "GET", PROFILE).json()["properties"]
        monitor = {e["name"]: e["properties"]["endpointMonitorStatus"] for e in profile["endpoints"]}
        assert monitor == {"weu": "Degraded", "neu": "Online"}
        assert arm(sim, "GET", WEU).json()["properties"]["endpointMonitorStatus"] == "Degraded"
        deps.region_up("westeurope")
        assert arm(sim, "GET", WEU).json()["properties"]["endpointMonitorStatus"] == "Online"

    def test_running_standby_vms_send_heartbeats(self, sim: Simulator) -> None:
        vms = list((getattr(getattr(sim.estate, "dependencies", None), "vms", None) or {}).values())
        if not vms:
            pytest.skip("this estate has no standby VMs")
        assert heartbeat(sim, vms[0].name) == {}  # deallocated
        with sim.estate.lock:
            vms[0].power_state = "running"
        assert list(heartbeat(sim, vms[0].name)) == [vms[0].name]
