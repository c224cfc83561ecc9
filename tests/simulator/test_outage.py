"""The outage the simulator plays (simulator.outage): from a chosen moment, partial, flapping, a region that comes
back, and ASR's operations that need the source site (docs/simulator.md, "The outage")."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

import pytest
import requests

from simulator import Estate, EstateConfig, Simulator, seed_demo_estate
from simulator.arm import iso
from simulator.estate import utcnow
from simulator.outage import Outage

SUB = "/subscriptions/5d3c0f34-7a2b-4e53-9d0e-1f2a3b4c5d6e/resourceGroups"
PLANS = f"{SUB}/rg-dr-neu/providers/Microsoft.RecoveryServices/vaults/rsv-dr-neu/replicationRecoveryPlans"
AUTH = {"Authorization": "Bearer sim"}
SCALE = 1_000.0


def body(direction: str = "PrimaryToRecovery", source: str = "NotRequired") -> dict[str, Any]:
    return {
        "properties": {
            "failoverDirection": direction,
            "sourceSiteOperations": source,
            "providerSpecificDetails": [{"instanceType": "A2A", "recoveryPointType": "Latest"}],
        }
    }


@pytest.fixture
def sim() -> Iterator[Simulator]:
    estate = seed_demo_estate(Estate(EstateConfig(time_scale=SCALE)), vms=10, sessions=24)
    with Simulator(estate) as running:
        yield running


def call(sim: Simulator, method: str, path: str, **kwargs: Any) -> requests.Response:
    url = path if path.startswith("http") else sim.url + path
    params = None if path.startswith("http") else {"api-version": "2025-08-01"}
    return requests.request(method, url, params=params, verify=sim.ca_bundle, timeout=10, headers=AUTH, **kwargs)


def hosts(sim: Simulator) -> dict[str, tuple[str, bool]]:
    """The session hosts of the primary region's host pools (the recovery region's standby hosts stay as they are)."""
    return {
        h.name: (h.status, h.unreachable)
        for p in sim.estate.host_pools.values()
        if p.location == "westeurope"
        for h in p.session_hosts.values()
    }


def outages(sim: Simulator) -> dict[str, str]:
    return call(sim, "GET", "/_sim/dependencies").json()["outages"]


def at(sim: Simulator, simulated_seconds: float) -> None:
    """Move the outage's clock: it began `simulated_seconds` ago."""
    outage = sim.estate.outage
    assert outage is not None
    outage.begins_at = utcnow() - timedelta(seconds=simulated_seconds / SCALE)


def job(sim: Simulator, plan: str) -> dict[str, Any]:
    sim.estate.finish_running_jobs()
    job_id = call(sim, "GET", f"{PLANS}/{plan}").json()["properties"]["currentScenario"]["jobId"]
    return call(sim, "GET", job_id.split(sim.url)[-1]).json()["properties"]


