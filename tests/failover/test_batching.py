"""Batch planning: no batch over batch_size, groups in order and never mixed, oversized plans refused."""

from __future__ import annotations

import pytest

from failover.batching import BatchPlanningError, RecoveryPlanRef, plan_batches, schedule_offsets


def refs(**sizes: int) -> list[RecoveryPlanRef]:
    return [RecoveryPlanRef(name, vms) for name, vms in sizes.items()]


class TestPlanBatches:
    def test_groups_in_order_and_never_mixed(self) -> None:
        batches = plan_batches(
            [("identity", refs(dc=4)), ("data", refs(sql1=30, sql2=30)), ("apps", refs(a=60, b=50, c=40, d=30))], 100
        )
        assert [b.group for b in batches] == ["identity", "data", "apps", "apps", "apps"][: len(batches)]
        groups = [b.group for b in batches]
        assert groups == sorted(groups, key=["identity", "data", "apps"].index)
        assert all(b.vms <= 100 for b in batches)
        assert [b.index for b in batches] == list(range(1, len(batches) + 1))

    def test_first_fit_decreasing_packs_tightly(self) -> None:
        """60+40 and 50+30 fill two batches where in-order packing would need three."""
        batches = plan_batches([("apps", refs(a=60, b=50, c=40, d=30))], 100)
        assert sorted(sorted(p.name for p in b.recovery_plans) for b in batches) == [["a", "c"], ["b", "d"]]

    def test_every_plan_exactly_once(self) -> None:
        sizes = {f"rp{i:02d}": (i * 7) % 40 + 1 for i in range(30)}
        batches = plan_batches([("apps", refs(**sizes))], 100)
        names = [p.name for b in batches for p in b.recovery_plans]
        assert sorted(names) == sorted(sizes) and all(b.vms <= 100 for b in batches)

    def test_plan_larger_than_batch_refused(self) -> None:
        with pytest.raises(BatchPlanningError, match=r"big \(120 VMs\) exceed batch_size 100"):
            plan_batches([("apps", refs(big=120))], 100)

    def test_round_trip(self) -> None:
        batch = plan_batches([("apps", refs(a=3))], 10)[0]
        assert type(batch).from_dict(batch.to_dict()) == batch

    def test_offsets(self) -> None:
        assert schedule_offsets(plan_batches([("g", refs(a=60, b=60, c=60))], 100), 600) == [0, 600, 1200]
