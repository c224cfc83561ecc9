"""The pure parts of an evacuation (failover.evacuation): which plans a region's outage hits, their order (tier,
then `after`), what may start now, and the shares of the in-flight cap."""

from __future__ import annotations

from typing import Any

import pytest

from failover.evacuation import cap_share, check_order, failover_order, plans_in, startable
from failover.plan import Plan, PlanError, load_plan
from local.stack import DEMO_PLAN

DEMO = load_plan(DEMO_PLAN)


def plan(name: str, tier: int = 1, after: list[str] | None = None, region: str = "westeurope", **extra: Any) -> Plan:
    return DEMO.model_copy(update={"name": name, "tier": tier, "after": after or [], "primary_region": region, **extra})


def test_plans_in_a_region_by_tier() -> None:
    plans = [plan("apps"), plan("ad", tier=0), plan("us", region="eastus")]
    assert [p.name for p in plans_in("West Europe", plans)] == ["ad", "apps"]


def test_order_tier_then_after() -> None:
    plans = [plan("web", after=["db"]), plan("db"), plan("ad", tier=0)]
    assert failover_order(plans) == ["ad", "db", "web"]
    check_order(plans)


@pytest.mark.parametrize(
    ("plans", "message"),
    [
        ([plan("a", after=["ghost"])], "a: after: 'ghost' is not a plan of this evacuation"),
        ([plan("a", after=["a"])], "a: after: names the plan itself"),
        ([plan("a", tier=0, after=["b"]), plan("b", tier=1)], "a: after: 'b' is in tier 1, after this plan's tier 0"),
        ([plan("a", after=["b"]), plan("b", after=["a"])], "wait for each other (a cycle)"),
    ],
)
def test_bad_orders_are_named(plans: list[Plan], message: str) -> None:
    with pytest.raises(PlanError, match=message.replace("(", r"\(").replace(")", r"\)")):
        check_order(plans)


def test_startable_waits_for_the_tier_and_blocks_dependents() -> None:
    plans = [plan("ad", tier=0), plan("db"), plan("web", after=["db"]), plan("mail")]
    assert startable(plans, set(), set(), set()) == (["ad"], [])
    assert startable(plans, {"ad"}, set(), set()) == ([], [])  # tier 0 still running
    assert startable(plans, {"ad"}, {"ad"}, {"ad"}) == (["db", "mail"], [])
    started = {"ad", "db", "mail"}
    assert startable(plans, started, {"ad"}, {"ad", "db"}) == ([], ["web"])  # db did not complete
    assert startable(plans, started, {"ad", "db"}, {"ad", "db"}) == (["web"], [])


def test_cap_shares() -> None:
    assert cap_share(100, 3) == 33 and cap_share(100, 0) == 100 and cap_share(2, 5) == 1
