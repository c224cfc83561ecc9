"""Alert parsing: every sample against a table of policy answers, then each documented trap on its own."""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from failover.alerts import COMMON_SCHEMA, LEGACY_ACTIVITY_LOG_SCHEMA, AlertError, parse_alert
from failover.events import parse_event_delivery, subscription_validation_code
from failover.plan import Plan, load_plan, normalize_region
from failover.policy import decide
from local.stack import DEMO_PLAN, ROOT
from tests.conftest import ALERTS, DEMO_ALERT, REFERENCE

PLAN = load_plan(DEMO_PLAN)  # westeurope → northeurope, any service, incidents only
SUB = "5d3c0f34-7a2b-4e53-9d0e-1f2a3b4c5d6e"
EXAMPLES = ROOT / "examples" / "alerts"
EAST_SCOPE = f"/subscriptions/{SUB}/resourceGroups/rg-app-eus"
EAST_RULE = (
    f"/subscriptions/{SUB}/resourceGroups/rg-monitor/providers/microsoft.insights/metricAlerts/vm-availability-eus"
)
# eastus → westus, opted in to maintenance notices, with a resource scope and a metric alert rule
EAST = Plan.model_validate(
    PLAN.model_dump()
    | {
        "name": "eastus-app",
        "primary_region": "eastus",
        "recovery_region": "westus",
        "triggers": {"resource_scopes": [EAST_SCOPE], "alert_rule_ids": [EAST_RULE], "include_maintenance": True},
    }
)
PLANS = [PLAN, EAST]


def load(path: Path) -> Any:
    return json.loads(path.read_text())


def is_event_delivery(body: Any) -> bool:
    return isinstance(body, list) or "specversion" in body


@dataclass(frozen=True)
class Expect:
    plans: list[str] = field(default_factory=list)
    resolved: list[str] = field(default_factory=list)  # resolved_plans
    alerts: int = 1
    ignored: int = 0  # event types skipped in an Event Grid delivery
    reason: str = ""  # a substring of the decision's reason, when nothing starts


EXPECTED: dict[str, Expect] = {
    # tests/reference/alerts (Microsoft's samples)
    "metric-alert-resolved.json": Expect(reason="resolved"),
    "service-health-test-action.json": Expect(reason="stage Resolved"),
    "cost-budget-actual.json": Expect(reason="no plan matches"),  # monitorCondition null: parses, matches nothing
    # examples/alerts: Service Health
    "service-health-incident-westeurope.json": Expect(plans=["demo"]),
    "service-health-incident-westeurope-resolved.json": Expect(resolved=["demo"], reason="stage Resolved"),
    "service-health-maintenance-eastus-westeurope.json": Expect(plans=["eastus-app"]),
    "service-health-security-westeurope.json": Expect(reason="include_security"),
    "service-health-action-required-eastus.json": Expect(reason="include_action_required"),
    "legacy-service-health-incident-eastus.json": Expect(plans=["eastus-app"]),
    # Resource Health through action groups
    "resource-health-platform-unavailable.json": Expect(plans=["eastus-app"]),
    "resource-health-user-initiated.json": Expect(reason="user-initiated"),
    "resource-health-available.json": Expect(resolved=["eastus-app"], reason="status Resolved"),
    "legacy-resource-health-unavailable.json": Expect(plans=["eastus-app"]),
    # metric, log, activity-log and cost alerts
    "metric-alert-static-threshold.json": Expect(plans=["eastus-app"]),
    "metric-alert-dynamic-threshold.json": Expect(reason="resource_scopes"),  # rg-app-eus2 is not rg-app-eus
    "log-alert-v2-heartbeat.json": Expect(plans=["eastus-app"]),  # by its _ResourceId dimension
    "log-alert-v1-number-of-results.json": Expect(reason="resource_scopes"),
    "activity-log-administrative-restart.json": Expect(reason="alert_rule_ids"),  # in scope, but a restart
    "budget-alert-forecasted.json": Expect(reason="CostAlerts"),
    # Event Grid deliveries (POST /api/events)
    "eventgrid-availability-unavailable.json": Expect(plans=["eastus-app"]),
    "cloudevents-availability-degraded.json": Expect(plans=["eastus-app"]),
    "cloudevents-availability-batch.json": Expect(resolved=["eastus-app"], ignored=1, reason="monitor condition"),
    "eventgrid-subscription-validation.json": Expect(alerts=0, ignored=1),
}


