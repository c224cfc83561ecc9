"""An evacuation's recovery capacity, the pure part (`failover.evacuation_capacity`, `failover.capacity.summed`):
plans that each fit can together exceed a region's quota; the needs are summed per (subscription, recovery region),
a shortfall refuses the evacuation when any plan of that region blocks and warns otherwise; each plan's run gets its
region's summed check; the live status stays small; the card shows a fact per quota per region."""

from __future__ import annotations

import json
from typing import Any

from failover.capacity import needs, rows, summed
from failover.cards import approval_card
from failover.evacuation import evacuation_status
from failover.evacuation_capacity import compact, for_plan, regions, verdict
from failover.plan import Plan, load_plan
from local.stack import DEMO_PLAN
from tests.failover.test_cards import _base, validate

DEMO = load_plan(DEMO_PLAN)
FAMILY = "standardDSv5Family"
SKUS = {"standard_d4s_v5": (FAMILY, 4), "standard_e8s_v5": ("standardESv5Family", 8)}
# northeurope: 32 of 100 regional vCPUs used, 32 of 64 DSv5 vCPUs (room for 8 D4s_v5 VMs), 10 of 12 public IPs
USAGES = {
    "cores": (32, 100, "Total Regional vCPUs"),
    "virtualMachines": (4, 25_000, "Virtual Machines"),
    FAMILY: (32, 64, "Standard DSv5 Family vCPUs"),
    "standardESv5Family": (0, 100, "Standard ESv5 Family vCPUs"),
    "PublicIPAddresses": (10, 12, "Public IP Addresses"),
}


def plan(name: str, capacity: str = "warn", **extra: Any) -> Plan:
    return DEMO.model_copy(update={"name": name, "capacity": capacity, **extra})


def test_summed_adds_each_quota_across_plans() -> None:
    first, _ = needs([("Standard_D4s_v5", True), ("Standard_D4s_v5", False)], SKUS)
    second, _ = needs([("Standard_E8s_v5", False), ("Standard_D4s_v5", True)], SKUS)
    total = summed([first, second, {"cores": 0, "virtualMachines": 0}])
    assert list(total.items()) == [("cores", 20), ("virtualMachines", 4), (FAMILY, 12),
                                   ("standardESv5Family", 8), ("PublicIPAddresses", 2)]  # fmt: skip
    assert summed([]) == {"cores": 0, "virtualMachines": 0}


def five_plans_each_fitting(capacity_of_one: str = "warn") -> tuple[list[Plan], list[dict[str, Any]], dict[str, Any]]:
    """5 plans of 2 D4s_v5 VMs (8 DSv5 vCPUs) each: each fits the 32 DSv5 vCPUs left, together they need 40."""
    plans = [plan(f"p{i}", capacity_of_one if i == 3 else "warn") for i in range(5)]
    per_plan = [needs([("Standard_D4s_v5", False)] * 2, SKUS)[0] for _ in plans]
    assert all(r["shortfall"] == 0 for need in per_plan for r in rows(need, USAGES))  # each alone fits
    asked = regions(plans, {p.name: ["rp-apps-01"] for p in plans})
    assert len(asked) == 1  # one read for the region, not one per plan
    answer = {"region": "northeurope", "vms": 10, "rows": rows(summed(per_plan), USAGES), "unknown_sizes": []}
    return plans, asked, answer


def test_plans_that_each_fit_are_short_together_and_warn() -> None:
    plans, asked, answer = five_plans_each_fitting()
    check = verdict(plans, asked, [answer], [None])
    assert check["short"] is True and check["refused"] is False and check["errors"] == []
    (region,) = check["regions"]
    assert region["policy"] == "warn" and region["plans"] == ["p0", "p1", "p2", "p3", "p4"]
    short = {r["quota"]: r for r in region["rows"] if r["shortfall"]}
    assert list(short) == [FAMILY] and short[FAMILY]["needed"] == 40 and short[FAMILY]["shortfall"] == 8
    (warning,) = check["warnings"]
    assert warning.startswith("recovery capacity in northeurope is short for the evacuation's 5 plans together")
    assert "Standard DSv5 Family vCPUs (standardDSv5Family): 40 needed, 32 left of 64: short by 8" in warning


