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


def _input(*plans: str) -> CapacityInput:
    return CapacityInput(
        subscription_id=SUBSCRIPTION_ID,
        resource_group=DEMO_ASR_RG,
        vault=DEMO_VAULT,
        recovery_plans=list(plans),
        recovery_region=RECOVERY_REGION,
    )


def check(*plans: str) -> dict[str, dict[str, Any]]:
    return {row.quota: row.plain() for row in capacity_check(_input(*plans)).rows}


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

    from activities._asr import ASR_API_VERSION
    from failover.clients import SimulatorCredential

    config = SiteRecoveryManagementClientConfiguration(SimulatorCredential(), SUBSCRIPTION_ID)
    assert config.api_version == ASR_API_VERSION


def result_of(*plans: str) -> dict[str, Any]:
    return capacity_check(_input(*plans)).plain()


IDENTITY = ("vm-dc-0001", "vm-dc-0002", "vm-dc-0003", "vm-dc-0004")  # rp-identity: four Standard_D4s_v5


class TestReservations:
    """Capacity reservations: the VMs a group's free slots hold are taken out of the vCPU needs (the reservation's
    vCPUs are in the usage already) and reported as reserved; a reservation smaller than its VMs is a shortfall row."""

    def test_a_reservation_covering_the_vms_fits_without_free_quota(self, start_simulator: Any) -> None:
        sim = start_simulator(EstateConfig(), vms=10)
        group_id = sim.estate.capacity.reserve("rg-dr-neu", "crg-neu", "crg-d4", "Standard_D4s_v5", 4)
        sim.estate.set_capacity_reservation_group(group_id, *IDENTITY)
        used = sim.estate.capacity.usage(RECOVERY_REGION)[FAMILY]  # 32 standby + 16 reserved
        sim.estate.capacity.set_quota(RECOVERY_REGION, FAMILY, limit=used)  # no free DSv5 vCPU
        result = result_of("rp-identity")
        rows = {r["quota"]: r for r in result["rows"]}
        assert rows[FAMILY]["needed"] == 0 and rows[FAMILY]["available"] == 0 and rows[FAMILY]["shortfall"] == 0
        assert rows["cores"]["needed"] == 0 and rows["virtualMachines"]["needed"] == 4  # still four VMs
        assert result["reserved"] == 4
        assert result["reservations"] == [{"group": "crg-neu", "group_id": group_id, "size": "Standard_D4s_v5",
                                           "zone": None, "reserved": 4, "allocated": 0, "free": 4, "vms": 4,
                                           "covered": 4, "shortfall": 0}]  # fmt: skip
        requests = sim.estate.snapshot()["requests"]
        assert requests["compute.capacityreservationgroups.get"] == 1
        assert requests["compute.capacityreservations.list"] == 1

    def test_a_zonal_reservation_holds_only_the_vms_of_its_zone(self, start_simulator: Any) -> None:
        """The identity VMs come up in zone 2 (`recoveryAvailabilityZone`); their group reserves D4s in zone 1:
        nothing holds them, and their vCPUs need quota. Moved to zone 1, the reservation holds them."""
        sim = start_simulator(EstateConfig(), vms=10)
        group_id = sim.estate.capacity.reserve("rg-dr-neu", "crg-neu", "crg-d4-z1", "Standard_D4s_v5", 4, zone="1")
        sim.estate.set_capacity_reservation_group(group_id, *IDENTITY)
        sim.estate.set_recovery_zone("2", *IDENTITY)
        used = sim.estate.capacity.usage(RECOVERY_REGION)[FAMILY]
        sim.estate.capacity.set_quota(RECOVERY_REGION, FAMILY, limit=used)  # no free DSv5 vCPU
        result = result_of("rp-identity")
        rows = {r["quota"]: r for r in result["rows"]}
        assert rows[FAMILY]["needed"] == 16 and rows[FAMILY]["shortfall"] == 16 and result["reserved"] == 0
        (row,) = result["reservations"]
        assert (row["zone"], row["reserved"], row["vms"], row["covered"], row["shortfall"]) == ("2", 0, 4, 0, 4)
        sim.estate.set_recovery_zone("1", *IDENTITY)
        result = result_of("rp-identity")
        assert {r["quota"]: r for r in result["rows"]}[FAMILY]["shortfall"] == 0 and result["reserved"] == 4
        assert [(r["zone"], r["covered"]) for r in result["reservations"]] == [("1", 4)]

    def test_a_reservation_too_small_is_a_shortfall(self, start_simulator: Any) -> None:
        sim = start_simulator(EstateConfig(), vms=10)
        group_id = sim.estate.capacity.reserve("rg-dr-neu", "crg-neu", "crg-d4", "Standard_D4s_v5", 3)
        sim.estate.set_capacity_reservation_group(group_id, *IDENTITY)
        sim.estate.set_vm_size("Standard_E8s_v5", "vm-app-0006")
        sim.estate.set_capacity_reservation_group(group_id.upper(), "vm-app-0006")  # no E8s slot in the group
        used = sim.estate.capacity.usage(RECOVERY_REGION)[FAMILY]
        sim.estate.capacity.set_quota(RECOVERY_REGION, FAMILY, limit=used)
        result = result_of("rp-identity", "rp-apps-01")
        rows = {r["quota"]: r for r in result["rows"]}
        assert rows[FAMILY]["shortfall"] == 4 + 4 * 4  # one identity VM beyond the reservation, four D4s app VMs
        by_size = {r["size"]: r for r in result["reservations"]}
        d4, e8 = by_size["Standard_D4s_v5"], by_size["Standard_E8s_v5"]
        assert (d4["vms"], d4["free"], d4["covered"], d4["shortfall"]) == (4, 3, 3, 1)
        assert (e8["size"], e8["reserved"], e8["covered"], e8["shortfall"]) == ("Standard_E8s_v5", 0, 0, 1)
        assert result["reserved"] == 3 and rows["standardESv5Family"]["needed"] == 8

    def test_a_group_that_is_not_there_holds_nothing(self, start_simulator: Any) -> None:
        sim = start_simulator(EstateConfig(), vms=10)
        missing = f"/subscriptions/{SUBSCRIPTION_ID}/resourceGroups/rg-dr-neu/providers/Microsoft.Compute/" \
            "capacityReservationGroups/crg-gone"  # fmt: skip
        sim.estate.set_capacity_reservation_group(missing, "vm-dc-0001")
        result = result_of("rp-identity")
        assert result["reserved"] == 0 and result["reservations"][0]["shortfall"] == 1
        assert {r["quota"]: r for r in result["rows"]}[FAMILY]["needed"] == 16

    def test_readiness_counts_the_reservation(self, start_simulator: Any) -> None:
        """Readiness passes on a region without free vCPUs when a reservation holds the VMs, and warns (the policy
        unchanged) when a reservation is smaller than its VMs and the quota still holds the rest."""
        from activities.readiness import check_plan
        from failover.plan import load_plan
        from local.stack import DEMO_PLAN

        sim = start_simulator(EstateConfig(), vms=10)
        plan = load_plan(DEMO_PLAN)
        group_id = sim.estate.capacity.reserve("rg-dr-neu", "crg-neu", "crg-d4", "Standard_D4s_v5", 10)
        sim.estate.set_capacity_reservation_group(group_id, *[f"vm-{k}-{n:04d}" for k, n in (
            ("dc", 1), ("dc", 2), ("dc", 3), ("dc", 4), ("sql", 5), *[("app", n) for n in range(6, 11)])])  # fmt: skip
        sim.estate.capacity.set_quota(RECOVERY_REGION, FAMILY, limit=sim.estate.capacity.usage(RECOVERY_REGION)[FAMILY])

        def capacity_of() -> dict[str, str]:
            return next(c for c in check_plan(plan)["checks"] if c["name"] == "capacity")

        fits = capacity_of()
        assert fits["status"] == "pass", fits
        assert fits["message"].startswith("10 VMs fit in northeurope (10 on capacity reservations): ")
        sim.estate.capacity.reserve("rg-dr-neu", "crg-neu", "crg-d4", "Standard_D4s_v5", 8)  # two VMs beyond it
        sim.estate.capacity.set_quota(RECOVERY_REGION, FAMILY, limit=10_000)
        beyond = capacity_of()
        assert beyond["status"] == "warn" and "10 VMs, 8 reserved slots free of 8: 2 VMs beyond" in beyond["message"]


