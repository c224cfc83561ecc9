"""The alert policy, rule by rule: a pure function of (alert, plans)."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from failover.alerts import Alert, ImpactedService
from failover.plan import Plan, PlanError, Triggers, load_plan, parse_plan
from failover.policy import decide, in_scope
from local.stack import DEMO_PLAN

DEMO = load_plan(DEMO_PLAN)
SUB = "/subscriptions/5d3c0f34-7a2b-4e53-9d0e-1f2a3b4c5d6e"
RG_A = f"{SUB}/resourceGroups/rg-a"
VM_IN_A = f"{SUB}/resourcegroups/RG-A/providers/microsoft.compute/virtualmachines/vm-1"
VM_IN_AB = f"{SUB}/resourceGroups/rg-ab/providers/Microsoft.Compute/virtualMachines/vm-1"
RULE = f"{SUB}/resourceGroups/rg-monitor/providers/microsoft.insights/metricAlerts/vm-availability"


def plan(name: str = "p", primary: str = "westeurope", recovery: str = "northeurope", **triggers: Any) -> Plan:
    return Plan.model_validate(
        DEMO.model_dump() | {"name": name, "primary_region": primary, "recovery_region": recovery, "triggers": triggers}
    )


def service_health(
    regions: tuple[str, ...] = ("westeurope",),
    incident_type: str | None = "Incident",
    stage: str = "Active",
    condition: str = "Fired",
    services: tuple[str, ...] = ("Virtual Machines",),
    status: str | None = "Active",
) -> Alert:
    return Alert(
        schema="azureMonitorCommonAlertSchema",
        alert_id=f"{SUB}/providers/Microsoft.AlertsManagement/alerts/1",
        alert_rule="sh",
        alert_rule_id=None,
        severity="Sev1",
        signal_type="ActivityLog",
        monitoring_service="ServiceHealth",
        monitor_condition=condition,
        fired_at=None,
        incident_type=incident_type,
        stage=stage,
        status=status,
        tracking_id="ABCD-123",
        impacted_services=[ImpactedService(service=s, regions=list(regions)) for s in services],
    )


def metric(targets: tuple[str, ...] = (VM_IN_A,), rule_id: str | None = None, condition: str = "Fired") -> Alert:
    return Alert(
        schema="azureMonitorCommonAlertSchema",
        alert_id=f"{SUB}/providers/Microsoft.AlertsManagement/alerts/2",
        alert_rule="vm-availability",
        alert_rule_id=rule_id,
        severity="Sev0",
        signal_type="Metric",
        monitoring_service="Platform",
        monitor_condition=condition,
        fired_at=None,
        target_ids=list(targets),
    )


def resource_health(
    state: str = "Unavailable", cause: str | None = "PlatformInitiated", target: str = VM_IN_A
) -> Alert:
    return Alert(
        schema="CloudEvents/1.0",
        alert_id="event-1",
        alert_rule="Microsoft.ResourceNotifications.HealthResources.AvailabilityStatusChanged",
        alert_rule_id=None,
        severity=None,
        signal_type="Event",
        monitoring_service="Resource Health",
        monitor_condition="Resolved" if state == "Available" else "Fired",
        fired_at=None,
        target_ids=[target],
        availability_state=state,
        cause=cause,
    )


def activity_log(target: str = VM_IN_A, rule_id: str | None = None) -> Alert:
    return Alert(
        schema="azureMonitorCommonAlertSchema",
        alert_id=f"{SUB}/providers/Microsoft.AlertsManagement/alerts/3",
        alert_rule="vm-restarts",
        alert_rule_id=rule_id,
        severity="Sev4",
        signal_type="ActivityLog",
        monitoring_service="Activity Log - Administrative",
        monitor_condition="Fired",
        fired_at=None,
        target_ids=[target],
        status="Succeeded",
    )


OPTED_IN = {"include_maintenance": True, "include_action_required": True, "include_security": True}


class TestResolvedNeverStarts:
    @pytest.mark.parametrize(
        "alert",
        [
            service_health(condition="Resolved"),
            service_health(stage="Resolved"),
            service_health(stage="RCA"),
            service_health(incident_type="Maintenance", stage="Complete"),
            service_health(incident_type="Maintenance", stage="Canceled"),
            service_health(status="Resolved"),
            metric(condition="Resolved"),
            resource_health("Available"),
        ],
        ids=["condition", "stage-resolved", "rca", "complete", "canceled", "status", "metric", "available"],
    )
    def test_resolution_is_recorded_not_started(self, alert: Alert) -> None:
        """Even for a plan every rule would match, a resolution starts nothing and names that plan."""
        target = plan(resource_scopes=[RG_A], alert_rule_ids=[RULE], **OPTED_IN)
        decision = decide(alert, [target])
        assert decision.ignored and decision.plans == []
        assert decision.resolved_plans == ["p"] and "resolved" in decision.reason

    def test_resolved_plans_only_lists_plans_it_would_have_matched(self) -> None:
        plans = [plan("weu"), plan("eus", primary="eastus", recovery="westus")]
        decision = decide(service_health(stage="Resolved"), plans)
        assert decision.resolved_plans == ["weu"] and "eus" in decision.skipped

    def test_fired_alert_has_no_resolved_plans(self) -> None:
        decision = decide(service_health(), [plan()])
        assert decision.plans == ["p"] and decision.resolved_plans == []


class TestServiceHealthTypes:
    @pytest.mark.parametrize(
        ("incident_type", "flag"),
        [
            ("Maintenance", "include_maintenance"),
            ("Informational", "include_maintenance"),
            ("ActionRequired", "include_action_required"),
            ("Security", "include_security"),
        ],
    )
    def test_only_if_opted_in(self, incident_type: str, flag: str) -> None:
        alert = service_health(
            incident_type=incident_type, stage="Planned" if incident_type == "Maintenance" else "Active"
        )
        without = decide(alert, [plan()])
        assert without.ignored and flag in without.reason
        assert decide(alert, [plan(**{flag: True})]).plans == ["p"]

    @pytest.mark.parametrize("incident_type", ["ActionRequired", "Security"])
    def test_include_maintenance_is_not_a_blanket_opt_in(self, incident_type: str) -> None:
        assert decide(service_health(incident_type=incident_type), [plan(include_maintenance=True)]).ignored

    def test_incidents_need_no_opt_in(self) -> None:
        assert decide(service_health(incident_type="Incident"), [plan()]).plans == ["p"]

    def test_missing_type_is_an_incident(self) -> None:
        assert decide(service_health(incident_type=None), [plan()]).plans == ["p"]

    def test_unknown_type_never_starts(self) -> None:
        decision = decide(service_health(incident_type="AssistedRecovery"), [plan(**OPTED_IN)])
        assert decision.ignored and "AssistedRecovery" in decision.reason


class TestRegionsAndServices:
    def test_another_region_is_ignored(self) -> None:
        decision = decide(service_health(regions=("eastus",)), [plan()])
        assert decision.ignored and "eastus" in decision.reason and "p" in decision.skipped

    def test_region_defaults_to_primary(self) -> None:
        eus = plan(primary="eastus", recovery="westus")
        assert eus.triggers.regions == []
        assert decide(service_health(regions=("eastus",)), [eus]).plans == ["p"]
        assert decide(service_health(regions=("westeurope",)), [eus]).ignored

    def test_trigger_regions_replace_the_primary(self) -> None:
        both = plan(regions=["West Europe", "North Europe"])  # display names in the plan are normalised too
        assert both.triggers.regions == ["westeurope", "northeurope"]
        assert decide(service_health(regions=("northeurope",)), [both]).plans == ["p"]
        only_north = plan(regions=["northeurope"])
        assert decide(service_health(regions=("westeurope",)), [only_north]).ignored

    def test_several_plans(self) -> None:
        plans = [plan("a"), plan("b", primary="eastus", recovery="westus"), plan("c")]
        assert decide(service_health(regions=("westeurope", "eastus")), plans).plans == ["a", "b", "c"]

    def test_services_filter_case_insensitive(self) -> None:
        sql = plan(services=["sql database"])
        assert decide(service_health(services=("SQL Database", "Storage")), [sql]).plans == ["p"]
        decision = decide(service_health(services=("Virtual Machines",)), [sql])
        assert decision.ignored and "Virtual Machines" in decision.reason

    def test_no_plans(self) -> None:
        assert decide(service_health(), []).reason == "no plans are loaded"


class TestRulesAndScopes:
    def test_rule_id_match(self) -> None:
        listed = plan(alert_rule_ids=[RULE])
        assert decide(metric(targets=(VM_IN_AB,), rule_id=RULE.upper() + "/"), [listed]).plans == ["p"]
        assert decide(metric(targets=(VM_IN_AB,), rule_id=RULE + "-2"), [listed]).ignored
        assert decide(metric(targets=(VM_IN_AB,), rule_id=None), [listed]).ignored

    def test_scope_match_case_insensitive(self) -> None:
        assert decide(metric(targets=(VM_IN_A,)), [plan(resource_scopes=[RG_A])]).plans == ["p"]

    def test_rg_a_does_not_contain_rg_ab(self) -> None:
        decision = decide(metric(targets=(VM_IN_AB,)), [plan(resource_scopes=[RG_A])])
        assert decision.ignored and "resource_scopes" in decision.reason

    def test_scope_given_with_trailing_slash(self) -> None:
        scoped = plan(resource_scopes=[RG_A + "/"])
        assert scoped.triggers.resource_scopes == [RG_A]
        assert decide(metric(targets=(VM_IN_A,)), [scoped]).plans == ["p"]

    def test_subscription_scope(self) -> None:
        assert decide(metric(targets=(VM_IN_AB,)), [plan(resource_scopes=[SUB])]).plans == ["p"]

    def test_service_health_is_not_matched_by_scope(self) -> None:
        """A Service Health alert targets the subscription; only its regions count."""
        alert = service_health(regions=("eastus",))
        alert = Alert(**{**alert.__dict__, "target_ids": [SUB]})
        assert decide(alert, [plan(resource_scopes=[SUB])]).ignored

    def test_log_alert_dimension_resource(self) -> None:
        alert = metric(
            targets=(f"{SUB}/resourceGroups/rg-monitor/providers/microsoft.operationalinsights/workspaces/w",)
        )
        assert decide(alert, [plan(resource_scopes=[RG_A])]).ignored
        alert = Alert(**{**alert.__dict__, "signal_type": "Log", "dimension_resource_ids": [VM_IN_A]})
        assert decide(alert, [plan(resource_scopes=[RG_A])]).plans == ["p"]

    def test_activity_log_alerts_match_by_rule_only(self) -> None:
        """A VM restart inside the scope is not a reason to evacuate; a listed rule is."""
        decision = decide(activity_log(), [plan(resource_scopes=[RG_A])])
        assert decision.ignored and "alert_rule_ids" in decision.reason
        rule = f"{SUB}/resourceGroups/rg-monitor/providers/microsoft.insights/activityLogAlerts/vm-restarts"
        assert decide(activity_log(rule_id=rule), [plan(alert_rule_ids=[rule])]).plans == ["p"]


class TestResourceHealth:
    @pytest.mark.parametrize("state", ["Unavailable", "Degraded"])
    def test_outage_in_scope_starts(self, state: str) -> None:
        assert decide(resource_health(state), [plan(resource_scopes=[RG_A])]).plans == ["p"]

    def test_unknown_is_not_an_outage(self) -> None:
        decision = decide(resource_health("Unknown"), [plan(resource_scopes=[RG_A])])
        assert decision.ignored and decision.resolved_plans == [] and "Unknown" in decision.reason

    def test_user_initiated_downtime_is_ignored(self) -> None:
        decision = decide(resource_health(cause="UserInitiated"), [plan(resource_scopes=[RG_A])])
        assert decision.ignored and "user-initiated" in decision.reason

    def test_out_of_scope(self) -> None:
        assert decide(resource_health(target=VM_IN_AB), [plan(resource_scopes=[RG_A])]).ignored


@pytest.mark.parametrize(
    ("resource", "scope", "inside"),
    [
        (VM_IN_A, RG_A, True),
        (VM_IN_AB, RG_A, False),
        (RG_A, RG_A, True),
        (RG_A.upper(), RG_A.lower() + "/", True),
        (f"{SUB}/resourceGroups/rg", RG_A, False),
        (VM_IN_A, "", False),
    ],
)
def test_in_scope(resource: str, scope: str, inside: bool) -> None:
    assert in_scope(resource, scope) is inside


class TestTriggersModel:
    def test_defaults_keep_existing_plans_valid(self) -> None:
        triggers = Triggers()
        assert not (triggers.include_maintenance or triggers.include_action_required or triggers.include_security)
        assert DEMO.triggers.regions == ["westeurope"]

    @pytest.mark.parametrize("field", ["resource_scopes", "alert_rule_ids"])
    @pytest.mark.parametrize(
        "value",
        [
            "rg-a",
            "/resourceGroups/rg-a",
            "/subscriptions/",
            "/subscriptions//rg",
            # not ARM ids either (azure.mgmt.core.tools.is_valid_resource_id), though they start like one
            "/subscriptions/s/rg-a",
            "/subscriptions/s/resourceGroups",
            "/subscriptions/s/resourceGroups/rg-a/providers/Microsoft.Compute",
            "/subscriptions/s/resourceGroups/rg-a/providers/Microsoft.Compute//vm-1",
        ],
    )
    def test_arm_ids_required(self, field: str, value: str) -> None:
        with pytest.raises(ValidationError, match="is not an ARM id"):
            Triggers(**{field: [value]})

    @pytest.mark.parametrize("field", ["resource_scopes", "alert_rule_ids"])
    @pytest.mark.parametrize(
        "value",
        [
            "/subscriptions/s",
            "/subscriptions/s/resourcegroups/RG-A/",
            "/subscriptions/s/resourceGroups/rg-a/providers/microsoft.insights/metricAlerts/cpu high",
            "/subscriptions/s/resourceGroups/rg-a/providers/Microsoft.Network/virtualNetworks/v/subnets/default",
        ],
    )
    def test_arm_ids_in_any_case(self, field: str, value: str) -> None:
        assert getattr(Triggers(**{field: [f" {value} "]}), field) == [value.rstrip("/")]

    def test_plan_error_names_the_field(self) -> None:
        text = DEMO_PLAN.read_text().replace("  services: []", "  services: []\n  resource_scopes: [rg-avd-weu]")
        with pytest.raises(PlanError) as err:
            parse_plan(text, "demo.yaml")
        assert "triggers.resource_scopes" in str(err.value) and "not an ARM id" in str(err.value)


class TestSubscriptions:
    """An alert starts a plan only from a subscription the plan names (issue 21: a West Europe incident of
    subscription 99999999-… started the demo plan)."""

    FOREIGN = "/subscriptions/99999999-9999-9999-9999-999999999999"

    def test_a_foreign_subscriptions_incident_starts_nothing(self) -> None:
        alert = service_health()
        foreign = Alert(
            **{**alert.__dict__, "alert_id": f"{self.FOREIGN}/providers/Microsoft.AlertsManagement/alerts/9"}
        )
        decision = decide(foreign, [plan()])
        assert (
            decision.plans == []
            and "99999999-9999-9999-9999-999999999999 is not one the plan names" in (decision.skipped["p"])
        )
        assert decide(alert, [plan()]).plans == ["p"]  # the plan's own subscription

    def test_triggers_subscriptions_replace_the_default(self) -> None:
        foreign = metric(targets=(f"{self.FOREIGN}/resourceGroups/rg-a/providers/x/y/vm",))
        scoped = plan(resource_scopes=[f"{self.FOREIGN}/resourceGroups/rg-a"])
        assert decide(foreign, [scoped]).plans == []
        both = [SUB.removeprefix("/subscriptions/"), self.FOREIGN.removeprefix("/subscriptions/")]
        allowed = plan(resource_scopes=[f"{self.FOREIGN}/resourceGroups/rg-a"], subscriptions=both)
        assert decide(foreign, [allowed]).plans == ["p"]

    def test_the_default_is_every_subscription_the_plan_names(self) -> None:
        named = plan().trigger_subscriptions
        assert named == {"5d3c0f34-7a2b-4e53-9d0e-1f2a3b4c5d6e"}
        other = Plan.model_validate(
            DEMO.model_dump() | {"asr": {**DEMO.asr.model_dump(), "subscription_id": "AAAA-dr"}}
        ).trigger_subscriptions
        assert other == {"5d3c0f34-7a2b-4e53-9d0e-1f2a3b4c5d6e", "aaaa-dr"}


def test_an_incident_naming_the_recovery_region_too_warns() -> None:
    """It still starts the plan (its primary is hit), with a warning its approvers see (issue 21)."""
    both = service_health(regions=("westeurope", "northeurope"))
    decision = decide(both, [plan()])
    assert decision.plans == ["p"] and "recovery region northeurope" in decision.warnings["p"][0]
    assert decide(service_health(), [plan()]).warnings == {}
