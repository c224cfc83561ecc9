"""infra/ (azd layout): every Bicep file parses, and the template says what issue 7 asks of it."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from pycep import BicepParser

from local.stack import ROOT
from tests.infra.bicep import INFRA, bicep_files, body, modules, parse, ref, resources, walk

MAIN = INFRA / "main.bicep"
APP = INFRA / "app"


def only(path: Path, type_: str) -> dict[str, Any]:
    (found,) = [config for _, _, config in resources(path, type_)]
    return found


def evaluate(node: Any, env: dict[str, Any]) -> Any:
    """The value of a parsed Bicep expression made of conditionals, empty(), parameters, arrays and interpolated
    strings (what the allow-list is written with); anything else raises."""
    if isinstance(node, list):
        return [evaluate(item, env) for item in node]
    if isinstance(node, str):
        if node in env:
            return env[node]
        return re.sub(r"\$\{(\w+)\}", lambda m: str(env[m.group(1)]), node)
    if "operator" in node and node["operator"]["type"] == "conditional":
        operands = node["operator"]["operands"]
        branch = "true_value" if evaluate(operands["condition"], env) else "false_value"
        return evaluate(operands[branch], env)
    if "function" in node and node["function"]["type"] == "empty":
        return not evaluate(node["function"]["parameters"]["item_to_test"], env)
    raise ValueError(f"cannot evaluate {node}")


class TestParses:
    @pytest.mark.parametrize("path", bicep_files(), ids=lambda p: str(p.relative_to(INFRA)))
    def test_file(self, path: Path) -> None:
        doc = parse(path)
        assert doc["resources"] or doc.get("modules"), f"{path} declares nothing"

    def test_the_parser_refuses_broken_bicep(self) -> None:
        """The check above can fail: an unclosed object is refused."""
        with pytest.raises(Exception, match=r"(?i)unexpected|invalid"):
            BicepParser().parse(text="resource r 'Microsoft.Web/sites@2024-04-01' = {\n  name: 'x'\n")

    def test_the_layout(self) -> None:
        """azd layout: subscription-scoped main.bicep, modules under app/, every module path exists."""
        assert parse(MAIN)["globals"]["scope"]["value"] == "subscription"
        for path in bicep_files():
            for module in modules(path).values():
                target = (path.parent / module["detail"]["path"]).resolve()
                assert target.is_file(), f"{path.name} uses a missing module {target}"
        used = {(MAIN.parent / m["detail"]["path"]).resolve() for m in modules(MAIN).values()}
        assert used == {p.resolve() for p in bicep_files() if p != MAIN}, "every module is used by main.bicep"

    @pytest.mark.parametrize("symbol", sorted(modules(MAIN)))
    def test_module_parameters(self, symbol: str) -> None:
        """A module gets every parameter it requires and none it does not declare (no Bicep compiler here)."""
        module = modules(MAIN)[symbol]
        declared = parse((MAIN.parent / module["detail"]["path"]).resolve())["parameters"]
        given = set(body(module["config"])["params"])
        assert given <= set(declared), f"{symbol}: unknown {sorted(given - set(declared))}"
        required = {name for name, p in declared.items() if p["default"] is None}
        assert required <= given, f"{symbol}: missing {sorted(required - given)}"

    def test_module_outputs_used_exist(self) -> None:
        """Every `<module>.outputs.<name>` main.bicep reads is an output of that module."""
        used = 0
        for node in walk(parse(MAIN)):
            operator = node.get("operator") if isinstance(node, dict) else None
            if not (isinstance(operator, dict) and operator.get("type") == "property_accessor"):
                continue
            symbol, rest = operator["operands"]["operand_1"], operator["operands"]["operand_2"]
            inner = rest.get("operator", {}) if isinstance(rest, dict) else {}
            if (
                isinstance(symbol, str)
                and symbol in modules(MAIN)
                and inner.get("operands", {}).get("operand_1") == "outputs"
            ):
                name = inner["operands"]["operand_2"]
                target = (MAIN.parent / modules(MAIN)[symbol]["detail"]["path"]).resolve()
                assert name in parse(target)["outputs"], f"{symbol}.outputs.{name}"
                used += 1
        assert used >= 10


class TestFunctionApp:
    def test_flex_consumption_python_in_the_recovery_region(self) -> None:
        plan = only(APP / "function.bicep", "Microsoft.Web/serverfarms")
        assert plan["sku"] == {"tier": "FlexConsumption", "name": "FC1"}
        site = only(APP / "function.bicep", "Microsoft.Web/sites")
        assert site["kind"] == "functionapp,linux"
        assert site["properties"]["functionAppConfig"]["runtime"] == {"name": "python", "version": "pythonVersion"}
        assert site["properties"]["httpsOnly"] is True
        assert site["properties"]["siteConfig"]["minTlsVersion"] == "1.2"
        assert site["properties"]["siteConfig"]["ftpsState"] == "Disabled"
        # main.bicep deploys the app where `location` (described as the recovery region) says, never the primary.
        api = body(modules(MAIN)["api"]["config"])
        assert api["params"]["location"] == "location"
        location = parse(MAIN)["parameters"]["location"]
        assert any("RECOVERY" in str(d.get("argument")) for d in location["decorators"])
        assert "primaryLocation" not in json.dumps(api)

    def test_runs_as_the_user_assigned_identity(self) -> None:
        site = only(APP / "function.bicep", "Microsoft.Web/sites")
        assert site["identity"]["type"] == "UserAssigned"
        assert site["properties"]["keyVaultReferenceIdentity"] == "identityId"
        deployment = site["properties"]["functionAppConfig"]["deployment"]["storage"]["authentication"]
        assert deployment == {"type": "UserAssignedIdentity", "userAssignedIdentityResourceId": "identityId"}

    def test_basic_publishing_credentials_are_off(self) -> None:
        """Issue 21: SCM/FTP basic auth stayed on (no basicPublishingCredentialsPolicies)."""
        policies = resources(APP / "function.bicep", "Microsoft.Web/sites/basicPublishingCredentialsPolicies")
        assert sorted(config["name"] for _, _, config in policies) == ["ftp", "scm"]
        assert all(config["properties"]["allow"] is False for _, _, config in policies)

    def test_app_service_authentication_sets_the_approver_identity(self) -> None:
        """Approvers sign in with Entra ID; the platform, not the client, sets X-MS-CLIENT-PRINCIPAL-NAME."""
        auth = only(APP / "function.bicep", "Microsoft.Web/sites/config")
        assert auth["name"] == "authsettingsV2"
        assert auth["properties"]["platform"]["enabled"] is True
        assert auth["properties"]["identityProviders"]["azureActiveDirectory"]["enabled"] is True
        # Function-key routes (Action Group, Event Grid) must stay reachable without a sign-in.
        assert auth["properties"]["globalValidation"]["unauthenticatedClientAction"] == "AllowAnonymous"
        assert "authClientId" in parse(MAIN)["parameters"]
        assert parse(MAIN)["parameters"]["authClientId"]["default"] is None, "required: no header without it"


class TestDependencies:
    def test_storage_identity_only(self) -> None:
        storage = only(APP / "storage.bicep", "Microsoft.Storage/storageAccounts")["properties"]
        assert storage["allowSharedKeyAccess"] is False
        assert storage["allowBlobPublicAccess"] is False
        assert storage["minimumTlsVersion"] == "TLS1_2"

    def test_monitoring(self) -> None:
        assert only(APP / "monitoring.bicep", "Microsoft.OperationalInsights/workspaces")
        insights = only(APP / "monitoring.bicep", "Microsoft.Insights/components")["properties"]
        assert insights["WorkspaceResourceId"] == ref("workspace", "id")
        assert insights["DisableLocalAuth"] is True

    def test_key_vault(self) -> None:
        vault = only(APP / "keyvault.bicep", "Microsoft.KeyVault/vaults")["properties"]
        assert vault["enableRbacAuthorization"] is True
        assert vault["enablePurgeProtection"] is True
        secrets = {
            config["name"] for _, _, config in resources(APP / "keyvault.bicep", "Microsoft.KeyVault/vaults/secrets")
        }
        assert secrets == {"approval-signing-key", "teams-webhook-url"}
        parameters = json.loads((INFRA / "main.parameters.json").read_text())["parameters"]
        # Stable across provisions: read back from Key Vault, generated only the first time.
        assert parameters["approvalSigningKey"]["value"].startswith("$(secretOrRandomPassword ${AZURE_KEY_VAULT_NAME} ")
        assert "AZURE_KEY_VAULT_NAME" in parse(MAIN)["outputs"]

    def test_event_grid_topic_cloud_events(self) -> None:
        topic = only(APP / "eventgrid.bicep", "Microsoft.EventGrid/topics")["properties"]
        assert topic["inputSchema"] == "CloudEventSchemaV1_0"
        assert topic["disableLocalAuth"] is True

    def test_action_group_calls_alerts_with_the_common_schema(self) -> None:
        """Issue 21: the Action Group authenticates with Entra ID (secure webhook) when an app registration is given;
        the URL with the function key is only the fallback."""
        variables = parse(APP / "alerts.bicep")["variables"]
        assert variables["entraReceiver"]["value"] == {
            "name": "regional-failover-alerts",
            "serviceUri": "entraAlertUrl",
            "useCommonAlertSchema": True,
            "useAadAuth": True,
            "objectId": "alertAuthObjectId",
            "identifierUri": "alertAuthIdentifierUri",
            "tenantId": "alertAuthTenantId",
        }
        assert variables["keyReceiver"]["value"] == {
            "name": "regional-failover-alerts",
            "serviceUri": "alertWebhookUrl",
            "useCommonAlertSchema": True,
            "useAadAuth": False,
        }
        assert variables["secureWebhook"]["value"] == {
            "operator": {
                "type": "not",
                "operands": {
                    "bool_value": {"function": {"type": "empty", "parameters": {"item_to_test": "alertAuthObjectId"}}}
                },
            }
        }
        group = only(APP / "alerts.bicep", "Microsoft.Insights/actionGroups")
        receivers = group["properties"]["webhookReceivers"]["operator"]["operands"]
        assert receivers["condition"] == "secureWebhook" and receivers["true_value"] == ["entraReceiver"]
        assert "keyReceiver" in json.dumps(receivers["false_value"]) and "entraReceiver" not in json.dumps(
            receivers["false_value"]
        )
        # The Entra route carries no key; main.bicep gives the app registration and its audience.
        given = body(modules(MAIN)["alerts"]["config"])["params"]
        assert given["entraAlertUrl"] == "${appBaseUrl}/api/alerts/entra" and "code=" not in given["entraAlertUrl"]
        assert given["alertAuthObjectId"] == "alertAuthObjectId"
        assert "authClientId" in json.dumps(given["alertAuthIdentifierUri"])  # default: App Service auth's audience
        assert "/api/alerts?code=" in str(parse(APP / "alerts.bicep")["parameters"]["alertWebhookUrl"]["decorators"])

    def test_service_health_rule_for_the_primary_region(self) -> None:
        rule = only(APP / "alerts.bicep", "Microsoft.Insights/activityLogAlerts")["properties"]
        text = json.dumps(rule)
        assert '"equals": "ServiceHealth"' in text
        variables = parse(APP / "alerts.bicep")["variables"]
        region = variables["regionCondition"]["value"]
        assert region["field"] == "properties.impactedServices[*].ImpactedRegions[*].RegionName"
        assert region["containsAny"] == ["primaryRegionDisplayName"]
        assert variables["serviceCondition"]["value"]["field"] == "properties.impactedServices[*].ServiceName"
        assert rule["actions"]["actionGroups"] == [{"actionGroupId": ref("actionGroup", "id")}]

    def test_optional_resource_health_events(self) -> None:
        topic = only(APP / "resource-health.bicep", "Microsoft.EventGrid/systemTopics")["properties"]
        assert topic["topicType"] == "Microsoft.ResourceNotifications.HealthResources"
        subscription = only(APP / "resource-health.bicep", "Microsoft.EventGrid/systemTopics/eventSubscriptions")
        assert subscription["properties"]["eventDeliverySchema"] == "CloudEventSchemaV1_0"
        assert "condition" in modules(MAIN)["resourceHealth"]["config"], "optional"

    @pytest.mark.parametrize(
        ("given", "expected"),
        [
            ({"schedulerAllowedIps": [], "natGatewayPublicIp": ""}, ["0.0.0.0/0"]),
            ({"schedulerAllowedIps": [], "natGatewayPublicIp": "20.1.2.3"}, ["20.1.2.3/32"]),
            ({"schedulerAllowedIps": ["10.0.0.0/24"], "natGatewayPublicIp": "20.1.2.3"}, ["10.0.0.0/24"]),
        ],
    )
    def test_scheduler_allow_list(self, given: dict[str, Any], expected: list[str]) -> None:
        """Issue 21: the allow-list was 0.0.0.0/0 always. With the app's NAT gateway it admits only that address;
        0.0.0.0/0 only without one (Flex Consumption has no stable outbound address), as docs/deploy.md explains."""
        expression = parse(MAIN)["variables"]["schedulerIpAllowlist"]["value"]
        assert evaluate(expression, given) == expected
        assert body(modules(MAIN)["scheduler"]["config"])["params"]["ipAllowlist"] == "schedulerIpAllowlist"
        scheduler = only(APP / "scheduler.bicep", "Microsoft.DurableTask/schedulers")
        assert scheduler["properties"]["ipAllowlist"] == "ipAllowlist"
        assert parse(APP / "scheduler.bicep")["parameters"]["ipAllowlist"]["default"] is None  # no list of its own
        assert body(modules(MAIN)["api"]["config"])["params"]["virtualNetworkSubnetId"] == "appSubnetId"
        site = only(APP / "function.bicep", "Microsoft.Web/sites")
        assert "virtualNetworkSubnetId" in json.dumps(site["properties"]["virtualNetworkSubnetId"])
        doc = (ROOT / "docs" / "deploy.md").read_text()
        assert "`schedulerAllowedIps`" in doc and "`natGatewayPublicIp`" in doc and "0.0.0.0/0" in doc

    def test_durable_backend_parameter(self) -> None:
        backend = parse(MAIN)["parameters"]["durableBackend"]
        (allowed,) = [d["argument"] for d in backend["decorators"] if d["type"] == "allowed"]
        assert allowed == ["AzureStorage", "DurableTaskScheduler"]
        assert "condition" in modules(MAIN)["scheduler"]["config"]
        hub = only(APP / "scheduler.bicep", "Microsoft.DurableTask/schedulers/taskHubs")["name"]
        assert hub == "taskHubName"
        host = json.loads((ROOT / "host.json").read_text())
        assert host["extensions"]["durableTask"]["hubName"] == parse(MAIN)["variables"]["taskHubName"]["value"]


class TestProjectFiles:
    def test_azure_yaml(self) -> None:
        azure = yaml.safe_load((ROOT / "azure.yaml").read_text())
        assert azure["infra"] == {"provider": "bicep", "path": "infra", "module": "main"}
        assert azure["services"]["api"] == {"project": ".", "language": "python", "host": "function"}
        # azd deploys to the resource tagged with the service name.
        site = only(APP / "function.bicep", "Microsoft.Web/sites")
        assert "'azd-service-name': 'api'" in (APP / "function.bicep").read_text()
        assert site["tags"]

    def test_every_required_parameter_has_a_value(self) -> None:
        """azd fills main.parameters.json from its environment; a required parameter missing there would fail."""
        declared = parse(MAIN)["parameters"]
        given = json.loads((INFRA / "main.parameters.json").read_text())["parameters"]
        assert set(given) <= set(declared)
        required = {name for name, p in declared.items() if p["default"] is None}
        assert required <= set(given), f"no value for {sorted(required - set(given))}"

    def test_host_json_production_values(self) -> None:
        host = json.loads((ROOT / "host.json").read_text())
        durable = host["extensions"]["durableTask"]
        assert durable["hubName"].isalnum() and 3 <= len(durable["hubName"]) <= 45
        assert durable["maxConcurrentActivityFunctions"] > 0 and durable["maxConcurrentOrchestratorFunctions"] > 0
        assert host["extensionBundle"]["id"] == "Microsoft.Azure.Functions.ExtensionBundle"
        # 4.32.0 is the first bundle with the Durable Task Scheduler provider; stay below the next major.
        assert re.fullmatch(r"\[4\.(\d+)\.0, 5\.0\.0\)", host["extensionBundle"]["version"])
        assert int(re.findall(r"\d+", host["extensionBundle"]["version"])[1]) >= 32
        assert host["telemetryMode"] == "OpenTelemetry"
        assert host["extensions"]["http"]["routePrefix"] == "api"

    def test_checkov_skips_carry_their_reason(self) -> None:
        """`make test` runs checkov (tests/infra/checkov_gate.py); each skip in the Bicep says why."""
        skips = 0
        for path in bicep_files():
            for number, line in enumerate(path.read_text().splitlines(), 1):
                if "checkov:skip" in line:
                    skips += 1
                    assert re.search(r"//\s*checkov:skip=CKV2?_AZURE_\d+: \S.{30,}$", line), f"{path}:{number}"
        assert skips, "no skip found: the check would be empty"
