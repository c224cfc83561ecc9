"""Alert payloads → `Alert`: pydantic models of the common alert schema (the legacy activity-log schema and the
union of every payload that `parse_alert` reads are in `failover.alerts.schemas`).

`AlertPayload` is a union discriminated by `schemaId`. In the common schema, `data` is a union discriminated by
what `alertContext` carries: Service Health and Resource Health by `essentials.monitoringService` (any
spelling), other alerts by the context's shape, because their service names do not say it (`Application
Insights` sends metric web-test alerts with a `condition` and log search V1 alerts with a `SearchQuery`):
metric and log search V2 alerts a `condition.allOf[]`, log search V1 alerts a `SearchQuery`, and activity-log,
budget and any other alerts only what every context may carry. `essentials` is a union too: a budget alert
(`CostAlerts`) may send `monitorCondition: null`. The legacy `activityLog` is discriminated by its source
(Service Health, Resource Health, other). Field types and errors follow `failover.alerts.fields`; the traps
handled are listed in `failover.alerts`.
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Generic, Literal, TypeVar

from pydantic import (
    AfterValidator,
    BeforeValidator,
    Discriminator,
    PlainValidator,
    TypeAdapter,
    ValidationError,
)
from pydantic_core import PydanticCustomError

from failover.alerts.fields import (
    NULL,
    OBJECT_OR_NULL,
    REFUSED,
    Payload,
    Text,
    Time,
    alert_error,
    refused,
    required,
    shaped,
    tag,
    unless,
)
from failover.alerts.model import (
    COMMON_SCHEMA,
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


# ---- values read in Azure's spellings -----------------------------------------------------------
def _availability(value: Any) -> str | None:
    if value is None or value == "":
        return None
    state = _AVAILABILITY_NAMES.get(_key(str(value)))
    if state is None:
        raise refused(f"'{value}' is not one of {', '.join(AVAILABILITY_STATES)}")
    return state


# A Resource Health availability state in any case and spacing, canonical; null if missing.
Availability = Annotated[str | None, PlainValidator(_availability)]


def _required_availability(value: Any) -> str:
    state = _availability(value)
    if state is None:
        raise refused("is required")
    return state


RequiredAvailability = Annotated[str, PlainValidator(_required_availability)]


def availability_state(value: Any, path: str) -> str | None:
    """Canonical Resource Health availability state (any case), or AlertError naming `path`."""
    try:
        return _availability(value)
    except PydanticCustomError as err:
        raise AlertError(path, err.message()) from None


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    try:
        return float(value) if isinstance(value, str) and value.strip() else None
    except ValueError:
        return None


# A number, or a string holding one; anything else reads as None (never refused).
Number = Annotated[float | None, PlainValidator(_number)]


def _signal_type(value: Any) -> str:
    text = _key(str(value or ""))
    return {"activitylog": "ActivityLog", "metric": "Metric", "log": "Log"}.get(text, str(value or "").strip())


def _incident_type(value: Any, operation_name: str | None) -> str | None:
    """`incidentType` in canonical spelling; read from `Microsoft.ServiceHealth/<type>/action` if absent."""
    if value in (None, "") and operation_name:
        parts = operation_name.split("/")
        if len(parts) == 3 and parts[0].lower() == "microsoft.servicehealth":
            value = parts[1]
    if value in (None, ""):
        return None
    return _INCIDENT_TYPE_NAMES.get(_key(str(value)), str(value))


def _fired_or_resolved(value: Any) -> str:
    condition = (
        {"fired": "Fired", "resolved": "Resolved"}.get(value.strip().lower()) if isinstance(value, str) else None
    )
    if condition is None:
        raise refused(f"'{value}' is not Fired or Resolved")
    return condition


# ---- Service Health -----------------------------------------------------------------------------
def _impacted_services_json(value: Any) -> Any:
    """`impactedServices` is an escaped JSON string in real notifications, an array from the test action."""
    if value is None or value == "":
        return []
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except ValueError as err:
        raise refused(f"is a string but not JSON: {err}") from None
    except RecursionError:
        raise refused("is a string but not JSON: nested too deeply") from None


def _impacted_regions(value: Any) -> list[Any]:
    regions = value or []
    if not isinstance(regions, list):
        raise refused("must be a list of {RegionName}")
    return regions


class ImpactedServicePayload(Payload):
    ServiceName: Any = None
    ImpactedRegions: Annotated[list[Any], PlainValidator(_impacted_regions)] = NULL

    def to_service(self) -> ImpactedService:
        regions: list[str] = []
        for region in self.ImpactedRegions:
            name = region.get("RegionName") if isinstance(region, dict) else region
            if isinstance(name, str) and name.strip() and normalize_region(name) not in regions:
                regions.append(normalize_region(name))
        return ImpactedService(service=str(self.ServiceName or ""), regions=regions)


ImpactedServices = Annotated[
    list[Annotated[ImpactedServicePayload, shaped(dict, "must be an object")]],
    shaped(list, "must be a list of {ServiceName, ImpactedRegions}"),
    BeforeValidator(_impacted_services_json),
]
_IMPACTED_SERVICES: TypeAdapter[list[ImpactedServicePayload]] = TypeAdapter(ImpactedServices)


def parse_impacted_services(value: Any, path: str) -> list[ImpactedService]:
    """`impactedServices` as an escaped JSON string (real notifications) or an array (test action)."""
    try:
        return [item.to_service() for item in _IMPACTED_SERVICES.validate_python(value)]
    except ValidationError as err:
        raise alert_error(err, path) from None


class ServiceHealthProperties(Payload):
    impactedServices: ImpactedServices = NULL
    region: Any = None  # single-region notices may carry only `region` / `service` (comma-separated at times)
    service: Any = None
    title: Text = None
    defaultLanguageTitle: Annotated[Text, unless("title")] = None
    incidentType: Any = None  # any spelling, or missing: read from the operation name
    stage: Text = None
    trackingId: Text = None

    def alert_fields(self, operation_name: str | None) -> dict[str, Any]:
        impacted = [item.to_service() for item in self.impactedServices]
        if not impacted and self.region:
            regions = [normalize_region(r) for r in str(self.region).split(",") if r.strip()]
            impacted = [ImpactedService(service=str(self.service or ""), regions=regions)]
        return {
            "title": self.title or self.defaultLanguageTitle,
            "incident_type": _incident_type(self.incidentType, operation_name),
            "stage": self.stage,
            "tracking_id": self.trackingId,
            "impacted_services": impacted,
        }


# ---- Resource Health ----------------------------------------------------------------------------
class ResourceHealthProperties(Payload):
    title: Text = None
    currentHealthStatus: Availability = None
    previousHealthStatus: Availability = None
    cause: Text = None  # PlatformInitiated | UserInitiated | ...

    def alert_fields(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "availability_state": self.currentHealthStatus,
            "previous_availability_state": self.previousHealthStatus,
            "cause": self.cause,
        }


# ---- alertContext by kind -----------------------------------------------------------------------
class AlertContext(Payload):
    """What any alert's context may carry."""

    operationName: Text = None
    status: Annotated[str | None, PlainValidator(lambda v: v if isinstance(v, str) else None)] = None

    def alert_fields(self) -> dict[str, Any]:
        return {}


