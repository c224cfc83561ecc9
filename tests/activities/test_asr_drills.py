"""Drill and failback activities through the real SiteRecoveryManagementClient against the simulator.

asr_start_failover (modes test and failback), asr_test_cleanup, asr_reprotect, asr_commit after a failback,
and asr_replication_health's direction. Every activity is run twice: the second run converges (attached
while the job runs, skipped once done) and the simulator's call counters show nothing was posted twice.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

import activities
from activities._asr import _item_names
from activities.asr import (
    ALREADY_ON_PRIMARY,
    TEST_CLEANUP_PENDING,
    asr_commit,
    asr_get_job,
    asr_replication_health,
    asr_reprotect,
    asr_start_failover,
    asr_test_cleanup,
)
from failover.contracts.asr import (
    AsrJobInput,
    AsrJobResult,
    RecoveryPlanInput,
    RecoveryPlanJob,
    ReplicationHealthInput,
    ReprotectInput,
    StartFailoverInput,
    TestCleanupInput,
)
from simulator import EstateConfig, Simulator
from simulator.estate import DEMO_ASR_RG, DEMO_VAULT, SUBSCRIPTION_ID
from tests.activities.conftest import StartSimulator

COMMON = {
    "instance_id": "drill-test",
    "plan": "demo",
    "subscription_id": SUBSCRIPTION_ID,
    "resource_group": DEMO_ASR_RG,
    "vault": DEMO_VAULT,
}
PLAN = {**COMMON, "recovery_plan": "rp-identity"}  # 4 VMs
VNET = (
    f"/subscriptions/{SUBSCRIPTION_ID}/resourceGroups/rg-network-neu/providers/Microsoft.Network/"
    "virtualNetworks/vnet-drill-neu"
)
TEST = {**PLAN, "mode": "test", "network_id": VNET}


@pytest.fixture
def simulate(start_simulator: StartSimulator) -> Callable[..., Simulator]:
    """A simulator on a 30-VM demo estate (rp-identity 4, rp-data-01 4, rp-apps-01 22 VMs) whose jobs run
    in real time (time_scale 1: they stay InProgress until `finish_jobs`)."""

    def make(**config: Any) -> Simulator:
        config.setdefault("time_scale", 1)
        return start_simulator(EstateConfig(**config), vms=30)

    return make


def state(sim: Simulator, name: str = "rp-identity") -> dict[str, Any]:
    return next(p for p in sim.estate.snapshot()["recovery_plans"] if p["name"] == name)


def twice(activity: Callable[[Any], RecoveryPlanJob], payload: RecoveryPlanInput) -> RecoveryPlanJob:
    """Run an activity twice while its job runs: started, then attached to the same job."""
    first = activity(payload)
    assert first.action == "started" and first.job, first
    again = activity(payload)
    assert again == first.model_copy(update={"action": "attached"}), again
    return first


def job_state(job: str) -> AsrJobResult:
    return asr_get_job(AsrJobInput(**COMMON, job=job, recovery_plan="rp-identity"))


def test_registered_like_the_other_activities() -> None:
    assert activities.ALL["asr_test_cleanup"] is asr_test_cleanup
    assert activities.ALL["asr_reprotect"] is asr_reprotect


class TestDrill:
    def test_test_failover_then_cleanup_converge(self, simulate: Callable[..., Simulator]) -> None:
        sim = simulate()
        started = twice(asr_start_failover, StartFailoverInput(**TEST))
        assert started.recovery_plan == "rp-identity"
        sim.estate.finish_running_jobs()
        assert job_state(started.job).state == "Succeeded"  # what a drill's watch waits for
        done = asr_start_failover(StartFailoverInput(**TEST))
        assert done.plain() == {
            "recovery_plan": "rp-identity",
            "job": started.job,
            "action": "skipped",
            "reason": TEST_CLEANUP_PENDING,
            "started_at": None,
        }
        assert (state(sim)["state"], state(sim)["test_network_id"]) == ("TestFailedOver", VNET)

        cleanup = twice(asr_test_cleanup, TestCleanupInput(**PLAN, comments="monthly drill"))
        sim.estate.finish_running_jobs()
        assert job_state(cleanup.job).state == "Succeeded"
        assert asr_test_cleanup(TestCleanupInput(**PLAN)).plain() == {
            "recovery_plan": "rp-identity",
            "action": "skipped",
            "job": cleanup.job,
            "reason": "already cleaned up",
            "started_at": None,
        }
        plan = state(sim)
        assert plan["state"] == "Protected"
        assert (plan["test_failover_calls"], plan["cleanup_calls"], plan["failover_calls"]) == (1, 1, 0)
        assert sim.estate.recovery_plan(DEMO_ASR_RG, DEMO_VAULT, "rp-identity").cleanup_comments == "monthly drill"

    def test_network_type_and_required_network(self, simulate: Callable[..., Simulator]) -> None:
        sim = simulate()
        with pytest.raises(ValueError, match="network_id"):
            asr_start_failover(StartFailoverInput(**{**TEST, "network_id": None}))
        started = asr_start_failover(StartFailoverInput(**PLAN, mode="test", network_type="NoNetworkAttachAsInput"))
        assert started.action == "started" and state(sim)["test_network_id"] is None

    def test_cleanup_with_nothing_to_clean_up(self, simulate: Callable[..., Simulator]) -> None:
        sim = simulate()
        for _ in range(2):
            assert asr_test_cleanup(TestCleanupInput(**PLAN)).plain() == {
                "recovery_plan": "rp-identity",
                "action": "skipped",
                "job": None,
                "reason": "nothing to clean up: no test failover awaits cleanup",
                "started_at": None,
            }
        assert state(sim)["cleanup_calls"] == 0  # it only read the plan

    def test_cleanup_while_the_test_failover_runs_raises(self, simulate: Callable[..., Simulator]) -> None:
        sim = simulate()
        asr_start_failover(StartFailoverInput(**TEST))
        with pytest.raises(RuntimeError, match="test failover still runs"):
            asr_test_cleanup(TestCleanupInput(**PLAN))
        assert state(sim)["cleanup_calls"] == 0

    def test_failed_test_failover_needs_cleanup_before_another(self, simulate: Callable[..., Simulator]) -> None:
        sim = simulate(failing_plans={"rp-identity": "The test VM could not be created."})
        started = asr_start_failover(StartFailoverInput(**TEST))
        sim.estate.finish_running_jobs()
        job = job_state(started.job)
        assert job.state == "Failed" and "The test VM could not be created." in job.errors[0]
        with pytest.raises(RuntimeError, match="last test failover failed"):
            asr_start_failover(StartFailoverInput(**TEST))
        assert asr_test_cleanup(TestCleanupInput(**PLAN)).action == "started"
        sim.estate.finish_running_jobs()
        assert state(sim)["state"] == "Protected" and state(sim)["test_failover_calls"] == 1

    def test_failing_cleanup_can_be_run_again(self, simulate: Callable[..., Simulator]) -> None:
        sim = simulate(failing_cleanups={"rp-identity": "Deleting the test VM failed."})
        asr_start_failover(StartFailoverInput(**TEST))
        sim.estate.finish_running_jobs()
        first = asr_test_cleanup(TestCleanupInput(**PLAN))
        sim.estate.finish_running_jobs()
        assert job_state(first.job).state == "Failed"
        assert asr_start_failover(StartFailoverInput(**TEST)).action == "skipped"  # the drill still awaits cleanup
        sim.estate.config.failing_cleanups.clear()
        second = asr_test_cleanup(TestCleanupInput(**PLAN))
        assert second.action == "started" and second.job != first.job
        sim.estate.finish_running_jobs()
        assert state(sim)["state"] == "Protected" and state(sim)["cleanup_calls"] == 2

    def test_real_failover_refused_while_a_drill_awaits_cleanup(self, simulate: Callable[..., Simulator]) -> None:
        sim = simulate()
        asr_start_failover(StartFailoverInput(**TEST))
        sim.estate.finish_running_jobs()
        for mode in ("planned", "unplanned"):
            with pytest.raises(RuntimeError, match="clean up the test failover first"):
                asr_start_failover(StartFailoverInput(**PLAN, mode=mode))
        assert state(sim)["failover_calls"] == 0  # refused before posting

    def test_unknown_mode(self, simulate: Callable[..., Simulator]) -> None:
        simulate()
        with pytest.raises(ValueError, match="mode"):
            asr_start_failover(StartFailoverInput(**PLAN, mode="drill"))


def fail_over_and_commit(sim: Simulator) -> None:
    assert asr_start_failover(StartFailoverInput(**PLAN, mode="planned")).action == "started"
    sim.estate.finish_running_jobs()
    assert asr_commit(RecoveryPlanInput(**PLAN)).action == "started"
    sim.estate.finish_running_jobs()


class TestFailback:
    def test_whole_cycle_converges_at_every_step(self, simulate: Callable[..., Simulator]) -> None:
        sim = simulate()
        fail_over_and_commit(sim)
        reprotect = twice(asr_reprotect, ReprotectInput(**PLAN, direction="RecoveryToPrimary"))
        sim.estate.finish_running_jobs()
        assert job_state(reprotect.job).state == "Succeeded"
        assert asr_reprotect(ReprotectInput(**PLAN)).plain() == {
            "recovery_plan": "rp-identity",
            "action": "skipped",
            "job": reprotect.job,
            "reason": "already protected: replicating RecoveryToPrimary",
            "started_at": None,
        }
        assert state(sim)["state"] == "Reprotected"
        # a failover run on the reprotected plan converges too: its VMs are in the recovery region already
        assert asr_start_failover(StartFailoverInput(**PLAN, mode="planned")).reason == "already failed over"

        failback = twice(asr_start_failover, StartFailoverInput(**PLAN, mode="failback"))
        sim.estate.finish_running_jobs()
        assert job_state(failback.job).state == "Succeeded"
        assert asr_start_failover(StartFailoverInput(**PLAN, mode="failback")).plain() == {
            "recovery_plan": "rp-identity",
            "job": failback.job,
            "action": "skipped",
            "reason": ALREADY_ON_PRIMARY,
            "started_at": None,
        }
        commit = twice(asr_commit, RecoveryPlanInput(**PLAN))
        sim.estate.finish_running_jobs()
        assert asr_commit(RecoveryPlanInput(**PLAN)) == commit.model_copy(
            update={"action": "skipped", "reason": "already committed"}
        )
        assert (state(sim)["state"], state(sim)["active_location"]) == ("Committed", "Primary")

        twice(asr_reprotect, ReprotectInput(**PLAN, direction="PrimaryToRecovery"))
        sim.estate.finish_running_jobs()
        assert asr_reprotect(ReprotectInput(**PLAN)).reason == "already protected: replicating PrimaryToRecovery"
        plan = state(sim)
        assert (plan["state"], plan["active_location"]) == ("Protected", "Primary")
        # each POST once; the one refused failover POST is the planned run on the reprotected plan above
        assert (plan["failover_calls"], plan["reprotect_calls"]) == (3, 2)
        health = asr_replication_health(ReplicationHealthInput(**COMMON, recovery_plans=["rp-identity"]))
        assert (health.healthy, health.failed_over, health.unhealthy_total) == (4, 0, 0)

    def test_failback_of_a_plan_on_primary_is_skipped(self, simulate: Callable[..., Simulator]) -> None:
        sim = simulate()
        result = asr_start_failover(StartFailoverInput(**PLAN, mode="failback"))
        assert result.plain() == {
            "recovery_plan": "rp-identity",
            "job": None,
            "action": "skipped",
            "reason": ALREADY_ON_PRIMARY,
            "started_at": None,
        }
        assert state(sim)["failover_calls"] == 0

    def test_failback_before_reprotect_raises(self, simulate: Callable[..., Simulator]) -> None:
        sim = simulate()
        fail_over_and_commit(sim)
        with pytest.raises(RuntimeError, match="must be reprotected"):
            asr_start_failover(StartFailoverInput(**PLAN, mode="failback"))
        assert state(sim)["failover_calls"] == 1  # only the failover: the failback was not posted

    def test_failback_attaches_but_a_forward_failover_is_not_a_failback(
        self, simulate: Callable[..., Simulator]
    ) -> None:
        simulate()
        asr_start_failover(StartFailoverInput(**PLAN, mode="planned"))
        with pytest.raises(RuntimeError, match="not a failback"):
            asr_start_failover(StartFailoverInput(**PLAN, mode="failback"))

    def test_failover_after_a_failback_not_reprotected_raises(self, simulate: Callable[..., Simulator]) -> None:
        sim = simulate()
        fail_over_and_commit(sim)
        asr_reprotect(ReprotectInput(**PLAN))
        sim.estate.finish_running_jobs()
        asr_start_failover(StartFailoverInput(**PLAN, mode="failback"))
        sim.estate.finish_running_jobs()
        for _ in range(2):  # commit pending, then committed: the VMs are on the primary, not replicating
            with pytest.raises(RuntimeError, match="failed back to the primary region"):
                asr_start_failover(StartFailoverInput(**PLAN, mode="unplanned"))
            asr_commit(RecoveryPlanInput(**PLAN))
            sim.estate.finish_running_jobs()
        assert state(sim)["failover_calls"] == 2  # the failover and the failback

    def test_reprotect_refusals(self, simulate: Callable[..., Simulator]) -> None:
        sim = simulate()
        assert asr_reprotect(ReprotectInput(**PLAN)).reason == "already protected: replicating PrimaryToRecovery"
        with pytest.raises(RuntimeError, match="replicates PrimaryToRecovery, not RecoveryToPrimary"):
            asr_reprotect(ReprotectInput(**PLAN, direction="RecoveryToPrimary"))
        with pytest.raises(ValueError, match="direction"):
            asr_reprotect(ReprotectInput(**PLAN, direction="Sideways"))
        asr_start_failover(StartFailoverInput(**PLAN, mode="planned"))
        sim.estate.finish_running_jobs()
        with pytest.raises(RuntimeError, match="cannot be reprotected now"):
            asr_reprotect(ReprotectInput(**PLAN))  # failed over, not committed
        asr_commit(RecoveryPlanInput(**PLAN))
        sim.estate.finish_running_jobs()
        with pytest.raises(RuntimeError, match="would replicate after reprotect RecoveryToPrimary"):
            asr_reprotect(ReprotectInput(**PLAN, direction="PrimaryToRecovery"))
        assert state(sim)["reprotect_calls"] == 0


class TestReplicationHealthDirection:
    def test_direction_follows_the_failover(self, simulate: Callable[..., Simulator]) -> None:
        sim = simulate(warning_items=("vm-dc-0002",))
        scope = ReplicationHealthInput(**COMMON, recovery_plans=["rp-identity"])
        back = scope.model_copy(update={"direction": "RecoveryToPrimary"})
        before = asr_replication_health(scope)
        assert (before.healthy, before.failed_over, before.unhealthy_total) == (3, 0, 1)
        assert before.direction == "PrimaryToRecovery"
        assert asr_replication_health(back).failed_over == 4  # all still on primary

        fail_over_and_commit(sim)
        forward = asr_replication_health(scope)
        assert (forward.healthy, forward.failed_over, forward.unhealthy_total) == (0, 4, 0)
        committed = asr_replication_health(back)  # active on Recovery but not replicating back yet
        assert (committed.healthy, committed.unhealthy_total) == (0, 4)
        assert committed.unhealthy[0].health == "None"
        assert committed.unhealthy[0].errors == ["not replicating (PlannedFailoverCommitted)"]
        assert committed.max_rpo_seconds is None

        asr_reprotect(ReprotectInput(**PLAN))
        sim.estate.finish_running_jobs()
        reprotected = asr_replication_health(back)
        assert (reprotected.healthy, reprotected.failed_over, reprotected.unhealthy_total) == (3, 0, 1)
        assert reprotected.unhealthy[0].name == "vm-dc-0002" and reprotected.max_rpo_seconds
        assert reprotected.direction == "RecoveryToPrimary"
        assert asr_replication_health(scope).failed_over == 4  # the default direction: unchanged

    def test_bad_direction(self, simulate: Callable[..., Simulator]) -> None:
        simulate()
        with pytest.raises(ValueError, match="direction"):
            asr_replication_health(ReplicationHealthInput(**COMMON, direction="Sideways"))


class TestSourceSiteDown:
    """`asr_get_job` keeps what ASR says about a step that failed while the job went on: the source VMs that
    could not be shut down because the primary region is down (simulator.outage)."""

    def test_a_failed_shutdown_task_is_a_warning_of_a_succeeded_job(self, simulate: Callable[..., Simulator]) -> None:
        from simulator.outage import Outage

        sim = simulate()
        sim.estate.set_outage(Outage("westeurope", services=frozenset({"asr"})))
        started = asr_start_failover(StartFailoverInput(**PLAN, mode="unplanned", source_site_operations="Required"))
        sim.estate.finish_running_jobs()
        assert started.job is not None
        job = job_state(started.job)
        assert job.state == "Succeeded" and job.errors == []
        assert len(job.warnings) == 1 and job.warnings[0].startswith("SourceSiteUnreachable: Shutting down")

    def test_a_planned_failover_fails_with_asr_s_word(self, simulate: Callable[..., Simulator]) -> None:
        from simulator.outage import Outage

        sim = simulate()
        sim.estate.set_outage(Outage("westeurope", services=frozenset({"asr"})))
        started = asr_start_failover(StartFailoverInput(**PLAN, mode="planned"))
        sim.estate.finish_running_jobs()
        assert started.job is not None
        job = job_state(started.job)
        assert job.state == "Failed" and job.warnings == [] and "Run an unplanned failover" in job.errors[0]


ITEM = (
    "/subscriptions/s/resourceGroups/rg-asr/providers/Microsoft.RecoveryServices/vaults/rsv/replicationFabrics/f-1/"
    "replicationProtectionContainers/c-1/replicationProtectedItems/vm-1"
)


@pytest.mark.parametrize("item_id", [ITEM, ITEM.lower(), ITEM.replace("/replication", "/REPLICATION")])
def test_protected_item_names_from_its_id(item_id: str) -> None:
    """Where the plan's VMs are active is read from its first protected item, named by the item's ARM id."""
    assert [n.lower() for n in _item_names(item_id) or ()] == ["f-1", "c-1", "vm-1"]


@pytest.mark.parametrize(
    "item_id",
    ["", "vm-1", ITEM + "/", ITEM.rsplit("/replicationProtectedItems", 1)[0], ITEM.replace("Fabrics", "Networks")],
)
def test_not_a_protected_item_id(item_id: str) -> None:
    assert _item_names(item_id) is None
