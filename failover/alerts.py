"""Azure Monitor alert payloads → one `Alert` value.

Accepts the common alert schema (Service Health, Resource Health, metric alerts with static or dynamic
thresholds, log search alerts V1 and V2, activity-log alerts, and anything else carrying `essentials`)
and the legacy activity-log webhook schema (`Microsoft.Insights/activityLogs`). Event Grid deliveries
(Resource Health availability events) are parsed by `failover.events` into the same `Alert`.

Traps handled (see docs/triggers.md):
- `impactedServices` is an escaped JSON string in real notifications but an array from the portal's
  test action;
- `signalType` is spelled `ActivityLog` or `Activity Log` (compared without spaces), and is null in
  cost alerts; `monitoringService` likewise (`Resource Health` / `ResourceHealth`);
- the rule id is `alertRuleID` in the schema table but `alertRuleId` in Microsoft's sample; it may be absent;
- regions arrive as display names (`West Europe`) and are kept as ARM names (`westeurope`);
- `incidentType` is `Informational` in payloads but `Information` in some docs; when absent it is
  read from `operationName` (`Microsoft.ServiceHealth/<type>/action`);
- activity-log alerts are stateless: a Service Health or Resource Health *resolution* arrives with
  `monitorCondition: Fired` and says so in `stage`, `status` or `currentHealthStatus: Available`;
- Resource Health reports user-initiated downtime (`cause: UserInitiated`) too;
- ARM ids come in any case (`resourcegroups`, `microsoft.compute`): compare case-insensitively.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from failover.plan import normalize_region

COMMON_SCHEMA = "azureMonitorCommonAlertSchema"
LEGACY_ACTIVITY_LOG_SCHEMA = "Microsoft.Insights/activityLogs"

INCIDENT_TYPES = ("Incident", "ActionRequired", "Informational", "Maintenance", "Security")
_INCIDENT_TYPE_NAMES = {t.lower(): t for t in INCIDENT_TYPES} | {"information": "Informational"}
AVAILABILITY_STATES = ("Available", "Unavailable", "Degraded", "Unknown")
_AVAILABILITY_NAMES = {s.lower(): s for s in AVAILABILITY_STATES}
RESOLVED_STAGES = frozenset({"resolved", "rca", "complete", "completed", "canceled", "cancelled"})
_RESOURCE_DIMENSIONS = frozenset({"_resourceid", "resourceid", "resource"})


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
class Criterion:
    """One condition of a metric or log alert: `alertContext.condition.allOf[]`, or a V1 log alert's fields."""

    metric: str | None  # metricName, or the search query of a log alert
    operator: str | None = None
    threshold: str | None = None  # as sent (a string in metric alerts, a number in V1 log alerts)
    value: float | None = None  # metricValue, or ResultCount of a V1 log alert
    dimensions: dict[str, str] = field(default_factory=dict)


def _key(text: str | None) -> str:
    """Compare names the way Azure spells them both ways: no spaces, any case."""
    return (text or "").replace(" ", "").lower()


def arm_id_key(resource_id: str) -> str:
    """An ARM id for comparison: lower case, no trailing slash."""
    return resource_id.strip().rstrip("/").lower()


