"""Verify activities through the real LogsQueryClient and SiteRecoveryManagementClient against the simulator."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
from azure.core.exceptions import HttpResponseError
from azure.monitor.query import LogsQueryError, LogsQueryPartialResult
from pydantic import ValidationError

import activities
from activities.asr import asr_start_failover
from activities.verify import (
    asr_recovery_plan_vms,
    heartbeat_query,
    kql_string,
    logs_avd_agent_health,
    logs_heartbeat,
)
from failover import settings as settings_module
from failover.clients import factory_for
from failover.contracts.asr import StartFailoverInput
from failover.contracts.verify import (
    AvdAgentHealthInput,
    HeartbeatInput,
    RecoveryPlanVmsInput,
    RecoveryPlanVmsResult,
)
from simulator import EstateConfig, Simulator
from simulator.estate import DEMO_ASR_RG, DEMO_VAULT, SUBSCRIPTION_ID, HostPool, SessionHost, utcnow
from simulator.network import DEMO_WORKSPACE_ID, NetworkConfig
from tests.activities.conftest import StartSimulator

ASR = {
    "instance_id": "test",
    "plan": "demo",
    "subscription_id": SUBSCRIPTION_ID,
    "resource_group": DEMO_ASR_RG,
    "vault": DEMO_VAULT,
}
DCS = ["vm-dc-0001", "vm-dc-0002", "vm-dc-0003", "vm-dc-0004"]


@pytest.fixture
def simulate(start_simulator: StartSimulator) -> Callable[..., Simulator]:
    """A simulator on a 30-VM demo estate (rp-identity 4, rp-data-01 4, rp-apps-01 22 VMs) with the given
    Logs knobs."""

    def make(**network: Any) -> Simulator:
        config = EstateConfig(time_scale=10_000, protected_items_page_size=7, network=NetworkConfig(**network))
        return start_simulator(config, vms=30)

    return make


def test_registered_like_the_other_activities() -> None:
    for fn in (asr_recovery_plan_vms, logs_heartbeat, logs_avd_agent_health):
        assert activities.ALL[fn.__name__] is fn


def test_recovery_plan_vms(simulate: Callable[..., Simulator]) -> None:
    sim = simulate()
    result = asr_recovery_plan_vms(RecoveryPlanVmsInput(**ASR, recovery_plans=["rp-identity", "rp-data-01"]))
    assert result == RecoveryPlanVmsResult(
        vms={"rp-identity": DCS, "rp-data-01": ["vm-sql-0005", "vm-sql-0006", "vm-sql-0007", "vm-sql-0008"]}
    )
    assert sim.estate.requests["asr.recoveryplans.get"] == 2
    assert sim.estate.requests["asr.protecteditems.list"] == 5  # one vault-wide listing: 30 items, 7 a page
    assert asr_recovery_plan_vms(RecoveryPlanVmsInput(**ASR, recovery_plans=[])).vms == {}
    with pytest.raises(ValueError, match="recovery_plans"):
        asr_recovery_plan_vms(RecoveryPlanVmsInput(**ASR, recovery_plans="rp-identity"))


def test_heartbeat_before_and_after_failover(simulate: Callable[..., Simulator]) -> None:
    sim = simulate()
    workspace = sim.estate.network.workspace_id
    assert workspace == DEMO_WORKSPACE_ID
    computers = [
        *asr_recovery_plan_vms(RecoveryPlanVmsInput(**ASR, recovery_plans=["rp-identity"])).vms["rp-identity"],
        "dc-onprem-01",
    ]
    before = logs_heartbeat(HeartbeatInput(workspace_id=workspace, computers=computers))
    assert before.reporting == ["dc-onprem-01"] and before.missing == DCS
    assert abs(datetime.fromisoformat(before.checked_at) - utcnow()) < timedelta(seconds=30)

    started = asr_start_failover(StartFailoverInput(**ASR, recovery_plan="rp-identity", mode="unplanned"))
    assert started.action == "started"
    with sim.estate.lock:  # hold the job running whatever the machine's speed
        for job in sim.estate.jobs.values():
            job.due_at = utcnow() + timedelta(hours=1)
    running = logs_heartbeat(HeartbeatInput(workspace_id=workspace, computers=computers, minutes=5))
    assert running.missing == DCS  # the job has not finished: the VMs are not up in the recovery region yet
    sim.estate.finish_running_jobs()
    after = logs_heartbeat(HeartbeatInput(workspace_id=workspace, computers=computers))
    assert after.plain() == {"reporting": [*DCS, "dc-onprem-01"], "missing": [], "checked_at": after.checked_at}
    assert sim.estate.requests["logs.query"] == 3


def test_silent_computers_are_missing(simulate: Callable[..., Simulator]) -> None:
    sim = simulate(silent_computers=("vm-dc-0003",), always_reporting=())
    sim.estate.start_failover(
        DEMO_ASR_RG,
        DEMO_VAULT,
        "rp-identity",
        "PlannedFailover",
        {"properties": {"failoverDirection": "PrimaryToRecovery"}},
    )
    sim.estate.finish_running_jobs()
    computers = ["VM-DC-0004", *DCS[:3], "dc-onprem-01"]
    result = logs_heartbeat(HeartbeatInput(workspace_id=DEMO_WORKSPACE_ID, computers=computers))
    assert result.reporting == ["VM-DC-0004", "vm-dc-0001", "vm-dc-0002"]  # as named in the input
    assert result.missing == ["vm-dc-0003", "dc-onprem-01"]


def test_many_computers_are_chunked(simulate: Callable[..., Simulator], monkeypatch: pytest.MonkeyPatch) -> None:
    sim = simulate(always_reporting=tuple(f"pc-{n:03d}" for n in range(0, 10, 2)))
    monkeypatch.setattr("activities.verify.CHUNK", 3)
    computers = [f"pc-{n:03d}" for n in range(10)]
    result = logs_heartbeat(HeartbeatInput(workspace_id=DEMO_WORKSPACE_ID, computers=[*computers, "pc-000"]))
    assert result.reporting == computers[::2] and result.missing == computers[1::2]
    assert sim.estate.requests["logs.query"] == 4
    assert logs_heartbeat(HeartbeatInput(workspace_id=DEMO_WORKSPACE_ID, computers=[])).reporting == []
    assert sim.estate.requests["logs.query"] == 4  # nothing to ask


def test_names_are_escaped(simulate: Callable[..., Simulator]) -> None:
    simulate()
    assert kql_string('a"b\\c') == '"a\\"b\\\\c"'
    assert '("x\\") | union (Heartbeat")' in heartbeat_query(['x") | union (Heartbeat'], 15)
    tricky = ['dc-onprem-01") or Computer != ("', "back\\slash"]
    result = logs_heartbeat(HeartbeatInput(workspace_id=DEMO_WORKSPACE_ID, computers=[*tricky, "dc-onprem-01"]))
    assert result.reporting == ["dc-onprem-01"] and result.missing == tricky
    with pytest.raises(ValueError, match="control characters"):
        logs_heartbeat(HeartbeatInput(workspace_id=DEMO_WORKSPACE_ID, computers=["new\nline"]))


def test_bad_input(simulate: Callable[..., Simulator]) -> None:
    sim = simulate()
    for payload, field in (
        ({"workspace_id": DEMO_WORKSPACE_ID, "computers": "vm-dc-0001"}, "computers"),
        ({"workspace_id": DEMO_WORKSPACE_ID, "computers": ["a"], "minutes": 0}, "minutes"),
        ({"workspace_id": DEMO_WORKSPACE_ID, "computers": ["a"], "minutes": "15"}, "minutes"),
        ({"workspace_id": DEMO_WORKSPACE_ID, "computers": ["a"], "minutes": True}, "minutes"),
        ({"computers": ["a"]}, "workspace_id"),
        ({"workspace_id": "", "computers": ["a"]}, "workspace_id"),
    ):
        with pytest.raises(ValidationError, match=field):  # refused by the input model, naming the field
            logs_heartbeat(HeartbeatInput.model_validate(payload))
    assert sim.estate.requests["logs.query"] == 0


def test_unknown_workspace_and_unknown_query(simulate: Callable[..., Simulator]) -> None:
    sim = simulate()
    with pytest.raises(HttpResponseError) as unknown:
        logs_heartbeat(HeartbeatInput(workspace_id="00000000-0000-0000-0000-000000000000", computers=["a"]))
    assert unknown.value.status_code == 404
    client = factory_for(settings_module.current()).logs()
    with pytest.raises(HttpResponseError) as bad:
        client.query_workspace(sim.estate.network.workspace_id, "Usage | take 10", timespan=timedelta(hours=12))
    assert bad.value.status_code == 400
    assert bad.value.error is not None and bad.value.error.code == "BadArgumentError"


def test_avd_agent_health(simulate: Callable[..., Simulator]) -> None:
    sim = simulate(session_host_status={"sh-neu-b": "Upgrading"}, silent_computers=("sh-neu-c.contoso.local",))
    with sim.estate.lock:
        pool = sim.estate.host_pools.setdefault(
            ("rg-avd-neu", "hp-neu-pooled"), HostPool("rg-avd-neu", "hp-neu-pooled", "northeurope")
        )
        pool.session_hosts = {
            name: SessionHost(name, status=status)
            for name, status in (
                ("sh-neu-a.contoso.local", "Available"),
                ("sh-neu-b.contoso.local", "Available"),
                ("sh-neu-c.contoso.local", "Available"),
                ("sh-neu-d.contoso.local", "Unavailable"),
            )
        }
    payload = AvdAgentHealthInput(workspace_id=DEMO_WORKSPACE_ID, host_pool="hp-neu-pooled")
    result = logs_avd_agent_health(payload)
    assert result.healthy == ["sh-neu-a.contoso.local"]
    assert result.unhealthy == ["sh-neu-b.contoso.local", "sh-neu-d.contoso.local"]
    assert result.statuses == {"sh-neu-b.contoso.local": "Upgrading", "sh-neu-d.contoso.local": "Unavailable"}
    assert result.missing == []
    expected = [h for h in pool.session_hosts]
    with_expected = logs_avd_agent_health(payload.model_copy(update={"session_hosts": expected, "minutes": 30}))
    assert with_expected.missing == ["sh-neu-c.contoso.local"]  # silent: no agent row at all
    assert with_expected.unhealthy == [*result.unhealthy, "sh-neu-c.contoso.local"]
    primary = logs_avd_agent_health(AvdAgentHealthInput(workspace_id=DEMO_WORKSPACE_ID, host_pool="hp-weu-pooled"))
    assert primary.healthy == [] and primary.unhealthy == []


def test_partial_result_is_an_error(simulate: Callable[..., Simulator], monkeypatch: pytest.MonkeyPatch) -> None:
    simulate()
    partial = LogsQueryPartialResult._from_generated(
        {"tables": [], "error": {"code": "PartialError", "message": "some shards timed out"}}, LogsQueryError
    )
    client = factory_for(settings_module.current()).logs()
    monkeypatch.setattr(client, "query_workspace", lambda *a, **kw: partial)
    with pytest.raises(RuntimeError, match="partial result"):
        logs_heartbeat(HeartbeatInput(workspace_id=DEMO_WORKSPACE_ID, computers=["dc-onprem-01"]))
