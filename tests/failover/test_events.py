"""Event Grid deliveries: CloudEvents single and batch, Event Grid schema, handshakes, malformed events."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from failover.alerts import AlertError
from failover.events import (
    AVAILABILITY_CHANGED,
    CLOUDEVENTS_SCHEMA,
    EVENT_GRID_SCHEMA,
    RESOURCE_ANNOTATED,
    SUBSCRIPTION_VALIDATION,
    EventBatch,
    is_validation_request,
    parse_event_delivery,
    subscription_validation_code,
    validation_response_headers,
)
from local.stack import ROOT

EXAMPLES = ROOT / "examples" / "alerts"
SUB = "5d3c0f34-7a2b-4e53-9d0e-1f2a3b4c5d6e"
VM1 = f"/subscriptions/{SUB}/resourceGroups/rg-app-eus/providers/Microsoft.Compute/virtualMachines/vm-app-eus-01"
VM2 = f"/subscriptions/{SUB}/resourceGroups/rg-app-eus/providers/Microsoft.Compute/virtualMachines/vm-app-eus-02"


def load(name: str) -> Any:
    return json.loads((EXAMPLES / name).read_text())


def cloud_event(state: str = "Unavailable", event_id: str = "e-1", **overrides: Any) -> dict[str, Any]:
    """A CloudEvent in the shape of the docs' AvailabilityStatusChanged sample."""
    event = copy.deepcopy(load("cloudevents-availability-degraded.json"))
    data = event["data"]
    data["resourceInfo"] = data.pop("resourceDetails")
    data["operationalInfo"] = data.pop("operationalDetails")
    data["resourceInfo"]["properties"].update(availabilityState=state, targetResourceId=VM1)
    event.update({"id": event_id, "subject": VM1, **overrides})
    return event


class TestCloudEvents:
    def test_single_event_object(self) -> None:
        """One CloudEvent (structured mode), written with the SDK's resourceDetails/operationalDetails names."""
        batch = parse_event_delivery(load("cloudevents-availability-degraded.json"))
        assert isinstance(batch, EventBatch) and isinstance(batch, list) and batch.ignored == []
        (alert,) = batch
        assert alert.schema == CLOUDEVENTS_SCHEMA and alert.alert_id == "5d6e7f80-9a1b-4c2d-8e3f-4a5b6c7d8e9f"
        assert alert.monitoring_service == "Resource Health" and alert.is_resource_health
        assert alert.signal_type == "Event" and alert.alert_rule == AVAILABILITY_CHANGED
        assert alert.target_ids == [VM2]
        assert (alert.availability_state, alert.previous_availability_state) == ("Degraded", "Available")
        assert alert.monitor_condition == "Fired" and not alert.is_resolved
        assert alert.fired_at == "2026-11-24T23:14:20.5530019Z"
        assert alert.title == "Resource Health: vm-app-eus-02 is Degraded (was Available)"
        assert alert.incident_key == VM2.lower()

    def test_batch_with_an_annotation(self) -> None:
        batch = parse_event_delivery(load("cloudevents-availability-batch.json"))
        (alert,) = batch.alerts
        assert alert.availability_state == "Available" and alert.monitor_condition == "Resolved"
        assert alert.is_resolved and alert.resolution == "monitor condition Resolved"
        assert batch.ignored == [RESOURCE_ANNOTATED]

    @pytest.mark.parametrize(
        ("state", "canonical", "condition"),
        [("Available", "Available", "Resolved"), ("Unavailable", "Unavailable", "Fired"),
         ("Degraded", "Degraded", "Fired"), ("Unknown", "Unknown", "Fired"), ("unavailable", "Unavailable", "Fired")],
    )  # fmt: skip
    def test_states(self, state: str, canonical: str, condition: str) -> None:
        (alert,) = parse_event_delivery(cloud_event(state))
        assert (alert.availability_state, alert.monitor_condition) == (canonical, condition)

    def test_unknown_types_are_counted_not_errors(self) -> None:
        body = [
            cloud_event(event_id="a"),
            {"specversion": "1.0", "id": "b", "source": "/contoso", "type": "Contoso.Orders.Created", "data": "x"},
            cloud_event(event_id="c", type=RESOURCE_ANNOTATED, data={"not": "checked"}),
            cloud_event(event_id="d", state="Available"),
        ]
        batch = parse_event_delivery(body)
        assert [a.alert_id for a in batch] == ["a", "d"]
        assert batch.ignored == ["Contoso.Orders.Created", RESOURCE_ANNOTATED] and len(batch.ignored) == 2

    def test_empty_batch(self) -> None:
        batch = parse_event_delivery([])
        assert batch == [] and batch.ignored == []

    def test_target_from_subject(self) -> None:
        event = cloud_event()
        del event["data"]["resourceInfo"]["properties"]["targetResourceId"]
        (alert,) = parse_event_delivery(event)
        assert alert.target_ids == [VM1]

    def test_time_fallbacks(self) -> None:
        event = cloud_event(time="2026-11-24T23:59:00Z")
        del event["data"]["resourceInfo"]["properties"]["occurredTime"]
        event["data"]["operationalInfo"]["resourceEventTime"] = "2026-11-24T23:58:00Z"
        assert parse_event_delivery(event)[0].fired_at == "2026-11-24T23:58:00Z"
        del event["data"]["operationalInfo"]
        assert parse_event_delivery(event)[0].fired_at == "2026-11-24T23:59:00Z"

    @pytest.mark.parametrize("time", [{}, [], 1732492740, True])
    def test_time_that_is_not_a_timestamp_is_refused(self, time: Any) -> None:
        """CloudEvents 1.0 `time` is an RFC 3339 string: `time: {}` was answered 200 (issue 21), now 422."""
        with pytest.raises(AlertError) as refused:
            parse_event_delivery(cloud_event(time=time))
        assert refused.value.field == "time"