class TestSamples:
    def test_every_sample_is_in_the_table(self) -> None:
        assert sorted(p.name for p in ALERTS) == sorted(EXPECTED)

    @pytest.mark.parametrize("path", ALERTS, ids=lambda p: p.name)
    def test_sample_gets_the_right_answer(self, path: Path) -> None:
        expect = EXPECTED[path.name]
        body = load(path)
        if is_event_delivery(body):
            batch = parse_event_delivery(body)
            alerts, ignored = list(batch), len(batch.ignored)
        else:
            alerts, ignored = [parse_alert(body)], 0
        assert (len(alerts), ignored) == (expect.alerts, expect.ignored)
        plans: list[str] = []
        resolved: list[str] = []
        for alert in alerts:
            assert alert.alert_id and alert.monitor_condition in ("Fired", "Resolved") and alert.incident_key
            decision = decide(alert, PLANS)
            plans += decision.plans
            resolved += decision.resolved_plans
            if not decision.plans:
                assert expect.reason in decision.reason
        assert (plans, resolved) == (expect.plans, expect.resolved)

    def test_test_action_is_resolved_and_ignored(self) -> None:
        """The portal's test action: array impactedServices, region Global, stage Resolved → no run."""
        alert = parse_alert(load(REFERENCE / "alerts" / "service-health-test-action.json"))
        assert alert.is_service_health and alert.regions == ["global"] and alert.is_resolved
        assert alert.monitor_condition == "Fired"  # activity-log alerts are stateless: the stage says it
        assert decide(alert, [PLAN]).ignored

    def test_metric_resolved_ignored(self) -> None:
        alert = parse_alert(load(REFERENCE / "alerts" / "metric-alert-resolved.json"))
        assert alert.signal_type == "Metric" and alert.is_resolved and alert.resolved_at
        assert alert.criteria[0].metric == "Percentage CPU" and alert.criteria[0].value == pytest.approx(7.727)
        assert "resolved" in decide(alert, [PLAN]).reason

    def test_demo_incident_starts_demo_plan(self) -> None:
        """Escaped-string impactedServices, display region 'West Europe', 'Activity Log' spelling."""
        alert = parse_alert(load(DEMO_ALERT))
        assert alert.signal_type == "ActivityLog" and alert.kind == "ServiceHealth"
        assert alert.regions == ["westeurope"] and alert.services == ["Virtual Machines", "Windows Virtual Desktop"]
        assert alert.incident_type == "Incident" and alert.tracking_id == "7KQ9-LZ8"
        assert decide(alert, [PLAN]).plans == ["demo"]

    def test_validation_sample_code(self) -> None:
        body = load(EXAMPLES / "eventgrid-subscription-validation.json")
        assert subscription_validation_code(body) == "512d38b6-c7b8-40c8-89fe-f46f9e9622b6"


def incident(**props: Any) -> dict[str, Any]:
    payload = load(DEMO_ALERT)
    payload["data"]["alertContext"]["properties"].update(props)
    return payload


def essentials(**fields: Any) -> dict[str, Any]:
    payload = load(DEMO_ALERT)
    payload["data"]["essentials"].update(fields)
    return payload


def legacy(activity: dict[str, Any], status: str = "Activated") -> dict[str, Any]:
    return {"schemaId": LEGACY_ACTIVITY_LOG_SCHEMA, "data": {"status": status, "context": {"activityLog": activity}}}