def test_provisioned_session_hosts_are_counted(start_simulator: Any) -> None:
    """`recovery: provision`: count x the size (the host pool's vmTemplate, or provision.vm_size) in the needs."""
    from activities.planning import read_capacity
    from failover.contracts.capacity import SessionHostNeed
    from tests.activities.test_avd_checks import provisioned_plan

    sim = start_simulator(EstateConfig(), vms=10)
    pool = {"subscription_id": SUBSCRIPTION_ID, "resource_group": "rg-avd-weu", "host_pool": "hp-weu-pooled"}
    result = capacity_check(
        CapacityInput(
            subscription_id=SUBSCRIPTION_ID,
            resource_group=DEMO_ASR_RG,
            vault=DEMO_VAULT,
            recovery_plans=["rp-identity"],
            recovery_region=RECOVERY_REGION,
            session_hosts=[
                SessionHostNeed(**pool, count=3),
                SessionHostNeed(**pool, count=2, vm_size="Standard_E4s_v5"),
            ],
        )
    )
    rows = {row.quota: row.needed for row in result.rows}
    assert result.vms == 4 + 5 and result.session_hosts == 5
    assert rows["virtualMachines"] == 9 and rows[FAMILY] == 4 * 4 + 3 * 8  # the template's Standard_D8s_v5
    assert rows["standardESv5Family"] == 2 * 4 and rows["cores"] == 16 + 24 + 8
    # readiness and the preview count them from the plan; a shortfall they cause shows
    sim.estate.capacity.set_quota(RECOVERY_REGION, FAMILY, limit=32 + 16 + 8)  # the 4 VMs fit, 3 hosts do not
    plan = provisioned_plan()
    read = read_capacity(plan, ["rp-identity"])
    assert read["session_hosts"] == 3
    assert {r["quota"]: r["shortfall"] for r in read["rows"]}[FAMILY] == 16


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