@dataclass(frozen=True)
class Alert:
    """What the policy needs from any alert, whatever its schema."""

    schema: str
    alert_id: str
    alert_rule: str
    alert_rule_id: str | None
    severity: str | None
    signal_type: str  # Metric | Log | ActivityLog (normalised spelling) | Event (Event Grid) | "" (unknown)
    monitoring_service: str
    monitor_condition: str  # Fired | Resolved
    fired_at: str | None
    target_ids: list[str] = field(default_factory=list)
    resolved_at: str | None = None
    # Activity-log event fields (Service Health, Resource Health, other activity-log alerts)
    operation_name: str | None = None
    status: str | None = None  # the event's status: Active, Resolved, Succeeded, ...
    # Service Health
    title: str | None = None
    incident_type: str | None = None  # Incident | ActionRequired | Informational | Maintenance | Security
    stage: str | None = None
    tracking_id: str | None = None
    impacted_services: list[ImpactedService] = field(default_factory=list)
    # Resource Health
    availability_state: str | None = None  # Available | Unavailable | Degraded | Unknown
    previous_availability_state: str | None = None
    cause: str | None = None  # PlatformInitiated | UserInitiated | ...
    # Metric and log alerts
    condition_type: str | None = None
    criteria: list[Criterion] = field(default_factory=list)
    dimension_resource_ids: list[str] = field(default_factory=list)  # ARM ids named by _ResourceId dimensions

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
        return _key(self.monitoring_service) == "servicehealth"

    @property
    def is_resource_health(self) -> bool:
        return _key(self.monitoring_service) == "resourcehealth"

    @property
    def kind(self) -> str:
        """ServiceHealth | ResourceHealth | Metric | Log | ActivityLog | Other: decides how plans match."""
        if self.is_service_health:
            return "ServiceHealth"
        if self.is_resource_health:
            return "ResourceHealth"
        return self.signal_type if self.signal_type in ("Metric", "Log", "ActivityLog") else "Other"

    @property
    def resource_ids(self) -> list[str]:
        """The resources this alert is about: its targets, then ARM ids named by its dimensions."""
        seen: dict[str, str] = {}
        for resource_id in [*self.target_ids, *self.dimension_resource_ids]:
            seen.setdefault(arm_id_key(resource_id), resource_id)
        return list(seen.values())

    @property
    def resolution(self) -> str | None:
        """Why this notification says the problem is over, or None if it does not."""
        if self.monitor_condition.lower() == "resolved":
            return "monitor condition Resolved"
        if (self.stage or "").lower() in RESOLVED_STAGES:
            return f"stage {self.stage}"
        if (self.status or "").lower() == "resolved":
            return "status Resolved"
        if self.is_resource_health and (self.availability_state or "").lower() == "available":
            return "availability Available"
        return None

    @property
    def is_resolved(self) -> bool:
        return self.resolution is not None

    @property
    def incident_key(self) -> str:
        """The incident's identity across its Fired and Resolved notifications.

        Service Health: the tracking id. Resource Health: the target resource id (lower case), because
        each activity-log or Event Grid notification has its own id. Metric, log and other alerts: the
        alert id (the common schema keeps one alertId for the Fired and Resolved of an alert instance).
        """
        if self.is_service_health and self.tracking_id:
            return self.tracking_id
        if self.is_resource_health and self.target_ids:
            return arm_id_key(self.target_ids[0])
        return self.alert_id

    def summary(self) -> dict[str, Any]:
        """The small trigger record kept in the run (history stays small)."""
        return {
            "alert_id": self.alert_id,
            "incident_key": self.incident_key,
            "alert_rule": self.alert_rule,
            "title": self.title or self.alert_rule,
            "monitoring_service": self.monitoring_service,
            "signal_type": self.signal_type,
            "monitor_condition": self.monitor_condition,
            "incident_type": self.incident_type,
            "stage": self.stage,
            "tracking_id": self.tracking_id,
            "availability_state": self.availability_state,
            "regions": self.regions,
            "services": self.services,
            "fired_at": self.fired_at,
        }


# ---- small readers ------------------------------------------------------------------------------
def _optional_str(obj: dict[str, Any], name: str, path: str) -> str | None:
    value = obj.get(name)
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise AlertError(f"{path}.{name}", "must be a string")
    return str(value)


def _optional_object(obj: dict[str, Any], name: str, path: str) -> dict[str, Any]:
    value = obj.get(name)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise AlertError(f"{path}.{name}", "must be an object")
    return value


def _signal_type(value: Any) -> str:
    text = _key(str(value or ""))
    return {"activitylog": "ActivityLog", "metric": "Metric", "log": "Log"}.get(text, str(value or "").strip())


def availability_state(value: Any, path: str) -> str | None:
    """Canonical Resource Health availability state (any case), or AlertError naming `path`."""
    if value is None or value == "":
        return None
    state = _AVAILABILITY_NAMES.get(_key(str(value)))
    if state is None:
        raise AlertError(path, f"'{value}' is not one of {', '.join(AVAILABILITY_STATES)}")
    return state


def _incident_type(value: Any, operation_name: str | None) -> str | None:
    """`incidentType` in canonical spelling; read from `Microsoft.ServiceHealth/<type>/action` if absent."""
    if value in (None, "") and operation_name:
        parts = operation_name.split("/")
        if len(parts) == 3 and parts[0].lower() == "microsoft.servicehealth":
            value = parts[1]
    if value in (None, ""):
        return None
    return _INCIDENT_TYPE_NAMES.get(_key(str(value)), str(value))


