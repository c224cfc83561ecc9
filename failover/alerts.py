"""Azure Monitor alert payloads → one `Alert` value.

Accepts the common alert schema (Service Health, Resource Health, metric, log and activity-log
alerts) and the legacy activity-log webhook schema. Handles the documented traps: `impactedServices`
arrives as an escaped JSON string in real notifications but as an array from the portal's test
action; `signalType` is spelled `ActivityLog` or `Activity Log`; regions come as display names.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from failover.plan import normalize_region

COMMON_SCHEMA = "azureMonitorCommonAlertSchema"
LEGACY_ACTIVITY_LOG_SCHEMA = "Microsoft.Insights/activityLogs"


class AlertError(ValueError):
    """The payload is not an alert we understand; `field` is the JSON path at fault."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


@dataclass(frozen=True)
class ImpactedService:
    service: str
    regions: list[str]  # ARM names


@dataclass(frozen=True)
class Alert:
    """What the policy needs from any alert, whatever its schema."""

    schema: str
    alert_id: str
    alert_rule: str
    alert_rule_id: str | None
    severity: str | None
    signal_type: str  # Metric | Log | ActivityLog (normalised spelling)
    monitoring_service: str
    monitor_condition: str  # Fired | Resolved
    fired_at: str | None
    target_ids: list[str] = field(default_factory=list)
    # Service Health
    title: str | None = None
    incident_type: str | None = None  # Incident | ActionRequired | Informational | Maintenance | Security
    stage: str | None = None
    tracking_id: str | None = None
    impacted_services: list[ImpactedService] = field(default_factory=list)
    # Resource Health
    availability_state: str | None = None

    @property
    def regions(self) -> list[str]:
        seen: list[str] = []
        for impacted in self.impacted_services:
            for region in impacted.regions:
                if region not in seen:
                    seen.append(region)
        return seen

    @property
    def services(self) -> list[str]:
        return [s.service for s in self.impacted_services]

    @property
    def is_service_health(self) -> bool:
        return self.monitoring_service.replace(" ", "").lower() == "servicehealth"

    @property
    def is_resolved(self) -> bool:
        return self.monitor_condition.lower() == "resolved" or (self.stage or "").lower() in (
            "resolved",
            "rca",
            "complete",
            "canceled",
        )

    def summary(self) -> dict[str, Any]:
        """The small trigger record kept in the run (history stays small)."""
        return {
            "alert_id": self.alert_id,
            "alert_rule": self.alert_rule,
            "title": self.title or self.alert_rule,
            "monitoring_service": self.monitoring_service,
            "monitor_condition": self.monitor_condition,
            "stage": self.stage,
            "tracking_id": self.tracking_id,
            "regions": self.regions,
            "services": self.services,
            "fired_at": self.fired_at,
        }


def _signal_type(value: Any) -> str:
    text = str(value or "").replace(" ", "")
    return {"activitylog": "ActivityLog", "metric": "Metric", "log": "Log"}.get(text.lower(), text)


def parse_impacted_services(value: Any, path: str) -> list[ImpactedService]:
    """`impactedServices` as an escaped JSON string (real notifications) or an array (test action)."""
    if value in (None, ""):
        return []
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError as err:
            raise AlertError(path, f"is a string but not JSON: {err}") from err
    if not isinstance(value, list):
        raise AlertError(path, "must be a list of {ServiceName, ImpactedRegions}")
    services = []
    for index, item in enumerate(value):
        if not isinstance(item, dict):
            raise AlertError(f"{path}[{index}]", "must be an object")
        regions = []
        for region in item.get("ImpactedRegions") or []:
            name = region.get("RegionName") if isinstance(region, dict) else region
            if isinstance(name, str) and name:
                regions.append(normalize_region(name))
        services.append(ImpactedService(service=str(item.get("ServiceName") or ""), regions=regions))
    return services


def _service_health_fields(props: dict[str, Any], path: str) -> dict[str, Any]:
    impacted = parse_impacted_services(props.get("impactedServices"), f"{path}.impactedServices")
    if not impacted and props.get("region"):
        # Single-region notifications may only carry `region` / `service`.
        impacted = [
            ImpactedService(
                service=str(props.get("service") or ""),
                regions=[normalize_region(r) for r in str(props["region"]).split(",") if r.strip()],
            )
        ]
    return {
        "title": props.get("title") or props.get("defaultLanguageTitle"),
        "incident_type": props.get("incidentType"),
        "stage": props.get("stage"),
        "tracking_id": props.get("trackingId"),
        "impacted_services": impacted,
    }


