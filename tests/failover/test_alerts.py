"""Alert parsing and policy: every shared sample, both impactedServices forms, legacy schema, region names."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from failover.alerts import AlertError, parse_alert
from failover.plan import load_plan, normalize_region
from failover.policy import decide, instance_id_for
from local.stack import DEMO_PLAN
from tests.conftest import ALERTS, DEMO_ALERT, SHARED

PLAN = load_plan(DEMO_PLAN)


def load(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text())


class TestSamples:
    @pytest.mark.parametrize("path", ALERTS, ids=lambda p: p.name)
    def test_every_sample_parses(self, path: Path) -> None:
        alert = parse_alert(load(path))
        assert alert.alert_id and alert.monitor_condition in ("Fired", "Resolved")

    def test_test_action_is_resolved_and_ignored(self) -> None:
        """The portal's test action: array impactedServices, region Global, stage Resolved → no run."""
        alert = parse_alert(load(SHARED / "alerts" / "service-health-test-action.json"))
        assert alert.is_service_health and alert.regions == ["global"] and alert.is_resolved
        assert decide(alert, [PLAN]).ignored

    def test_metric_resolved_ignored(self) -> None:
        alert = parse_alert(load(SHARED / "alerts" / "metric-alert-resolved.json"))
        assert alert.signal_type == "Metric" and alert.is_resolved
        assert "resolved" in decide(alert, [PLAN]).reason

    def test_demo_incident_starts_demo_plan(self) -> None:
        """Escaped-string impactedServices, display region 'West Europe', 'Activity Log' spelling."""
        alert = parse_alert(load(DEMO_ALERT))
        assert alert.signal_type == "ActivityLog"
        assert alert.regions == ["westeurope"] and "Virtual Machines" in alert.services
        assert decide(alert, [PLAN]).plans == ["demo"]
        assert instance_id_for("demo") == "failover-demo"


def incident(**props: Any) -> dict[str, Any]:
    payload = load(DEMO_ALERT)
    payload["data"]["alertContext"]["properties"].update(props)
    return payload


class TestPolicy:
    def test_other_region_ignored(self) -> None:
        services = json.dumps([{"ImpactedRegions": [{"RegionName": "East US"}], "ServiceName": "Virtual Machines"}])
        assert decide(parse_alert(incident(impactedServices=services)), [PLAN]).ignored

    def test_array_form_matches(self) -> None:
        services = [{"ImpactedRegions": [{"RegionName": "West Europe"}], "ServiceName": "Storage"}]
        assert decide(parse_alert(incident(impactedServices=services)), [PLAN]).plans == ["demo"]

    def test_resolved_stage_ignored(self) -> None:
        assert decide(parse_alert(incident(stage="Resolved")), [PLAN]).ignored

    def test_maintenance_ignored_without_opt_in(self) -> None:
        assert decide(parse_alert(incident(incidentType="Maintenance", stage="Planned")), [PLAN]).ignored

    def test_service_filter(self) -> None:
        plan = PLAN.model_copy(update={"triggers": PLAN.triggers.model_copy(update={"services": ["SQL Database"]})})
        assert decide(parse_alert(load(DEMO_ALERT)), [plan]).ignored

    def test_legacy_activity_log_schema(self) -> None:
        props = load(DEMO_ALERT)["data"]["alertContext"]["properties"]
        legacy = {
            "schemaId": "Microsoft.Insights/activityLogs",
            "data": {
                "status": "Activated",
                "context": {"activityLog": {"eventSource": "ServiceHealth", "eventDataId": "e1", "properties": props}},
            },
        }
        alert = parse_alert(legacy)
        assert alert.regions == ["westeurope"] and decide(alert, [PLAN]).plans == ["demo"]


class TestErrors:
    @pytest.mark.parametrize(
        ("mutate", "field"),
        [
            (lambda p: p.pop("schemaId"), "schemaId"),
            (lambda p: p["data"].pop("essentials"), "data.essentials"),
            (lambda p: p["data"]["essentials"].update(monitorCondition="Maybe"), "data.essentials.monitorCondition"),
            (
                lambda p: p["data"]["alertContext"]["properties"].update(impactedServices="[not json"),
                "data.alertContext.properties.impactedServices",
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
    ("name", "arm"), [("West Europe", "westeurope"), ("northeurope", "northeurope"), ("East US 2", "eastus2")]
)
def test_region_names(name: str, arm: str) -> None:
    assert normalize_region(name) == arm