# ---- Service Health -----------------------------------------------------------------------------
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
        impacted_regions = item.get("ImpactedRegions") or []
        if not isinstance(impacted_regions, list):
            raise AlertError(f"{path}[{index}].ImpactedRegions", "must be a list of {RegionName}")
        regions = []
        for region in impacted_regions:
            name = region.get("RegionName") if isinstance(region, dict) else region
            if isinstance(name, str) and name.strip() and normalize_region(name) not in regions:
                regions.append(normalize_region(name))
        services.append(ImpactedService(service=str(item.get("ServiceName") or ""), regions=regions))
    return services


def _service_health_fields(props: dict[str, Any], path: str, operation_name: str | None) -> dict[str, Any]:
    impacted = parse_impacted_services(props.get("impactedServices"), f"{path}.impactedServices")
    if not impacted and props.get("region"):
        # Single-region notifications may only carry `region` / `service` (comma-separated at times).
        impacted = [
            ImpactedService(
                service=str(props.get("service") or ""),
                regions=[normalize_region(r) for r in str(props["region"]).split(",") if r.strip()],
            )
        ]
    return {
        "title": _optional_str(props, "title", path) or _optional_str(props, "defaultLanguageTitle", path),
        "incident_type": _incident_type(props.get("incidentType"), operation_name),
        "stage": _optional_str(props, "stage", path),
        "tracking_id": _optional_str(props, "trackingId", path),
        "impacted_services": impacted,
    }


# ---- Resource Health ----------------------------------------------------------------------------
def _resource_health_fields(props: dict[str, Any], path: str) -> dict[str, Any]:
    return {
        "title": _optional_str(props, "title", path),
        "availability_state": availability_state(props.get("currentHealthStatus"), f"{path}.currentHealthStatus"),
        "previous_availability_state": availability_state(
            props.get("previousHealthStatus"), f"{path}.previousHealthStatus"
        ),
        "cause": _optional_str(props, "cause", path),
    }


# ---- metric and log alerts ----------------------------------------------------------------------
def _dimensions(value: Any, path: str) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, list):
        raise AlertError(path, "must be a list of {name, value}")
    dims: dict[str, str] = {}
    for index, item in enumerate(value):
        if not isinstance(item, dict) or not isinstance(item.get("name"), str):
            raise AlertError(f"{path}[{index}]", "must be an object with a name and a value")
        dims[item["name"]] = "" if item.get("value") is None else str(item["value"])
    return dims


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    try:
        return float(value) if isinstance(value, str) and value.strip() else None
    except ValueError:
        return None


def _condition_fields(context: dict[str, Any], path: str) -> dict[str, Any]:
    """Metric alerts, log search alerts V2 (`condition.allOf[]`) and V1 (`SearchQuery`, `ResultCount`...)."""
    criteria: list[Criterion] = []
    condition_type = _optional_str(context, "conditionType", path)
    if context.get("condition") is not None:
        condition = _optional_object(context, "condition", path)
        all_of = condition.get("allOf")
        if all_of is None:
            all_of = []
        if not isinstance(all_of, list):
            raise AlertError(f"{path}.condition.allOf", "must be a list of criteria")
        for index, item in enumerate(all_of):
            item_path = f"{path}.condition.allOf[{index}]"
            if not isinstance(item, dict):
                raise AlertError(item_path, "must be an object")
            metric = _optional_str(item, "metricName", item_path) or _optional_str(item, "searchQuery", item_path)
            criteria.append(
                Criterion(
                    metric=metric,
                    operator=_optional_str(item, "operator", item_path),
                    threshold=_optional_str(item, "threshold", item_path),
                    value=_number(item.get("metricValue")),
                    dimensions=_dimensions(item.get("dimensions"), f"{item_path}.dimensions"),
                )
            )
    elif "SearchQuery" in context:  # log search alert V1 (Log Analytics / Application Insights)
        condition_type = condition_type or "LogSearchV1"
        criteria.append(
            Criterion(
                metric=_optional_str(context, "SearchQuery", path),
                operator=_optional_str(context, "Operator", path),
                threshold=_optional_str(context, "Threshold", path),
                value=_number(context.get("ResultCount")),
                dimensions=_dimensions(context.get("Dimensions"), f"{path}.Dimensions"),
            )
        )
    resource_ids: list[str] = []
    for criterion in criteria:
        for name, value in criterion.dimensions.items():
            if name.lower() in _RESOURCE_DIMENSIONS and value.lower().startswith("/subscriptions/"):
                resource_ids.append(value)
    return {"condition_type": condition_type, "criteria": criteria, "dimension_resource_ids": resource_ids}