class TestEventGridSchema:
    def test_array_of_events(self) -> None:
        (alert,) = parse_event_delivery(load("eventgrid-availability-unavailable.json"))
        assert alert.schema == EVENT_GRID_SCHEMA and alert.alert_id == "1fb6fa94-d965-4306-abe1-4810f0774e97"
        assert alert.target_ids == [VM1] and alert.availability_state == "Unavailable"
        assert alert.monitor_condition == "Fired" and alert.fired_at == "2026-11-24T23:09:37.9245071Z"

    def test_mixed_with_other_types(self) -> None:
        body = load("eventgrid-availability-unavailable.json")
        other = {**body[0], "id": "x", "eventType": "Microsoft.Resources.ResourceWriteSuccess", "data": {}}
        batch = parse_event_delivery([other, *body])
        assert len(batch) == 1 and batch.ignored == ["Microsoft.Resources.ResourceWriteSuccess"]

    def test_validation_event(self) -> None:
        body = load("eventgrid-subscription-validation.json")
        assert subscription_validation_code(body) == "512d38b6-c7b8-40c8-89fe-f46f9e9622b6"
        batch = parse_event_delivery(body)
        assert list(batch) == [] and batch.ignored == [SUBSCRIPTION_VALIDATION]

    @pytest.mark.parametrize("name", ["eventgrid-availability-unavailable.json", "cloudevents-availability-batch.json"])
    def test_no_validation_code_in_ordinary_deliveries(self, name: str) -> None:
        assert subscription_validation_code(load(name)) is None

    def test_validation_event_without_code(self) -> None:
        body = load("eventgrid-subscription-validation.json")
        del body[0]["data"]["validationCode"]
        with pytest.raises(AlertError) as err:
            subscription_validation_code(body)
        assert err.value.field == "[0].data.validationCode"


def _pop(*path: Any) -> Any:
    def mutate(body: list[dict[str, Any]]) -> None:
        target: Any = body
        for key in path[:-1]:
            target = target[key]
        del target[path[-1]]

    return mutate


def _put(value: Any, *path: Any) -> Any:
    def mutate(body: list[dict[str, Any]]) -> None:
        target: Any = body
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value

    return mutate