class TestSchedule:
    def test_begins_at_the_chosen_moment(self, sim: Simulator) -> None:
        sim.estate.set_outage(Outage("West Europe", after_seconds=600))
        assert all(state == ("Available", False) for state in hosts(sim).values())
        assert call(sim, "GET", "/_sim/state").json()["outage"]["down"] is False
        at(sim, 1)
        state = call(sim, "GET", "/_sim/state").json()  # any request brings the outage up to date
        assert state["outage"]["down"] is True and outages(sim).keys() == {"westeurope"}
        assert all(s == ("Unavailable", True) for s in hosts(sim).values())

    def test_partial_takes_down_only_what_it_names(self, sim: Simulator) -> None:
        sim.estate.set_outage(Outage.variant("partial", "westeurope"))
        down = [name for name, (_, unreachable) in hosts(sim).items() if unreachable]
        assert len(down) == len(hosts(sim)) // 2 == 1  # 24 sessions: two hosts, one of them down
        assert sim.estate.dependencies.outages == {}  # SQL and storage primaries answer
        answer = call(sim, "POST", f"{PLANS}/rp-identity/plannedFailover", json=body())
        assert answer.status_code == 202 and job(sim, "rp-identity")["state"] == "Succeeded"  # ASR's source is up

    def test_flapping_goes_down_and_up_again(self, sim: Simulator) -> None:
        sim.estate.set_outage(Outage.variant("flapping", "westeurope"))
        seen = []
        for seconds in (10, 310, 610, 910):
            at(sim, seconds)
            call(sim, "GET", "/_sim/state")
            seen.append(next(iter(hosts(sim).values()))[1])
        assert seen == [True, False, True, False]

    def test_region_comes_back_as_it_was(self, sim: Simulator) -> None:
        pool = next(p for p in sim.estate.host_pools.values() if p.location == "westeurope")
        first = next(iter(pool.session_hosts.values()))
        first.status = "NeedsAssistance"  # a status of its own before the outage
        sim.estate.set_outage(Outage("westeurope", recover_after_seconds=1800))
        assert first.status == "Unavailable"
        at(sim, 1801)
        state = call(sim, "GET", "/_sim/state").json()
        assert state["outage"]["down"] is False and outages(sim) == {}
        assert first.status == "NeedsAssistance" and not first.unreachable
        assert all(not unreachable for _, unreachable in hosts(sim).values())

    def test_region_up_ends_it(self, sim: Simulator) -> None:
        sim.estate.region_down("westeurope")
        sim.estate.region_up("West Europe")
        assert sim.estate.outage is None and all(s == ("Available", False) for s in hosts(sim).values())

    def test_bad_variant_refused(self) -> None:
        with pytest.raises(ValueError, match="not one of full, partial, flapping"):
            Outage.variant("sideways", "westeurope")
        with pytest.raises(ValueError, match="services"):
            Outage("westeurope", services=frozenset({"dns"}))


class TestSourceSite:
    """ASR's operations that need the primary region while it is down."""

    def test_planned_failover_fails(self, sim: Simulator) -> None:
        sim.estate.region_down("westeurope")
        assert call(sim, "POST", f"{PLANS}/rp-identity/plannedFailover", json=body()).status_code == 202
        failed = job(sim, "rp-identity")
        assert failed["state"] == "Failed"
        assert "Run an unplanned failover" in failed["errors"][0]["serviceErrorDetails"]["message"]
        assert sim.estate.recovery_plans[("rg-dr-neu", "rsv-dr-neu", "rp-identity")].state == "Protected"

    def test_unplanned_failover_goes_on_without_shutting_the_source_down(self, sim: Simulator) -> None:
        sim.estate.region_down("westeurope")
        answer = call(sim, "POST", f"{PLANS}/rp-identity/unplannedFailover", json=body(source="Required"))
        assert answer.status_code == 202
        done = job(sim, "rp-identity")
        assert done["state"] == "Succeeded" and done["errors"] == []
        shutdown = [t for t in done["tasks"] if t["name"] == "ShutdownPrimaryVirtualMachinesTask"]
        assert len(shutdown) == 1 and shutdown[0]["state"] == "Failed"
        assert "cannot be reached" in shutdown[0]["errors"][0]["serviceErrorDetails"]["message"]

    def test_unplanned_failover_not_asking_for_the_source_has_no_shutdown_step(self, sim: Simulator) -> None:
        sim.estate.region_down("westeurope")
        call(sim, "POST", f"{PLANS}/rp-identity/unplannedFailover", json=body())
        done = job(sim, "rp-identity")
        assert done["state"] == "Succeeded"
        assert [t["name"] for t in done["tasks"]] == ["PreflightCheckTask", "UnplannedFailoverTask"]

    def test_reprotect_and_failback_into_the_region_fail(self, sim: Simulator) -> None:
        plan = f"{PLANS}/rp-identity"
        call(sim, "POST", f"{plan}/unplannedFailover", json=body())
        assert job(sim, "rp-identity")["state"] == "Succeeded"
        call(sim, "POST", f"{plan}/failoverCommit")
        assert job(sim, "rp-identity")["state"] == "Succeeded"
        sim.estate.region_down("westeurope")
        call(sim, "POST", f"{plan}/reProtect")
        assert (
            "could not reach the primary region"
            in job(sim, "rp-identity")["errors"][0]["serviceErrorDetails"]["message"]
        )
        sim.estate.region_up("westeurope")
        call(sim, "POST", f"{plan}/reProtect")
        assert job(sim, "rp-identity")["state"] == "Succeeded"
        sim.estate.region_down("westeurope")
        call(sim, "POST", f"{plan}/plannedFailover", json=body("RecoveryToPrimary"))
        failback = job(sim, "rp-identity")
        assert failback["state"] == "Failed" and "failback" in failback["errors"][0]["serviceErrorDetails"]["message"]

    def test_test_failover_runs_in_the_recovery_region(self, sim: Simulator) -> None:
        sim.estate.region_down("westeurope")
        vnet = f"{SUB}/rg-net-neu/providers/Microsoft.Network/virtualNetworks/vnet-drill-neu"
        test = {"properties": {"failoverDirection": "PrimaryToRecovery", "networkType": "VmNetworkAsInput"}}
        test["properties"]["networkId"] = vnet
        assert call(sim, "POST", f"{PLANS}/rp-identity/testFailover", json=test).status_code == 202
        assert job(sim, "rp-identity")["state"] == "Succeeded"


