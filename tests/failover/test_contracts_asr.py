"""The ASR, verify and NetApp activities' contracts (failover/contracts/asr.py, verify.py, netapp.py)."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from failover import contracts
from failover.batching import RecoveryPlanRef, groups_from_resolved
from failover.contracts.asr import (
    AsrJobInput,
    AsrJobResult,
    RecoveryPlanInput,
    RecoveryPlanJob,
    ReplicationHealthInput,
    ReplicationHealthResult,
    ReprotectInput,
    ResolveRecoveryPlansInput,
    ResolveRecoveryPlansResult,
    StartFailoverInput,
    TestCleanupInput,
    UnhealthyItem,
)
from failover.contracts.netapp import NetAppBreakInput, NetAppBreakResult, NetAppBreakStatusInput
from failover.contracts.verify import AvdAgentHealthInput, HeartbeatInput, HeartbeatResult, RecoveryPlanVmsInput
from failover.plan import load_plan
from local.stack import DEMO_PLAN

VAULT = {"subscription_id": "s", "resource_group": "rg-asr", "vault": "rsv"}
PLAN = {**VAULT, "recovery_plan": "rp-identity"}
VOLUME = {"subscription_id": "s", "resource_group": "rg-anf", "account": "anf", "pool": "pool", "volume": "vol"}


@pytest.mark.parametrize(
    ("model", "payload", "field"),
    [
        (RecoveryPlanInput, {**VAULT}, "recovery_plan"),
        (RecoveryPlanInput, {**PLAN, "vault": ""}, "vault"),
        (StartFailoverInput, {**PLAN}, "mode"),
        (StartFailoverInput, {**PLAN, "mode": "drill"}, "mode"),
        (StartFailoverInput, {**PLAN, "mode": "test", "network_type": "AnyNetwork"}, "network_type"),
        (ReprotectInput, {**PLAN, "direction": "Sideways"}, "direction"),
        (AsrJobInput, {**VAULT, "job": ""}, "job"),
        (ReplicationHealthInput, {**VAULT, "recovery_plans": "rp-identity"}, "recovery_plans"),
        (ReplicationHealthInput, {**VAULT, "recovery_plans": [""]}, "recovery_plans"),
        (ResolveRecoveryPlansInput, {**VAULT}, "groups"),
        (RecoveryPlanVmsInput, {**VAULT, "recovery_plans": "rp-identity"}, "recovery_plans"),
        (HeartbeatInput, {"computers": ["a"]}, "workspace_id"),
        (HeartbeatInput, {"workspace_id": "w", "computers": ["a"], "minutes": 1441}, "minutes"),
        (HeartbeatInput, {"workspace_id": "w", "computers": ["a"], "minutes": True}, "minutes"),
        (AvdAgentHealthInput, {"workspace_id": "w", "host_pool": ""}, "host_pool"),
        (NetAppBreakInput, {**VOLUME, "volume": ""}, "volume"),
        (NetAppBreakInput, {**VOLUME, "force": "yes"}, "force"),
        (NetAppBreakStatusInput, {**VOLUME, "force": True}, "force"),  # a start input is not a status input
    ],
)
def test_bad_inputs_are_refused_naming_the_field(model: type[contracts.Contract], payload: Any, field: str) -> None:
    with pytest.raises(ValidationError, match=field):
        model.model_validate(payload)


def test_defaults() -> None:
    assert ReplicationHealthInput(**VAULT).direction == "PrimaryToRecovery"
    assert HeartbeatInput(workspace_id="w", computers=[]).minutes == 15
    assert AvdAgentHealthInput(workspace_id="w", host_pool="hp").session_hosts == []
    assert NetAppBreakInput(**VOLUME).force is False
    assert RecoveryPlanJob(recovery_plan="rp", action="started").plain() == {
        "recovery_plan": "rp",
        "job": None,
        "action": "started",
        "reason": None,
        "started_at": None,
    }


@pytest.mark.parametrize(
    "value",
    [
        StartFailoverInput(**PLAN, mode="test", network_id="/subscriptions/s/vnet", recovery_point_type="Latest"),
        TestCleanupInput(**PLAN, comments="drill done", instance_id="run-1", plan="demo"),
        ReprotectInput(**PLAN, direction="RecoveryToPrimary"),
        AsrJobResult(job="j1", recovery_plan="rp", state="Failed", terminal=True, errors=["E1: boom"]),
        ReplicationHealthResult(
            protected_items=2,
            healthy=1,
            failed_over=0,
            unhealthy=[UnhealthyItem(name="vm-1", health="Critical", errors=["E: x"])],
            unhealthy_total=1,
            max_rpo_seconds=30.5,
            direction="PrimaryToRecovery",
            checked_at="2026-11-23T02:15:00+00:00",
        ),
        HeartbeatResult(reporting=["a"], missing=["b"], checked_at="2026-11-23T02:15:00+00:00"),
        NetAppBreakResult(action="skipped", mirror_state_before="Broken", reason="already broken"),
    ],
)
def test_round_trip_through_dfs_codec(value: contracts.Contract) -> None:
    assert contracts.loads(contracts.dumps(value)) == value
    assert type(value).model_validate(value.plain()) == value


def test_resolve_request_and_batching_take_the_model_or_its_json() -> None:
    plan = load_plan(DEMO_PLAN)
    request = plan.resolve_request("run-1")
    assert isinstance(request, ResolveRecoveryPlansInput) and request.instance_id == "run-1"
    assert request.plan == plan.name and request.vault == plan.asr.vault
    assert [g.name for g in request.groups] == [g.name for g in plan.asr_groups]
    assert contracts.loads(contracts.dumps(request)) == request
    resolved = ResolveRecoveryPlansResult.model_validate(
        {
            "groups": [
                {"name": g.name, "recovery_plans": [{"name": f"rp-{g.name}", "vms": 3, "failed_over": False}]}
                for g in request.groups
            ],
            "unmatched": [],
        }
    )
    expected = [(g.name, [RecoveryPlanRef(f"rp-{g.name}", 3)]) for g in request.groups]
    assert groups_from_resolved(resolved, "rsv") == expected
    assert groups_from_resolved(resolved.plain(), "rsv") == expected
