"""Least privilege: each role assignment names one role (built-in, or a custom role of infra/app/custom-roles.bicep)
on one resource, as guid(scope, principal, role); and every Azure SDK call of activities/ is allowed by a role
assigned on the resource it touches (`TestEverySdkCall`)."""

from __future__ import annotations

import re
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

import pytest

from local.stack import ROOT
from tests.infra.bicep import GUID, INFRA, bicep_files, body, modules, parse, ref, resources, walk
from tests.infra.sdkcalls import sdk_calls

MAIN = INFRA / "main.bicep"
ASSIGNMENT = "Microsoft.Authorization/roleAssignments"

# Built-in role ids, from Microsoft's built-in roles reference (written out here, not read from the Bicep).
ROLES = {
    "494ae006-db33-4328-bf46-533a6560a3ca": "Site Recovery Operator",
    "2ad6aaab-ead9-4eaa-8ac5-da422f562408": "Desktop Virtualization Session Host Operator",
    "ea4bfff8-7fb4-485a-aadd-d4129a0ffaa6": "Desktop Virtualization User Session Operator",
    "489581de-a3bd-480d-9518-53dea7416b33": "Desktop Virtualization Power On Contributor",
    "e307426c-f9b6-4e81-87de-d99efb3c32bc": "Desktop Virtualization Host Pool Contributor",
    "9980e02c-c2be-4d73-94e8-173b1dc7cf3c": "Virtual Machine Contributor",
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
CUSTOM_ROLES = INFRA / "app" / "custom-roles.bicep"
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
    "avd.host_pools[recovery=provision]": (
        "provisionHostPoolIds",
        "host-pool-provision.bicep",
        {"Desktop Virtualization Host Pool Contributor"},
    ),
    "avd.host_pools[].provision.resource_group": (
        "provisionResourceGroupIds",
        "provision-resource-group.bicep",
        {"Virtual Machine Contributor"},
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
    "dependencies[kind=netapp_replication]": (
        "netAppVolumeIds",
        "netapp-volume.bicep",
        {"custom:netAppReplicationOperator"},
    ),
    "subscription_id (recovery capacity)": (
        "capacitySubscriptionIds",
        "subscription.bicep",
        {"custom:capacityReader"},
    ),
    "network.recovery_vnet": ("recoveryNetworkIds", "virtual-network.bicep", {"custom:networkReader"}),
    "avd.host_pools[recovery=provision] vmTemplate customImageId": (
        "provisionImageResourceGroupIds",
        "resource-group.bicep",
        {"custom:imageReader"},
    ),
    "network.gateways": ("networkGatewayIds", "network-gateway.bicep", {"custom:networkReader"}),
    "backup_tests[].vault": ("backupVaultIds", "backup-vault.bicep", {"custom:restoreOperator"}),
    "backup_tests[].target_resource_group": (
        "restoreTargetResourceGroupIds",
        "resource-group.bicep",
        {"custom:restoreTarget"},
    ),
    "backup_tests[].network_id": ("restoreNetworkIds", "virtual-network.bicep", {"custom:restoreTarget"}),
    "backup_tests[].vm": ("restoreSourceVmIds", "restore-source-vm.bicep", {"custom:restoreSource"}),
    "backup_tests[].staging_storage_account": (
        "restoreStagingStorageAccountIds",
        "restore-staging-account.bicep",
        {"custom:restoreSource"},
    ),
}
# The one assignment on a resource group instead of a resource: the restored VM does not exist before the restore.
# So are the session hosts `recovery: provision` builds (provision-resource-group.bicep).
RESOURCE_GROUP_SCOPED = {"resource-group.bicep", "provision-resource-group.bicep"}
# The one assignment on a subscription: a region's quota usage and the resource SKUs are subscription-level reads
# (`/subscriptions/{s}/providers/Microsoft.Compute/locations/{l}/usages`); its custom role grants only those reads.
SUBSCRIPTION_SCOPED = {"subscription.bicep"}


def assignments() -> list[tuple[Path, str, dict[str, Any]]]:
    return [(path, symbol, config) for path in bicep_files() for symbol, _, config in resources(path, ASSIGNMENT)]


def role_variables(path: Path) -> dict[str, str]:
    """Variable name -> role id, for every variable of the file whose value is a GUID."""
    return {
        name: var["value"]
        for name, var in parse(path).get("variables", {}).items()
        if isinstance(var["value"], str) and GUID.fullmatch(var["value"])
    }


def role_of(path: Path, config: dict[str, Any]) -> str:
    """The role an assignment names: a built-in role's name, or `roleId` (a custom role given by main.bicep)."""
    variable = config["properties"]["roleDefinitionId"]["function"]["parameters"]["resource_name_1"]
    variables = role_variables(path)
    if variable in variables:
        return ROLES[variables[variable]]
    assert variable == "roleId" and "roleId" in parse(path)["parameters"], f"{path.name}: {variable}"
    return "roleId"


def roles_assigned(path: Path, module: dict[str, Any] | None = None) -> set[str]:
    """Roles a file assigns; with the main.bicep module that uses it, `roleId` resolves to `custom:<symbol>`."""
    found = set()
    for _, _, config in resources(path, ASSIGNMENT):
        role = role_of(path, config)
        if role == "roleId" and module is not None:
            role = "custom:" + custom_role_given(module)
        found.add(role)
    return found


def custom_role_given(module: dict[str, Any]) -> str:
    """`roleId: customRoles.outputs.<output>` of a main.bicep module -> the custom role resource's symbol."""
    given = body(module["config"])["params"]["roleId"]
    strings = [n for n in walk(given) if isinstance(n, str) and n != "property_accessor"]
    assert strings[:2] == ["customRoles", "outputs"], given
    output = parse(CUSTOM_ROLES)["outputs"][strings[2]]
    symbols = {n for n in walk(output["value"]) if isinstance(n, str)} & set(parse(CUSTOM_ROLES)["resources"])
    (symbol,) = symbols
    return str(symbol)


def custom_roles() -> dict[str, list[str]]:
    """symbol -> actions of every custom role definition."""
    found = {}
    for symbol, _, config in resources(CUSTOM_ROLES, "Microsoft.Authorization/roleDefinitions"):
        (permission,) = config["properties"]["permissions"]
        assert permission["notActions"] == []
        assert config["properties"]["type"] == "CustomRole"
        found[symbol] = list(permission["actions"])
    return found


def loop_module(parameter: str) -> dict[str, Any]:
    """The main.bicep module deployed once per id of the array `parameter`."""
    (module,) = [
        m
        for m in modules(MAIN).values()
        if m["config"].get("loop_type", {}).get("detail", {}).get("array_name") == parameter
    ]
    return module


class TestEachAssignment:
    def test_there_are_assignments(self) -> None:
        assert len(assignments()) >= 15

    @pytest.mark.parametrize(
        ("path", "symbol"), [(p, s) for p, s, _ in assignments()], ids=lambda v: getattr(v, "name", v)
    )
    def test_named_guid_scope_principal_role(self, path: Path, symbol: str) -> None:
        """name: guid(<scope>.id, <principalId>, <role id variable>), the same three things it assigns."""
        config = body(parse(path)["resources"][symbol]["config"])
        role_variable = config["properties"]["roleDefinitionId"]["function"]["parameters"]["resource_name_1"]
        function = config["properties"]["roleDefinitionId"]["function"]
        assert function["type"] == "subscription_resource_id"
        assert function["parameters"]["resource_type"] == "Microsoft.Authorization/roleDefinitions"
        guid = config["name"]["function"]
        assert guid["type"] == "guid"
        if path.name in SUBSCRIPTION_SCOPED:
            assert "scope" not in config  # the module's own subscription
            base = ref({"function": {"type": "subscription", "parameters": {"subscription_id": None}}}, "id")
        elif path.name in RESOURCE_GROUP_SCOPED:
            assert "scope" not in config  # the module's own resource group
            base = ref(
                {
                    "function": {
                        "type": "resource_group",
                        "parameters": {"resource_group_name": None, "subscription_id": None},
                    }
                },
                "id",
            )
        else:
            base = ref(config["scope"], "id")
        assert guid["parameters"] == {
            "base_string": base,
            "extra_string_1": config["properties"]["principalId"],
            "extra_string_2": role_variable,
        }

    @pytest.mark.parametrize(
        ("path", "symbol"), [(p, s) for p, s, _ in assignments()], ids=lambda v: getattr(v, "name", v)
    )
    def test_scoped_to_one_resource(self, path: Path, symbol: str) -> None:
        """Never a subscription (but the capacity reads'), never a resource group (but the restore target's): a
        resource of the same file."""
        config = body(parse(path)["resources"][symbol]["config"])
        if path.name in SUBSCRIPTION_SCOPED:
            assert path.parent.name == "roles" and "scope" not in config
            assert set(custom_roles()["capacityReader"]) == set(CAPACITY_READS)  # these reads, nothing else
            return
        if path.name in RESOURCE_GROUP_SCOPED:
            assert path.parent.name == "roles" and "scope" not in config
            return
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
        module = loop_module(parameter)
        assert module["detail"]["path"] == f"app/roles/{module_file}"
        scope = body(module["config"])["scope"]["function"]
        # the resource's group, taken from its id (the subscription itself for the capacity reads)
        assert scope["type"] == ("subscription" if module_file in SUBSCRIPTION_SCOPED else "resource_group")
        assert roles_assigned(INFRA / "app" / "roles" / module_file, module) == roles

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


# ---- every SDK call of activities/ -> the actions it needs -> a role assigned where it lands ----------------------

# The actions of the built-in roles used, as Microsoft's built-in roles reference lists them
# (https://learn.microsoft.com/azure/role-based-access-control/built-in-roles, per category page): an excerpt, the
# Actions / DataActions this service relies on, verbatim (wildcards included).
BUILT_IN_ACTIONS = {
    "Site Recovery Operator": [
        "Microsoft.RecoveryServices/vaults/replicationRecoveryPlans/read",
        "Microsoft.RecoveryServices/vaults/replicationRecoveryPlans/plannedFailover/action",
        "Microsoft.RecoveryServices/vaults/replicationRecoveryPlans/unplannedFailover/action",
        "Microsoft.RecoveryServices/vaults/replicationRecoveryPlans/testFailover/action",
        "Microsoft.RecoveryServices/vaults/replicationRecoveryPlans/testFailoverCleanup/action",
        "Microsoft.RecoveryServices/vaults/replicationRecoveryPlans/failoverCommit/action",
        "Microsoft.RecoveryServices/vaults/replicationRecoveryPlans/reProtect/action",
        "Microsoft.RecoveryServices/vaults/replicationFabrics/replicationProtectionContainers/replicationProtectedItems/read",
        "Microsoft.RecoveryServices/vaults/replicationFabrics/replicationNetworks/replicationNetworkMappings/read",
        "Microsoft.RecoveryServices/vaults/replicationJobs/*",
    ],
    "Desktop Virtualization Session Host Operator": [
        "Microsoft.DesktopVirtualization/hostpools/read",
        "Microsoft.DesktopVirtualization/hostpools/sessionhosts/*",
    ],
    "Desktop Virtualization User Session Operator": [
        "Microsoft.DesktopVirtualization/hostpools/read",
        "Microsoft.DesktopVirtualization/hostpools/sessionhosts/read",
        "Microsoft.DesktopVirtualization/hostpools/sessionhosts/usersessions/*",
    ],
    "Desktop Virtualization Power On Contributor": [
        "Microsoft.Compute/virtualMachines/start/action",
        "Microsoft.Compute/virtualMachines/read",
        "Microsoft.Compute/virtualMachines/instanceView/read",
    ],
    "Desktop Virtualization Host Pool Contributor": ["Microsoft.DesktopVirtualization/hostpools/*"],
    "Virtual Machine Contributor": [
        "Microsoft.Compute/virtualMachines/*",
        "Microsoft.Network/networkInterfaces/*",
        "Microsoft.Network/virtualNetworks/read",
        "Microsoft.Network/virtualNetworks/subnets/join/action",
    ],
    "DNS Zone Contributor": ["Microsoft.Network/dnsZones/*"],
    "Traffic Manager Contributor": ["Microsoft.Network/trafficManagerProfiles/*"],
    "Log Analytics Reader": ["*/read", "Microsoft.OperationalInsights/workspaces/search/action"],
    "SQL Server Contributor": ["Microsoft.Sql/servers/*"],
    "Storage Account Contributor": ["Microsoft.Storage/storageAccounts/*"],
    "EventGrid Data Sender": ["Microsoft.EventGrid/events/send/action"],  # a DataAction
}

RSV = "Microsoft.RecoveryServices/vaults/"
PLANS = RSV + "replicationRecoveryPlans/"
ITEMS = RSV + "replicationFabrics/replicationProtectionContainers/replicationProtectedItems/"
BACKUP_ITEMS = "Microsoft.RecoveryServices/Vaults/backupFabrics/protectionContainers/protectedItems/"
SESSIONS = "Microsoft.DesktopVirtualization/hostpools/sessionhosts/usersessions/"
VOLUMES = "Microsoft.NetApp/netAppAccounts/capacityPools/volumes/"
VM = "Microsoft.Compute/virtualMachines/"
CAPACITY_READS = (
    "Microsoft.Compute/locations/usages/read",
    "Microsoft.Compute/skus/read",
    "Microsoft.Network/locations/usages/read",
    "Microsoft.Compute/capacityReservationGroups/read",
    "Microsoft.Compute/capacityReservationGroups/capacityReservations/read",
    "Microsoft.Compute/locations/publishers/artifacttypes/offers/skus/versions/read",  # a marketplace image's versions
)
# What the Azure Backup service checks on a restore to a new VM, besides the vault (Microsoft's "Minimum role
# requirements for Azure VM backup", Restore VM: https://learn.microsoft.com/azure/backup/backup-rbac-rs-vault).
RESTORE_TARGET = [
    "Microsoft.Resources/subscriptions/resourceGroups/write",
    "Microsoft.DomainRegistration/domains/write",
    VM + "write",
]
RESTORE_NETWORK = ["Microsoft.Network/virtualNetworks/read", "Microsoft.Network/virtualNetworks/subnets/join/action"]

# Where a call lands: a main.bicep array parameter (one role module per id) or a resource of the app's own group
# (rbac.bicep's symbol). Each (activities module, SDK call) -> [(where, actions)].
Needs = list[tuple[str, list[str]]]
VAULT, POOLS = "siteRecoveryVaultIds", "hostPoolIds"
PROVISION_POOLS, PROVISION_RG = "provisionHostPoolIds", "provisionResourceGroupIds"
SDK_ACTIONS: dict[tuple[str, str], Needs] = {
    ("asr", "site_recovery.replication_recovery_plans.list"): [(VAULT, [PLANS + "read"])],
    ("asr", "site_recovery.replication_recovery_plans.get"): [(VAULT, [PLANS + "read"])],
    ("asr", "site_recovery.replication_recovery_plans.begin_planned_failover"): [
        (VAULT, [PLANS + "plannedFailover/action"])
    ],
    ("asr", "site_recovery.replication_recovery_plans.begin_unplanned_failover"): [
        (VAULT, [PLANS + "unplannedFailover/action"])
    ],
    ("asr", "site_recovery.replication_recovery_plans.begin_failover_commit"): [
        (VAULT, [PLANS + "failoverCommit/action"])
    ],
    ("asr", "site_recovery.replication_recovery_plans.begin_reprotect"): [(VAULT, [PLANS + "reProtect/action"])],
    ("asr", "site_recovery.replication_jobs.get"): [(VAULT, [RSV + "replicationJobs/read"])],
    ("_asr", "site_recovery.replication_recovery_plans.get"): [(VAULT, [PLANS + "read"])],
    ("_asr", "site_recovery.replication_protected_items.get"): [(VAULT, [ITEMS + "read"])],
    ("_asr", "site_recovery.send_request"): [(VAULT, [ITEMS + "read"])],  # the vault's protected items, as JSON
    ("asr_drills", "site_recovery.replication_recovery_plans.get"): [(VAULT, [PLANS + "read"])],
    ("asr_drills", "site_recovery.replication_recovery_plans.begin_test_failover"): [
        (VAULT, [PLANS + "testFailover/action"])
    ],
    ("asr_drills", "site_recovery.replication_recovery_plans.begin_test_failover_cleanup"): [
        (VAULT, [PLANS + "testFailoverCleanup/action"])
    ],
    ("capacity", "site_recovery.replication_recovery_plans.list"): [(VAULT, [PLANS + "read"])],
    ("capacity", "compute.resource_skus.list"): [("capacitySubscriptionIds", [CAPACITY_READS[1]])],
    ("capacity", "compute.usage.list"): [("capacitySubscriptionIds", [CAPACITY_READS[0]])],
    ("capacity", "network.usages.list"): [("capacitySubscriptionIds", [CAPACITY_READS[2]])],
    ("capacity", "compute.capacity_reservation_groups.get"): [("capacitySubscriptionIds", [CAPACITY_READS[3]])],
    ("capacity", "compute.capacity_reservations.list_by_capacity_reservation_group"): [
        ("capacitySubscriptionIds", [CAPACITY_READS[4]])
    ],
    ("capacity", "desktop_virtualization.host_pools.get"): [
        (POOLS, ["Microsoft.DesktopVirtualization/hostpools/read"])
    ],  # a recovery: provision pool's vmTemplate (the size of its session hosts)
    ("verify", "site_recovery.replication_recovery_plans.get"): [(VAULT, [PLANS + "read"])],
    ("verify", "site_recovery.replication_protected_items.list"): [(VAULT, [ITEMS + "read"])],
    ("asr_placement", "site_recovery.replication_protected_items.list"): [(VAULT, [ITEMS + "read"])],
    ("verify", "logs.query_workspace"): [
        (
            "logAnalyticsWorkspaceIds",
            [
                "Microsoft.OperationalInsights/workspaces/query/Heartbeat/read",
                "Microsoft.OperationalInsights/workspaces/query/WVDAgentHealthStatus/read",
            ],
        )
    ],
    ("avd", "desktop_virtualization.session_hosts.list"): [
        (POOLS, ["Microsoft.DesktopVirtualization/hostpools/sessionhosts/read"])
    ],
    ("avd", "desktop_virtualization.session_hosts.update"): [
        (POOLS, ["Microsoft.DesktopVirtualization/hostpools/sessionhosts/write"])
    ],
    ("avd", "desktop_virtualization.user_sessions.list"): [(POOLS, [SESSIONS + "read"])],
    ("avd", "desktop_virtualization.user_sessions.list_by_host_pool"): [(POOLS, [SESSIONS + "read"])],
    ("avd", "desktop_virtualization.user_sessions.send_message"): [(POOLS, [SESSIONS + "sendMessage/action"])],
    ("avd", "desktop_virtualization.user_sessions.delete"): [(POOLS, [SESSIONS + "delete"])],
    ("avd_provision", "desktop_virtualization.host_pools.get"): [
        (POOLS, ["Microsoft.DesktopVirtualization/hostpools/read"])
    ],
    ("avd_provision", "desktop_virtualization.host_pools.retrieve_registration_token"): [
        (PROVISION_POOLS, ["Microsoft.DesktopVirtualization/hostPools/retrieveRegistrationToken/action"])
    ],
    ("avd_provision", "desktop_virtualization.host_pools.update"): [
        (PROVISION_POOLS, ["Microsoft.DesktopVirtualization/hostpools/write"])
    ],
    ("avd_provision", "desktop_virtualization.session_hosts.list"): [
        (POOLS, ["Microsoft.DesktopVirtualization/hostpools/sessionhosts/read"])
    ],
    ("avd_provision", "desktop_virtualization.session_hosts.update"): [
        (POOLS, ["Microsoft.DesktopVirtualization/hostpools/sessionhosts/write"])
    ],
    ("avd_provision", "desktop_virtualization.session_hosts.delete"): [
        (POOLS, ["Microsoft.DesktopVirtualization/hostpools/sessionhosts/delete"])
    ],
    ("avd_provision", "compute.virtual_machines.get"): [(PROVISION_RG, [VM + "read"])],
    ("avd_provision", "compute.virtual_machines.begin_create_or_update"): [
        (
            PROVISION_RG,
            [
                VM + "write",
                "Microsoft.Network/networkInterfaces/write",
                "Microsoft.Network/virtualNetworks/subnets/join/action",
            ],
        )
    ],
    ("avd_provision", "compute.virtual_machines.begin_delete"): [
        (PROVISION_RG, [VM + "delete", "Microsoft.Network/networkInterfaces/delete"])
    ],
    ("avd_provision", "compute.virtual_machine_extensions.get"): [(PROVISION_RG, [VM + "extensions/read"])],
    ("avd_provision", "compute.virtual_machine_extensions.begin_create_or_update"): [
        (PROVISION_RG, [VM + "extensions/write"])
    ],
    ("avd_checks", "desktop_virtualization.host_pools.get"): [
        (POOLS, ["Microsoft.DesktopVirtualization/hostpools/read"])
    ],
    ("avd_checks", "compute.resource_skus.list"): [("capacitySubscriptionIds", [CAPACITY_READS[1]])],
    ("avd_checks", "compute.virtual_machine_images.list"): [("capacitySubscriptionIds", [CAPACITY_READS[5]])],
    ("avd_checks", "compute.images.get"): [("provisionImageResourceGroupIds", ["Microsoft.Compute/images/read"])],
    ("avd_checks", "compute.gallery_image_versions.get"): [
        ("provisionImageResourceGroupIds", ["Microsoft.Compute/galleries/images/versions/read"])
    ],
    ("avd_checks", "compute.gallery_image_versions.list_by_gallery_image"): [
        ("provisionImageResourceGroupIds", ["Microsoft.Compute/galleries/images/versions/read"])
    ],
    ("avd_checks", "network.virtual_networks.get"): [(PROVISION_RG, ["Microsoft.Network/virtualNetworks/read"])],
    ("dns", "dns.record_sets.get"): [("dnsZoneIds", ["Microsoft.Network/dnsZones/A/read"])],
    ("dns", "dns.record_sets.create_or_update"): [
        ("dnsZoneIds", ["Microsoft.Network/dnsZones/A/write", "Microsoft.Network/dnsZones/CNAME/write"])
    ],
    ("readiness", "dns.record_sets.get"): [("dnsZoneIds", ["Microsoft.Network/dnsZones/CNAME/read"])],
    ("traffic", "traffic_manager.profiles.get"): [
        ("trafficManagerProfileIds", ["Microsoft.Network/trafficManagerProfiles/read"])
    ],
    ("traffic", "traffic_manager.endpoints.get"): [
        ("trafficManagerProfileIds", ["Microsoft.Network/trafficManagerProfiles/azureEndpoints/read"])
    ],
    ("traffic", "traffic_manager.endpoints.update"): [
        ("trafficManagerProfileIds", ["Microsoft.Network/trafficManagerProfiles/externalEndpoints/write"])
    ],
    ("dependencies", "sql.failover_groups.get"): [
        ("sqlFailoverGroupIds", ["Microsoft.Sql/servers/failoverGroups/read"])
    ],
    ("dependencies", "sql.failover_groups.begin_failover"): [
        ("sqlFailoverGroupIds", ["Microsoft.Sql/servers/failoverGroups/failover/action"])
    ],
    ("dependencies", "sql.failover_groups.begin_force_failover_allow_data_loss"): [
        ("sqlFailoverGroupIds", ["Microsoft.Sql/servers/failoverGroups/forceFailoverAllowDataLoss/action"])
    ],
    ("dependencies", "storage.storage_accounts.get_properties"): [
        ("storageAccountIds", ["Microsoft.Storage/storageAccounts/read"])
    ],
    ("dependencies", "storage.storage_accounts.begin_failover"): [
        ("storageAccountIds", ["Microsoft.Storage/storageAccounts/failover/action"])
    ],
    ("dependencies", "compute.virtual_machines.instance_view"): [("standbyVmIds", [VM + "instanceView/read"])],
    ("dependencies", "compute.virtual_machines.begin_start"): [("standbyVmIds", [VM + "start/action"])],
    ("netapp", "netapp.volumes.get"): [("netAppVolumeIds", [VOLUMES + "read"])],
    ("netapp", "netapp.volumes.replication_status"): [("netAppVolumeIds", [VOLUMES + "replicationStatus/read"])],
    ("netapp", "netapp.volumes.begin_break_replication"): [("netAppVolumeIds", [VOLUMES + "breakReplication/action"])],
    ("network", "network.virtual_networks.get"): [("recoveryNetworkIds", ["Microsoft.Network/virtualNetworks/read"])],
    ("network", "network.virtual_network_gateways.get"): [
        ("networkGatewayIds", ["Microsoft.Network/virtualNetworkGateways/read"])
    ],
    ("network", "network.virtual_network_gateways.list_connections"): [
        ("networkGatewayIds", ["Microsoft.Network/virtualNetworkGateways/connections/read"])
    ],
    ("network", "site_recovery.replication_network_mappings.list"): [
        (VAULT, [RSV + "replicationFabrics/replicationNetworks/replicationNetworkMappings/read"])
    ],
    ("backup", "backup.recovery_points.list"): [("backupVaultIds", [BACKUP_ITEMS + "recoveryPoints/read"])],
    ("backup", "backup.restores.begin_trigger"): [
        ("backupVaultIds", [BACKUP_ITEMS + "recoveryPoints/restore/action"]),
        ("restoreTargetResourceGroupIds", RESTORE_TARGET),
        ("restoreNetworkIds", RESTORE_NETWORK),
        ("restoreSourceVmIds", [VM + "write"]),
        ("restoreStagingStorageAccountIds", ["Microsoft.Storage/storageAccounts/write"]),
    ],
    # the restore's Location: .../protectedItems/<item>/operationResults/<id>, under the vault
    ("backup", "backup.send_request"): [("backupVaultIds", [BACKUP_ITEMS + "operationResults/read"])],
    ("backup", "backup.job_details.get"): [("backupVaultIds", ["Microsoft.RecoveryServices/Vaults/backupJobs/read"])],
    ("backup", "compute.virtual_machines.get"): [("restoreTargetResourceGroupIds", [VM + "read"])],
    ("backup", "compute.virtual_machines.begin_delete"): [("restoreTargetResourceGroupIds", [VM + "delete"])],
    ("notify", "event_grid.send"): [("rbac.bicep:topic", ["Microsoft.EventGrid/events/send/action"])],
}

# Calls whose URL is not under the resource the plan names, so no role on that resource covers them: the
# asynchronous-operation status URL Azure returns (`.../providers/<RP>/locations/<region>/...`). docs/deploy.md
# says so, and what the status activities do until such a read is allowed.
OUTSIDE_THE_RESOURCE = {
    ("_arm", "netapp.send_request"),
    ("_arm", "sql.send_request"),
    ("_arm", "storage.send_request"),
}


def granted(role: str) -> list[str]:
    if role.startswith("custom:"):
        return custom_roles()[role.removeprefix("custom:")]
    return BUILT_IN_ACTIONS[role]


def allows(patterns: list[str], action: str) -> bool:
    """Azure RBAC matching: case-insensitive, `*` matches any characters (slashes too)."""
    return any(fnmatchcase(action.lower(), pattern.lower()) for pattern in patterns)


def roles_at(where: str) -> set[str]:
    if where.startswith("rbac.bicep:"):
        path, scope = INFRA / "app" / "rbac.bicep", where.split(":", 1)[1]
        return {role_of(path, c) for _, _, c in resources(path, ASSIGNMENT) if c.get("scope") == scope}
    module = loop_module(where)
    return roles_assigned((MAIN.parent / module["detail"]["path"]).resolve(), module)


class TestEverySdkCall:
    def test_the_finder_sees_the_calls(self) -> None:
        """The source scan finds calls made through names, helpers, tuples, parameters and lambdas."""
        calls = sdk_calls()
        assert len(calls) >= 50
        for call in [
            ("netapp", "netapp.volumes.begin_break_replication"),  # client from a helper's returned tuple
            ("asr_drills", "site_recovery.replication_recovery_plans.begin_test_failover"),  # a parameter, a lambda
            ("_asr", "site_recovery.replication_recovery_plans.get"),  # a parameter passed from two modules
            ("avd", "desktop_virtualization.session_hosts.update"),  # passed uncalled to arm()
            ("backup", "backup.send_request"),  # on a helper's return value
            ("_arm", "sql.send_request"),
        ]:
            assert call in calls, call

    def test_every_call_is_mapped(self) -> None:
        """A new SDK call in activities/ fails here until SDK_ACTIONS says which actions it needs, and where."""
        calls = sdk_calls()
        assert sorted(calls - set(SDK_ACTIONS) - OUTSIDE_THE_RESOURCE) == [], "map these calls in SDK_ACTIONS"
        assert sorted(set(SDK_ACTIONS) - calls) == [], "no longer called: remove from SDK_ACTIONS"
        assert calls >= OUTSIDE_THE_RESOURCE

    @pytest.mark.parametrize("call", sorted(SDK_ACTIONS), ids="/".join)
    def test_each_action_is_granted_where_the_call_lands(self, call: tuple[str, str]) -> None:
        for where, actions in SDK_ACTIONS[call]:
            roles = roles_at(where)
            assert roles, f"{call}: no role assigned on {where}"
            patterns = [p for role in roles for p in granted(role)]
            missing = [a for a in actions if not allows(patterns, a)]
            assert missing == [], f"{call}: {missing} not granted on {where} by {sorted(roles)}"

    def test_custom_roles_grant_only_what_some_call_needs(self) -> None:
        """Least privilege: every action of a custom role is needed by a call landing where that role is assigned."""
        needed: dict[str, set[str]] = {}
        for needs in SDK_ACTIONS.values():
            for where, actions in needs:
                for role in roles_at(where):
                    needed.setdefault(role, set()).update(a.lower() for a in actions)
        for symbol, actions in custom_roles().items():
            role = "custom:" + symbol
            assert role in needed, f"{symbol} is defined but never assigned"
            extra = [a for a in actions if a.lower() not in needed[role]]
            assert extra == [], f"{symbol} grants {extra}, which no call needs"
            assert all("*" not in a for a in actions)

    def test_the_matching_can_refuse(self) -> None:
        assert allows(["Microsoft.Network/dnsZones/*"], "microsoft.network/dnszones/A/write")
        assert not allows(["Microsoft.Network/dnsZones/*"], "Microsoft.Network/trafficManagerProfiles/read")
        assert not allows(custom_roles()["networkReader"], VOLUMES + "breakReplication/action")

    def test_outside_the_resource_is_documented(self) -> None:
        doc = (ROOT / "docs" / "deploy.md").read_text()
        assert "asynchronous-operation status URL" in doc
        for module, call in OUTSIDE_THE_RESOURCE:
            assert call.split(".")[0] in {"netapp", "sql", "storage"} and module == "_arm"
        assert "netapp_break_status" in doc
