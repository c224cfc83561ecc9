"""Azure Automation webhooks: a runbook the runbook's own step starts (the Hyper-V Replica failover of an Azure Local
site) that calls the service back when it is done.

State (`Automation`: webhooks and the calls they received), routes (`add_routes`: the webhook POST, answered 202
with the runbook job id, and `GET /_sim/webhooks`), the demo seed (`seed_demo`: the hyperv-replica webhook) and its
part of `GET /_sim/dependencies` (`snapshot`). The simulated runbook dedupes on (instance_id, step) and POSTs its
result to the body's loopback `callback_url` after its delay (simulated seconds, divided by the estate's
`time_scale`).
"""

from __future__ import annotations

import ipaddress
import json
import secrets
import threading
import uuid
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import requests
from aiohttp import web

from simulator.arm import Cloud, RouteTable, SimError, iso, utcnow

DEMO_WEBHOOK = "hyperv-replica"


@dataclass
class Webhook:
    """An Azure Automation webhook: its runbook calls back `callback_url` after `delay_seconds`."""

    name: str
    token: str
    delay_seconds: float = 120.0
    fail: bool = False  # the runbook reports {"status": "Failed"}
    call_back: bool = True  # False: the runbook never calls back (the service's timeout must act)
    output: str = "Hyper-V Replica failover of the Azure Local site completed."


@dataclass
class WebhookCall:
    webhook: str
    job_id: str
    received_at: datetime
    body: Any
    duplicate: bool
    callback: dict[str, Any] = field(default_factory=dict)  # what happened to the callback


class Automation:
    """The Automation webhooks of one estate and the calls they received. Every method takes the estate's lock."""

    def __init__(self, cloud: Cloud) -> None:
        self.cloud = cloud
        self.webhooks: dict[str, Webhook] = {}
        self.webhook_calls: list[WebhookCall] = []
        self._runbook_jobs: dict[tuple[str, str, str], str] = {}  # (webhook, instance, step) -> job id

    @property
    def lock(self) -> AbstractContextManager[Any]:
        return self.cloud.lock

    def webhook_call(self, name: str, token: str | None, body: Any) -> WebhookCall:
        """Record a call; the simulated runbook dedupes on (instance_id, step) and calls back once."""
        with self.lock:
            hook = self.webhooks.get(name.lower())
            if hook is None or not token or not secrets.compare_digest(token, hook.token):
                raise SimError(404, "NotFound", "The webhook was not found, or its token is not valid.")
            key = None
            if isinstance(body, dict) and body.get("instance_id") and body.get("step"):
                key = (hook.name, str(body["instance_id"]), str(body["step"]))
            existing = self._runbook_jobs.get(key) if key else None
            call = WebhookCall(
                webhook=hook.name,
                job_id=existing or str(uuid.uuid4()),
                received_at=utcnow(),
                body=body,
                duplicate=existing is not None,
            )
            self.webhook_calls.append(call)
            if existing is not None:
                call.callback = {"sent": False, "reason": "duplicate call: the runbook job already exists"}
                return call
            if key:
                self._runbook_jobs[key] = call.job_id
            url = body.get("callback_url") if isinstance(body, dict) else None
            if not hook.call_back:
                call.callback = {"sent": False, "reason": "the webhook is set never to call back"}
            elif not isinstance(url, str) or not _loopback(url):
                call.callback = {"sent": False, "reason": "no loopback callback_url in the body"}
            else:
                call.callback = {"sent": False, "reason": "pending"}
                result = {"status": "Failed" if hook.fail else "Succeeded", "output": hook.output}
                if hook.fail:
                    result["output"] = f"Runbook for webhook '{hook.name}' failed (simulated)."
                delay = hook.delay_seconds / self.cloud.time_scale
                timer = threading.Timer(delay, self._call_back, args=(call, url, result))
                timer.daemon = True
                timer.start()
            return call

    def _call_back(self, call: WebhookCall, url: str, result: dict[str, str]) -> None:
        try:
            answer = requests.post(url, json=result, timeout=10)
            outcome: dict[str, Any] = {"sent": True, "status": answer.status_code}
        except requests.RequestException as err:
            outcome = {"sent": False, "reason": f"callback failed: {type(err).__name__}"}
        with self.lock:
            call.callback = {**outcome, "result": result["status"], "at": iso(utcnow())}

    # ---- the demo estate ------------------------------------------------------------------
    def seed_demo(self) -> None:
        """The Hyper-V Replica webhook (its token a new secret)."""
        with self.lock:
            self.webhooks[DEMO_WEBHOOK] = Webhook(DEMO_WEBHOOK, secrets.token_urlsafe(24))

    # ---- inspection -----------------------------------------------------------------------
    def snapshot(self) -> dict[str, Any]:
        with self.lock:
            return {"webhook_calls": [self.call_json(c) for c in self.webhook_calls]}

    def call_json(self, call: WebhookCall) -> dict[str, Any]:
        return {
            "webhook": call.webhook,
            "job_id": call.job_id,
            "received_at": iso(call.received_at),
            "body": call.body,
            "duplicate": call.duplicate,
            "callback": dict(call.callback),
        }


def _loopback(url: str) -> bool:
    """The simulator only calls back addresses on this machine."""
    try:
        host = urlsplit(url).hostname or ""
    except ValueError:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


# ---- HTTPS routes ----------------------------------------------------------------------------
class Routes:
    """The handlers, over one estate's `Automation`."""

    def __init__(self, automation: Automation) -> None:
        self.automation = automation

    async def webhook_post(self, request: web.Request, m: dict[str, str]) -> web.Response:
        raw = await request.read()
        try:
            body: Any = json.loads(raw) if raw else None
        except ValueError:
            body = raw.decode("utf-8", "replace")  # a runbook receives any body as text
        call = self.automation.webhook_call(m["name"], request.query.get("token"), body)
        return web.json_response({"JobIds": [call.job_id]}, status=202)

    async def sim_webhooks(self, request: web.Request, m: dict[str, str]) -> web.Response:
        with self.automation.lock:
            return web.json_response([self.automation.call_json(c) for c in self.automation.webhook_calls])


def add_routes(table: RouteTable, automation: Automation) -> None:
    """Register the webhook route and `GET /_sim/webhooks`."""
    r = Routes(automation)
    table.add("POST", r"/automation/webhooks/(?P<name>[^/]+)$", "automation.webhook", r.webhook_post)
    table.add("GET", r"/_sim/webhooks$", "sim.webhooks", r.sim_webhooks)