class TestServiceHealthTraps:
    @pytest.mark.parametrize("as_string", [True, False], ids=["escaped-string", "array"])
    def test_impacted_services_string_or_array(self, as_string: bool) -> None:
        services = [
            {"ImpactedRegions": [{"RegionName": "West Europe"}, {"RegionName": "North Europe"}], "ServiceName": "SQL"},
            {"ImpactedRegions": [{"RegionName": "West Europe"}], "ServiceName": "Storage"},
        ]
        alert = parse_alert(incident(impactedServices=json.dumps(services) if as_string else services))
        assert alert.regions == ["westeurope", "northeurope"] and alert.services == ["SQL", "Storage"]
        assert decide(alert, [PLAN]).plans == ["demo"]

    @pytest.mark.parametrize(
        ("given", "normalised"),
        [("Activity Log", "ActivityLog"), ("ActivityLog", "ActivityLog"), ("activitylog", "ActivityLog"),
         ("Metric", "Metric"), ("Log", "Log"), (None, "")],
    )  # fmt: skip
    def test_signal_type_spellings(self, given: str | None, normalised: str) -> None:
        assert parse_alert(essentials(signalType=given)).signal_type == normalised

    @pytest.mark.parametrize("service", ["ServiceHealth", "Service Health", "servicehealth"])
    def test_monitoring_service_spellings(self, service: str) -> None:
        alert = parse_alert(essentials(monitoringService=service))
        assert alert.is_service_health and alert.regions == ["westeurope"]

    def test_display_region_names(self) -> None:
        services = json.dumps([{"ImpactedRegions": [{"RegionName": "East US 2"}], "ServiceName": "App Service"}])
        assert parse_alert(incident(impactedServices=services)).regions == ["eastus2"]

    def test_region_property_when_no_impacted_services(self) -> None:
        alert = parse_alert(incident(impactedServices=None, region="East US, West Europe", service="Storage"))
        assert alert.regions == ["eastus", "westeurope"] and alert.services == ["Storage"]

    @pytest.mark.parametrize(
        ("given", "canonical"),
        [("Incident", "Incident"), ("Informational", "Informational"), ("Information", "Informational"),
         ("actionRequired", "ActionRequired"), ("maintenance", "Maintenance"), ("Security", "Security")],
    )  # fmt: skip
    def test_incident_type_spellings(self, given: str, canonical: str) -> None:
        assert parse_alert(incident(incidentType=given)).incident_type == canonical

    def test_incident_type_from_operation_name(self) -> None:
        payload = incident(incidentType=None)
        payload["data"]["alertContext"]["operationName"] = "Microsoft.ServiceHealth/maintenance/action"
        assert parse_alert(payload).incident_type == "Maintenance"

    @pytest.mark.parametrize(("stage", "resolved"), [
        ("Active", False), ("Planned", False), ("InProgress", False), ("Rescheduled", False),
        ("Resolved", True), ("RCA", True), ("Complete", True), ("Canceled", True),
    ])  # fmt: skip
    def test_stages(self, stage: str, resolved: bool) -> None:
        payload = incident(stage=stage)
        payload["data"]["alertContext"]["status"] = "Active"
        assert parse_alert(payload).is_resolved is resolved

    def test_event_status_resolved(self) -> None:
        payload = incident(stage="Active")
        payload["data"]["alertContext"]["status"] = "Resolved"
        assert parse_alert(payload).resolution == "status Resolved"

    @pytest.mark.parametrize("condition", ["Resolved", "resolved", "RESOLVED"])
    def test_monitor_condition_any_case(self, condition: str) -> None:
        alert = parse_alert(essentials(monitorCondition=condition))
        assert alert.monitor_condition == "Resolved" and alert.is_resolved

    def test_legacy_activity_log_schema(self) -> None:
        props = load(DEMO_ALERT)["data"]["alertContext"]["properties"]
        alert = parse_alert(legacy({"eventSource": "ServiceHealth", "eventDataId": "e1", "properties": props}))
        assert alert.schema == LEGACY_ACTIVITY_LOG_SCHEMA and alert.kind == "ServiceHealth"
        assert alert.regions == ["westeurope"] and decide(alert, [PLAN]).plans == ["demo"]

    def test_legacy_sample_fields(self) -> None:
        alert = parse_alert(load(EXAMPLES / "legacy-service-health-incident-eastus.json"))
        assert alert.monitoring_service == "ServiceHealth" and alert.signal_type == "ActivityLog"
        assert alert.target_ids == [f"/subscriptions/{SUB}"] and alert.severity == "Warning"
        assert alert.regions == ["eastus"] and alert.tracking_id == "0NIH-U2O" and alert.status == "Active"


