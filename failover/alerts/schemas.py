"""Alert payloads → `Alert`, the rest of `failover.alerts.parsing`: the legacy activity-log schema
(`Microsoft.Insights/activityLogs`, its `activityLog` discriminated by source: Service Health, Resource Health,
other), and any alert payload - the union discriminated by `schemaId` (common, legacy, anything else refused) that
`parse_alert` reads."""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal

from pydantic import (
    AfterValidator,
    BeforeValidator,
    Discriminator,
    TypeAdapter,
    ValidationError,
    ValidationInfo,
    field_validator,
)

from failover.alerts.fields import (
    NULL,
    OBJECT_OR_NULL,
    REFUSED,
    Payload,
    Text,
    alert_error,
    refused,
    shaped,
    tag,
    unless,
)
from failover.alerts.model import COMMON_SCHEMA, LEGACY_ACTIVITY_LOG_SCHEMA, Alert, _key
from failover.alerts.parsing import CommonAlert, ResourceHealthProperties, ServiceHealthProperties


# ---- the legacy activity-log schema -------------------------------------------------------------
class ActivityLog(Payload):
    """An activity-log event (`data.context.activityLog`); its id is the first of `eventDataId`, `operationId`,
    `correlationId` it has."""

    service: ClassVar[str | None] = None  # ServiceHealth | ResourceHealth, else the event's source
    operationId: Any = None
    correlationId: Any = None
    eventDataId: Any = None
    operationName: Text = None
    properties: Annotated[Payload, OBJECT_OR_NULL] = NULL
    eventSource: Any = None
    category: Any = None
    resourceId: Any = None
    subscriptionId: Any = None
    level: Text = None
    eventTimestamp: Text = None
    submissionTimestamp: Annotated[Text, unless("eventTimestamp")] = None
    status: Text = None

    @field_validator("eventDataId")
    @classmethod
    def _has_an_id(cls, value: Any, info: ValidationInfo) -> Any:
        if not (value or info.data.get("operationId") or info.data.get("correlationId")):
            raise refused("is required")
        return value

    @property
    def alert_id(self) -> str:
        return str(self.eventDataId or self.operationId or self.correlationId)

    @property
    def monitoring_service(self) -> str:
        return self.service or str(self.eventSource or "ActivityLog")

    def alert_fields(self) -> dict[str, Any]:
        return {}


class ServiceHealthActivityLog(ActivityLog):
    service: ClassVar[str | None] = "ServiceHealth"
    properties: Annotated[ServiceHealthProperties, OBJECT_OR_NULL] = NULL

    def alert_fields(self) -> dict[str, Any]:
        return self.properties.alert_fields(self.operationName)


class ResourceHealthActivityLog(ActivityLog):
    service: ClassVar[str | None] = "ResourceHealth"
    properties: Annotated[ResourceHealthProperties, OBJECT_OR_NULL] = NULL

    def alert_fields(self) -> dict[str, Any]:
        return self.properties.alert_fields()


def _activity_log_kind(activity: Any) -> str | None:
    """Service Health or Resource Health by the event's source (or category) or its operation's namespace."""
    if not isinstance(activity, dict):
        return None
    operation = activity.get("operationName")
    operation_key = str(operation).lower() if isinstance(operation, str | int | float) else ""
    source = _key(str(activity.get("eventSource") or activity.get("category") or ""))
    for kind in ("servicehealth", "resourcehealth"):
        if source == kind or operation_key.startswith(f"microsoft.{kind}/"):
            return f"{kind}-activity-log"
    return "other-activity-log"


class LegacyContext(Payload):
    activityLog: Annotated[
        Annotated[ServiceHealthActivityLog, tag("servicehealth-activity-log")]
        | Annotated[ResourceHealthActivityLog, tag("resourcehealth-activity-log")]
        | Annotated[ActivityLog, tag("other-activity-log")],
        Discriminator(_activity_log_kind, custom_error_type=REFUSED, custom_error_message="is required"),
    ] = NULL
    name: Any = None
    id: Any = None


class LegacyData(Payload):
    # Without a context object, what is missing is its activityLog.
    context: Annotated[LegacyContext, BeforeValidator(lambda v: v if isinstance(v, dict) else {})] = NULL
    status: Any = None  # Activated | Resolved


class LegacyAlert(Payload):
    schemaId: Literal["Microsoft.Insights/activityLogs"]
    data: Annotated[LegacyData, shaped(dict, "is required and must be an object")] = NULL

    def to_alert(self) -> Alert:
        context = self.data.context
        activity = context.activityLog
        targets = [str(activity.resourceId)] if activity.resourceId else []
        if not targets and activity.subscriptionId:
            from azure.mgmt.core.tools import resource_id  # imported when first used (issue 22)

            targets = [resource_id(subscription=str(activity.subscriptionId))]
        status = str(self.data.status or "Activated")
        return Alert(
            schema=LEGACY_ACTIVITY_LOG_SCHEMA,
            alert_id=activity.alert_id,
            alert_rule=str(context.name or activity.operationName or "activity-log-alert"),
            alert_rule_id=context.id if isinstance(context.id, str) and context.id else None,
            severity=activity.level,
            signal_type="ActivityLog",
            monitoring_service=activity.monitoring_service,
            monitor_condition="Resolved" if status.lower() == "resolved" else "Fired",
            fired_at=activity.eventTimestamp or activity.submissionTimestamp,
            target_ids=targets,
            operation_name=activity.operationName,
            status=activity.status,
            **activity.alert_fields(),
        )


# ---- any alert ----------------------------------------------------------------------------------
def _unsupported(schema: Any) -> Any:
    raise refused(f"'{schema}' is not supported (use {COMMON_SCHEMA} or {LEGACY_ACTIVITY_LOG_SCHEMA})")


class UnsupportedAlert(Payload):
    """Any other `schemaId`: refused, once its `data` is an object (never validates)."""

    data: Annotated[Payload, shaped(dict, "is required and must be an object")] = NULL
    schemaId: Annotated[Any, AfterValidator(_unsupported)] = None


def _schema_kind(payload: Any) -> str | None:
    if not isinstance(payload, dict):
        return None
    schema = payload.get("schemaId")
    kinds = {COMMON_SCHEMA: "common-schema", LEGACY_ACTIVITY_LOG_SCHEMA: "legacy-schema"}
    return kinds.get(schema, "other-schema") if isinstance(schema, str) else "other-schema"


AlertPayload = Annotated[
    Annotated[CommonAlert, tag("common-schema")]
    | Annotated[LegacyAlert, tag("legacy-schema")]
    | Annotated[UnsupportedAlert, tag("other-schema")],
    Discriminator(
        _schema_kind, custom_error_type=REFUSED, custom_error_message="an alert payload must be a JSON object"
    ),
]
_ALERT_PAYLOAD = TypeAdapter(AlertPayload)


def parse_alert(payload: Any) -> Alert:
    """Parse a webhook body (already JSON-decoded). Raises AlertError naming the field at fault."""
    try:
        alert = _ALERT_PAYLOAD.validate_python(payload)
    except ValidationError as err:
        raise alert_error(err) from None
    assert not isinstance(alert, UnsupportedAlert)  # it never validates
    return alert.to_alert()