class TestMalformed:
    @pytest.mark.parametrize(
        ("mutate", "field"),
        [
            (_pop(2, "data", "resourceInfo"), "[2].data.resourceInfo"),
            (_put("text", 2, "data", "resourceInfo"), "[2].data.resourceInfo"),
            (_pop(2, "data"), "[2].data"),
            (_pop(2, "data", "resourceInfo", "properties"), "[2].data.resourceInfo.properties"),
            (
                _put("Sleepy", 2, "data", "resourceInfo", "properties", "availabilityState"),
                "[2].data.resourceInfo.properties.availabilityState",
            ),
            (
                _pop(2, "data", "resourceInfo", "properties", "availabilityState"),
                "[2].data.resourceInfo.properties.availabilityState",
            ),
            (_put(7, 1), "[1]"),
            (_pop(1, "specversion"), "[1]"),  # neither schema
            (_put("0.3", 1, "specversion"), "[1].specversion"),
            (_pop(1, "id"), "[1].id"),
            (_pop(1, "source"), "[1].source"),
            (_put("", 1, "type"), "[1].type"),
        ],
    )
    def test_cloudevents_paths(self, mutate: Any, field: str) -> None:
        body = [cloud_event(event_id="a"), cloud_event(event_id="b"), cloud_event(event_id="c")]
        mutate(body)
        with pytest.raises(AlertError) as err:
            parse_event_delivery(body)
        assert err.value.field == field

    def test_target_missing_everywhere(self) -> None:
        event = cloud_event(subject=None)
        del event["data"]["resourceInfo"]["properties"]["targetResourceId"]
        with pytest.raises(AlertError) as err:
            parse_event_delivery(event)
        assert err.value.field == "data.resourceInfo.properties.targetResourceId"  # no index: one event object

    @pytest.mark.parametrize(
        ("mutate", "field"),
        [
            (_pop(0, "eventType"), "[0]"),
            (_pop(0, "subject"), "[0].subject"),
            (_put(None, 0, "id"), "[0].id"),
            (_pop(0, "data", "resourceInfo"), "[0].data.resourceInfo"),
        ],
    )
    def test_event_grid_paths(self, mutate: Any, field: str) -> None:
        body = load("eventgrid-availability-unavailable.json")
        mutate(body)
        with pytest.raises(AlertError) as err:
            parse_event_delivery(body)
        assert err.value.field == field

    @pytest.mark.parametrize("body", ["events", 3, None])
    def test_not_a_delivery(self, body: Any) -> None:
        with pytest.raises(AlertError) as err:
            parse_event_delivery(body)
        assert err.value.field == "$"


class TestAbuseProtection:
    @pytest.mark.parametrize(
        "headers",
        [
            {"WebHook-Request-Origin": "eventgrid.azure.net"},
            {"webhook-request-origin": "eventgrid.azure.net"},
            {"WEBHOOK-REQUEST-ORIGIN": "eventgrid.azure.net", "WebHook-Request-Rate": "120"},
        ],
    )
    def test_validation_request(self, headers: dict[str, str]) -> None:
        assert is_validation_request("OPTIONS", headers) and is_validation_request("options", headers)
        assert validation_response_headers(headers) == {
            "WebHook-Allowed-Origin": "eventgrid.azure.net",
            "WebHook-Allowed-Rate": "*",
            "Allow": "POST, OPTIONS",
        }

    @pytest.mark.parametrize(
        ("method", "headers"),
        [("POST", {"WebHook-Request-Origin": "eventgrid.azure.net"}), ("OPTIONS", {}),
         ("OPTIONS", {"WebHook-Request-Origin": "  "}), ("OPTIONS", {"Origin": "eventgrid.azure.net"})],
    )  # fmt: skip
    def test_not_a_validation_request(self, method: str, headers: dict[str, str]) -> None:
        assert not is_validation_request(method, headers)

    def test_no_origin_no_consent(self) -> None:
        assert validation_response_headers({"Content-Type": "application/json"}) == {}
