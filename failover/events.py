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
from typing import Any

from failover.alerts import Alert, AlertError, availability_state

AVAILABILITY_CHANGED = "Microsoft.ResourceNotifications.HealthResources.AvailabilityStatusChanged"
RESOURCE_ANNOTATED = "Microsoft.ResourceNotifications.HealthResources.ResourceAnnotated"
SUBSCRIPTION_VALIDATION = "Microsoft.EventGrid.SubscriptionValidationEvent"
CLOUDEVENTS_SCHEMA = "CloudEvents/1.0"
EVENT_GRID_SCHEMA = "EventGridEvent"
REQUEST_ORIGIN = "WebHook-Request-Origin"


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


def _path(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


def _required_str(event: dict[str, Any], name: str, prefix: str) -> str:
    value = event.get(name)
    if not isinstance(value, str) or not value.strip():
        raise AlertError(_path(prefix, name), "is required (a non-empty string)")
    return value


def _optional_str(obj: dict[str, Any], name: str, prefix: str) -> str | None:
    value = obj.get(name)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise AlertError(_path(prefix, name), "must be a string")
    return value


def _events(body: Any) -> list[tuple[str, Any]]:
    """(path prefix, event) pairs: `[i]` in an array, nothing for a single event object."""
    if isinstance(body, list):
        return [(f"[{i}]", event) for i, event in enumerate(body)]
    if isinstance(body, dict):
        return [("", body)]
    raise AlertError("$", "an event delivery is a JSON object (one CloudEvent) or an array of events")


def _envelope(event: Any, prefix: str) -> tuple[str, str, str, str | None, str | None]:
    """(schema, id, type, subject, time) of one event, whichever schema it is in."""
    if not isinstance(event, dict):
        raise AlertError(prefix or "$", "an event must be a JSON object")
    if "specversion" in event:
        version = event.get("specversion")
        if version != "1.0":
            raise AlertError(_path(prefix, "specversion"), f"'{version}' is not supported (CloudEvents 1.0 only)")
        event_id = _required_str(event, "id", prefix)
        _required_str(event, "source", prefix)
        event_type = _required_str(event, "type", prefix)
        time = event.get("time")
        if time is not None and not isinstance(time, str):  # CloudEvents 1.0: a Timestamp (RFC 3339 string)
            raise AlertError(_path(prefix, "time"), "must be an RFC 3339 timestamp string")
        return CLOUDEVENTS_SCHEMA, event_id, event_type, _optional_str(event, "subject", prefix), time
    if "eventType" in event:
        event_id = _required_str(event, "id", prefix)
        event_type = _required_str(event, "eventType", prefix)
        subject = event.get("subject")
        if not isinstance(subject, str):
            raise AlertError(_path(prefix, "subject"), "is required (a string)")
        return EVENT_GRID_SCHEMA, event_id, event_type, subject or None, event.get("eventTime")
    raise AlertError(
        prefix or "$", "is neither a CloudEvent (no 'specversion') nor an Event Grid event (no 'eventType')"
    )


def _object(obj: dict[str, Any], names: tuple[str, ...], prefix: str) -> tuple[str, dict[str, Any]] | None:
    """The first of `names` present in `obj` as (path, object); AlertError if present but not an object."""
    for name in names:
        if name in obj and obj[name] is not None:
            if not isinstance(obj[name], dict):
                raise AlertError(_path(prefix, name), "must be an object")
            return _path(prefix, name), obj[name]
    return None


def _availability_alert(
    event: dict[str, Any], prefix: str, schema: str, event_id: str, event_type: str, subject: str | None, time: Any
) -> Alert:
    data_path = _path(prefix, "data")
    data = event.get("data")
    if not isinstance(data, dict):
        raise AlertError(data_path, "is required and must be an object")
    found = _object(data, ("resourceInfo", "resourceDetails"), data_path)
    if found is None:
        raise AlertError(_path(data_path, "resourceInfo"), "is required (an object; also accepted as resourceDetails)")
    resource_path, resource = found
    props_path = _path(resource_path, "properties")
    props = resource.get("properties")
    if not isinstance(props, dict):
        raise AlertError(props_path, "is required and must be an object")
    state = availability_state(props.get("availabilityState"), _path(props_path, "availabilityState"))
    if state is None:
        raise AlertError(_path(props_path, "availabilityState"), "is required")
    previous = availability_state(
        props.get("previousAvailabilityState"), _path(props_path, "previousAvailabilityState")
    )
    target = _optional_str(props, "targetResourceId", props_path)
    if target is None and subject and subject.lower().startswith("/subscriptions/"):
        target = subject  # the subject is the resource the event is about
    if target is None:
        raise AlertError(_path(props_path, "targetResourceId"), "is required")
    operational = _object(data, ("operationalInfo", "operationalDetails"), data_path)
    occurred = (
        _optional_str(props, "occurredTime", props_path)
        or (_optional_str(operational[1], "resourceEventTime", operational[0]) if operational else None)
        or (time if isinstance(time, str) else None)
    )
    name = target.rstrip("/").rsplit("/", 1)[-1]
    title = f"Resource Health: {name} is {state}" + (f" (was {previous})" if previous else "")
    return Alert(
        schema=schema,
        alert_id=event_id,
        alert_rule=event_type,
        alert_rule_id=None,
        severity=None,
        signal_type="Event",
        monitoring_service="Resource Health",
        monitor_condition="Resolved" if state == "Available" else "Fired",
        fired_at=occurred,
        target_ids=[target],
        title=title,
        availability_state=state,
        previous_availability_state=previous,
    )


def parse_event_delivery(body: Any) -> EventBatch:
    """The Resource Health alerts in one Event Grid delivery (already JSON-decoded), plus the skipped types."""
    batch = EventBatch()
    for prefix, event in _events(body):
        schema, event_id, event_type, subject, time = _envelope(event, prefix)
        if event_type == AVAILABILITY_CHANGED:
            batch.append(_availability_alert(event, prefix, schema, event_id, event_type, subject, time))
        else:
            batch.ignored.append(event_type)
    return batch


def subscription_validation_code(body: Any) -> str | None:
    """The `validationCode` of an Event Grid subscription validation event in this body, else None.

    Answer it with 200 `{"validationResponse": code}`. Raises AlertError if the validation event has no code.
    """
    pairs = [(f"[{i}]", e) for i, e in enumerate(body)] if isinstance(body, list) else [("", body)]
    for prefix, event in pairs:
        if isinstance(event, dict) and event.get("eventType") == SUBSCRIPTION_VALIDATION:
            data = event.get("data")
            code = data.get("validationCode") if isinstance(data, dict) else None
            if not isinstance(code, str) or not code:
                raise AlertError(_path(prefix, "data.validationCode"), "is required in a subscription validation event")
            return code
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
