"""Azure Local (HyperVReplicaAzure) recovery plans: the plan's replication provider, the restored VMs a failback
reports (`failover.azure_local`), and the report's lists of them."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from failover.azure_local import restored_vms
from failover.contracts.asr import VmPlacement
from failover.contracts.run import RunSummary
from failover.plan import PlanError, parse_plan
from failover.report import report_data, report_html
from local.stack import DEMO_PLAN

SUMMARY: dict[str, Any] = json.loads((Path(__file__).parent / "run_summary.json").read_text(encoding="utf-8"))
DAY = 86400


def vm(name: str, location: str, cluster: str | None, at: str | None, host: str = "h1") -> VmPlacement:
    return VmPlacement(
        name=name, recovery_plan="rp-azl", active_location=location, host=host, cluster=cluster, last_failover_at=at
    )


def plan_with(**asr: Any) -> str:
    data = yaml.safe_load(DEMO_PLAN.read_text())
    data["asr"].update(asr)
    data["groups"].append(
        {"name": "azlocal", "recovery_plans": ["rp-azl-*"], "replication_provider": "HyperVReplicaAzure"}
    )
    return yaml.safe_dump(data)


class TestPlanModel:
    def test_a_group_names_its_provider_and_existing_plans_stay_a2a(self) -> None:
        plan = parse_plan(plan_with())
        assert plan.provider_of_group("identity") == "A2A"
        assert plan.provider_of_group("azlocal") == "HyperVReplicaAzure"
        assert (plan.asr.failback_data_sync, plan.asr.failback_vm_creation) == (
            "ForSynchronization",
            "CreateVmIfNotFound",
        )

    def test_the_asr_section_sets_the_default(self) -> None:
        plan = parse_plan(plan_with(replication_provider="HyperVReplicaAzure", failback_vm_creation="NoAction"))
        assert plan.provider_of_group("identity") == "HyperVReplicaAzure"
        assert plan.asr.failback_vm_creation == "NoAction"

    @pytest.mark.parametrize(
        ("asr", "error"),
        [
            ({"failback_data_sync": "ForDownTime"}, "ForDownTime suspends the failback job"),
            (
                {"replication_provider": "HyperVReplicaAzure", "recovery_point_type": "LatestCrashConsistent"},
                "HyperVReplicaAzure offers",
            ),
            ({"replication_provider": "VMware"}, "replication_provider"),
        ],
    )
    def test_what_cannot_work_is_refused(self, asr: dict[str, Any], error: str) -> None:
        with pytest.raises(PlanError, match=error):
            parse_plan(plan_with(**asr))


class TestRestoredVms:
    def test_in_place_and_on_another_cluster(self) -> None:
        before = [
            vm("a", "Recovery", "azl-01", "2026-01-01T00:00:00+00:00"),
            vm("b", "Recovery", "azl-01", "2026-01-01T00:00:00+00:00"),
            vm("c", "Primary", "azl-01", None),  # never failed over: not restored by this run
        ]
        after = [
            vm("a", "Primary", "azl-01", "2026-01-11T12:00:00+00:00"),
            vm("b", "Primary", "azl-02", "2026-01-11T12:00:00+00:00", host="azl-02-n1"),
            vm("c", "Primary", "azl-01", None),
        ]
        a, b = restored_vms(before, after, "2026-01-12T00:00:00+00:00")
        assert (a.name, a.in_place, a.arc_days_left) == ("a", True, 34.5)
        assert "34.5 of 45 days left" in a.action
        assert (b.name, b.in_place, b.original_cluster, b.cluster, b.arc_days_left) == (
            "b",
            False,
            "azl-01",
            "azl-02",
            None,
        )
        assert "unmanaged" in b.action and "register it on azl-02" in b.action and "reconnect" in b.action

    def test_the_window_is_in_plan_time_and_can_be_over(self) -> None:
        before = [vm("a", "Recovery", "azl-01", "2026-01-01T00:00:00+00:00")]
        after = [vm("a", "Primary", "azl-01", "2026-01-01T01:00:00+00:00")]
        (late,) = restored_vms(before, after, "2026-01-01T01:00:00+00:00", time_scale=24 * 50)  # an hour = 50 days
        assert late.arc_days_left == -5.0 and "Expired" in late.action

    def test_an_unknown_cluster_is_said_not_guessed(self) -> None:
        (unknown,) = restored_vms(
            [vm("a", "Recovery", None, None)], [vm("a", "Primary", None, None)], "2026-01-01T00:00:00Z"
        )
        assert unknown.in_place is None and "cluster unknown" in unknown.action


class TestReport:
    def restored(self) -> dict[str, Any]:
        before = [vm(n, "Recovery", "azl-01", "2026-01-01T00:00:00+00:00") for n in ("a", "b")]
        after = [vm("a", "Primary", "azl-01", "2026-01-02T00:00:00+00:00"), vm("b", "Primary", "azl-02", None)]
        summary = copy.deepcopy(SUMMARY)
        summary["restored_vms"] = [r.plain() for r in restored_vms(before, after, "2026-01-02T00:00:00+00:00")]
        return summary

    def test_the_summary_contract_keeps_older_summaries_valid(self) -> None:
        older = {"waves": [], **SUMMARY}  # the recorded run predates `waves`
        assert "restored_vms" not in older and RunSummary.model_validate(older).restored_vms == []
        assert len(RunSummary.model_validate({"waves": [], **self.restored()}).restored_vms) == 2

    def test_the_report_lists_both(self) -> None:
        data = report_data(self.restored())["azure_local"]
        assert [v["name"] for v in data["other_cluster"]] == ["b"] and [v["name"] for v in data["in_place"]] == ["a"]
        page = report_html(self.restored())
        assert "Azure Local VMs restored on another cluster" in page and "register each" in page
        assert "44.0 of 45 days" in page

    def test_no_section_without_azure_local_vms(self) -> None:
        assert "Azure Local" not in report_html(copy.deepcopy(SUMMARY))
