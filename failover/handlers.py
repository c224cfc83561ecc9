"""HTTP handlers, written once against `azure.functions.HttpRequest` / `HttpResponse` and the df client API.

Azure Functions passes its durable client; the local server passes `LocalDurableClient`. Same paths,
status codes and JSON on both hosts. Every error body is `{"error": {"code", "message"}}`; bad input
gets a 4xx and changes nothing.

Routes: `POST /api/alerts`, `GET /api/failovers/{instance_id}`,
`GET /api/approvals/{instance_id}?token=` (confirm page, decides nothing),
`POST /api/approvals/{instance_id}` (`token`, `decision`, `comment`: raises the `approval` event).
"""

from __future__ import annotations

import asyncio
import html
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol
from urllib.parse import parse_qs, quote

import azure.functions as func
import structlog

from failover import approval
from failover.alerts import AlertError, parse_alert
from failover.errors import ServiceError
from failover.plan import Plan
from failover.policy import decide, instance_id_for
from failover.run import build_run_input, isoformat
from failover.settings import Settings

MAX_BODY = 256 * 1024  # Azure Monitor alert payloads are at most 256 KB
ACTIVE = {"Running", "Pending", "Suspended"}
PRINCIPAL_HEADER = "X-MS-CLIENT-PRINCIPAL-NAME"
HTML_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}

log = structlog.get_logger("failover.http")


class DurableClient(Protocol):
    """The slice of df's DurableOrchestrationClient the handlers use; both hosts provide it."""

    async def start_new(
        self, orchestration_function_name: str, instance_id: str | None = None, client_input: Any = None
    ) -> str: ...

    async def get_status(
        self, instance_id: str, show_history: bool = False, show_history_output: bool = False, show_input: bool = False
    ) -> Any: ...

    async def raise_event(self, instance_id: str, event_name: str, event_data: Any = None) -> None: ...


def json_response(body: Any, status: int = 200) -> func.HttpResponse:
    return func.HttpResponse(json.dumps(body), status_code=status, mimetype="application/json")


def error_response(status: int, code: str, message: str) -> func.HttpResponse:
    return json_response({"error": {"code": code, "message": message}}, status)


def _html(body: str, status: int = 200) -> func.HttpResponse:
    return func.HttpResponse(body, status_code=status, mimetype="text/html", charset="utf-8", headers=HTML_HEADERS)


def _runtime_status(status: Any) -> str | None:
    value = getattr(status, "runtime_status", None)
    return getattr(value, "value", value)


