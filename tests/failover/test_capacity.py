"""Recovery capacity, the pure part (`failover.capacity`): needs per quota from each VM's size, rows against the
region's usage, a failed job's errors read back per VM with the shortfall; the plan's `capacity` policy; the card's
capacity line; the preview's capacity section."""

from __future__ import annotations

from typing import Any

import pytest

from failover.capacity import describe, describe_reservations, needs, reserve, rows, uncovered, vm_failures
from failover.cards import approval_card
from failover.contracts.capacity import ReservationRow
from failover.plan import PlanError, load_plan, parse_plan
from failover.preview import preview
from local.stack import DEMO_PLAN
from tests.failover.test_cards import _base, validate

SKUS = {"standard_d4s_v5": ("standardDSv5Family", 4), "standard_e8s_v5": ("standardESv5Family", 8)}
USAGES = {
    "cores": (32, 100, "Total Regional vCPUs"),
    "virtualMachines": (4, 25_000, "Virtual Machines"),
    "standardDSv5Family": (32, 40, "Standard DSv5 Family vCPUs"),
    "standardESv5Family": (0, 100, "Standard ESv5 Family vCPUs"),
    "PublicIPAddresses": (10, 10, "Public IP Addresses"),
}


def test_needs_per_quota() -> None:
    needed, unknown = needs(
        [("Standard_D4s_v5", False), ("Standard_D4s_v5", True), ("Standard_E8s_v5", False), ("Standard_X1", False)],
        SKUS,
    )
    assert list(needed.items()) == [("cores", 16), ("virtualMachines", 4), ("standardDSv5Family", 8),
                                    ("standardESv5Family", 8), ("PublicIPAddresses", 1)]  # fmt: skip
    assert unknown == ["Standard_X1"]


def test_rows_and_shortfalls() -> None:
    needed, _ = needs([("Standard_D4s_v5", True)] * 5, SKUS)
    by_quota = {r["quota"]: r for r in rows(needed, USAGES)}
    assert by_quota["standardDSv5Family"] == {"quota": "standardDSv5Family", "name": "Standard DSv5 Family vCPUs",
                                              "needed": 20, "current": 32, "limit": 40, "available": 8,
                                              "shortfall": 12}  # fmt: skip
    assert by_quota["cores"]["shortfall"] == 0 and by_quota["PublicIPAddresses"]["shortfall"] == 5
    assert describe({"rows": list(by_quota.values())}) == (
        "Standard DSv5 Family vCPUs (standardDSv5Family): 20 needed, 8 left of 40: short by 12; "
        "Public IP Addresses (PublicIPAddresses): 5 needed, 0 left of 10: short by 5"
    )
    unlisted = rows({"cores": 4, "standardNewFamily": 4}, {"cores": (0, 10, "Total Regional vCPUs")})
    assert unlisted[1] == {"quota": "standardNewFamily", "name": "standardNewFamily", "needed": 4, "current": 0,
                           "limit": -1, "available": 4, "shortfall": 0}  # fmt: skip


def test_vm_failures_from_job_errors() -> None:
    errors = [
        "OperationNotAllowed: The virtual machine 'vm-app-0007' could not be created in the recovery region: "
        "Operation results in exceeding quota limits of standardDSv5Family Cores. Maximum allowed: 40, Current in "
        "use: 40, Additional requested: 4.",
        "AllocationFailed: The virtual machine 'vm-app-0008' could not be created in the recovery region: Allocation "
        "failed. We do not have sufficient capacity for the requested VM size in this region.",
        "70038: The VM could not be started in the target region.",
    ]
    assert [(f["vm"], f["code"], f["shortfall"], f["text"]) for f in vm_failures(errors)] == [
        ("vm-app-0007", "OperationNotAllowed", 4, "vm-app-0007: quota standardDSv5Family Cores short by 4"),
        ("vm-app-0008", "AllocationFailed", None, "vm-app-0008: no capacity for its size (AllocationFailed)"),
    ]