class TestTheRegionCheckCountsWhatThePlanCheckCounts:
    """`capacity_check_region` counts what `capacity_check` counts, every plan of the region together: the session
    hosts of each plan's `recovery: provision` pools, and the capacity reservations their VMs name, reserved once for
    all the plans' VMs (a group's free slots are shared by the plans naming it)."""

    VAULT = {"subscription_id": SUBSCRIPTION_ID, "resource_group": DEMO_ASR_RG, "vault": DEMO_VAULT}

    def region_check(self, identity: dict[str, Any], apps: dict[str, Any]) -> Any:
        from activities.capacity import capacity_check_region
        from failover.contracts.capacity import RegionCapacityInput

        return capacity_check_region(
            RegionCapacityInput(
                subscription_id=SUBSCRIPTION_ID,
                region=RECOVERY_REGION,
                plans=[
                    {"plan": "identity", **self.VAULT, "recovery_plans": ["rp-identity"], **identity},
                    {"plan": "apps", **self.VAULT, "recovery_plans": ["rp-data-01", "rp-apps-01"], **apps},
                ],
            )
        )

    def test_a_reservation_s_free_slots_are_reserved_once_for_every_plan(self, start_simulator: Any) -> None:
        """4 free D4s_v5 slots named by 2 identity VMs and 3 apps VMs: each plan's own check covers its VMs (2 and 3),
        together only 4 are covered and the fifth needs quota. With 20 DSv5 vCPUs left the region is short by 4
        (summing the plans' own checks would hold 5 VMs' vCPUs and see no shortfall)."""
        sim = start_simulator(EstateConfig(), vms=10)
        group_id = sim.estate.capacity.reserve("rg-dr-neu", "crg-neu", "crg-d4", "Standard_D4s_v5", 4)
        sim.estate.set_capacity_reservation_group(group_id, "vm-dc-0001", "vm-dc-0002")
        sim.estate.set_capacity_reservation_group(group_id, "vm-sql-0005", "vm-app-0006", "vm-app-0007")
        used = sim.estate.capacity.usage(RECOVERY_REGION)[FAMILY]  # 32 standby + 16 reserved
        sim.estate.capacity.set_quota(RECOVERY_REGION, FAMILY, limit=used + 20)
        alone = [result_of("rp-identity"), result_of("rp-data-01", "rp-apps-01")]
        assert [r["reserved"] for r in alone] == [2, 3]  # each plan alone: every VM it names on the reservation
        result = self.region_check({}, {})
        assert result.vms == 10 and result.reserved == 4
        assert [r.plain() for r in result.reservations] == [
            {"group": "crg-neu", "group_id": group_id, "size": "Standard_D4s_v5", "zone": None, "reserved": 4,
             "allocated": 0, "free": 4, "vms": 5, "covered": 4, "shortfall": 1},
        ]  # fmt: skip
        rows = {row.quota: row for row in result.rows}
        assert (rows[FAMILY].needed, rows[FAMILY].available, rows[FAMILY].shortfall) == (40 - 16, 20, 4)
        assert rows["cores"].needed == 40 - 16 and rows["virtualMachines"].needed == 10
        # each plan's part stays its own need before the reservations (which the plans share)
        assert [(p.plan, p.vms, p.needed[FAMILY]) for p in result.plans] == [("identity", 4, 16), ("apps", 6, 24)]
        requests = sim.estate.snapshot()["requests"]
        assert requests["compute.capacityreservationgroups.get"] == 3  # one per check: the group read once each

    def test_every_plan_s_provisioned_session_hosts_are_counted(self, start_simulator: Any) -> None:
        """identity's pool builds 2 Standard_E4s_v5 hosts, apps' 3 at the host pool's vmTemplate size
        (Standard_D8s_v5): 15 VMs, 5 of them session hosts, in the summed rows and each plan's part."""
        from failover.contracts.capacity import SessionHostNeed

        sim = start_simulator(EstateConfig(), vms=10)
        pool = {"subscription_id": SUBSCRIPTION_ID, "resource_group": "rg-avd-weu", "host_pool": "hp-weu-pooled"}
        e4 = SessionHostNeed(**pool, count=2, vm_size="Standard_E4s_v5").plain()
        templated = SessionHostNeed(**pool, count=3).plain()
        sim.estate.capacity.set_quota(RECOVERY_REGION, FAMILY, limit=32 + 40 + 16)  # 32 used: room for the 10 VMs + 2
        result = self.region_check({"session_hosts": [e4]}, {"session_hosts": [templated]})
        assert result.vms == 10 + 5 and result.session_hosts == 5
        rows = {row.quota: row for row in result.rows}
        assert rows["virtualMachines"].needed == 15 and rows["standardESv5Family"].needed == 2 * 4
        assert rows[FAMILY].needed == 40 + 3 * 8 and rows[FAMILY].shortfall == 8  # the hosts do not fit
        assert rows["cores"].needed == 40 + 8 + 24
        parts = [(p.plan, p.vms, p.session_hosts, p.needed.get(FAMILY), p.needed.get("standardESv5Family"))
                 for p in result.plans]  # fmt: skip
        assert parts == [("identity", 6, 2, 16, 8), ("apps", 9, 3, 24 + 24, None)]
