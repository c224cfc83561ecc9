"""HTTP handlers, written once against `azure.functions.HttpRequest` / `HttpResponse` and the df client API.

Azure Functions passes its durable client; the local server passes `LocalDurableClient`. Same paths,
status codes and JSON on both hosts: `ROUTES` is the one route table both register. Every error body is
`{"error": {"code", "message"}}`; bad input gets a 4xx and changes nothing. See docs/api.md and
docs/openapi.yaml.
"""

from __future__ import annotations

import asyncio
import html
import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal, Protocol, TypeVar
from urllib.parse import parse_qs, quote

import azure.functions as func
import structlog
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from failover import approval
from failover.alerts import Alert, AlertError, parse_alert
from failover.batching import BatchPlanningError
from failover.callbacks import verify_callback
from failover.contracts import unwrap
from failover.contracts.backup import BackupTestRunInput
from failover.contracts.readiness import ReadinessRunInput
from failover.errors import ServiceError
from failover.events import (
    is_validation_request,
    parse_event_delivery,
    subscription_validation_code,
    validation_response_headers,
)
from failover.plan import Plan
from failover.policy import decide, instance_id_for
from failover.run import build_run_input, isoformat
from failover.settings import Settings

MAX_BODY = 256 * 1024  # Azure Monitor alert payloads are at most 256 KB
ACTIVE = {"Running", "Pending", "Suspended"}
ORCHESTRATOR = "failover_orchestrator"
PRINCIPAL_HEADER = "X-MS-CLIENT-PRINCIPAL-NAME"
RUN_STATUSES = {
    # runtime statuses of the durable engine
    "running", "pending", "suspended", "completed", "failed", "terminated",
    # run outcomes (the summary's status)
    "completedwitherrors", "rejected", "cancelled",
}  # fmt: skip
HTML_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
    "Strict-Transport-Security": "max-age=31536000",  # ignored by browsers over the local host's plain http
}
# Run status, approvals and errors are never to be cached or sniffed as another type.
JSON_HEADERS = {"X-Content-Type-Options": "nosniff", "Cache-Control": "no-store"}

log = structlog.get_logger("failover.http")
M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True)
class Route:
    """One HTTP route: `path` is under /api; `auth` follows Azure Functions' auth levels."""

    name: str  # the Azure function name
    method: str
    path: str
    handler: str  # the Api method
    auth: Literal["function", "anonymous"] = "function"


ROUTES: list[Route] = [
    Route("health", "GET", "health", "get_health", "anonymous"),
    Route("alerts", "POST", "alerts", "post_alert"),
    Route("events", "POST", "events", "post_events"),
    Route("events_validation", "OPTIONS", "events", "options_events"),
    Route("plans_list", "GET", "plans", "list_plans"),
    Route("plan_get", "GET", "plans/{name}", "get_plan"),
    Route("plan_preview", "GET", "plans/{name}/preview", "get_preview"),
    Route("plan_readiness", "GET", "plans/{name}/readiness", "get_readiness"),
    Route("failover_start", "POST", "failovers", "post_failover"),
    Route("failovers_list", "GET", "failovers", "list_failovers"),
    Route("drill_start", "POST", "drills", "post_drill"),
    Route("failback_start", "POST", "failbacks", "post_failback"),
    Route("failover_status", "GET", "failovers/{instance_id}", "get_failover"),
    Route("failover_cancel", "POST", "failovers/{instance_id}/cancel", "post_cancel"),
    Route("failover_plan_retry", "POST", "failovers/{instance_id}/plans/{recovery_plan}/retry", "post_retry"),
    Route("failover_plan_skip", "POST", "failovers/{instance_id}/plans/{recovery_plan}/skip", "post_skip"),
    Route("failover_approve", "POST", "failovers/{instance_id}/approvals", "post_api_approval"),
    Route("failover_report", "GET", "failovers/{instance_id}/report", "get_report"),
    # A custom action's completion callback (e.g. an Automation runbook on a hybrid worker): the signed
    # token in the URL the action received is the authorization.
    Route("failover_callback", "POST", "failovers/{instance_id}/callbacks/{step}", "post_callback", "anonymous"),
    # Approval links are opened from Teams by people signed in through App Service Authentication
    # (which sets X-MS-CLIENT-PRINCIPAL-NAME); the signed token is the authorization, not a function key.
    Route("approval_page", "GET", "approvals/{instance_id}", "get_approval", "anonymous"),
    Route("approval_decision", "POST", "approvals/{instance_id}", "post_approval", "anonymous"),
]


class DurableClient(Protocol):
    """The slice of df's DurableOrchestrationClient the handlers use; both hosts provide it."""

    async def start_new(
        self, orchestration_function_name: str, instance_id: str | None = None, client_input: Any = None
    ) -> str: ...

    async def get_status(
        self, instance_id: str, show_history: bool = False, show_history_output: bool = False, show_input: bool = False
    ) -> Any: ...

    async def get_status_all(self) -> list[Any]: ...

    async def raise_event(self, instance_id: str, event_name: str, event_data: Any = None) -> None: ...


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> func.HttpResponse:
    return func.HttpResponse(
        json.dumps(body), status_code=status, mimetype="application/json", headers={**JSON_HEADERS, **(headers or {})}
    )