@dataclass
class Api:
    """The handler set. `plans` by name; `clock` returns epoch seconds (tests move it)."""

    settings: Settings
    plans: dict[str, Plan]
    clock: Callable[[], float] = field(default=time.time)

    def status_url(self, instance_id: str) -> str:
        return f"{self.settings.public_base_url}/api/failovers/{quote(instance_id)}"

    # ---- POST /api/alerts -----------------------------------------------------------------
    async def post_alert(self, req: func.HttpRequest, client: DurableClient) -> func.HttpResponse:
        try:
            payload = _read_json(req)
            alert = parse_alert(payload)
        except ServiceError as err:
            return error_response(err.status, err.code, err.message)
        except AlertError as err:
            return error_response(422, "InvalidAlert", str(err))
        decision = decide(alert, list(self.plans.values()))
        if decision.ignored:
            log.info("alert ignored", alert_rule=alert.alert_rule, reason=decision.reason)
            return json_response({"ignored": True, "reason": decision.reason})
        runs = []
        for plan_name in decision.plans:
            plan = self.plans[plan_name]
            instance_id = instance_id_for(plan.name)
            deduplicated = await self._start_once(client, plan, instance_id, alert.summary())
            runs.append(
                {"instance_id": instance_id, "status_url": self.status_url(instance_id), "deduplicated": deduplicated}
            )
            log.info("alert accepted", plan=plan.name, instance_id=instance_id, deduplicated=deduplicated)
        return json_response({**runs[0], "runs": runs}, 202)

    async def _start_once(self, client: DurableClient, plan: Plan, instance_id: str, trigger: dict[str, Any]) -> bool:
        """Singleton per plan: start unless a run of this plan is active. Returns True if deduplicated."""
        existing = await client.get_status(instance_id)
        if existing and _runtime_status(existing) in ACTIVE:
            return True
        run_input = build_run_input(plan, trigger=trigger, time_scale=self.settings.time_scale)
        try:
            await client.start_new("failover_orchestrator", instance_id, run_input)
        except Exception as err:  # the local engine refuses a running id; a concurrent alert won the race
            if type(err).__name__ == "InstanceExistsError":
                return True
            raise
        return False

    # ---- GET /api/failovers/{instance_id} -------------------------------------------------
    async def get_failover(self, req: func.HttpRequest, client: DurableClient) -> func.HttpResponse:
        instance_id = req.route_params.get("instance_id", "")
        status = await client.get_status(instance_id)
        if not status:
            return error_response(404, "RunNotFound", f"no failover run with id '{instance_id}'")
        return json_response(
            {
                "instance_id": instance_id,
                "runtime_status": _runtime_status(status),
                "custom_status": _public_status(status.custom_status),
                "output": status.output,
                "created_at": isoformat(status.created_time) if status.created_time else None,
                "last_updated_at": isoformat(status.last_updated_time) if status.last_updated_time else None,
            }
        )

    # ---- approvals --------------------------------------------------------------------------
    async def _waiting_run(self, client: DurableClient, instance_id: str) -> tuple[Any, dict[str, Any]]:
        status = await client.get_status(instance_id, show_input=True)
        if not status:
            raise ServiceError(404, "RunNotFound", f"no failover run with id '{instance_id}'")
        custom = status.custom_status or {}
        gate = custom.get("approval") or {}
        if _runtime_status(status) not in ACTIVE or not gate.get("waiting"):
            raise ServiceError(409, "NotWaitingForApproval", "this run is not waiting for an approval")
        return status, gate

    async def _acknowledged(self, client: DurableClient, instance_id: str, used: str) -> bool:
        """Wait (up to ~10 s) until the run lists this nonce:approver as used or stops waiting."""
        for _ in range(100):
            status = await client.get_status(instance_id)
            gate = ((status.custom_status or {}).get("approval") or {}) if status else {}
            if used in (gate.get("used") or []) or not gate.get("waiting", False):
                return True
            await asyncio.sleep(0.1)
        return False

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
        plan = html.escape(str((status.custom_status or {}).get("plan", "")))
        body = f"""
<p>{verb} the failover of plan <b>{plan}</b> (run <code>{html.escape(instance_id)}</code>)?</p>
<p>This link expires at {html.escape(gate.get("expires_at") or "")}.</p>
<form method="post" action="/api/approvals/{html.escape(quote(instance_id))}">
  <input type="hidden" name="token" value="{html.escape(token)}">
  <input type="hidden" name="decision" value="{claims.decision}">
  <label>Comment <input type="text" name="comment" maxlength="500"></label>
  <button type="submit">{verb}</button>
</form>"""
        return _html(_page(f"{verb} failover", body))

    async def post_approval(self, req: func.HttpRequest, client: DurableClient) -> func.HttpResponse:
        """Record a decision: verify token, identity and state, then raise the `approval` event."""
        instance_id = req.route_params.get("instance_id", "")
        try:
            fields = _read_fields(req)
            token, decision = fields.get("token", ""), fields.get("decision", "")
            if decision not in approval.DECISIONS:
                raise ServiceError(422, "InvalidDecision", "field 'decision' must be 'approve' or 'reject'")
            claims = self._verify(token, instance_id)
            if claims.decision != decision:
                raise ServiceError(403, "InvalidToken", f"this link is for '{claims.decision}', not '{decision}'")
            approver = (req.headers.get(PRINCIPAL_HEADER) or "").strip().lower()
            if not approver:
                raise ServiceError(401, "Unauthenticated", f"sign-in required ({PRINCIPAL_HEADER} is missing)")
            _, gate = await self._waiting_run(client, instance_id)
            allowed = {a.lower() for a in gate.get("approvers") or []}
            if approver not in allowed:
                raise ServiceError(403, "NotAnApprover", f"{approver} is not an approver of this plan")
            if f"{claims.nonce}:{approver}" in (gate.get("used") or []) or claims.nonce != gate.get("nonce"):
                raise ServiceError(409, "TokenUsed", "this approval link was already used")
        except ServiceError as err:
            return error_response(err.status, err.code, err.message)
        event = {
            "decision": decision,
            "approver": approver,
            "comment": str(fields.get("comment", ""))[:500] or None,
            "nonce": claims.nonce,
            "at": isoformat(datetime.fromtimestamp(self.clock(), UTC)),
        }
        await client.raise_event(instance_id, "approval", event)
        # The run is the single-use record: answer once it has taken the decision, so a replay of the
        # same link sees it as used. (Two requests racing inside this window are both accepted here;
        # the orchestration records the first and ignores the second, so nothing is decided twice.)
        recorded = await self._acknowledged(client, instance_id, f"{claims.nonce}:{approver}")
        log.info("approval recorded", instance_id=instance_id, approver=approver, decision=decision, acked=recorded)
        if not recorded:
            return json_response({"instance_id": instance_id, "accepted": event}, 202)
        if req.headers.get("Content-Type", "").startswith("application/x-www-form-urlencoded"):
            return _html(
                _page("Decision recorded", f"<p>Recorded: {html.escape(decision)} by {html.escape(approver)}.</p>")
            )
        return json_response({"instance_id": instance_id, "recorded": event}, 200)


def _public_status(custom: Any) -> Any:
    """Custom status without the gate's nonce and used-token list (they are not for display)."""
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


def _read_json(req: func.HttpRequest) -> Any:
    content_type = (req.headers.get("Content-Type") or "application/json").split(";")[0].strip().lower()
    if content_type != "application/json":
        raise ServiceError(415, "UnsupportedMediaType", f"content type '{content_type}' is not application/json")
    try:
        return json.loads(_body(req))
    except ValueError as err:
        raise ServiceError(400, "MalformedJson", f"request body is not valid JSON: {err}") from err


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