def parse_alert(payload: Any) -> Alert:
    """Parse a webhook body (already JSON-decoded). Raises AlertError naming the field at fault."""
    if not isinstance(payload, dict):
        raise AlertError("$", "an alert payload must be a JSON object")
    schema = payload.get("schemaId")
    data = payload.get("data")
    if not isinstance(data, dict):
        raise AlertError("data", "is required and must be an object")
    if schema == COMMON_SCHEMA:
        return _parse_common(data)
    if schema == LEGACY_ACTIVITY_LOG_SCHEMA:
        return _parse_legacy(data)
    raise AlertError("schemaId", f"'{schema}' is not supported (use {COMMON_SCHEMA} or {LEGACY_ACTIVITY_LOG_SCHEMA})")


def _parse_common(data: dict[str, Any]) -> Alert:
    essentials = data.get("essentials")
    if not isinstance(essentials, dict):
        raise AlertError("data.essentials", "is required and must be an object")
    for name in ("alertId", "alertRule", "monitorCondition", "monitoringService"):
        if not isinstance(essentials.get(name), str) or not essentials.get(name):
            raise AlertError(f"data.essentials.{name}", "is required")
    condition = essentials["monitorCondition"]
    if condition not in ("Fired", "Resolved"):
        raise AlertError("data.essentials.monitorCondition", f"'{condition}' is not Fired or Resolved")
    context = data.get("alertContext") or {}
    if not isinstance(context, dict):
        raise AlertError("data.alertContext", "must be an object")
    service = essentials["monitoringService"]
    extra: dict[str, Any] = {}
    normalized_service = service.replace(" ", "").lower()
    if normalized_service == "servicehealth":
        props = context.get("properties")
        if not isinstance(props, dict):
            raise AlertError("data.alertContext.properties", "is required for Service Health alerts")
        extra = _service_health_fields(props, "data.alertContext.properties")
    elif normalized_service == "resourcehealth":
        props = context.get("properties") or {}
        extra = {
            "title": props.get("title"),
            "availability_state": props.get("currentHealthStatus"),
            "stage": None,
        }
    return Alert(
        schema=COMMON_SCHEMA,
        alert_id=essentials["alertId"],
        alert_rule=essentials["alertRule"],
        alert_rule_id=essentials.get("alertRuleID"),
        severity=essentials.get("severity"),
        signal_type=_signal_type(essentials.get("signalType")),
        monitoring_service=service,
        monitor_condition=condition,
        fired_at=essentials.get("firedDateTime"),
        target_ids=[str(t) for t in essentials.get("alertTargetIDs") or []],
        **extra,
    )


def _parse_legacy(data: dict[str, Any]) -> Alert:
    context = data.get("context")
    activity = context.get("activityLog") if isinstance(context, dict) else None
    if not isinstance(activity, dict):
        raise AlertError("data.context.activityLog", "is required")
    status = str(data.get("status") or "Activated")
    props = activity.get("properties") or {}
    if not isinstance(props, dict):
        raise AlertError("data.context.activityLog.properties", "must be an object")
    event_source = str(activity.get("eventSource") or "")
    extra = (
        _service_health_fields(props, "data.context.activityLog.properties")
        if event_source.replace(" ", "").lower() == "servicehealth"
        else {}
    )
    return Alert(
        schema=LEGACY_ACTIVITY_LOG_SCHEMA,
        alert_id=str(activity.get("eventDataId") or activity.get("operationId") or ""),
        alert_rule=str(activity.get("operationName") or "activity-log-alert"),
        alert_rule_id=None,
        severity=activity.get("level"),
        signal_type="ActivityLog",
        monitoring_service=event_source or "ActivityLog",
        monitor_condition="Resolved" if status.lower() == "resolved" else "Fired",
        fired_at=activity.get("eventTimestamp") or activity.get("submissionTimestamp"),
        target_ids=[str(activity["resourceId"])] if activity.get("resourceId") else [],
        **extra,
    )
