"""Event Grid deliveries → `Alert`s: Resource Health availability events, CloudEvents 1.0 or Event Grid schema.

What `POST /api/events` receives (docs/triggers.md):
- CloudEvents 1.0 (structured mode): one event object (`application/cloudevents+json`) or a batch, a
  JSON array (`application/cloudevents-batch+json`). An event has `specversion`, `id`, `source`, `type`.
- Event Grid schema: a JSON array of events with `id`, `eventType`, `subject`, `data`, `dataVersion`,
  `metadataVersion`, `eventTime` (a single object is accepted too).

`Microsoft.ResourceNotifications.HealthResources.AvailabilityStatusChanged` becomes an `Alert` with
`monitoring_service` "Resource Health", `signal_type` "Event", `alert_id` the event id, `target_ids` the
`targetResourceId`, `availability_state`, and `monitor_condition` Resolved when the state is Available,
Fired otherwise (Unavailable, Degraded, and Unknown, which the policy does not act on). The payload is
`data.resourceInfo.properties`; some SDK typings call `resourceInfo` `resourceDetails` (and
`operationalInfo` `operationalDetails`): both are accepted.

The models: a delivery is a batch (array) or one event; an event is a union discriminated by its schema
(`specversion`: CloudEvent, `eventType`: Event Grid event) and its type (`AvailabilityStatusChanged`, whose
`data` is read, or any other, whose `data` is not). Field types and errors follow `failover.alerts.fields`.

Every other event type (`...HealthResources.ResourceAnnotated`, subscription validation or deletion
events, anything unknown) is not an error: it is skipped and its type listed.

Return value: `parse_event_delivery` returns an `EventBatch`, which *is* the `list[Alert]` (iterate it,
index it) and also carries `ignored: list[str]`, the types of the events it skipped, one entry per event,
so `len(batch.ignored)` is how many were ignored. `batch.alerts` is the plain list. A malformed event
raises `AlertError` whose `field` is the JSON path, e.g. `[2].data.resourceInfo` (no index for a single
event object).

Validation handshakes, answered before parsing:
- CloudEvents abuse protection: `OPTIONS` with `WebHook-Request-Origin` → `is_validation_request`;
  answer 200 with `validation_response_headers(headers)` (`WebHook-Allowed-Origin` echoing the origin,
  `WebHook-Allowed-Rate: *`, `Allow: POST, OPTIONS`). The handshake is consent, not authentication.
- Event Grid schema: a `Microsoft.EventGrid.SubscriptionValidationEvent` → `subscription_validation_code`
  returns `data.validationCode`; answer 200 `{"validationResponse": code}`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Annotated, Any, ClassVar, Self

from pydantic import (
    BeforeValidator,
    Discriminator,
    PlainValidator,
    TypeAdapter,
    ValidationError,
    ValidationInfo,
    ValidatorFunctionWrapHandler,
    WrapValidator,
    model_validator,
)

from failover.alerts import Alert
from failover.alerts.fields import (
    NULL,
    REFUSED,
    Payload,
    StrictText,
    alert_error,
    refused,
    refused_at,
    required,
    shaped,
    tag,
    unless,
)
from failover.alerts.parsing import Availability, RequiredAvailability

AVAILABILITY_CHANGED = "Microsoft.ResourceNotifications.HealthResources.AvailabilityStatusChanged"
RESOURCE_ANNOTATED = "Microsoft.ResourceNotifications.HealthResources.ResourceAnnotated"
SUBSCRIPTION_VALIDATION = "Microsoft.EventGrid.SubscriptionValidationEvent"
CLOUDEVENTS_SCHEMA = "CloudEvents/1.0"
EVENT_GRID_SCHEMA = "EventGridEvent"
REQUEST_ORIGIN = "WebHook-Request-Origin"
_REQUIRED = "is required (a non-empty string)"


class EventBatch(list[Alert]):
    """The alerts of one delivery (this list) and the types of the events skipped (`ignored`)."""

    def __init__(self, alerts: Iterable[Alert] = (), ignored: Iterable[str] = ()) -> None:
        super().__init__(alerts)
        self.ignored: list[str] = list(ignored)

    @property
    def alerts(self) -> list[Alert]:
        return list(self)

    def __repr__(self) -> str:
        return f"EventBatch(alerts={list(self)!r}, ignored={self.ignored!r})"


# ---- Resource Health availability data ----------------------------------------------------------
class ResourceProperties(Payload):
    availabilityState: RequiredAvailability = NULL
    previousAvailabilityState: Availability = None
    targetResourceId: StrictText = None  # else the event's subject
    occurredTime: StrictText = None


class ResourceInfo(Payload):
    properties: Annotated[ResourceProperties, shaped(dict, "is required and must be an object")] = NULL


class OperationalInfo(Payload):
    resourceEventTime: StrictText = None


def _unread_if_occurred(value: Any, handler: ValidatorFunctionWrapHandler, info: ValidationInfo) -> Any:
    """`operationalInfo.resourceEventTime` is read (and checked) only when the resource has no `occurredTime`."""
    resource = info.data.get("resourceInfo") or info.data.get("resourceDetails")
    if isinstance(resource, ResourceInfo) and resource.properties.occurredTime and isinstance(value, dict):
        return OperationalInfo()
    return handler(value)


ResourceField = Annotated[ResourceInfo | None, shaped(dict, "must be an object", none=None)]
OperationalField = Annotated[
    OperationalInfo | None, shaped(dict, "must be an object", none=None), WrapValidator(_unread_if_occurred)
]


class AvailabilityData(Payload):
    """`data` of an AvailabilityStatusChanged event; `resourceDetails` and `operationalDetails` are other SDK
    typings' names for `resourceInfo` and `operationalInfo` (read when those are missing)."""

    resourceInfo: ResourceField = None
    resourceDetails: Annotated[ResourceField, unless("resourceInfo")] = None
    operationalInfo: OperationalField = None
    operationalDetails: Annotated[OperationalField, unless("operationalInfo")] = None

    @model_validator(mode="after")
    def _names_a_resource(self) -> Self:
        if self.resourceInfo is None and self.resourceDetails is None:
            raise refused_at(("resourceInfo",), "is required (an object; also accepted as resourceDetails)")
        return self

    @property
    def resource(self) -> tuple[str, ResourceInfo]:
        """(its name in the payload, the resource)."""
        if self.resourceInfo is not None:
            return "resourceInfo", self.resourceInfo
        assert self.resourceDetails is not None  # _names_a_resource
        return "resourceDetails", self.resourceDetails

    @property
    def resource_event_time(self) -> str | None:
        operational = self.operationalInfo or self.operationalDetails
        return operational.resourceEventTime if operational else None


