"""The simulator answers like Azure where the service depends on it: LRO headers, 409s, If-Match, auth."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests

from simulator import Estate, EstateConfig, Simulator, seed_demo_estate

SUB = "/subscriptions/5d3c0f34-7a2b-4e53-9d0e-1f2a3b4c5d6e/resourceGroups"
PLAN = f"{SUB}/rg-dr-neu/providers/Microsoft.RecoveryServices/vaults/rsv-dr-neu/replicationRecoveryPlans/rp-identity"
RECORD = f"{SUB}/rg-dns-global/providers/Microsoft.Network/dnszones/contoso.com/CNAME/app"
AUTH = {"Authorization": "Bearer sim"}
BODY = {
    "properties": {
        "failoverDirection": "PrimaryToRecovery",
        "sourceSiteOperations": "NotRequired",  # required by unplannedFailover, ignored by plannedFailover
        "providerSpecificDetails": [{"instanceType": "A2A", "recoveryPointType": "Latest"}],
    }
}


@pytest.fixture
def sim() -> Iterator[Simulator]:
    with Simulator(seed_demo_estate(Estate(EstateConfig(time_scale=10_000)), vms=10, sessions=4)) as running:
        yield running


def call(sim: Simulator, method: str, path: str, **kwargs: object) -> requests.Response:
    params = {"api-version": "2025-08-01"}
    return requests.request(method, sim.url + path, params=params, verify=sim.ca_bundle, timeout=10, **kwargs)  # type: ignore[arg-type]


class TestArm:
    def test_bearer_required(self, sim: Simulator) -> None:
        answer = call(sim, "GET", PLAN)
        assert answer.status_code == 401 and answer.json()["error"]["code"] == "AuthenticationFailed"

    def test_failover_lro_then_409(self, sim: Simulator) -> None:
        sim.estate.config.hanging_plans = ("rp-identity",)  # still running when asked again, however loaded
        started = call(sim, "POST", PLAN + "/unplannedFailover", json=BODY, headers=AUTH)
        assert started.status_code == 202
        assert "/replicationOperationStatus/" in started.headers["Azure-AsyncOperation"]
        assert started.headers["Retry-After"] == "30" and started.headers["Location"]
        again = call(sim, "POST", PLAN + "/unplannedFailover", json=BODY, headers=AUTH)
        assert again.status_code == 409 and again.json()["error"]["code"] == "RecoveryPlanOperationInProgress"
        job = call(sim, "GET", PLAN, headers=AUTH).json()["properties"]["currentScenario"]["jobId"]
        assert call(sim, "GET", job.split(sim.url)[-1], headers=AUTH).json()["properties"]["state"] == "InProgress"

    def test_bad_direction_refused(self, sim: Simulator) -> None:
        body = {"properties": {"failoverDirection": "Sideways"}}
        answer = call(sim, "POST", PLAN + "/plannedFailover", json=body, headers=AUTH)
        assert answer.status_code == 400 and "failoverDirection" in answer.json()["error"]["message"]

    def test_unknown_plan_404(self, sim: Simulator) -> None:
        answer = call(sim, "GET", PLAN.replace("rp-identity", "rp-nope"), headers=AUTH)
        assert answer.status_code == 404 and answer.json()["error"]["code"] == "ReplicationRecoveryPlanNotFound"

    def test_dns_if_match(self, sim: Simulator) -> None:
        etag = call(sim, "GET", RECORD, headers=AUTH).json()["etag"]
        body = {"properties": {"TTL": 60, "CNAMERecord": {"cname": "x.contoso.com"}}}
        stale = call(sim, "PUT", RECORD, json=body, headers={**AUTH, "If-Match": "stale"})
        assert stale.status_code == 412
        assert call(sim, "PUT", RECORD, json=body, headers={**AUTH, "If-Match": etag}).status_code == 200


class TestSinks:
    def test_eventgrid_validates_cloudevents(self, sim: Simulator) -> None:
        url = sim.url + "/eventgrid/api/events"
        headers = {"aeg-sas-key": "sim-eventgrid-key", "Content-Type": "application/cloudevents-batch+json"}
        bad = requests.post(url, json=[{"id": "1", "type": "t"}], headers=headers, verify=sim.ca_bundle, timeout=10)
        assert bad.status_code == 400 and "source" in bad.json()["error"]["message"]
        good = [{"id": "1", "source": "/s", "type": "t", "specversion": "1.0"}]
        assert requests.post(url, json=good, headers=headers, verify=sim.ca_bundle, timeout=10).status_code == 200
        assert requests.get(sim.url + "/_sim/events", verify=sim.ca_bundle, timeout=10).json() == good
        keyless = requests.post(
            url, json=good, headers={"Content-Type": headers["Content-Type"]}, verify=sim.ca_bundle, timeout=10
        )
        assert keyless.status_code == 401

    def test_teams_records_messages(self, sim: Simulator) -> None:
        url = sim.url + "/teams/workflows/wf/triggers/manual/paths/invoke"
        message = {"type": "message", "attachments": []}
        assert requests.post(url, json=message, verify=sim.ca_bundle, timeout=10).status_code == 401  # no sig
        assert requests.post(url + "?sig=s", json=message, verify=sim.ca_bundle, timeout=10).status_code == 202
        recorded = requests.get(sim.url + "/_sim/teams/messages", verify=sim.ca_bundle, timeout=10).json()
        assert recorded[0]["message"] == message
