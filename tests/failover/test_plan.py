"""Plan files: the demo plan is valid; errors name the file, the line and the field."""

from __future__ import annotations

from pathlib import Path

import pytest

from failover.plan import PlanError, load_plan, load_plans, parse_duration, parse_plan
from local.stack import DEMO_PLAN

GOOD = DEMO_PLAN.read_text()


class TestDemoPlan:
    def test_demo_plan_loads(self) -> None:
        """plans/demo.yaml: three groups in order, batch size 100, 10 minutes apart, two approvers."""
        plan = load_plan(DEMO_PLAN)
        assert [g.name for g in plan.groups] == ["identity", "data", "apps"]
        assert plan.batch_size == 100
        assert plan.batch_interval == 600
        assert plan.approval.required >= 1 and len(plan.approval.approvers) >= 2
        assert plan.primary_region == "westeurope" and plan.recovery_region == "northeurope"

    def test_folder_load(self) -> None:
        assert "demo" in load_plans(DEMO_PLAN.parent)


class TestErrors:
    def test_field_and_line_named(self) -> None:
        """A bad value's error names file:line: field."""
        bad = GOOD.replace("batch_size: 100", "batch_size: 250")
        line = next(i for i, text in enumerate(bad.splitlines(), 1) if text.startswith("batch_size"))
        with pytest.raises(PlanError) as err:
            parse_plan(bad, "demo.yaml")
        assert err.value.errors[0].startswith(f"demo.yaml:{line}: batch_size:")

    def test_nested_field(self) -> None:
        bad = GOOD.replace("grace_period: 5m", "grace_period: soon")
        line = next(i for i, text in enumerate(bad.splitlines(), 1) if "grace_period" in text)
        with pytest.raises(PlanError) as err:
            parse_plan(bad, "p.yaml")
        assert err.value.errors == [
            f"p.yaml:{line}: avd.grace_period: 'soon' is not a duration (use e.g. "
            "'10m', '30s', '1h', 'PT10M' or seconds)"
        ]

    def test_unknown_field_refused(self) -> None:
        with pytest.raises(PlanError, match=r"p.yaml:\d+: batch_sise: Extra inputs"):
            parse_plan(GOOD + "batch_sise: 10\n", "p.yaml")

    def test_missing_required(self) -> None:
        text = "\n".join(line for line in GOOD.splitlines() if not line.startswith("subscription_id"))
        with pytest.raises(PlanError, match=r"subscription_id: Field required"):
            parse_plan(text, "p.yaml")

    def test_quorum_needs_approvers(self) -> None:
        with pytest.raises(PlanError, match=r"approval: approval\.required is 3"):
            parse_plan(GOOD.replace("required: 1", "required: 3"), "p.yaml")

    def test_invalid_yaml_names_line(self) -> None:
        with pytest.raises(PlanError, match=r"p.yaml:\d+: not valid YAML"):
            parse_plan("name: [unclosed\n", "p.yaml")

    def test_unreadable_file(self, tmp_path: Path) -> None:
        with pytest.raises(PlanError, match="cannot read plan"):
            load_plan(tmp_path / "missing.yaml")


class TestDurations:
    @pytest.mark.parametrize(
        ("text", "seconds"),
        [("10m", 600), ("30s", 30), ("1h30m", 5400), ("PT10M", 600), ("PT1H", 3600), (45, 45), ("2.5m", 150)],
    )
    def test_forms(self, text: object, seconds: float) -> None:
        assert parse_duration(text) == seconds

    @pytest.mark.parametrize("text", ["", "ten", "-5", True, None, "10x"])
    def test_refused(self, text: object) -> None:
        with pytest.raises(ValueError):
            parse_duration(text)


VNET = "/subscriptions/s-1/resourceGroups/rg-net/providers/Microsoft.Network/virtualNetworks/vnet-a"
NOT_VNETS = [
    "vnet-a",
    VNET + "/subnets/default",  # a subnet of it
    VNET + "/",
    VNET.replace("virtualNetworks", "networkSecurityGroups"),
    VNET.replace("Microsoft.Network", "Microsoft.Compute"),
    VNET.replace("/resourceGroups/rg-net", ""),  # no resource group
    VNET.replace("/providers/", "//providers/"),
    "/subscriptions/s-1/resourceGroups/rg-net",
]


