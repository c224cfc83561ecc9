"""The sinks the service posts to: an Event Grid topic (CloudEvents) and Teams Workflows webhooks.

State (`Sinks`: the events and messages received), routes (`add_routes`: `POST /eventgrid/api/events` (a CloudEvents
batch, `aeg-sas-key` or bearer), `POST /teams/workflows/{id}/...?sig=...`, and the inspection routes
`GET /_sim/events`, `GET /_sim/teams/messages`). Shapes follow `tests/reference/rest-examples/eventgrid`.
"""

from __future__ import annotations

import json
from typing import Any, Protocol

from aiohttp import web

from simulator.arm import Cloud, RouteTable, error_response, iso, utcnow


class EventGridKey(Protocol):
    """The knob of `simulator.EstateConfig` the topic reads: its access key."""

    eventgrid_key: str


class Sinks:
    """The events and Teams messages one estate received. Every method takes the estate's lock."""

    def __init__(self, cloud: Cloud, config: EventGridKey) -> None:
        self.cloud = cloud
        self.config = config
        self.events: list[dict[str, Any]] = []
        self.teams_messages: list[dict[str, Any]] = []

    @property
    def lock(self) -> Any:
        return self.cloud.lock

    def add_events(self, events: list[dict[str, Any]]) -> None:
        with self.lock:
            self.events.extend(events)

    def add_teams_message(self, workflow: str, message: dict[str, Any]) -> None:
        with self.lock:
            self.teams_messages.append({"workflow": workflow, "received_at": iso(utcnow()), "message": message})


# ---- HTTPS routes ---------------------------------------------------------------------------------------------
class Routes:
    """The handlers, over one estate's `Sinks`."""

    def __init__(self, sinks: Sinks) -> None:
        self.sinks = sinks

    async def eventgrid_publish(self, request: web.Request, m: dict[str, str]) -> web.Response:
        key = request.headers.get("aeg-sas-key")
        bearer = request.headers.get("Authorization", "").startswith("Bearer ")
        if key != self.sinks.config.eventgrid_key and not bearer:
            return error_response(
                401, "Unauthorized", "The request authorization key is not authorized for this topic."
            )
        if not request.content_type.startswith("application/cloudevents-batch+json"):
            return error_response(400, "BadRequest", f"Content type {request.content_type} is not a CloudEvents batch.")
        try:
            events = json.loads(await request.read())
        except ValueError as err:
            return error_response(400, "BadRequest", f"Body is not JSON: {err}")
        if not isinstance(events, list):
            return error_response(400, "BadRequest", "A CloudEvents batch must be a JSON array.")
        for index, event in enumerate(events):
            missing = [f for f in ("id", "source", "type", "specversion") if not event.get(f)]
            if missing:
                return error_response(400, "BadRequest", f"events[{index}] is missing required field(s) {missing}.")
            if event["specversion"] != "1.0":
                return error_response(400, "BadRequest", f"events[{index}].specversion must be '1.0'.")
            if len(json.dumps(event)) > 64 * 1024:
                return error_response(413, "RequestEntityTooLarge", f"events[{index}] is larger than 64 KB.")
        self.sinks.add_events(events)
        return web.Response(status=200)

    async def teams_post(self, request: web.Request, m: dict[str, str]) -> web.Response:
        if not request.query.get("sig"):
            return error_response(401, "Unauthorized", "The workflow URL signature (sig) is missing.")
        try:
            message = json.loads(await request.read())
        except ValueError as err:
            return error_response(400, "InvalidRequestContent", f"Body is not JSON: {err}")
        if not isinstance(message, dict) or message.get("type") != "message":
            return error_response(400, "InvalidRequestContent", "Expected {'type': 'message', 'attachments': [...]}.")
        self.sinks.add_teams_message(m["workflow"], message)
        return web.Response(status=202)

    async def sim_teams(self, request: web.Request, m: dict[str, str]) -> web.Response:
        with self.sinks.lock:
            return web.json_response(list(self.sinks.teams_messages))

    async def sim_events(self, request: web.Request, m: dict[str, str]) -> web.Response:
        with self.sinks.lock:
            return web.json_response(list(self.sinks.events))


def add_routes(table: RouteTable, sinks: Sinks) -> None:
    """Register the Event Grid, Teams and their inspection routes."""
    r = Routes(sinks)
    table.add("POST", r"/eventgrid/api/events$", "eventgrid.publish", r.eventgrid_publish)
    table.add("POST", r"/teams/workflows/(?P<workflow>[^/]+)(/.*)?$", "teams.webhook", r.teams_post)
    table.add("GET", r"/_sim/teams/messages$", "sim.teams", r.sim_teams)
    table.add("GET", r"/_sim/events$", "sim.events", r.sim_events)
