"""asr_replication_health through the real SiteRecoveryManagementClient against the simulator."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
import requests

import activities
from activities.asr import asr_replication_health
from failover.contracts.asr import ReplicationHealthInput
from simulator import EstateConfig, Simulator
from simulator.estate import DEMO_ASR_RG, DEMO_VAULT, SUBSCRIPTION_ID, utcnow
from tests.activities.conftest import StartSimulator

PAYLOAD = {
    "instance_id": "test",
    "plan": "demo",
    "subscription_id": SUBSCRIPTION_ID,
    "resource_group": DEMO_ASR_RG,
    "vault": DEMO_VAULT,
}
WHOLE_VAULT = ReplicationHealthInput(**PAYLOAD)


@pytest.fixture
def simulate(start_simulator: StartSimulator) -> Callable[..., Simulator]:
    """A simulator on a 30-VM demo estate (rp-identity 4, rp-data-01 4, rp-apps-01 22 VMs)."""

    def make(**config: Any) -> Simulator:
        config.setdefault("time_scale", 10_000)
        config.setdefault("protected_items_page_size", 7)  # several pages: the SDK follows nextLink
        return start_simulator(EstateConfig(**config), vms=30)

    return make


def test_registered_like_the_other_activities() -> None:
    assert activities.ALL["asr_replication_health"] is asr_replication_health


def test_healthy_estate(simulate: Callable[..., Simulator]) -> None:
    sim = simulate()
    result = asr_replication_health(WHOLE_VAULT)
    assert result.protected_items == 30 and result.healthy == 30
    assert result.unhealthy == [] and result.unhealthy_total == 0 and result.failed_over == 0
    assert 30 <= result.max_rpo_seconds <= 120
    assert isinstance(result.max_rpo_seconds, float)
    assert abs(datetime.fromisoformat(result.checked_at) - utcnow()) < timedelta(seconds=30)
    assert sim.estate.requests["asr.protecteditems.list"] == 5  # 30 items, 7 a page
    assert sim.estate.requests["asr.recoveryplans.get"] == 0  # no plan filter: no plan reads


def test_unhealthy_items_and_rpo(simulate: Callable[..., Simulator]) -> None:
    simulate(
        unhealthy_items=("vm-app-0010",),
        warning_items=("vm-sql-0005", "vm-app-0009"),
        rpo_seconds={"vm-app-0010": 5400, "vm-dc-0001": 12.5},
    )
    result = asr_replication_health(WHOLE_VAULT)
    assert result.protected_items == 30 and result.healthy == 27 and result.unhealthy_total == 3
    assert [(u.name, u.health) for u in result.unhealthy] == [
        ("vm-app-0010", "Critical"),  # worst first, then by name
        ("vm-app-0009", "Warning"),
        ("vm-sql-0005", "Warning"),
    ]
    assert result.unhealthy[0].errors == [
        "SimReplicationNotProgressing: Site Recovery replication is not progressing for virtual machine 'vm-app-0010'."
    ]
    assert result.max_rpo_seconds == 5400.0


def test_only_the_named_recovery_plans_count(simulate: Callable[..., Simulator]) -> None:
    sim = simulate(unhealthy_items=("vm-app-0010",), warning_items=("vm-sql-0005",))
    identity = asr_replication_health(ReplicationHealthInput(**PAYLOAD, recovery_plans=["rp-identity"]))
    assert identity.protected_items == 4 and identity.healthy == 4 and identity.unhealthy == []
    two = asr_replication_health(ReplicationHealthInput(**PAYLOAD, recovery_plans=["rp-identity", "rp-data-01"]))
    assert two.protected_items == 8 and two.healthy == 7
    assert [u.name for u in two.unhealthy] == ["vm-sql-0005"]
    rpos = {
        item.vm_name: sim.estate.item_rpo_seconds(item) or 0
        for name in ("rp-identity", "rp-data-01")
        for _, items in sim.estate.recovery_plan(DEMO_ASR_RG, DEMO_VAULT, name).groups
        for item in items
    }
    assert two.max_rpo_seconds == float(max(rpos.values()))
    none = asr_replication_health(ReplicationHealthInput(**PAYLOAD, recovery_plans=[]))
    assert none.protected_items == 0 and none.max_rpo_seconds is None


def test_plan_listing_an_item_the_vault_lacks(
    simulate: Callable[..., Simulator], monkeypatch: pytest.MonkeyPatch
) -> None:
    sim = simulate()
    listed = sim.estate.site_recovery.protected_items
    # protection was disabled for vm-dc-0004, but recovery plan rp-identity still lists it
    monkeypatch.setattr(
        sim.estate.site_recovery,
        "protected_items",
        lambda rg, vault: [p for p in listed(rg, vault) if p[1].vm_name != "vm-dc-0004"],
    )
    result = asr_replication_health(ReplicationHealthInput(**PAYLOAD, recovery_plans=["rp-identity"]))
    assert result.protected_items == 4 and result.healthy == 3
    assert [(u.name, u.health) for u in result.unhealthy] == [("vm-dc-0004", "Missing")]
    assert asr_replication_health(WHOLE_VAULT).protected_items == 29  # vault-wide: only what the vault lists


def test_failed_over_items_are_neither_healthy_nor_unhealthy(simulate: Callable[..., Simulator]) -> None:
    sim = simulate()
    answer = requests.post(
        f"{sim.url}/subscriptions/{SUBSCRIPTION_ID}/resourceGroups/{DEMO_ASR_RG}/providers/"
        f"Microsoft.RecoveryServices/vaults/{DEMO_VAULT}/replicationRecoveryPlans/rp-identity/unplannedFailover",
        params={"api-version": "2025-08-01"},
        json={"properties": {"failoverDirection": "PrimaryToRecovery", "sourceSiteOperations": "NotRequired"}},
        headers={"Authorization": "Bearer sim"},
        verify=sim.ca_bundle,
        timeout=10,
    )
    assert answer.status_code == 202
    sim.estate.finish_running_jobs()
    result = asr_replication_health(WHOLE_VAULT)
    assert result.protected_items == 30 and result.failed_over == 4 and result.healthy == 26
    assert result.unhealthy == []


def test_bad_input(simulate: Callable[..., Simulator]) -> None:
    simulate()
    with pytest.raises(ValueError, match="vault"):
        asr_replication_health(ReplicationHealthInput(**{k: v for k, v in PAYLOAD.items() if k != "vault"}))
    with pytest.raises(ValueError, match="recovery_plans"):
        asr_replication_health(ReplicationHealthInput(**PAYLOAD, recovery_plans="rp-identity"))
    from azure.core.exceptions import ResourceNotFoundError

    with pytest.raises(ResourceNotFoundError):
        asr_replication_health(ReplicationHealthInput(**PAYLOAD, recovery_plans=["rp-nope"]))


def test_recovery_point_ages_for_the_preview(simulate: Callable[..., Simulator]) -> None:
    """The preview's per-item recovery point ages come from the same listing as the health check's worst RPO."""
    from activities.asr_health import recovery_point_ages
    from activities.planning import read_recovery_points
    from failover.plan import load_plan
    from failover.preview import recovery_point_table
    from local.stack import DEMO_PLAN

    simulate(rpo_seconds={"vm-app-0010": 5400, "vm-dc-0001": 12.5})
    ages = dict(recovery_point_ages(ReplicationHealthInput(**PAYLOAD, recovery_plans=["rp-identity", "rp-apps-01"])))
    assert len(ages) == 26 and ages["vm-app-0010"] == 5400.0 and ages["vm-dc-0001"] == 12.0
    plan = load_plan(DEMO_PLAN)
    table = recovery_point_table(plan, read_recovery_points(plan))
    assert len(table["items"]) == 30 and table["items"][0] == {
        "vm": "vm-app-0010",
        "age_seconds": 5400.0,
        "within": False,
    }
    assert (
        table["over"] == 1 and table["max_age_seconds"] == 5400.0 == asr_replication_health(WHOLE_VAULT).max_rpo_seconds
    )


def test_the_item_json_is_read_as_microsoft_s_example_spells_it() -> None:
    """The health check reads the vault's items as ARM's JSON (no SDK models): Microsoft's example item (a Hyper-V
    item: no RPO field), then the variants the model covered: an error with a summary message only, a long
    message, InMage's `lastRpoInSeconds`."""
    from activities.asr_health import ERROR_CHARS, _health_errors, _rpo_seconds
    from tests.conftest import REFERENCE

    example = json.loads((REFERENCE / "rest-examples" / "asr" / "ReplicationProtectedItems_List.json").read_text())
    props = example["responses"]["200"]["body"]["value"][0]["properties"]
    assert props["replicationHealth"] == "Normal" and _health_errors(props) == [] and _rpo_seconds(props) is None
    errors = [{"errorCode": "150097", "summaryMessage": "Replication is not progressing"}, {"errorMessage": "x" * 400}]
    props = {
        **props,
        "healthErrors": errors,
        "providerSpecificDetails": {"instanceType": "InMageRcm", "lastRpoInSeconds": 42},
    }
    assert _health_errors(props) == ["150097: Replication is not progressing", "x" * ERROR_CHARS]
    assert _rpo_seconds(props) == 42.0