class TestOtherAlertShapes:
    @pytest.mark.parametrize("key", ["alertRuleID", "alertRuleId"])
    def test_rule_id_either_spelling(self, key: str) -> None:
        payload = load(EXAMPLES / "metric-alert-static-threshold.json")
        payload["data"]["essentials"].pop("alertRuleID")
        payload["data"]["essentials"][key] = EAST_RULE
        assert parse_alert(payload).alert_rule_id == EAST_RULE

    def test_metric_static_threshold(self) -> None:
        alert = parse_alert(load(EXAMPLES / "metric-alert-static-threshold.json"))
        assert alert.kind == "Metric" and alert.condition_type == "SingleResourceMultipleMetricCriteria"
        (criterion,) = alert.criteria
        assert (criterion.metric, criterion.operator, criterion.threshold, criterion.value) == (
            "VmAvailabilityMetric", "LessThan", "0.5", 0.0,
        )  # fmt: skip
        assert criterion.dimensions == {"ResourceId": "b1b1b1b1-cccc-dddd-eeee-f2f2f2f2f2f2"}
        assert alert.dimension_resource_ids == []  # a GUID is not an ARM id

    def test_metric_dynamic_threshold(self) -> None:
        alert = parse_alert(load(EXAMPLES / "metric-alert-dynamic-threshold.json"))
        assert alert.condition_type == "DynamicThresholdCriteria"
        assert alert.criteria[0].metric == "Transactions" and alert.criteria[0].value == pytest.approx(78.09)

    def test_log_v2_dimension_resource(self) -> None:
        alert = parse_alert(load(EXAMPLES / "log-alert-v2-heartbeat.json"))
        assert alert.kind == "Log" and alert.condition_type == "LogQueryCriteria"
        vm = f"{EAST_SCOPE}/providers/Microsoft.Compute/virtualMachines/vm-app-eus-01".lower()
        assert alert.dimension_resource_ids == [vm]
        assert alert.resource_ids == [alert.target_ids[0], vm]

    def test_log_v1_fields(self) -> None:
        alert = parse_alert(load(EXAMPLES / "log-alert-v1-number-of-results.json"))
        assert alert.monitoring_service == "Log Analytics" and alert.condition_type == "LogSearchV1"
        (criterion,) = alert.criteria
        assert criterion.operator == "Greater Than" and criterion.threshold == "0" and criterion.value == 1.0

    def test_resource_health_common_schema(self) -> None:
        alert = parse_alert(load(EXAMPLES / "resource-health-platform-unavailable.json"))
        assert alert.kind == "ResourceHealth" and alert.signal_type == "ActivityLog"
        assert (alert.availability_state, alert.previous_availability_state, alert.cause) == (
            "Unavailable", "Available", "PlatformInitiated",
        )  # fmt: skip
        assert not alert.is_resolved

    def test_resource_health_available_is_a_resolution(self) -> None:
        payload = load(EXAMPLES / "resource-health-available.json")
        payload["data"]["alertContext"]["status"] = "Active"  # only the health status says it
        alert = parse_alert(payload)
        assert alert.monitor_condition == "Fired" and alert.resolution == "availability Available"

    def test_legacy_resource_health(self) -> None:
        alert = parse_alert(load(EXAMPLES / "legacy-resource-health-unavailable.json"))
        assert alert.kind == "ResourceHealth" and alert.availability_state == "Unavailable"
        assert alert.target_ids[0].endswith("/virtualMachines/vm-app-eus-01")

    @pytest.mark.parametrize("field", ["firedDateTime", "resolvedDateTime"])
    @pytest.mark.parametrize("value", [0, 1.5, {}, [], True])
    def test_times_that_are_not_strings_are_refused(self, field: str, value: Any) -> None:
        """`resolvedDateTime: 0` was answered 202 (issue 21): the schema types it string or null."""
        payload = load(DEMO_ALERT)
        payload["data"]["essentials"][field] = value
        with pytest.raises(AlertError) as refused:
            parse_alert(payload)
        assert refused.value.field == f"data.essentials.{field}"

    def test_budget_alert_with_null_fields(self) -> None:
        alert = parse_alert(load(EXAMPLES / "budget-alert-forecasted.json"))
        assert (alert.alert_rule, alert.signal_type, alert.target_ids, alert.kind) == ("", "", [], "Other")