class TestRecoveryPoints:
    """The recovery point each VM of a failover job came up from (`FailoverJobDetails.protectedItemDetails[]`):
    replication stops when the primary region goes down, so an unplanned failover during the outage brings each VM
    up from its RPO before the outage began; a planned failover syncs the VMs first (no data loss)."""

    @staticmethod
    def points(done: dict[str, Any]) -> dict[str, Any]:
        assert done["customDetails"]["instanceType"] == "FailoverJobDetails"
        return {i["friendlyName"]: i for i in done["customDetails"]["protectedItemDetails"]}

    def test_unplanned_failover_during_the_outage_comes_up_from_before_it(self, sim: Simulator) -> None:
        sim.estate.region_down("westeurope")
        at(sim, 3_600)  # down for an hour of simulated time: the newest recovery points are an hour old
        call(sim, "POST", f"{PLANS}/rp-identity/unplannedFailover", json=body())
        points = self.points(job(sim, "rp-identity"))
        outage = sim.estate.outage
        assert outage is not None and outage.begins_at is not None and points
        for _, item in sim.estate.protected_items("rg-dr-neu", "rsv-dr-neu"):
            if item.vm_name not in points:
                continue
            rpo = sim.estate.item_rpo_seconds(replace(item, replicating=True))  # its RPO while it replicated
            assert rpo is not None and rpo >= 30
            expected = outage.begins_at - timedelta(seconds=rpo / SCALE)
            assert points[item.vm_name]["recoveryPointTime"] == iso(expected)
            assert points[item.vm_name]["recoveryPointId"].endswith(f"/recoveryPoints/{item.recovery_point_id}")

    def test_without_an_outage_the_latest_point_is_one_rpo_old(self, sim: Simulator) -> None:
        before = utcnow()
        call(sim, "POST", f"{PLANS}/rp-identity/unplannedFailover", json=body())
        points = self.points(job(sim, "rp-identity"))
        for item in points.values():
            taken = datetime.fromisoformat(item["recoveryPointTime"].replace("Z", "+00:00"))
            assert before - timedelta(seconds=121 / SCALE) <= taken <= utcnow()

    def test_planned_failover_loses_nothing(self, sim: Simulator) -> None:
        call(sim, "POST", f"{PLANS}/rp-identity/plannedFailover", json=body())
        done = job(sim, "rp-identity")
        assert {i["recoveryPointTime"] for i in self.points(done).values()} == {done["startTime"]}

    def test_other_jobs_have_no_recovery_points(self, sim: Simulator) -> None:
        call(sim, "POST", f"{PLANS}/rp-identity/unplannedFailover", json=body())
        job(sim, "rp-identity")
        call(sim, "POST", f"{PLANS}/rp-identity/failoverCommit")
        assert job(sim, "rp-identity")["customDetails"]["instanceType"] == "AsrJobDetails"