def error_response(status: int, code: str, message: str) -> func.HttpResponse:
    return json_response({"error": {"code": code, "message": message}}, status)


def _html(body: str, status: int = 200) -> func.HttpResponse:
    return func.HttpResponse(body, status_code=status, mimetype="text/html", charset="utf-8", headers=HTML_HEADERS)


def _runtime_status(status: Any) -> str | None:
    value = getattr(status, "runtime_status", None)
    return getattr(value, "value", value)


def _principal(req: func.HttpRequest) -> str:
    return (req.headers.get(PRINCIPAL_HEADER) or "").strip().lower()


def _requester(req: func.HttpRequest, given: str | None) -> str | None:
    """Who asks: the signed-in identity when present, else the body's `requested_by`."""
    return _principal(req) or (given or "").strip().lower() or None


class StartRequest(BaseModel):
    """`POST /api/failovers` body."""

    model_config = ConfigDict(extra="forbid")
    plan: str = Field(min_length=1, max_length=63)
    mode: Literal["planned", "unplanned", "test"] | None = None
    reason: str | None = Field(default=None, max_length=500)
    requested_by: str | None = Field(default=None, max_length=256)


class DrillRequest(BaseModel):
    """`POST /api/drills` body."""

    model_config = ConfigDict(extra="forbid")
    plan: str = Field(min_length=1, max_length=63)
    force: bool = False  # run outside the plan's maintenance windows
    reason: str | None = Field(default=None, max_length=500)
    requested_by: str | None = Field(default=None, max_length=256)


class FailbackRequest(BaseModel):
    """`POST /api/failbacks` body."""

    model_config = ConfigDict(extra="forbid")
    plan: str = Field(min_length=1, max_length=63)
    reason: str | None = Field(default=None, max_length=500)
    requested_by: str | None = Field(default=None, max_length=256)


class CancelRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str | None = Field(default=None, max_length=500)
    requested_by: str | None = Field(default=None, max_length=256)


class CallbackRequest(BaseModel):
    """`POST /api/failovers/{id}/callbacks/{step}` body: how the custom action ended."""

    model_config = ConfigDict(extra="ignore")
    status: Literal["Succeeded", "Failed"]
    output: str | None = Field(default=None, max_length=4000)


class DecisionRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    decision: Literal["approve", "reject"]
    comment: str | None = Field(default=None, max_length=500)


def _validated(model: type[M], data: Any) -> M:
    """422 naming the field's path for a body that does not fit the schema."""
    if not isinstance(data, dict):
        raise ServiceError(422, "InvalidBody", "$: the request body must be a JSON object")
    try:
        return model.model_validate(data)
    except ValidationError as err:
        first = err.errors()[0]
        path = ".".join(str(p) for p in first["loc"]) or "$"
        raise ServiceError(422, "InvalidBody", f"{path}: {first['msg']}") from None


def _optional_json(req: func.HttpRequest) -> Any:
    """A JSON body that may be empty (control requests)."""
    if not (req.get_body() or b"").strip():
        return {}
    return _read_json(req)