def test_one_blocking_plan_refuses_the_whole_evacuation() -> None:
    plans, asked, answer = five_plans_each_fitting("block")
    check = verdict(plans, asked, [answer], [None])
    assert check["refused"] is True and check["regions"][0]["policy"] == "block" and check["warnings"] == []
    (error,) = check["errors"]
    assert "northeurope" in error and "standardDSv5Family" in error and "short by 8" in error
    assert "Capacity policy block (p3): the evacuation was refused before anything was changed" in error
    # fitting, the same plans are not refused
    fits = {**answer, "rows": rows(summed([needs([("Standard_D4s_v5", False)] * 2, SKUS)[0]]), USAGES)}
    assert verdict(plans, asked, [fits], [None])["refused"] is False


def test_regions_per_subscription_and_recovery_region() -> None:
    other_sub = DEMO.asr.model_copy(update={"subscription_id": "22222222-2222-2222-2222-222222222222"})
    plans = [plan("a"), plan("b", recovery_region="swedencentral"), plan("c", asr=other_sub), plan("d"), plan("e")]
    asked = regions(plans, {"a": ["rp-1"], "b": ["rp-2"], "c": ["rp-3"], "d": ["rp-4", "rp-5"], "e": None})
    assert [(r["region"], [p["plan"] for p in r["plans"]]) for r in asked] == [
        ("northeurope", ["a", "d"]), ("swedencentral", ["b"]), ("northeurope", ["c"]),
    ]  # fmt: skip
    assert asked[0]["plans"][1] == {"plan": "d", **DEMO.vault_ref(), "recovery_plans": ["rp-4", "rp-5"],
                                    "session_hosts": []}  # fmt: skip
    assert asked[2]["subscription_id"] == "22222222-2222-2222-2222-222222222222"


def test_a_plan_s_run_gets_its_region_s_summed_check() -> None:
    plans, asked, answer = five_plans_each_fitting()
    check = verdict(plans, asked, [answer], [None])
    given = for_plan(check, plans[0], "evacuation-x")
    assert given is not None and given["rows"] == answer["rows"] and given["policy"] == "warn"
    assert given["checked_by"] == "evacuation-x" and given["short"] is True and given["vms"] == 10
    assert for_plan(check, plan("elsewhere", recovery_region="swedencentral"), "e") is None
    unread = verdict(plans, asked, [None], ["403 AuthorizationFailed"])
    assert for_plan(unread, plans[0], "e") is None  # its run checks on its own
    assert unread["regions"][0]["error"] == "403 AuthorizationFailed" and unread["refused"] is False
    assert unread["warnings"][0].startswith("recovery capacity in northeurope could not be checked for p0, p1")


def test_the_status_carries_a_few_regions_within_16_kb() -> None:
    """60 recovery regions, each short: the live status shows 3 (and counts them), still under the budget."""
    plans = [plan(f"{i:03}-" + "p" * 59, recovery_region=f"region{i:02}") for i in range(100)]
    need = rows(summed([needs([("Standard_D4s_v5", True)] * 100, SKUS)[0]]), USAGES)
    answers = [{"region": f"region{i:02}", "vms": 100, "rows": need, "unknown_sizes": []} for i in range(60)]
    asked = regions(plans[:60], {p.name: ["rp"] for p in plans[:60]})
    check = verdict(plans, asked, answers, [None] * 60)
    shown = compact(check)
    assert shown is not None and shown["regions_total"] == 60 and len(shown["regions"]) == 3
    assert set(shown["regions"][0]["rows"][0]) == {"quota", "needed", "available", "limit", "shortfall"}
    rows_ = [{"plan": p.name, "tier": 1, "after": [], "status": "Pending", "vms": 100} for p in plans]
    state = {"plans": rows_, "order": [p.name for p in plans], "approval": {}, "errors": check["errors"],
             "capacity": check, "warnings": check["warnings"]}  # fmt: skip
    status = evacuation_status(state)
    size = len(json.dumps(status, separators=(",", ":"), ensure_ascii=False).encode("utf-16-le"))
    assert size <= 15 * 1024 and status["capacity"]["regions_total"] == 60 and len(status["warnings"]) == 5


