"""`capacity_check` against the simulator, through the real SDK clients: per quota of the recovery region what the
recovery plans need (each VM's recovery size mapped to its family and vCPUs by the resource SKUs), the usage, the
limit and the shortfall."""

from __future__ import annotations

from typing import Any

from activities.capacity import capacity_check
from failover.contracts.capacity import CapacityInput
from simulator import EstateConfig
from simulator.estate import DEMO_ASR_RG, DEMO_VAULT, RECOVERY_REGION, SUBSCRIPTION_ID

FAMILY = "standardDSv5Family"


def check(*plans: str) -> dict[str, dict[str, Any]]:
    result = capacity_check(
        CapacityInput(
            subscription_id=SUBSCRIPTION_ID,
            resource_group=DEMO_ASR_RG,
            vault=DEMO_VAULT,
            recovery_plans=list(plans),
            recovery_region=RECOVERY_REGION,
        )
    )
    return {row.quota: row.plain() for row in result.rows}


def test_needs_against_usage_and_limits(start_simulator: Any) -> None:
    sim = start_simulator(EstateConfig(), vms=10)
    sim.estate.set_vm_size("Standard_E8s_v5", "vm-dc-0001")
    sim.estate.set_public_ip("vm-dc-0002")
    rows = check("rp-identity")
    expected = {"quota": "cores", "name": "Total Regional vCPUs", "needed": 3 * 4 + 8, "current": 32,
                "limit": 100_000, "available": 100_000 - 32, "shortfall": 0}  # fmt: skip
    assert rows["cores"] == expected
    assert rows["virtualMachines"]["needed"] == 4 and rows["standardESv5Family"]["needed"] == 8
    assert rows[FAMILY]["needed"] == 12 and rows["PublicIPAddresses"]["needed"] == 1
    assert sim.estate.snapshot()["requests"]["compute.usages.list"] == 1


def test_a_shortfall_per_family(start_simulator: Any) -> None:
    sim = start_simulator(EstateConfig(), vms=10)
    sim.estate.capacity.set_quota(RECOVERY_REGION, FAMILY, limit=40)  # 32 used by the standby session hosts
    rows = check("rp-identity", "rp-data-01", "rp-apps-01")
    assert rows[FAMILY] == {"quota": FAMILY, "name": "Standard DSv5 Family vCPUs", "needed": 40, "current": 32,
                            "limit": 40, "available": 8, "shortfall": 32}  # fmt: skip
    assert rows["cores"]["shortfall"] == 0 and rows["virtualMachines"]["needed"] == 10
    assert "PublicIPAddresses" not in rows  # no VM gets a public IP


def test_readiness_and_the_preview_read_it(start_simulator: Any) -> None:
    """Readiness's `capacity` check: pass when it fits; a shortfall warns, or fails under `capacity: block`."""
    from activities.planning import read_capacity
    from activities.readiness import check_plan
    from failover.plan import load_plan
    from local.stack import DEMO_PLAN

    sim = start_simulator(EstateConfig(), vms=10)
    plan = load_plan(DEMO_PLAN)

    def capacity_check_of(plan: Any) -> dict[str, str]:
        return next(c for c in check_plan(plan)["checks"] if c["name"] == "capacity")

    fits = capacity_check_of(plan)
    assert fits["status"] == "pass" and fits["message"].startswith("10 VMs fit in northeurope: ")
    sim.estate.capacity.set_quota(RECOVERY_REGION, FAMILY, limit=40)
    short = capacity_check_of(plan)
    assert short["status"] == "warn" and "short by 32" in short["message"]
    assert "capacity policy warn" in short["message"]
    blocked = capacity_check_of(plan.model_copy(update={"capacity": "block"}))
    assert blocked["status"] == "fail" and "a run is refused" in blocked["message"]
    rows = {r["quota"]: r for r in read_capacity(plan, ["rp-identity"])["rows"]}
    assert rows[FAMILY]["needed"] == 16 and rows[FAMILY]["shortfall"] == 8


def test_the_raw_item_read_uses_the_sdk_s_api_version() -> None:
    from azure.mgmt.recoveryservicessiterecovery._configuration import SiteRecoveryManagementClientConfiguration

    from activities.capacity import ASR_API_VERSION
    from failover.clients import SimulatorCredential

    config = SiteRecoveryManagementClientConfiguration(SimulatorCredential(), SUBSCRIPTION_ID)
    assert config.api_version == ASR_API_VERSION


def test_an_evacuation_s_plans_checked_together_with_one_read(start_simulator: Any) -> None:
    """`capacity_check_region`: two plans of one vault coming up in one region, each fitting alone (16 and 24 of the
    32 DSv5 vCPUs left), short together; the region's usages and SKUs read once, the vault's items once."""
    from activities.capacity import capacity_check_region
    from failover.contracts.capacity import RegionCapacityInput

    sim = start_simulator(EstateConfig(), vms=10)
    sim.estate.capacity.set_quota(RECOVERY_REGION, FAMILY, limit=64)  # 32 used by the standby session hosts
    vault = {"subscription_id": SUBSCRIPTION_ID, "resource_group": DEMO_ASR_RG, "vault": DEMO_VAULT}
    assert check("rp-identity")[FAMILY]["shortfall"] == check("rp-data-01", "rp-apps-01")[FAMILY]["shortfall"] == 0
    before = dict(sim.estate.snapshot()["requests"])
    result = capacity_check_region(
        RegionCapacityInput(
            subscription_id=SUBSCRIPTION_ID,
            region=RECOVERY_REGION,
            plans=[
                {"plan": "identity", **vault, "recovery_plans": ["rp-identity"]},
                {"plan": "apps", **vault, "recovery_plans": ["rp-data-01", "rp-apps-01"]},
            ],
        )
    )
    rows = {row.quota: row.plain() for row in result.rows}
    assert rows[FAMILY] == {"quota": FAMILY, "name": "Standard DSv5 Family vCPUs", "needed": 40, "current": 32,
                            "limit": 64, "available": 32, "shortfall": 8}  # fmt: skip
    assert result.vms == 10 and [(p.plan, p.vms, p.needed[FAMILY]) for p in result.plans] == [
        ("identity", 4, 16), ("apps", 6, 24),
    ]  # fmt: skip
    after = sim.estate.snapshot()["requests"]
    read = {k: after.get(k, 0) - before.get(k, 0) for k in after if after.get(k, 0) != before.get(k, 0)}
    assert read["compute.usages.list"] == read["network.usages.list"] == read["compute.skus.list"] == 1, read
    assert sum(n for k, n in read.items() if k.startswith("asr.") and "protected" in k.lower()) == 1, read