# ---- the two schemas ----------------------------------------------------------------------------
def _cloudevents_1_0(version: Any) -> str:
    if version != "1.0":
        raise refused(f"'{version}' is not supported (CloudEvents 1.0 only)")
    return version


def _timestamp(time: Any) -> str | None:
    if time is not None and not isinstance(time, str):
        raise refused("must be an RFC 3339 timestamp string")
    return time


class CloudEvent(Payload):
    """A CloudEvents 1.0 event in structured mode."""

    schema_name: ClassVar[str] = CLOUDEVENTS_SCHEMA
    specversion: Annotated[str, PlainValidator(_cloudevents_1_0)] = NULL
    id: Annotated[str, required(_REQUIRED, test=str.strip)] = NULL
    source: Annotated[str, required(_REQUIRED, test=str.strip)] = NULL
    type: Annotated[str, required(_REQUIRED, test=str.strip)] = NULL
    time: Annotated[str | None, PlainValidator(_timestamp)] = None
    subject: StrictText = None
    data: Any = None

    @property
    def event_type(self) -> str:
        return self.type

    @property
    def event_time(self) -> str | None:
        return self.time

    @property
    def about(self) -> str | None:
        return self.subject


class EventGridEvent(Payload):
    """An event in the Event Grid schema."""

    schema_name: ClassVar[str] = EVENT_GRID_SCHEMA
    id: Annotated[str, required(_REQUIRED, test=str.strip)] = NULL
    eventType: Annotated[str, required(_REQUIRED, test=str.strip)] = NULL
    subject: Annotated[str, required("is required (a string)", test=lambda _: True)] = NULL
    eventTime: Any = None
    data: Any = None

    @property
    def event_type(self) -> str:
        return self.eventType

    @property
    def event_time(self) -> str | None:
        return self.eventTime if isinstance(self.eventTime, str) else None

    @property
    def about(self) -> str | None:
        return self.subject or None


def _target(event: CloudAvailabilityEvent | GridAvailabilityEvent) -> str | None:
    """The resource the event is about: `targetResourceId`, else the event's subject if it is an ARM id."""
    subject = event.about
    from_subject = subject if subject and subject.lower().startswith("/subscriptions/") else None
    return event.data.resource[1].properties.targetResourceId or from_subject


def _has_target(event: CloudAvailabilityEvent | GridAvailabilityEvent) -> None:
    if _target(event) is None:
        name = event.data.resource[0]
        raise refused_at(("data", name, "properties", "targetResourceId"), "is required")


class CloudAvailabilityEvent(CloudEvent):
    data: Annotated[AvailabilityData, shaped(dict, "is required and must be an object")] = NULL

    @model_validator(mode="after")
    def _names_its_target(self) -> Self:
        _has_target(self)
        return self


class GridAvailabilityEvent(EventGridEvent):
    data: Annotated[AvailabilityData, shaped(dict, "is required and must be an object")] = NULL

    @model_validator(mode="after")
    def _names_its_target(self) -> Self:
        _has_target(self)
        return self


class NotAnEvent(Payload):
    """Neither schema: refused (never validates)."""

    @model_validator(mode="before")
    @classmethod
    def _refuse(cls, value: Any) -> Any:
        raise refused("is neither a CloudEvent (no 'specversion') nor an Event Grid event (no 'eventType')")