def test_the_evacuation_card_shows_each_region() -> None:
    plans, asked, answer = five_plans_each_fitting()
    other = {"region": "swedencentral", "vms": 2, "unknown_sizes": [],
             "rows": rows(needs([("Standard_D4s_v5", False)] * 2, SKUS)[0], USAGES)}  # fmt: skip
    asked = [*asked, {"subscription_id": asked[0]["subscription_id"], "region": "swedencentral",
                      "plans": [{"plan": "p0"}]}]  # fmt: skip
    check = verdict(plans, asked, [answer, other], [None, None])
    card = approval_card(**_base(), capacity=check)
    validate(card)
    texts = [b.get("text") for b in card["body"] if b.get("type") == "TextBlock"]
    assert "Recovery capacity in northeurope (p0, p1, p2, p3, p4 together): SHORT (policy warn)" in texts
    assert "Recovery capacity in swedencentral (p0 together): fits (policy warn)" in texts
    facts = [b["facts"] for b in card["body"] if b.get("type") == "FactSet"][1]  # after the card's own facts
    assert {"title": "Standard DSv5 Family vCPUs", "value": "40 needed, 32 available of 64: short by 8"} in facts
    assert {"title": "Total Regional vCPUs", "value": "40 needed, 68 available of 100"} in facts


def test_a_failback_s_card_names_the_primary_region() -> None:
    """A failback's check is of the primary region, where its VMs come back (the card's recovery region is where
    they run now)."""
    need = rows(needs([("Standard_D4s_v5", False)] * 10, SKUS)[0], USAGES)
    checked = {"region": "westeurope", "vms": 10, "rows": need, "unknown_sizes": [], "policy": "warn", "short": True}
    card = approval_card(**{**_base(), "mode": "failback"}, capacity=checked)
    validate(card)
    (line,) = [b["text"] for b in card["body"] if "Capacity in westeurope" in str(b.get("text"))]
    assert line.startswith("Capacity in westeurope (the failback's region): SHORT (policy warn): ")
    assert "40 needed, 32 left, short by 8" in line


def test_session_hosts_and_reservations_go_through_the_evacuation_s_check() -> None:
    """`regions` asks for each plan's `recovery: provision` hosts (none for a plan without); the region's reserved
    VMs, reservation rows and session hosts reach the check, the plans' runs and the card, and a reservation too small
    is a warning."""
    from tests.activities.test_avd_checks import provisioned_plan

    provisioning = provisioned_plan(vm_size="Standard_E4s_v5").model_copy(update={"name": "vdi"})
    plans = [provisioning, plan("apps")]
    asked = regions(plans, {"vdi": ["rp-1"], "apps": ["rp-2"]})
    (request,) = asked
    pool = {"subscription_id": DEMO.vault_ref()["subscription_id"], "resource_group": "rg-avd-weu",
            "host_pool": "hp-weu-pooled"}  # fmt: skip
    assert [p["session_hosts"] for p in request["plans"]] == [[{**pool, "count": 3, "vm_size": "Standard_E4s_v5"}], []]
    group = "/subscriptions/s/resourceGroups/rg-dr-neu/providers/Microsoft.Compute/capacityReservationGroups/crg-neu"
    reservation = {"group": "crg-neu", "group_id": group, "size": "Standard_D4s_v5", "reserved": 4, "allocated": 0,
                   "free": 4, "vms": 5, "covered": 4, "shortfall": 1}  # fmt: skip
    answer = {"region": "northeurope", "vms": 8, "unknown_sizes": [], "reserved": 4, "reservations": [reservation],
              "session_hosts": 3, "rows": rows(needs([("Standard_D4s_v5", False)], SKUS)[0], USAGES)}  # fmt: skip
    check = verdict(plans, asked, [answer], [None])
    (region,) = check["regions"]
    assert (region["reserved"], region["reservations"], region["session_hosts"]) == (4, [reservation], 3)
    (warning,) = check["warnings"]
    assert warning.startswith("recovery capacity in northeurope for the evacuation's 2 plans together (vdi, apps): ")
    assert "crg-neu Standard_D4s_v5: 5 VMs, 4 reserved slots free of 4: 1 VMs beyond the reservation" in warning
    given = for_plan(check, plans[1], "evacuation-x")
    assert given is not None and (given["reserved"], given["session_hosts"]) == (4, 3)
    assert given["reservations"] == [reservation]
    shown = compact(check)
    assert shown is not None and (shown["regions"][0]["reserved"], shown["regions"][0]["session_hosts"]) == (4, 3)
    card = approval_card(**_base(), capacity=check)
    validate(card)
    (line,) = [b["text"] for b in card["body"] if "(vdi, apps together)" in str(b.get("text"))]
    assert "4 VMs on capacity reservations" in line and "Reservation too small: crg-neu Standard_D4s_v5" in line