class ServiceHealthContext(AlertContext):
    properties: Annotated[ServiceHealthProperties, shaped(dict, "is required for Service Health alerts")] = NULL

    def alert_fields(self) -> dict[str, Any]:
        return self.properties.alert_fields(self.operationName)


class ResourceHealthContext(AlertContext):
    properties: Annotated[ResourceHealthProperties, OBJECT_OR_NULL] = NULL

    def alert_fields(self) -> dict[str, Any]:
        return self.properties.alert_fields()


class DimensionPayload(Payload):
    name: str = NULL
    value: Any = None


def _dimension(value: Any) -> Any:
    if not isinstance(value, dict) or not isinstance(value.get("name"), str):
        raise refused("must be an object with a name and a value")
    return value


DimensionList = Annotated[
    list[Annotated[DimensionPayload, BeforeValidator(_dimension)]],
    shaped(list, "must be a list of {name, value}", none=[]),
]


def _dimensions(dimensions: list[DimensionPayload]) -> dict[str, str]:
    return {d.name: "" if d.value is None else str(d.value) for d in dimensions}


class SignalContext(AlertContext):
    """Any alert but Service Health and Resource Health: activity-log, budget, smart detector, ..."""

    conditionType: Text = None

    def criteria(self) -> list[Criterion]:
        return []

    def alert_fields(self) -> dict[str, Any]:
        criteria = self.criteria()
        resource_ids = [
            value
            for criterion in criteria
            for name, value in criterion.dimensions.items()
            if name.lower() in _RESOURCE_DIMENSIONS and value.lower().startswith("/subscriptions/")
        ]
        return {"condition_type": self.conditionType, "criteria": criteria, "dimension_resource_ids": resource_ids}


class ConditionCriterion(Payload):
    metricName: Text = None
    searchQuery: Annotated[Text, unless("metricName")] = None
    operator: Text = None
    threshold: Text = None  # a string in metric alerts
    metricValue: Number = None
    dimensions: DimensionList = NULL

    def criterion(self) -> Criterion:
        return Criterion(
            metric=self.metricName or self.searchQuery,
            operator=self.operator,
            threshold=self.threshold,
            value=self.metricValue,
            dimensions=_dimensions(self.dimensions),
        )


class Condition(Payload):
    allOf: Annotated[
        list[Annotated[ConditionCriterion, shaped(dict, "must be an object")]],
        shaped(list, "must be a list of criteria", none=[]),
    ] = NULL