@dataclass
class Api:
    """The handler set. `plans` by name; `clock` returns epoch seconds (tests move it)."""

    settings: Settings
    plans: dict[str, Plan]
    clock: Callable[[], float] = field(default=time.time)
    # (instance id, alert id, monitor condition) -> the copy of that alert now with the durable engine: its
    # result is True once it has started or attached the run (one event loop per host process)
    _attaching: dict[tuple[str, str, str], asyncio.Future[bool]] = field(default_factory=dict, init=False, repr=False)

    def _plan(self, name: str, field: str = "") -> Plan:
        """The plan by name, or 404 PlanNotFound (`field` prefixes the message when a body named it)."""
        plan = self.plans.get(name)
        if plan is None:
            raise ServiceError(404, "PlanNotFound", f"{field}no plan named '{name}'")
        return plan

    def status_url(self, instance_id: str) -> str:
        return f"{self.settings.public_base_url}/api/failovers/{quote(instance_id)}"

    def _now(self) -> str:
        return isoformat(datetime.fromtimestamp(self.clock(), UTC))

    # ---- starting runs ----------------------------------------------------------------------
    async def _start_or_attach(
        self,
        client: DurableClient,
        plan: Plan,
        *,
        trigger: dict[str, Any] | None = None,
        mode: str | None = None,
        requested_by: str | None = None,
        reason: str | None = None,
        restore: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """One active run per plan: start one, or attach this trigger to the run already going.

        Copies of one alert (same alert id and condition) that arrive while an earlier copy is with the durable
        engine wait for it and share its outcome: in a storm every copy would otherwise read the run's status
        and raise an event its orchestrator replays and ignores (docs/performance.md). If that copy failed,
        each waiting copy goes to the engine itself: a failure is never hidden behind a 202."""
        instance_id = instance_id_for(plan.name)
        options: dict[str, Any] = {"mode": mode, "requested_by": requested_by, "reason": reason, "restore": restore}
        if trigger is None or not trigger.get("alert_id"):
            return await self._start_or_attach_engine(client, plan, instance_id, trigger, **options)
        key = (instance_id, str(trigger["alert_id"]), str(trigger.get("monitor_condition") or ""))
        while (first := self._attaching.get(key)) is not None:
            if await asyncio.shield(first):
                return {"instance_id": instance_id, "status_url": self.status_url(instance_id), "deduplicated": True}
        done: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._attaching[key] = done
        succeeded = False
        try:
            answer = await self._start_or_attach_engine(client, plan, instance_id, trigger, **options)
            succeeded = True
            return answer
        finally:
            if self._attaching.get(key) is done:
                del self._attaching[key]
            done.set_result(succeeded)

    async def _start_or_attach_engine(
        self,
        client: DurableClient,
        plan: Plan,
        instance_id: str,
        trigger: dict[str, Any] | None,
        *,
        mode: str | None,
        requested_by: str | None,
        reason: str | None,
        restore: dict[str, Any] | None,
    ) -> dict[str, Any]:
        existing = await client.get_status(instance_id)
        deduplicated = bool(existing) and _runtime_status(existing) in ACTIVE
        if not deduplicated:
            run_input = build_run_input(
                plan,
                mode=mode,
                trigger=trigger,
                time_scale=self.settings.time_scale,
                requested_by=requested_by,
                reason=reason,
                restore=restore,
            )
            try:
                await client.start_new(ORCHESTRATOR, instance_id, run_input)
            except Exception:
                # A concurrent request started it first (local: InstanceExistsError; Azure: the
                # extension refuses a running id). Anything else is a real failure.
                again = await client.get_status(instance_id)
                if not again or _runtime_status(again) not in ACTIVE:
                    raise
                deduplicated = True
        if deduplicated and trigger is not None:
            listed = {t.get("alert_id") for t in ((existing and existing.custom_status) or {}).get("triggers") or []}
            if trigger.get("alert_id") not in listed:
                await client.raise_event(instance_id, "control", {"action": "trigger", "trigger": trigger})
        log.info("run requested", plan=plan.name, instance_id=instance_id, deduplicated=deduplicated)
        return {"instance_id": instance_id, "status_url": self.status_url(instance_id), "deduplicated": deduplicated}

    async def _record_resolution(self, client: DurableClient, alert: Alert, plan_names: list[str]) -> list[str]:
        """A Resolved alert for the incident a running run started from is recorded on that run."""
        recorded = []
        key = alert.incident_key
        for name in plan_names:
            instance_id = instance_id_for(name)
            status = await client.get_status(instance_id)
            if not status or _runtime_status(status) not in ACTIVE:
                continue
            triggers = (status.custom_status or {}).get("triggers") or []
            if any(t.get("incident_key") == key for t in triggers):
                await client.raise_event(instance_id, "control", {"action": "resolved", "trigger": alert.summary()})
                recorded.append(instance_id)
        return recorded

    async def _handle_alerts(self, client: DurableClient, alerts: list[Alert]) -> func.HttpResponse:
        runs: list[dict[str, Any]] = []
        reasons: list[str] = []
        recorded: list[str] = []
        for alert in alerts:
            decision = decide(alert, list(self.plans.values()))
            if decision.resolved_plans:
                recorded += await self._record_resolution(client, alert, decision.resolved_plans)
            if decision.ignored:
                log.info("alert ignored", alert_rule=alert.alert_rule, reason=decision.reason)
                reasons.append(decision.reason)
                continue
            for plan_name in decision.plans:
                runs.append(await self._start_or_attach(client, self.plans[plan_name], trigger=alert.summary()))
        if not runs:
            body: dict[str, Any] = {"ignored": True, "reason": "; ".join(dict.fromkeys(reasons)) or "no alerts"}
            if recorded:
                body["recorded_on"] = recorded
            return json_response(body)
        return json_response({**runs[0], "runs": runs}, 202)

    # ---- POST /api/alerts -----------------------------------------------------------------
    async def post_alert(self, req: func.HttpRequest, client: DurableClient) -> func.HttpResponse:
        try:
            alert = parse_alert(_read_json(req))
        except ServiceError as err:
            return error_response(err.status, err.code, err.message)
        except AlertError as err:
            return error_response(422, "InvalidAlert", str(err))
        return await self._handle_alerts(client, [alert])

    # ---- /api/events (Event Grid, CloudEvents) ---------------------------------------------
    async def options_events(self, req: func.HttpRequest, client: DurableClient) -> func.HttpResponse:
        """The CloudEvents webhook validation handshake (abuse protection)."""
        if not is_validation_request(req.method, req.headers):
            return error_response(400, "NotAValidationRequest", "OPTIONS needs the WebHook-Request-Origin header")
        return func.HttpResponse(status_code=200, headers=validation_response_headers(req.headers))

    async def post_events(self, req: func.HttpRequest, client: DurableClient) -> func.HttpResponse:
        try:
            body = _read_json(
                req, ("application/json", "application/cloudevents+json", "application/cloudevents-batch+json")
            )
            code = subscription_validation_code(body)
            if code is not None:
                return json_response({"validationResponse": code})
            delivery = parse_event_delivery(body)
        except ServiceError as err:
            return error_response(err.status, err.code, err.message)
        except AlertError as err:
            return error_response(422, "InvalidEvent", str(err))
        if not delivery.alerts:
            types = ", ".join(sorted(set(delivery.ignored))) or "none"
            return json_response({"ignored": True, "reason": f"no health events in this delivery (types: {types})"})
        return await self._handle_alerts(client, delivery.alerts)

    # ---- plans and health ---------------------------------------------------------------------
    async def get_health(self, req: func.HttpRequest, client: DurableClient) -> func.HttpResponse:
        return json_response({"status": "ok", "plans": sorted(self.plans), "time": self._now()})

    async def list_plans(self, req: func.HttpRequest, client: DurableClient) -> func.HttpResponse:
        return json_response(
            {
                "plans": [
                    {
                        "name": p.name,
                        "description": p.description,
                        "primary_region": p.primary_region,
                        "recovery_region": p.recovery_region,
                        "mode": p.asr.mode,
                        "groups": [g.name for g in p.groups],
                    }
                    for p in sorted(self.plans.values(), key=lambda p: p.name)
                ]
            }
        )

    async def get_plan(self, req: func.HttpRequest, client: DurableClient) -> func.HttpResponse:
        name = req.route_params.get("name", "")
        try:
            plan = self._plan(name)
        except ServiceError as err:
            return error_response(err.status, err.code, err.message)
        return json_response(plan.model_dump(mode="json"))

    async def get_preview(self, req: func.HttpRequest, client: DurableClient) -> func.HttpResponse:
        """Dry run: batches, start offsets, DNS changes, expected recovery time vs the RTO target. Reads
        VM counts from ASR; job durations measured by the plan's last run replace the plan's estimates."""
        name = req.route_params.get("name", "")
        try:
            plan = self._plan(name)
        except ServiceError as err:
            return error_response(err.status, err.code, err.message)
        mode = req.params.get("mode") or plan.asr.mode
        if mode not in ("planned", "unplanned", "test"):
            return error_response(422, "InvalidParameter", "mode: must be planned, unplanned or test")
        from activities.planning import read_groups
        from failover.preview import measured_durations, preview

        try:
            groups = await asyncio.to_thread(read_groups, plan)
        except BatchPlanningError as err:
            return error_response(409, "PlanDoesNotMatchVault", str(err))
        except Exception as err:  # ARM answered with an error: not the caller's fault
            log.warning("preview: vault read failed", plan=name, error=str(err)[:300])
            return error_response(502, "AzureReadFailed", f"reading the vault failed: {type(err).__name__}")
        last = await client.get_status(instance_id_for(plan.name))
        last_summary = run_output(last)
        measured = measured_durations(last_summary) if last_summary is not None else {}
        return json_response(preview(plan, groups, measured or None, mode))

    async def get_readiness(self, req: func.HttpRequest, client: DurableClient) -> func.HttpResponse:
        """Can this plan fail over now? Runs the readiness checks (read-only) and answers pass/warn/fail."""
        name = req.route_params.get("name", "")
        try:
            plan = self._plan(name)
        except ServiceError as err:
            return error_response(err.status, err.code, err.message)
        from activities.readiness import check_plan

        return json_response(await asyncio.to_thread(check_plan, plan))

    async def scheduled_readiness(self, client: DurableClient) -> list[str]:
        """The 30-minute readiness timer: one `readiness_orchestrator` per plan, given the last result so a
        change publishes a CloudEvent. A check still running is left alone."""
        started = []
        for plan in sorted(self.plans.values(), key=lambda p: p.name):
            instance_id = f"readiness-{plan.name}"
            last = await client.get_status(instance_id)
            if last and _runtime_status(last) in ACTIVE:
                continue
            previous = run_output(last)
            try:
                await client.start_new(
                    "readiness_orchestrator", instance_id, ReadinessRunInput(plan=plan, previous=previous)
                )
                started.append(instance_id)
            except Exception as err:  # a concurrent timer won: fine
                log.info("readiness check not started", plan=plan.name, error=str(err)[:200])
        return started

    # ---- POST /api/failovers (planned failovers, drills) -------------------------------------
    async def post_failover(self, req: func.HttpRequest, client: DurableClient) -> func.HttpResponse:
        try:
            body = _validated(StartRequest, _read_json(req))
            plan = self._plan(body.plan, "plan: ")
            if body.mode == "test":
                self._check_drill(plan, force=False)
        except ServiceError as err:
            return error_response(err.status, err.code, err.message)
        requested_by = _requester(req, body.requested_by)
        run = await self._start_or_attach(client, plan, mode=body.mode, requested_by=requested_by, reason=body.reason)
        return json_response(run, 202)

    # ---- drills ---------------------------------------------------------------------------------
    def _check_drill(self, plan: Plan, force: bool) -> None:
        if plan.drill is None:
            raise ServiceError(422, "NoDrillSection", f"plan: '{plan.name}' has no drill section (drill.network_id)")
        now = datetime.fromtimestamp(self.clock(), UTC)
        if not force and not plan.drill.allowed_at(now):
            windows = "; ".join(f"{','.join(w.days)} {w.start}-{w.end} UTC" for w in plan.drill.windows)
            raise ServiceError(
                409,
                "OutsideMaintenanceWindow",
                f"plan '{plan.name}' allows drills only in its maintenance windows ({windows}); use force to override",
            )

    async def post_drill(self, req: func.HttpRequest, client: DurableClient) -> func.HttpResponse:
        """A test failover drill: isolated network, verify, guaranteed cleanup."""
        try:
            body = _validated(DrillRequest, _read_json(req))
            plan = self._plan(body.plan, "plan: ")
            self._check_drill(plan, body.force)
        except ServiceError as err:
            return error_response(err.status, err.code, err.message)
        requested_by = _requester(req, body.requested_by)
        run = await self._start_or_attach(client, plan, mode="test", requested_by=requested_by, reason=body.reason)
        return json_response(run, 202)

    async def post_failback(self, req: func.HttpRequest, client: DurableClient) -> func.HttpResponse:
        """Fail back once the disaster is mitigated: reprotect, planned failover RecoveryToPrimary in
        batches, DNS and Traffic Manager back to the values the failover recorded, reprotect again."""
        try:
            body = _validated(FailbackRequest, _read_json(req))
            plan = self._plan(body.plan, "plan: ")
        except ServiceError as err:
            return error_response(err.status, err.code, err.message)
        last = await client.get_status(instance_id_for(plan.name))
        output = run_output(last) or {}
        restore: dict[str, Any] = {"traffic_manager": []}
        if output.get("mode") in ("planned", "unplanned"):
            changed = {d.get("record"): d for d in output.get("dns") or []}
            for endpoint in plan.dns.traffic_manager:
                before = (changed.get(endpoint.label) or {}).get("from")
                if isinstance(before, dict):
                    restore["traffic_manager"].append(
                        {
                            "resource_group": endpoint.resource_group,
                            "subscription_id": endpoint.subscription_id,
                            "profile": endpoint.profile,
                            "endpoint": endpoint.endpoint,
                            "endpoint_type": endpoint.endpoint_type,
                            "status": before.get("status"),
                            "priority": before.get("priority"),
                        }
                    )
        requested_by = _requester(req, body.requested_by)
        run = await self._start_or_attach(
            client, plan, mode="failback", requested_by=requested_by, reason=body.reason, restore=restore
        )
        return json_response(run, 202)

    async def scheduled_drills(self, client: DurableClient) -> list[dict[str, Any]]:
        """The monthly drill timer: a drill of every plan with `drill.scheduled`, inside its windows."""
        started = []
        for plan in sorted(self.plans.values(), key=lambda p: p.name):
            if plan.drill is None or not plan.drill.scheduled:
                continue
            try:
                self._check_drill(plan, force=False)
            except ServiceError as err:
                log.info("scheduled drill skipped", plan=plan.name, reason=err.message)
                continue
            started.append(
                await self._start_or_attach(
                    client, plan, mode="test", requested_by="schedule", reason="monthly drill (timer)"
                )
            )
        started.extend(await self.scheduled_backup_tests(client))
        return started

    async def scheduled_backup_tests(self, client: DurableClient) -> list[dict[str, Any]]:
        """The same monthly timer: a restore test of every `backup_tests[i]` with `scheduled`, as instance
        `backup-test-{plan}-{i}`; one already running is left alone (never two restores of one VM at once)."""
        started = []
        for plan in sorted(self.plans.values(), key=lambda p: p.name):
            for index, test in enumerate(plan.backup_tests):
                if not test.scheduled:
                    continue
                instance_id = f"backup-test-{plan.name}-{index}"
                existing = await client.get_status(instance_id)
                if existing and _runtime_status(existing) in ACTIVE:
                    started.append({"instance_id": instance_id, "plan": plan.name, "deduplicated": True})
                    continue
                spec = BackupTestRunInput(plan=plan, test=index, time_scale=self.settings.time_scale)
                await client.start_new("backup_test_orchestrator", instance_id, spec)
                log.info("backup restore test started", plan=plan.name, instance_id=instance_id, vm=test.vm.name)
                started.append({"instance_id": instance_id, "plan": plan.name, "deduplicated": False})
        return started

    # ---- GET /api/failovers[/{id}] -----------------------------------------------------------
    async def get_failover(self, req: func.HttpRequest, client: DurableClient) -> func.HttpResponse:
        instance_id = req.route_params.get("instance_id", "")
        status = await client.get_status(instance_id)
        if not status or (getattr(status, "name", None) or ORCHESTRATOR) != ORCHESTRATOR:
            return error_response(404, "RunNotFound", f"no failover run with id '{instance_id}'")
        return json_response(_run_view(instance_id, status, full=True))

    async def get_report(self, req: func.HttpRequest, client: DurableClient) -> func.HttpResponse:
        """The run report of a finished run: one HTML page, or its facts with `?format=json`."""
        from failover.report import report_data, report_html

        instance_id = req.route_params.get("instance_id", "")
        fmt = (req.params.get("format") or "html").strip().lower()
        if fmt not in ("html", "json"):
            return error_response(422, "InvalidParameter", "format: must be html or json")
        status = await client.get_status(instance_id)
        if not status or (getattr(status, "name", None) or ORCHESTRATOR) != ORCHESTRATOR:
            return error_response(404, "RunNotFound", f"no failover run with id '{instance_id}'")
        runtime = _runtime_status(status)
        if runtime in ACTIVE:
            return error_response(409, "RunNotFinished", f"run '{instance_id}' is still running ({runtime})")
        summary = run_output(status)
        if summary is None:
            return error_response(409, "NoSummary", f"run '{instance_id}' ended {runtime} without a summary")
        if fmt == "json":
            return json_response(report_data(summary))
        return _html(report_html(summary))

    async def list_failovers(self, req: func.HttpRequest, client: DurableClient) -> func.HttpResponse:
        plan = req.params.get("plan")
        wanted = (req.params.get("status") or "").strip().lower()
        if wanted and wanted not in RUN_STATUSES:
            return error_response(422, "InvalidParameter", f"status: '{wanted}' is not one of {sorted(RUN_STATUSES)}")
        if plan is not None and plan not in self.plans:
            return error_response(404, "PlanNotFound", f"plan: no plan named '{plan}'")
        runs = []
        for status in await client.get_status_all():
            if getattr(status, "name", None) != ORCHESTRATOR or not status.instance_id:
                continue
            view = _run_view(status.instance_id, status, full=False)
            if plan and view["plan"] != plan:
                continue
            if wanted and wanted not in {str(view["runtime_status"]).lower(), str(view["status"]).lower()}:
                continue
            runs.append(view)
        runs.sort(key=lambda r: r["created_at"] or "", reverse=True)
        return json_response({"runs": runs})

    # ---- control: cancel, retry, skip ---------------------------------------------------------
    async def _active_run(self, client: DurableClient, instance_id: str) -> Any:
        status = await client.get_status(instance_id)
        if not status or (getattr(status, "name", None) or ORCHESTRATOR) != ORCHESTRATOR:
            raise ServiceError(404, "RunNotFound", f"no failover run with id '{instance_id}'")
        if _runtime_status(status) not in ACTIVE:
            raise ServiceError(409, "RunNotActive", f"run '{instance_id}' has ended ({_runtime_status(status)})")
        return status

    async def post_cancel(self, req: func.HttpRequest, client: DurableClient) -> func.HttpResponse:
        instance_id = req.route_params.get("instance_id", "")
        try:
            body = _validated(CancelRequest, _optional_json(req))
            status = await self._active_run(client, instance_id)
            if ((status.custom_status or {}).get("operator") or {}).get("cancel"):
                raise ServiceError(409, "AlreadyCancelling", f"run '{instance_id}' is already being cancelled")
        except ServiceError as err:
            return error_response(err.status, err.code, err.message)
        by = _requester(req, body.requested_by) or "api"
        await client.raise_event(instance_id, "control", {"action": "cancel", "by": by, "reason": body.reason})
        log.info("cancel requested", instance_id=instance_id, by=by)
        return json_response(
            {"instance_id": instance_id, "status_url": self.status_url(instance_id), "cancel_requested": True}, 202
        )

    async def _plan_action(self, req: func.HttpRequest, client: DurableClient, action: str) -> func.HttpResponse:
        instance_id = req.route_params.get("instance_id", "")
        name = req.route_params.get("recovery_plan", "")
        try:
            body = _validated(CancelRequest, _optional_json(req))
            status = await self._active_run(client, instance_id)
            blocked = ((status.custom_status or {}).get("operator") or {}).get("blocked") or []
            if name not in blocked:
                raise ServiceError(
                    409,
                    "PlanNotBlocked",
                    f"recovery plan '{name}' is not waiting for an operator in run '{instance_id}'"
                    + (f" (waiting: {', '.join(blocked)})" if blocked else ""),
                )
        except ServiceError as err:
            return error_response(err.status, err.code, err.message)
        by = _requester(req, body.requested_by) or "api"
        await client.raise_event(instance_id, "control", {"action": action, "recovery_plan": name, "by": by})
        log.info("operator action", instance_id=instance_id, action=action, recovery_plan=name, by=by)
        return json_response(
            {"instance_id": instance_id, "recovery_plan": name, "action": action, "accepted": True}, 202
        )

    async def post_retry(self, req: func.HttpRequest, client: DurableClient) -> func.HttpResponse:
        return await self._plan_action(req, client, "retry")

    async def post_skip(self, req: func.HttpRequest, client: DurableClient) -> func.HttpResponse:
        return await self._plan_action(req, client, "skip")

    async def post_callback(self, req: func.HttpRequest, client: DurableClient) -> func.HttpResponse:
        """A custom action reports completion; raises the `callback` event its step waits for."""
        instance_id = req.route_params.get("instance_id", "")
        step = req.route_params.get("step", "")
        try:
            if not verify_callback(self.settings.approval_signing_key, req.params.get("token", ""), instance_id, step):
                raise ServiceError(403, "InvalidToken", "the callback token is not valid for this run and step")
            body = _validated(CallbackRequest, _read_json(req))
            await self._active_run(client, instance_id)
        except ServiceError as err:
            return error_response(err.status, err.code, err.message)
        await client.raise_event(
            instance_id, "callback", {"step": step, "status": body.status, "output": body.output, "at": self._now()}
        )
        log.info("callback received", instance_id=instance_id, step=step, status=body.status)
        return json_response({"instance_id": instance_id, "step": step, "accepted": True}, 202)

    # ---- approvals --------------------------------------------------------------------------
    async def _waiting_run(self, client: DurableClient, instance_id: str) -> tuple[Any, dict[str, Any]]:
        status = await client.get_status(instance_id)
        if not status or (getattr(status, "name", None) or ORCHESTRATOR) != ORCHESTRATOR:
            raise ServiceError(404, "RunNotFound", f"no failover run with id '{instance_id}'")
        custom = status.custom_status or {}
        gate = custom.get("approval") or {}
        if _runtime_status(status) not in ACTIVE or not gate.get("waiting"):
            raise ServiceError(409, "NotWaitingForApproval", "this run is not waiting for an approval")
        return status, gate

    def _check_approver(self, gate: dict[str, Any], approver: str, nonce: str) -> None:
        if not approver:
            raise ServiceError(401, "Unauthenticated", f"sign-in required ({PRINCIPAL_HEADER} is missing)")
        if approver not in {a.lower() for a in gate.get("approvers") or []}:
            raise ServiceError(403, "NotAnApprover", f"{approver} is not an approver of this plan")
        requester = (gate.get("requested_by") or "").lower()
        if requester and approver == requester and not gate.get("allow_requester"):
            raise ServiceError(403, "RequesterCannotApprove", f"{approver} requested this run and cannot approve it")
        if nonce != gate.get("nonce") or f"{nonce}:{approver}" in (gate.get("used") or {}):
            raise ServiceError(409, "TokenUsed", "this approval link was already used")

    async def _decide(
        self, req: func.HttpRequest, client: DurableClient, instance_id: str, approver: str, nonce: str, fields: dict
    ) -> func.HttpResponse:
        """Raise the `approval` event, then answer once the run has recorded it (or not)."""
        request_id = uuid.uuid4().hex
        event = {
            "decision": fields["decision"],
            "approver": approver,
            "comment": str(fields.get("comment") or "")[:500] or None,
            "nonce": nonce,
            "request_id": request_id,
            "at": self._now(),
        }
        await client.raise_event(instance_id, "approval", event)
        key = f"{nonce}:{approver}"
        # The run is the single-use record: of two requests racing with one link, the run records
        # exactly one request id under nonce:approver; the other is answered 409.
        recorded_by = await self._recorded(client, instance_id, key)
        public = {k: v for k, v in event.items() if k not in ("nonce", "request_id")}
        log.info("approval", instance_id=instance_id, approver=approver, decision=event["decision"])
        if recorded_by is None:
            return json_response({"instance_id": instance_id, "accepted": public}, 202)
        if recorded_by != request_id:
            return error_response(
                409, "TokenUsed" if recorded_by else "NotWaitingForApproval",
                "this approval link was already used" if recorded_by else "the run stopped waiting for approval",
            )  # fmt: skip
        if req.headers.get("Content-Type", "").startswith("application/x-www-form-urlencoded"):
            return _html(
                _page(
                    "Decision recorded",
                    f"<p>Recorded: {html.escape(event['decision'])} by {html.escape(approver)}.</p>",
                )
            )
        return json_response({"instance_id": instance_id, "recorded": public}, 200)

    async def _recorded(self, client: DurableClient, instance_id: str, key: str) -> str | None:
        """Wait (up to ~10 s) for the run to record a decision under `key`. Returns the request id it
        recorded, "" if the run stopped waiting without it, None if it has not answered yet."""
        for _ in range(100):
            status = await client.get_status(instance_id)
            gate = ((status.custom_status or {}).get("approval") or {}) if status else {}
            used = gate.get("used") or {}
            if key in used:
                return str(used[key])
            if not gate.get("waiting", False):
                return ""
            await asyncio.sleep(0.1)
        return None

    def _verify(self, token: str, instance_id: str) -> approval.TokenClaims:
        return approval.verify(self.settings.approval_signing_key, token, instance_id, self.clock())

    async def get_approval(self, req: func.HttpRequest, client: DurableClient) -> func.HttpResponse:
        """The confirm page behind the card's link. Link scanners open it: it changes nothing."""
        instance_id = req.route_params.get("instance_id", "")
        token = req.params.get("token", "")
        try:
            claims = self._verify(token, instance_id)
            status, gate = await self._waiting_run(client, instance_id)
        except ServiceError as err:
            return _html(_page("Approval", f"<p>{html.escape(err.message)}.</p>"), err.status)
        verb = "Approve" if claims.decision == "approve" else "Reject"
        custom = status.custom_status or {}
        plan = html.escape(str(custom.get("plan", "")))
        mode = html.escape(str(custom.get("mode", "")))
        body = f"""
<p>{verb} the <b>{mode}</b> failover of plan <b>{plan}</b> (run <code>{html.escape(instance_id)}</code>)?</p>
<p>Approvals needed: {int(gate.get("required") or 0)}.
This link expires at {html.escape(gate.get("expires_at") or "")}.</p>
<form method="post" action="/api/approvals/{html.escape(quote(instance_id))}">
  <input type="hidden" name="token" value="{html.escape(token)}">
  <input type="hidden" name="decision" value="{claims.decision}">
  <label>Comment <input type="text" name="comment" maxlength="500"></label>
  <button type="submit">{verb}</button>
</form>"""
        return _html(_page(f"{verb} failover", body))

    async def post_approval(self, req: func.HttpRequest, client: DurableClient) -> func.HttpResponse:
        """Record a decision from a signed link: verify token, identity and state, raise `approval`."""
        instance_id = req.route_params.get("instance_id", "")
        try:
            fields = _read_fields(req)
            token, decision = fields.get("token", ""), fields.get("decision", "")
            if decision not in approval.DECISIONS:
                raise ServiceError(422, "InvalidDecision", "decision: must be 'approve' or 'reject'")
            claims = self._verify(token, instance_id)
            if claims.decision != decision:
                raise ServiceError(403, "InvalidToken", f"this link is for '{claims.decision}', not '{decision}'")
            approver = _principal(req)
            _, gate = await self._waiting_run(client, instance_id)
            self._check_approver(gate, approver, claims.nonce)
        except ServiceError as err:
            return error_response(err.status, err.code, err.message)
        return await self._decide(req, client, instance_id, approver, claims.nonce, fields)

    async def post_api_approval(self, req: func.HttpRequest, client: DurableClient) -> func.HttpResponse:
        """Approve or reject through the API (function key + signed-in identity): the way in when
        Teams is down. The same approver list, quorum and single-decision rule apply."""
        instance_id = req.route_params.get("instance_id", "")
        try:
            body = _validated(DecisionRequest, _read_json(req))
            approver = _principal(req)
            _, gate = await self._waiting_run(client, instance_id)
            self._check_approver(gate, approver, str(gate.get("nonce") or ""))
        except ServiceError as err:
            return error_response(err.status, err.code, err.message)
        fields = {"decision": body.decision, "comment": body.comment}
        return await self._decide(req, client, instance_id, approver, str(gate.get("nonce")), fields)


def _run_view(instance_id: str, status: Any, full: bool) -> dict[str, Any]:
    """The run as the API shows it: its live status while running, its summary once finished."""
    custom = _public_status(status.custom_status) or {}
    output = run_output(status)
    source = output or custom
    gate = custom.get("approval") or {}
    view: dict[str, Any] = {
        "instance_id": instance_id,
        "plan": source.get("plan"),
        "mode": source.get("mode"),
        "runtime_status": _runtime_status(status),
        "status": (output or {}).get("status") or _runtime_status(status),
        "stage": custom.get("stage"),
        "created_at": isoformat(status.created_time) if status.created_time else None,
        "last_updated_at": isoformat(status.last_updated_time) if status.last_updated_time else None,
    }
    if not full:
        return view
    return {
        **view,
        "requested_by": source.get("requested_by"),
        "reason": source.get("reason"),
        "progress": custom.get("progress"),
        "approval": gate or None,
        "approvals": (output or {}).get("approvals")
        or [{k: d.get(k) for k in ("approver", "decision", "at", "comment")} for d in gate.get("decisions") or []],
        "triggers": source.get("triggers") or [],
        "resolved": source.get("resolved"),
        "batches": custom.get("batches") or [],
        "operator": custom.get("operator"),
        "steps": source.get("steps") or [],
        "errors": source.get("errors") or [],
        "custom_status": custom,
        "output": output if output is not None else status.output,
    }


def run_output(status: Any) -> dict[str, Any] | None:
    """A finished orchestration's output document as plain JSON (None without a status or a document: a failed
    run's output is its error text). Both hosts' clients return the JSON the orchestration wrote, where a contract
    would sit in azure-functions-durable's custom-object envelope."""
    output = unwrap(status.output) if status else None
    return output if isinstance(output, dict) else None


def _public_status(custom: Any) -> Any:
    """Custom status without the gate's nonce and used-decision record (they are not for display)."""
    if not isinstance(custom, dict) or not isinstance(custom.get("approval"), dict):
        return custom
    gate = {k: v for k, v in custom["approval"].items() if k not in ("nonce", "used")}
    return {**custom, "approval": gate}


def _page(title: str, body: str) -> str:
    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>body{{font-family:system-ui,sans-serif;max-width:40rem;margin:3rem auto;padding:0 1rem}}</style></head>
<body><h1>{html.escape(title)}</h1>{body}</body></html>"""


def _body(req: func.HttpRequest) -> bytes:
    body = req.get_body() or b""
    if len(body) > MAX_BODY:
        raise ServiceError(413, "PayloadTooLarge", f"request body is {len(body)} bytes; the limit is {MAX_BODY}")
    return body


def _read_json(req: func.HttpRequest, accepted: tuple[str, ...] = ("application/json",)) -> Any:
    content_type = (req.headers.get("Content-Type") or "application/json").split(";")[0].strip().lower()
    if content_type not in accepted:
        shown = content_type.encode("utf-8", "replace").decode("ascii", "replace")
        raise ServiceError(415, "UnsupportedMediaType", f"content type '{shown}' is not {' or '.join(accepted)}")
    try:
        return json.loads(_body(req))
    except ValueError as err:
        raise ServiceError(400, "MalformedJson", f"request body is not valid JSON: {err}") from err
    except RecursionError:
        raise ServiceError(400, "MalformedJson", "request body is nested too deeply") from None


def _read_fields(req: func.HttpRequest) -> dict[str, str]:
    """Form-encoded (the confirm page) or JSON (scripts) fields."""
    content_type = (req.headers.get("Content-Type") or "").split(";")[0].strip().lower()
    if content_type == "application/x-www-form-urlencoded":
        parsed = parse_qs(_body(req).decode("utf-8", "replace"), keep_blank_values=True)
        return {k: v[0] for k, v in parsed.items()}
    data = _read_json(req)
    if not isinstance(data, dict):
        raise ServiceError(422, "InvalidBody", "the request body must be a JSON object")
    return {k: str(v) for k, v in data.items() if v is not None}