class TestPolicy:
    def test_default_warn_and_block(self) -> None:
        assert load_plan(DEMO_PLAN).capacity == "warn"
        text = DEMO_PLAN.read_text()
        assert parse_plan(text + "capacity: block\n", "p.yaml").capacity == "block"

    def test_anything_else_is_refused_naming_the_field(self) -> None:
        with pytest.raises(PlanError) as err:
            parse_plan(DEMO_PLAN.read_text() + "capacity: deny\n", "p.yaml")
        (message,) = err.value.errors
        assert message.startswith("p.yaml:") and ": capacity: Input should be 'warn' or 'block'" in message


CHECKED = {"region": "northeurope", "vms": 5, "unknown_sizes": [], "policy": "block", "short": True,
           "rows": rows(needs([("Standard_D4s_v5", False)] * 5, SKUS)[0], USAGES)}  # fmt: skip


def _capacity_line(card: dict[str, Any]) -> list[dict[str, Any]]:
    return [b for b in card["body"] if str(b.get("text", "")).startswith("Recovery capacity")]


def test_card_shows_capacity() -> None:
    card = approval_card(**_base(), capacity=CHECKED)
    validate(card)
    (line,) = _capacity_line(card)
    assert line["color"] == "attention" and line["text"] == (
        "Recovery capacity in northeurope: SHORT (policy block): Standard DSv5 Family vCPUs: 20 needed, 8 left, "
        "short by 12"
    )
    fits = {**CHECKED, "policy": "warn", "rows": [{**r, "shortfall": 0} for r in CHECKED["rows"]]}
    (line,) = _capacity_line(approval_card(**_base(), capacity=fits))
    assert line["color"] == "good" and line["text"].startswith("Recovery capacity in northeurope: fits (20 ")
    (line,) = _capacity_line(approval_card(**_base(), capacity={"error": "403", "policy": "warn"}))
    assert line["text"] == "Recovery capacity in northeurope: not checked (403)"
    assert _capacity_line(approval_card(**_base())) == []


def test_preview_carries_the_check_with_the_plan_s_policy() -> None:
    plan = load_plan(DEMO_PLAN)
    from failover.batching import RecoveryPlanRef

    groups = [(g.name, [RecoveryPlanRef(name=f"rp-{g.name}", vms=4)]) for g in plan.asr_groups]
    assert "capacity" not in preview(plan, groups)
    shown = preview(plan, groups, capacity={k: v for k, v in CHECKED.items() if k not in ("policy", "short")})
    assert shown["capacity"]["policy"] == "warn" and shown["capacity"]["rows"] == CHECKED["rows"]


GROUP = "/subscriptions/s/resourceGroups/rg-dr-neu/providers/Microsoft.Compute/capacityReservationGroups/crg-neu"