class TestIncidentKey:
    def test_service_health_fired_and_resolved_share_the_tracking_id(self) -> None:
        fired = parse_alert(load(DEMO_ALERT))
        resolved = parse_alert(load(EXAMPLES / "service-health-incident-westeurope-resolved.json"))
        assert fired.alert_id != resolved.alert_id
        assert fired.incident_key == resolved.incident_key == "7KQ9-LZ8"

    def test_resource_health_key_is_the_resource_across_schemas(self) -> None:
        common = parse_alert(load(EXAMPLES / "resource-health-platform-unavailable.json"))
        legacy_alert = parse_alert(load(EXAMPLES / "legacy-resource-health-unavailable.json"))
        (event,) = parse_event_delivery(load(EXAMPLES / "eventgrid-availability-unavailable.json"))
        (back,) = parse_event_delivery(load(EXAMPLES / "cloudevents-availability-batch.json"))
        vm = f"{EAST_SCOPE}/providers/Microsoft.Compute/virtualMachines/vm-app-eus-01".lower()
        assert common.incident_key == legacy_alert.incident_key == event.incident_key == back.incident_key == vm

    def test_metric_key_is_the_alert_id(self) -> None:
        fired = load(REFERENCE / "alerts" / "metric-alert-resolved.json")
        fired["data"]["essentials"]["monitorCondition"] = "Fired"
        resolved = parse_alert(load(REFERENCE / "alerts" / "metric-alert-resolved.json"))
        assert parse_alert(fired).incident_key == resolved.incident_key == resolved.alert_id

    def test_summary(self) -> None:
        summary = parse_alert(load(EXAMPLES / "resource-health-platform-unavailable.json")).summary()
        assert summary["incident_key"].endswith("/vm-app-eus-01")
        assert summary["availability_state"] == "Unavailable" and summary["signal_type"] == "ActivityLog"
        assert summary["title"] == "Virtual Machine health status changed to unavailable"
        json.dumps(summary)  # it goes into the run input: JSON only
        sh = parse_alert(load(DEMO_ALERT)).summary()
        assert (sh["incident_key"], sh["regions"], sh["incident_type"]) == ("7KQ9-LZ8", ["westeurope"], "Incident")


def _set(path: list[Any], value: Any) -> Any:
    def mutate(payload: dict[str, Any]) -> None:
        target = payload
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value

    return mutate


