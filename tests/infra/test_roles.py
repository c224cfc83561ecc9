"""Least privilege: each role assignment names one built-in role on one resource, as guid(scope, principal, role)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from local.stack import ROOT
from tests.infra.bicep import GUID, INFRA, bicep_files, body, modules, parse, ref, resources

MAIN = INFRA / "main.bicep"
ASSIGNMENT = "Microsoft.Authorization/roleAssignments"

# Built-in role ids, from Microsoft's built-in roles reference (written out here, not read from the Bicep).
ROLES = {
    "494ae006-db33-4328-bf46-533a6560a3ca": "Site Recovery Operator",
    "2ad6aaab-ead9-4eaa-8ac5-da422f562408": "Desktop Virtualization Session Host Operator",
    "ea4bfff8-7fb4-485a-aadd-d4129a0ffaa6": "Desktop Virtualization User Session Operator",
    "489581de-a3bd-480d-9518-53dea7416b33": "Desktop Virtualization Power On Contributor",
    "befefa01-2a29-4197-83a8-272ff33ce314": "DNS Zone Contributor",
    "a4b10055-b0c7-44c2-b00f-c7b5b3550cf7": "Traffic Manager Contributor",
    "73c42c96-874c-492b-b04d-ab87d138a893": "Log Analytics Reader",
    "6d8ee4ec-f05a-4a1d-8b00-a9b17e38b437": "SQL Server Contributor",
    "17d1049b-9a84-46fb-8f53-869881c3d3ab": "Storage Account Contributor",
    "d5a91429-5739-47e2-a06b-3470a27159e7": "EventGrid Data Sender",
    "b7e6dc6d-f1e8-4753-8033-0f276bb0955b": "Storage Blob Data Owner",
    "974c5e8b-45b9-4653-ba55-5f855dd0fb88": "Storage Queue Data Contributor",
    "0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3": "Storage Table Data Contributor",
    "0ad04412-c4d5-4796-b79c-f76d14c8d402": "Durable Task Data Contributor",
    "3913510d-42f4-4e42-8a64-420c390055eb": "Monitoring Metrics Publisher",
    "4633458b-17de-408a-b874-0445c86b69e6": "Key Vault Secrets User",
    "b86a8fe4-44ce-4948-aee5-eccb2c155cd7": "Key Vault Secrets Officer",
}
BROAD = {
    "8e3af657-a8ff-443c-a75c-2fe8c4bcb635": "Owner",
    "b24988ac-6180-42a0-ab88-20f7382dd24c": "Contributor",
    "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9": "User Access Administrator",
}

# What a plan names (docs/plan-reference.md) -> the main.bicep parameter of those resources' ids, the module that
# assigns the roles, and the roles.
PLAN_SCOPES = {
    "asr.vault": ("siteRecoveryVaultIds", "site-recovery-vault.bicep", {"Site Recovery Operator"}),
    "avd.host_pools, standby.host_pool": (
        "hostPoolIds",
        "host-pool.bicep",
        {"Desktop Virtualization Session Host Operator", "Desktop Virtualization User Session Operator"},
    ),
    "dns.records[].zone": ("dnsZoneIds", "dns-zone.bicep", {"DNS Zone Contributor"}),
    "dns.traffic_manager[].profile": (
        "trafficManagerProfileIds",
        "traffic-manager-profile.bicep",
        {"Traffic Manager Contributor"},
    ),
    "verify.workspace_id": ("logAnalyticsWorkspaceIds", "log-analytics-workspace.bicep", {"Log Analytics Reader"}),
    "dependencies[kind=sql_failover_group]": (
        "sqlFailoverGroupIds",
        "sql-failover-group.bicep",
        {"SQL Server Contributor"},
    ),
    "dependencies[kind=storage_account]": (
        "storageAccountIds",
        "storage-account.bicep",
        {"Storage Account Contributor"},
    ),
    "standby.vms": ("standbyVmIds", "virtual-machine.bicep", {"Desktop Virtualization Power On Contributor"}),
}


def assignments() -> list[tuple[Path, str, dict[str, Any]]]:
    return [(path, symbol, config) for path in bicep_files() for symbol, _, config in resources(path, ASSIGNMENT)]


def role_variables(path: Path) -> dict[str, str]:
    """Variable name -> role id, for every variable of the file whose value is a GUID."""
    return {
        name: var["value"]
        for name, var in parse(path).get("variables", {}).items()
        if isinstance(var["value"], str) and GUID.fullmatch(var["value"])
    }


def roles_assigned(path: Path) -> set[str]:
    variables = role_variables(path)
    found = set()
    for _, _, config in resources(path, ASSIGNMENT):
        variable = config["properties"]["roleDefinitionId"]["function"]["parameters"]["resource_name_1"]
        found.add(ROLES[variables[variable]])
    return found


class TestEachAssignment:
    def test_there_are_assignments(self) -> None:
        assert len(assignments()) >= 15

    @pytest.mark.parametrize(
        ("path", "symbol"), [(p, s) for p, s, _ in assignments()], ids=lambda v: getattr(v, "name", v)
    )
    def test_named_guid_scope_principal_role(self, path: Path, symbol: str) -> None:
        """name: guid(<scope>.id, <principalId>, <role id variable>), the same three things it assigns."""
        config = body(parse(path)["resources"][symbol]["config"])
        scope = config["scope"]
        role_variable = config["properties"]["roleDefinitionId"]["function"]["parameters"]["resource_name_1"]
        function = config["properties"]["roleDefinitionId"]["function"]
        assert function["type"] == "subscription_resource_id"
        assert function["parameters"]["resource_type"] == "Microsoft.Authorization/roleDefinitions"
        guid = config["name"]["function"]
        assert guid["type"] == "guid"
        assert guid["parameters"] == {
            "base_string": ref(scope, "id"),
            "extra_string_1": config["properties"]["principalId"],
            "extra_string_2": role_variable,
        }

    @pytest.mark.parametrize(
        ("path", "symbol"), [(p, s) for p, s, _ in assignments()], ids=lambda v: getattr(v, "name", v)
    )
    def test_scoped_to_one_resource(self, path: Path, symbol: str) -> None:
        """Never a resource group or a subscription: the scope is a resource declared in the same file."""
        config = body(parse(path)["resources"][symbol]["config"])
        scope = config["scope"]
        declared = parse(path)["resources"]
        assert scope in declared, f"{symbol} is scoped to {scope!r}, not to a resource of {path.name}"
        assert declared[scope]["type"] not in ("Microsoft.Resources/resourceGroups", ASSIGNMENT)
        assert config["properties"]["principalType"] in ("ServicePrincipal", "deployerPrincipalType")

    @pytest.mark.parametrize("path", bicep_files(), ids=lambda p: str(p.relative_to(INFRA)))
    def test_role_ids_are_commented_and_built_in(self, path: Path) -> None:
        """Each role id is a known built-in role, never a broad one, and its line names it in a comment."""
        lines = path.read_text().splitlines()
        for name, role_id in role_variables(path).items():
            assert role_id not in BROAD, f"{path.name}: {BROAD.get(role_id)} is not least privilege"
            assert role_id in ROLES, f"{path.name}: unknown role id {role_id}"
            (line,) = [line for line in lines if re.match(rf"\s*var {name} = '{role_id}'", line)]
            assert line.rstrip().endswith(f"// {ROLES[role_id]}"), f"{path.name}: {line}"
        for broad in BROAD:
            assert broad not in path.read_text()


class TestPlanScopes:
    @pytest.mark.parametrize("field", PLAN_SCOPES)
    def test_parameter_feeds_its_role_module(self, field: str) -> None:
        """One module per resource a plan names, in that resource's own resource group, assigning its roles."""
        parameter, module_file, roles = PLAN_SCOPES[field]
        assert parse(MAIN)["parameters"][parameter]["type"] == "array"
        (module,) = [
            m
            for m in modules(MAIN).values()
            if m["config"].get("loop_type", {}).get("detail", {}).get("array_name") == parameter
        ]
        assert module["detail"]["path"] == f"app/roles/{module_file}"
        scope = body(module["config"])["scope"]["function"]
        assert scope["type"] == "resource_group"  # the resource's group, taken from its id
        assert roles_assigned(INFRA / "app" / "roles" / module_file) == roles

    def test_every_role_module_is_a_plan_scope(self) -> None:
        files = {p.name for p in (INFRA / "app" / "roles").glob("*.bicep")}
        assert files == {module_file for _, module_file, _ in PLAN_SCOPES.values()}

    def test_the_runtime_roles(self) -> None:
        """In the app's own group: storage data roles, telemetry, secrets, event sending, the scheduler."""
        assert roles_assigned(INFRA / "app" / "rbac.bicep") == {
            "Storage Blob Data Owner",
            "Storage Queue Data Contributor",
            "Storage Table Data Contributor",
            "Durable Task Data Contributor",
            "Monitoring Metrics Publisher",
            "Key Vault Secrets User",
            "Key Vault Secrets Officer",
            "EventGrid Data Sender",
        }


class TestDeployDoc:
    def test_role_table_lists_every_role_with_its_id(self) -> None:
        doc = (ROOT / "docs" / "deploy.md").read_text()
        used = {role_id for path in bicep_files() for role_id in role_variables(path).values()}
        for role_id in used:
            assert re.search(rf"\|\s*{re.escape(ROLES[role_id])}\s*\|[^\n]*`{role_id}`", doc), ROLES[role_id]

    def test_plan_fields_and_parameters(self) -> None:
        doc = (ROOT / "docs" / "deploy.md").read_text()
        for parameter, _, _ in PLAN_SCOPES.values():
            assert f"`{parameter}`" in doc, parameter