# ---- entry point --------------------------------------------------------------------------------
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
    for name in ("alertId", "monitorCondition", "monitoringService"):
        if not isinstance(essentials.get(name), str) or not essentials.get(name):
            raise AlertError(f"data.essentials.{name}", "is required")
    given = essentials["monitorCondition"]
    condition = {"fired": "Fired", "resolved": "Resolved"}.get(given.strip().lower())
    if condition is None:
        raise AlertError("data.essentials.monitorCondition", f"'{given}' is not Fired or Resolved")
    targets = essentials.get("alertTargetIDs")
    if targets is not None and not (isinstance(targets, list) and all(isinstance(t, str) for t in targets)):
        raise AlertError("data.essentials.alertTargetIDs", "must be a list of resource ids")
    context = data.get("alertContext")
    if context is None:
        context = {}
    if not isinstance(context, dict):
        raise AlertError("data.alertContext", "must be an object")
    path = "data.alertContext"
    service = essentials["monitoringService"]
    operation_name = _optional_str(context, "operationName", path)
    extra: dict[str, Any] = {}
    if _key(service) == "servicehealth":
        props = context.get("properties")
        if not isinstance(props, dict):
            raise AlertError(f"{path}.properties", "is required for Service Health alerts")
        extra = _service_health_fields(props, f"{path}.properties", operation_name)
    elif _key(service) == "resourcehealth":
        extra = _resource_health_fields(_optional_object(context, "properties", path), f"{path}.properties")
    else:
        extra = _condition_fields(context, path)
    rule_id = _optional_str(essentials, "alertRuleID", "data.essentials") or _optional_str(
        essentials, "alertRuleId", "data.essentials"
    )
    return Alert(
        schema=COMMON_SCHEMA,
        alert_id=essentials["alertId"],
        alert_rule=_optional_str(essentials, "alertRule", "data.essentials") or "",
        alert_rule_id=rule_id,
        severity=_optional_str(essentials, "severity", "data.essentials"),
        signal_type=_signal_type(essentials.get("signalType")),
        monitoring_service=service,
        monitor_condition=condition,
        fired_at=_optional_str(essentials, "firedDateTime", "data.essentials"),
        resolved_at=_optional_str(essentials, "resolvedDateTime", "data.essentials"),
        target_ids=list(targets or []),
        operation_name=operation_name,
        status=context["status"] if isinstance(context.get("status"), str) else None,
        **extra,
    )


def _parse_legacy(data: dict[str, Any]) -> Alert:
    context = data.get("context")
    if not isinstance(context, dict) or not isinstance(context.get("activityLog"), dict):
        raise AlertError("data.context.activityLog", "is required")
    activity: dict[str, Any] = context["activityLog"]
    path = "data.context.activityLog"
    alert_id = next((str(activity[k]) for k in ("eventDataId", "operationId", "correlationId") if activity.get(k)), "")
    if not alert_id:
        raise AlertError(f"{path}.eventDataId", "is required")
    props = _optional_object(activity, "properties", path)
    operation_name = _optional_str(activity, "operationName", path)
    operation_key = (operation_name or "").lower()
    source = _key(str(activity.get("eventSource") or activity.get("category") or ""))
    extra: dict[str, Any] = {}
    if source == "servicehealth" or operation_key.startswith("microsoft.servicehealth/"):
        service = "ServiceHealth"
        extra = _service_health_fields(props, f"{path}.properties", operation_name)
    elif source == "resourcehealth" or operation_key.startswith("microsoft.resourcehealth/"):
        service = "ResourceHealth"
        extra = _resource_health_fields(props, f"{path}.properties")
    else:
        service = str(activity.get("eventSource") or "ActivityLog")
    targets = [str(activity["resourceId"])] if activity.get("resourceId") else []
    if not targets and activity.get("subscriptionId"):
        targets = [f"/subscriptions/{activity['subscriptionId']}"]
    status = str(data.get("status") or "Activated")
    return Alert(
        schema=LEGACY_ACTIVITY_LOG_SCHEMA,
        alert_id=alert_id,
        alert_rule=str(context.get("name") or operation_name or "activity-log-alert"),
        alert_rule_id=str(context["id"]) if isinstance(context.get("id"), str) and context["id"] else None,
        severity=_optional_str(activity, "level", path),
        signal_type="ActivityLog",
        monitoring_service=service,
        monitor_condition="Resolved" if status.lower() == "resolved" else "Fired",
        fired_at=_optional_str(activity, "eventTimestamp", path)
        or _optional_str(activity, "submissionTimestamp", path),
        target_ids=targets,
        operation_name=operation_name,
        status=_optional_str(activity, "status", path),
        **extra,
    )
