"""Alert payloads → `Alert`: the common alert schema and the legacy activity-log schema, field by field, each
error naming the JSON path at fault (the traps handled are listed in `failover.alerts`)."""

from __future__ import annotations

import json
from typing import Any

from failover.alerts.model import (
    COMMON_SCHEMA,
    LEGACY_ACTIVITY_LOG_SCHEMA,
    Alert,
    AlertError,
    Criterion,
    ImpactedService,
    _key,
)
from failover.plan import normalize_region

INCIDENT_TYPES = ("Incident", "ActionRequired", "Informational", "Maintenance", "Security")
_INCIDENT_TYPE_NAMES = {t.lower(): t for t in INCIDENT_TYPES} | {"information": "Informational"}
AVAILABILITY_STATES = ("Available", "Unavailable", "Degraded", "Unknown")
_AVAILABILITY_NAMES = {s.lower(): s for s in AVAILABILITY_STATES}
_RESOURCE_DIMENSIONS = frozenset({"_resourceid", "resourceid", "resource"})


# ---- small readers ------------------------------------------------------------------------------
def _optional_str(obj: dict[str, Any], name: str, path: str) -> str | None:
    value = obj.get(name)
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise AlertError(f"{path}.{name}", "must be a string")
    return str(value)


def _optional_text(obj: dict[str, Any], name: str, path: str) -> str | None:
    """A string field the schema types as string or null (times): a number or an object is refused."""
    value = obj.get(name)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise AlertError(f"{path}.{name}", "must be a string (a date-time) or null")
    return value


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
    # Cost Management budget alerts (monitoringService CostAlerts) send monitorCondition null: a budget
    # notification fires and is never resolved (Microsoft's "Actual Cost Budget" and "Forecasted Budget" samples).
    named = essentials.get("monitoringService")
    cost = isinstance(named, str) and _key(named) == "costalerts"
    required = ("alertId", "monitoringService") if cost else ("alertId", "monitorCondition", "monitoringService")
    for name in required:
        if not isinstance(essentials.get(name), str) or not essentials.get(name):
            raise AlertError(f"data.essentials.{name}", "is required")
    given = essentials.get("monitorCondition") or "Fired"
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
        fired_at=_optional_text(essentials, "firedDateTime", "data.essentials"),
        resolved_at=_optional_text(essentials, "resolvedDateTime", "data.essentials"),
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
        from azure.mgmt.core.tools import resource_id  # imported when first used (issue 22)

        targets = [resource_id(subscription=str(activity["subscriptionId"]))]
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