class TestErrors:
    @pytest.mark.parametrize(
        ("mutate", "field"),
        [
            (lambda p: p.pop("schemaId"), "schemaId"),
            (lambda p: p.pop("data"), "data"),
            (lambda p: p["data"].pop("essentials"), "data.essentials"),
            (lambda p: p["data"]["essentials"].pop("alertId"), "data.essentials.alertId"),
            (_set(["data", "essentials", "monitorCondition"], "Maybe"), "data.essentials.monitorCondition"),
            (_set(["data", "essentials", "alertTargetIDs"], "/subscriptions/x"), "data.essentials.alertTargetIDs"),
            (_set(["data", "alertContext"], []), "data.alertContext"),
            (_set(["data", "alertContext", "properties"], None), "data.alertContext.properties"),
            (
                _set(["data", "alertContext", "properties", "impactedServices"], "[not json"),
                "data.alertContext.properties.impactedServices",
            ),
            (
                _set(["data", "alertContext", "properties", "impactedServices"], [{"ImpactedRegions": "West Europe"}]),
                "data.alertContext.properties.impactedServices[0].ImpactedRegions",
            ),
        ],
    )
    def test_field_named(self, mutate: Any, field: str) -> None:
        payload = copy.deepcopy(load(DEMO_ALERT))
        mutate(payload)
        with pytest.raises(AlertError) as err:
            parse_alert(payload)
        assert err.value.field == field

    @pytest.mark.parametrize(
        ("sample", "mutate", "field"),
        [
            (
                "metric-alert-static-threshold.json",
                _set(["data", "alertContext", "condition", "allOf"], {"metricName": "x"}),
                "data.alertContext.condition.allOf",
            ),
            (
                "metric-alert-static-threshold.json",
                _set(["data", "alertContext", "condition", "allOf", 0, "dimensions"], "ResourceId"),
                "data.alertContext.condition.allOf[0].dimensions",
            ),
            (
                "resource-health-platform-unavailable.json",
                _set(["data", "alertContext", "properties", "currentHealthStatus"], "Sleepy"),
                "data.alertContext.properties.currentHealthStatus",
            ),
            (
                "legacy-resource-health-unavailable.json",
                _set(["data", "context"], {}),
                "data.context.activityLog",
            ),
        ],
    )
    def test_field_named_in_other_shapes(self, sample: str, mutate: Any, field: str) -> None:
        payload = load(EXAMPLES / sample)
        mutate(payload)
        with pytest.raises(AlertError) as err:
            parse_alert(payload)
        assert err.value.field == field

    def test_legacy_without_any_id(self) -> None:
        with pytest.raises(AlertError) as err:
            parse_alert(legacy({"eventSource": "ServiceHealth", "properties": {}}))
        assert err.value.field == "data.context.activityLog.eventDataId"

    @pytest.mark.parametrize("condition", [True, 5, ["Fired"], {"state": "Fired"}])
    def test_budget_monitor_condition_that_is_not_a_string(self, condition: Any) -> None:
        """A budget alert may send monitorCondition null, not a number or an object (that was an AttributeError)."""
        payload = load(EXAMPLES / "budget-alert-forecasted.json")
        payload["data"]["essentials"]["monitorCondition"] = condition
        with pytest.raises(AlertError) as err:
            parse_alert(payload)
        assert err.value.field == "data.essentials.monitorCondition"

    def test_impacted_services_nested_too_deeply(self) -> None:
        """An escaped impactedServices string nested beyond the JSON decoder's depth (that was a RecursionError)."""
        with pytest.raises(AlertError) as err:
            parse_alert(incident(impactedServices="[" * 100_000))
        assert err.value.field == "data.alertContext.properties.impactedServices"

    def test_several_faults_name_the_first_in_document_order(self) -> None:
        """`essentials` comes before `alertContext`: its fault is the one named."""
        payload = load(DEMO_ALERT)
        payload["data"]["essentials"]["severity"] = {"level": 1}
        payload["data"]["alertContext"] = []
        with pytest.raises(AlertError) as err:
            parse_alert(payload)
        assert (err.value.field, err.value.message) == ("data.essentials.severity", "must be a string")

    @pytest.mark.parametrize("body", [[], "alert", None])
    def test_not_an_object(self, body: Any) -> None:
        with pytest.raises(AlertError) as err:
            parse_alert(body)
        assert err.value.field == "$"

    def test_common_schema_constant(self) -> None:
        assert load(DEMO_ALERT)["schemaId"] == COMMON_SCHEMA


@pytest.mark.parametrize(
    ("name", "arm"), [("West Europe", "westeurope"), ("northeurope", "northeurope"), ("East US 2", "eastus2")]
)
def test_region_names(name: str, arm: str) -> None:
    assert normalize_region(name) == arm