def _event_kind(event: Any) -> str | None:
    if not isinstance(event, dict):
        return None
    if "specversion" in event:
        schema, event_type = "cloudevent", event.get("type")
    elif "eventType" in event:
        schema, event_type = "eventgrid", event.get("eventType")
    else:
        return "not-an-event"
    return f"{schema}-availability" if event_type == AVAILABILITY_CHANGED else f"{schema}-other"


Event = Annotated[
    Annotated[CloudAvailabilityEvent, tag("cloudevent-availability")]
    | Annotated[CloudEvent, tag("cloudevent-other")]
    | Annotated[GridAvailabilityEvent, tag("eventgrid-availability")]
    | Annotated[EventGridEvent, tag("eventgrid-other")]
    | Annotated[NotAnEvent, tag("not-an-event")],
    Discriminator(_event_kind, custom_error_type=REFUSED, custom_error_message="an event must be a JSON object"),
]


def _delivery_kind(body: Any) -> str | None:
    return "event-batch" if isinstance(body, list) else "one-event" if isinstance(body, dict) else None


Delivery = Annotated[
    Annotated[list[Event], tag("event-batch")] | Annotated[Event, tag("one-event")],
    Discriminator(
        _delivery_kind,
        custom_error_type=REFUSED,
        custom_error_message="an event delivery is a JSON object (one CloudEvent) or an array of events",
    ),
]
_DELIVERY = TypeAdapter(Delivery)


def _availability_alert(event: CloudAvailabilityEvent | GridAvailabilityEvent) -> Alert:
    props = event.data.resource[1].properties
    target = _target(event)
    assert target is not None  # _names_its_target
    state, previous = props.availabilityState, props.previousAvailabilityState
    name = target.rstrip("/").rsplit("/", 1)[-1]
    return Alert(
        schema=event.schema_name,
        alert_id=event.id,
        alert_rule=event.event_type,
        alert_rule_id=None,
        severity=None,
        signal_type="Event",
        monitoring_service="Resource Health",
        monitor_condition="Resolved" if state == "Available" else "Fired",
        fired_at=props.occurredTime or event.data.resource_event_time or event.event_time,
        target_ids=[target],
        title=f"Resource Health: {name} is {state}" + (f" (was {previous})" if previous else ""),
        availability_state=state,
        previous_availability_state=previous,
    )


def parse_event_delivery(body: Any) -> EventBatch:
    """The Resource Health alerts in one Event Grid delivery (already JSON-decoded), plus the skipped types."""
    try:
        delivery = _DELIVERY.validate_python(body)
    except ValidationError as err:
        raise alert_error(err) from None
    batch = EventBatch()
    for event in delivery if isinstance(delivery, list) else [delivery]:
        if isinstance(event, CloudAvailabilityEvent | GridAvailabilityEvent):
            batch.append(_availability_alert(event))
        elif not isinstance(event, NotAnEvent):  # (it never validates)
            batch.ignored.append(event.event_type)
    return batch


# ---- subscription validation --------------------------------------------------------------------
class ValidationData(Payload):
    validationCode: Annotated[str, required("is required in a subscription validation event")] = NULL


class SubscriptionValidationEvent(Payload):
    # Without a data object, what is missing is its validationCode.
    data: Annotated[ValidationData, BeforeValidator(lambda v: v if isinstance(v, dict) else {})] = NULL


def subscription_validation_code(body: Any) -> str | None:
    """The `validationCode` of an Event Grid subscription validation event in this body, else None.

    Answer it with 200 `{"validationResponse": code}`. Raises AlertError if the validation event has no code.
    """
    pairs = [(f"[{i}]", e) for i, e in enumerate(body)] if isinstance(body, list) else [("", body)]
    for prefix, event in pairs:
        if isinstance(event, dict) and event.get("eventType") == SUBSCRIPTION_VALIDATION:
            try:
                return SubscriptionValidationEvent.model_validate(event).data.validationCode
            except ValidationError as err:
                raise alert_error(err, prefix) from None
    return None


def _header(headers: Mapping[str, str], name: str) -> str | None:
    wanted = name.lower()
    for key, value in headers.items():
        if key.lower() == wanted:
            return value
    return None


def is_validation_request(method: str, headers: Mapping[str, str]) -> bool:
    """A CloudEvents webhook validation request: `OPTIONS` carrying `WebHook-Request-Origin` (any case)."""
    return method.upper() == "OPTIONS" and bool((_header(headers, REQUEST_ORIGIN) or "").strip())


def validation_response_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """The headers granting delivery to the origin that asked; empty (no consent) if none asked."""
    origin = (_header(headers, REQUEST_ORIGIN) or "").strip()
    if not origin:
        return {}
    return {"WebHook-Allowed-Origin": origin, "WebHook-Allowed-Rate": "*", "Allow": "POST, OPTIONS"}