class TestReservations:
    """A capacity reservation's free slots hold their VMs' vCPUs (the reservation is in the usage already): the
    VMs they cover leave the vCPU needs and stay in the VM count and public IPs; beyond the free slots the VMs need
    quota, and the reservation is reported short by that count."""

    def test_covered_vms_leave_the_vcpu_needs(self) -> None:
        vms = [("Standard_D4s_v5", True, GROUP, "")] * 4 + [("Standard_E8s_v5", False, None, "")]
        slots = {(GROUP.lower(), "standard_d4s_v5", ""): (5, 1)}
        found, held = reserve(vms, slots, SKUS)
        assert found == [{"group": "crg-neu", "group_id": GROUP, "size": "Standard_D4s_v5", "zone": None, "reserved": 5,
                          "allocated": 1, "free": 4, "vms": 4, "covered": 4, "shortfall": 0}]  # fmt: skip
        assert held == {"cores": 16, "standardDSv5Family": 16}
        needed, _ = needs([(size, ip) for size, ip, _, _ in vms], SKUS)
        assert uncovered(needed, held) == {"cores": 8, "virtualMachines": 5, "standardDSv5Family": 0,
                                           "standardESv5Family": 8, "PublicIPAddresses": 4}  # fmt: skip
        assert describe_reservations({"reservations": found}) == ""

    def test_a_reservation_smaller_than_its_vms_is_short_by_the_count(self) -> None:
        vms = [("Standard_D4s_v5", False, GROUP, "")] * 6 + [("Standard_E8s_v5", False, GROUP.upper(), "")]
        found, held = reserve(vms, {(GROUP.lower(), "standard_d4s_v5", ""): (4, 0)}, SKUS)
        d4, e8 = found
        assert (d4["covered"], d4["shortfall"]) == (4, 2) and (e8["reserved"], e8["shortfall"]) == (0, 1)
        assert held == {"cores": 16, "standardDSv5Family": 16}  # the VMs beyond it need quota as any VM
        needed, _ = needs([(size, ip) for size, ip, _, _ in vms], SKUS)
        assert uncovered(needed, held)["standardDSv5Family"] == 8
        assert describe_reservations({"reservations": found}) == (
            "capacity reservation group crg-neu Standard_D4s_v5: 6 VMs, 4 reserved slots free of 4: 2 VMs beyond the "
            "reservation (they need quota, without its guarantee); capacity reservation group CRG-NEU "
            "Standard_E8s_v5: 1 VMs, 0 reserved slots free of 0: 1 VMs beyond the reservation (they need quota, "
            "without its guarantee)"
        )

    def test_a_vm_takes_a_slot_of_its_own_zone_only(self) -> None:
        """A zonal reservation holds only the VMs of its zone, a regional one only the VMs of no zone (the
        CapacityReservation's `zones`: "If provided, enforces VM/VMSS using this capacity reservation to be in same
        zone")."""
        vms = [("Standard_D4s_v5", False, GROUP, "1")] * 2 + [("Standard_D4s_v5", False, GROUP, "2")] * 3
        vms += [("Standard_D4s_v5", False, GROUP, "")]
        slots = {(GROUP.lower(), "standard_d4s_v5", "1"): (4, 0), (GROUP.lower(), "standard_d4s_v5", "3"): (4, 0)}
        found, held = reserve(vms, slots, SKUS)
        by_zone = {row["zone"]: (row["vms"], row["free"], row["covered"], row["shortfall"]) for row in found}
        assert by_zone == {"1": (2, 4, 2, 0), "2": (3, 0, 0, 3), None: (1, 0, 0, 1)}
        assert held == {"cores": 8, "standardDSv5Family": 8}  # zone 1's two VMs only
        assert describe_reservations({"reservations": found}).startswith(
            "capacity reservation group crg-neu Standard_D4s_v5 in zone 2: 3 VMs, 0 reserved slots free of 0: 3 VMs "
            "beyond the reservation"
        )
        assert ReservationRow.model_validate(found[1]).label == "crg-neu/Standard_D4s_v5/zone 2"
        assert ReservationRow.model_validate(found[2]).label == "crg-neu/Standard_D4s_v5"

    def test_an_overallocated_reservation_has_no_free_slot(self) -> None:
        found, held = reserve(
            [("Standard_D4s_v5", False, GROUP, "")], {(GROUP.lower(), "standard_d4s_v5", ""): (2, 3)}, SKUS
        )
        assert found[0]["free"] == 0 and found[0]["shortfall"] == 1 and held == {}

    def test_the_card_shows_the_reserved_vms_and_a_reservation_too_small(self) -> None:
        fits = {**CHECKED, "policy": "warn", "rows": [{**r, "shortfall": 0} for r in CHECKED["rows"]], "reserved": 4}
        (line,) = _capacity_line(approval_card(**_base(), capacity=fits))
        assert line["color"] == "good" and line["text"].endswith(". 4 VMs on capacity reservations")
        short = {**fits, "reservations": [{"group": "crg-neu", "size": "Standard_D4s_v5", "vms": 6, "free": 4,
                                           "shortfall": 2}]}  # fmt: skip
        card = approval_card(**_base(), capacity=short)
        validate(card)
        (line,) = _capacity_line(card)
        assert line["color"] == "warning" and line["text"].endswith(
            ". Reservation too small: crg-neu Standard_D4s_v5: 6 VMs, 4 slots free, 2 beyond (they need quota)"
        )
        (line,) = _capacity_line(approval_card(**_base(), capacity={**short, "rows": CHECKED["rows"]}))
        assert line["color"] == "attention" and "SHORT (policy warn)" in line["text"]
        zonal = {**fits, "reservations": [{**short["reservations"][0], "zone": "2"}]}
        (line,) = _capacity_line(approval_card(**_base(), capacity=zonal))
        assert line["text"].endswith(". Reservation too small: crg-neu Standard_D4s_v5 in zone 2: 6 VMs, 4 slots free, "
                                     "2 beyond (they need quota)")  # fmt: skip