class TestResourceIds:
    """Fields that take ARM ids (azure.mgmt.core.tools checks them): any case is accepted, anything else is
    refused with an error naming the field."""

    @staticmethod
    def _with(section: str) -> str:
        return GOOD + section

    @pytest.mark.parametrize("value", [VNET, VNET.lower(), VNET.upper().replace("/SUBSCRIPTIONS/", "/subscriptions/")])
    def test_virtual_network_ids(self, value: str) -> None:
        network = f"network:\n  recovery_vnet: {{resource_group: rg, name: v}}\n  primary_networks: ['{value} ']\n"
        assert parse_plan(self._with(network), "p.yaml").network.primary_networks == [value]  # type: ignore[union-attr]

    @pytest.mark.parametrize("value", NOT_VNETS)
    def test_not_virtual_network_ids(self, value: str) -> None:
        network = f"network:\n  recovery_vnet: {{resource_group: rg, name: v}}\n  primary_networks: ['{value}']\n"
        text = self._with(network)
        line = next(i for i, row in enumerate(text.splitlines(), 1) if "primary_networks" in row)
        with pytest.raises(PlanError) as err:
            parse_plan(text, "p.yaml")
        assert err.value.errors == [
            f"p.yaml:{line}: network.primary_networks: '{value}' is not a virtual network's ARM id"
        ]

    @pytest.mark.parametrize("value", NOT_VNETS)
    def test_backup_test_network(self, value: str) -> None:
        test = (
            "backup_tests:\n  - vault: {resource_group: rg, name: rsv}\n    vm: {resource_group: rg, name: vm}\n"
            f"    network_id: '{value}'\n    staging_storage_account: sa\n    target_resource_group: rg-restore\n"
        )
        with pytest.raises(PlanError, match=r"backup_tests\.0\.network_id: .* is not a virtual network's ARM id"):
            parse_plan(self._with(test), "p.yaml")
        assert parse_plan(self._with(test.replace(value, VNET)), "p.yaml").backup_tests[0].network_id == VNET


class TestProvision:
    """`avd.host_pools[].recovery: provision` and its `provision` section."""

    SUBNET = "/subscriptions/s-1/resourceGroups/rg-avd-neu/providers/Microsoft.Network/virtualNetworks/v/subnets/hosts"

    def plan_text(self, pools: list[dict[str, object]]) -> str:
        import yaml

        data = yaml.safe_load(GOOD)
        data["avd"]["host_pools"] = pools
        return yaml.safe_dump(data, sort_keys=False)

    def pool(self, name: str = "hp-weu-pooled", **provision: object) -> dict[str, object]:
        section = {"count": 3, "name_prefix": "avd-dr", "resource_group": "rg-avd-neu", "subnet_id": self.SUBNET}
        return {"resource_group": "rg-avd-weu", "name": name, "recovery": "provision", "provision": section | provision}

    def errors(self, pools: list[dict[str, object]]) -> str:
        with pytest.raises(PlanError) as err:
            parse_plan(self.plan_text(pools), "p.yaml")
        return "\n".join(err.value.errors)

    def test_a_good_section(self) -> None:
        plan = parse_plan(
            self.plan_text([self.pool(), self.pool("hp-2", name_prefix="dr2", vm_size="Standard_D4s_v5")])
        )
        first, _ = plan.avd.provisioned
        assert first.provision is not None and first.provision.names() == ["avd-dr-0", "avd-dr-1", "avd-dr-2"]
        assert first.provision.timeout == 1800.0

    def test_recovery_and_section_go_together(self) -> None:
        missing = self.pool()
        del missing["provision"]
        assert "provision: required with recovery: provision" in self.errors([missing])
        stray = self.pool()
        del stray["recovery"]
        assert "set it to 'provision' to use its provision section" in self.errors([stray])

    @pytest.mark.parametrize(
        ("field", "value", "error"),
        [
            ("count", 0, "count"),
            ("count", 100, "count"),
            ("name_prefix", "AVD", "name_prefix"),  # lower case only
            ("name_prefix", "avd-recovery-host", "name_prefix"),  # 15-character computer names
            ("name_prefix", "avd-", "name_prefix"),
            ("subnet_id", "snet-hosts", "not a subnet id"),
            ("resource_group", "rg-other", "must be in provision.resource_group 'rg-other'"),
            ("timeout", "soon", "timeout"),
        ],
    )
    def test_bad_fields_are_named(self, field: str, value: object, error: str) -> None:
        assert error in self.errors([self.pool(**{field: value})])

    def test_two_pools_may_not_name_the_same_vm(self) -> None:
        assert "two pools would name a VM avd-dr-0" in self.errors([self.pool(), self.pool("hp-2")])