class ConditionContext(SignalContext):
    """Metric alerts (static or dynamic thresholds, web tests) and log search alerts V2: `condition.allOf[]`."""

    condition: Annotated[Condition, OBJECT_OR_NULL] = NULL

    def criteria(self) -> list[Criterion]:
        return [item.criterion() for item in self.condition.allOf]


class LogSearchV1Context(SignalContext):
    """Log search alerts V1 (Log Analytics, Application Insights): the search's fields, no `condition`."""

    SearchQuery: Text = None
    Operator: Text = None
    Threshold: Text = None  # a number in V1 log alerts
    ResultCount: Number = None
    Dimensions: DimensionList = NULL

    def criteria(self) -> list[Criterion]:
        dimensions = _dimensions(self.Dimensions)
        criterion = Criterion(self.SearchQuery, self.Operator, self.Threshold, self.ResultCount, dimensions)
        return [criterion]

    def alert_fields(self) -> dict[str, Any]:
        return super().alert_fields() | {"condition_type": self.conditionType or "LogSearchV1"}


# ---- the common alert schema --------------------------------------------------------------------
def _resource_ids(value: Any) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(resource_id, str) for resource_id in value):
        raise refused("must be a list of resource ids")
    return value


class Essentials(Payload):
    alertId: Annotated[str, required("is required")] = NULL
    monitorCondition: Annotated[str, required("is required"), AfterValidator(_fired_or_resolved)] = NULL
    monitoringService: Annotated[str, required("is required")] = NULL
    alertTargetIDs: Annotated[list[str], PlainValidator(_resource_ids)] = NULL
    alertRuleID: Text = None  # as in the schema's table
    alertRuleId: Annotated[Text, unless("alertRuleID")] = None  # as in Microsoft's sample
    alertRule: Text = None
    severity: Text = None
    signalType: Any = None  # Metric | Log | ActivityLog or Activity Log | null
    firedDateTime: Time = None
    resolvedDateTime: Time = None


class BudgetEssentials(Essentials):
    """Cost Management budget alerts (`CostAlerts`) send `monitorCondition: null`: they fire, never resolve."""

    monitorCondition: Annotated[str, PlainValidator(lambda v: _fired_or_resolved(v or "Fired"))] = NULL


def _essentials_kind(essentials: Any) -> str | None:
    if not isinstance(essentials, dict):
        return None
    service = essentials.get("monitoringService")
    return "budget-essentials" if isinstance(service, str) and _key(service) == "costalerts" else "alert-essentials"


Context = TypeVar("Context", bound=AlertContext)


class CommonData(Payload, Generic[Context]):
    essentials: Annotated[
        Annotated[Essentials, tag("alert-essentials")] | Annotated[BudgetEssentials, tag("budget-essentials")],
        Discriminator(
            _essentials_kind, custom_error_type=REFUSED, custom_error_message="is required and must be an object"
        ),
    ] = NULL
    alertContext: Annotated[Context, OBJECT_OR_NULL] = NULL


def _context_kind(data: Any) -> str | None:
    """Service Health and Resource Health by the monitoring service, any other alert by its context's shape."""
    if not isinstance(data, dict):
        return None
    essentials = data.get("essentials")
    service = essentials.get("monitoringService") if isinstance(essentials, dict) else None
    kind = _key(service) if isinstance(service, str) else ""
    if kind in ("servicehealth", "resourcehealth"):
        return f"{kind}-data"
    context = data.get("alertContext")
    if isinstance(context, dict) and context.get("condition") is not None:
        return "condition-data"
    if isinstance(context, dict) and "SearchQuery" in context:
        return "log-search-v1-data"
    return "signal-data"


class CommonAlert(Payload):
    schemaId: Literal["azureMonitorCommonAlertSchema"]
    data: Annotated[
        Annotated[CommonData[ServiceHealthContext], tag("servicehealth-data")]
        | Annotated[CommonData[ResourceHealthContext], tag("resourcehealth-data")]
        | Annotated[CommonData[ConditionContext], tag("condition-data")]
        | Annotated[CommonData[LogSearchV1Context], tag("log-search-v1-data")]
        | Annotated[CommonData[SignalContext], tag("signal-data")],
        Discriminator(
            _context_kind, custom_error_type=REFUSED, custom_error_message="is required and must be an object"
        ),
    ] = NULL

    def to_alert(self) -> Alert:
        essentials, context = self.data.essentials, self.data.alertContext
        return Alert(
            schema=COMMON_SCHEMA,
            alert_id=essentials.alertId,
            alert_rule=essentials.alertRule or "",
            alert_rule_id=essentials.alertRuleID or essentials.alertRuleId,
            severity=essentials.severity,
            signal_type=_signal_type(essentials.signalType),
            monitoring_service=essentials.monitoringService,
            monitor_condition=essentials.monitorCondition,
            fired_at=essentials.firedDateTime,
            resolved_at=essentials.resolvedDateTime,
            target_ids=list(essentials.alertTargetIDs),
            operation_name=context.operationName,
            status=context.status,
            **context.alert_fields(),
        )
