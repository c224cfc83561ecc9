"""The HTTP layer shared by every resource's handlers: the route table, the engine-client interface both hosts
implement, the error envelope, request bodies and how a run is shown. Handlers are written once against
`azure.functions.HttpRequest` / `HttpResponse` and the df client API.

Azure Functions passes its durable client; the local server passes `LocalDurableClient`. Same paths,
status codes and JSON on both hosts: `ROUTES` is the one route table both register. Every error body is
`{"error": {"code", "message"}}`; bad input gets a 4xx and changes nothing. See docs/api.md and
docs/openapi.yaml.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, Protocol, TypeVar
from urllib.parse import parse_qs

import azure.durable_functions as df
import azure.functions as func
import structlog
from pydantic import BaseModel, ConfigDict, Field, StrictBool, ValidationError

from failover.contracts import unwrap
from failover.errors import ServiceError
from failover.plan import Plan
from failover.run import isoformat

MAX_BODY = 256 * 1024  # Azure Monitor alert payloads are at most 256 KB
ACTIVE = {"Running", "Pending", "Suspended"}
ORCHESTRATOR = "failover_orchestrator"
EVACUATION_ORCHESTRATOR = "evacuation_orchestrator"  # every plan of a region (`POST /api/evacuations`)
BACKUP_TEST_ORCHESTRATOR = "backup_test_orchestrator"  # a restore test: `status`, `list` and `report` read it too
RESTORE_TEST_MODE = "restore-test"  # the `mode` a restore test shows in a run view and a listing
PRINCIPAL_HEADER = "X-MS-CLIENT-PRINCIPAL-NAME"
# The requester of a run started with the function key alone: a machine, never an approver (docs/approvals.md)
KEY_REQUESTER = "function-key"
CLAIMS_HEADER = "X-MS-CLIENT-PRINCIPAL"  # App Service Authentication: the caller's claims, base64 JSON
# The app role Microsoft's secure-webhook setup creates on the app registration and assigns to the Action Group's
# service principal (learn.microsoft.com/azure/azure-monitor/alerts/action-groups#secure-webhook).
ACTION_GROUP_ROLE = "ActionGroupsSecureWebhook"
OUTCOMES = ("Completed", "CompletedWithErrors", "Cancelled", "Rejected", "Failed")  # a finished run's status
RUN_STATUSES = {
    # a run's `status`: its outcome once finished, else the engine's runtime status
    *(o.lower() for o in OUTCOMES), "running", "pending", "suspended", "terminated",
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
CONTROL_EVENT = "control"
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
    # The Action Group's secure webhook: no function key; App Service Authentication validates its Entra ID token
    # and the handler admits only a caller holding the Action Group app role (docs/deploy.md).
    Route("alerts_entra", "POST", "alerts/entra", "post_alert_entra", "anonymous"),
    Route("events", "POST", "events", "post_events"),
    Route("events_validation", "OPTIONS", "events", "options_events"),
    Route("plans_list", "GET", "plans", "list_plans"),
    Route("plan_get", "GET", "plans/{name}", "get_plan"),
    Route("plan_preview", "GET", "plans/{name}/preview", "get_preview"),
    Route("plan_readiness", "GET", "plans/{name}/readiness", "get_readiness"),
    Route("failover_start", "POST", "failovers", "post_failover"),
    Route("failovers_list", "GET", "failovers", "list_failovers"),
    Route("drill_start", "POST", "drills", "post_drill"),
    Route("backup_test_start", "POST", "backup-tests", "post_backup_test"),
    Route("evacuation_start", "POST", "evacuations", "post_evacuation"),
    Route("evacuation_get", "GET", "evacuations/{instance_id}", "get_evacuation"),
    Route("evacuation_cancel", "POST", "evacuations/{instance_id}/cancel", "post_evacuation_cancel"),
    Route("evacuation_report", "GET", "evacuations/{instance_id}/report", "get_evacuation_report"),
    Route("drill_cleanup", "POST", "drills/cleanup", "post_drill_cleanup"),
    Route("failback_start", "POST", "failbacks", "post_failback"),
    Route("failover_status", "GET", "failovers/{instance_id}", "get_failover"),
    Route("failover_cancel", "POST", "failovers/{instance_id}/cancel", "post_cancel"),
    Route("failover_plan_retry", "POST", "failovers/{instance_id}/plans/{recovery_plan}/retry", "post_retry"),
    Route("failover_plan_skip", "POST", "failovers/{instance_id}/plans/{recovery_plan}/skip", "post_skip"),
    Route("failover_plan_force", "POST", "failovers/{instance_id}/plans/{recovery_plan}/force", "post_force"),
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

    async def read_entity_state(self, entityId: df.EntityId) -> Any: ...

    async def purge_instance_history(self, instance_id: str) -> Any: ...


@dataclass(frozen=True)
class Readers:
    """What the handlers read from Azure outside a run (plan preview, readiness), passed in by the host:
    `failover/` imports no activity (ARCHITECTURE, "Layout")."""

    read_groups: Callable[[Plan], list[Any]]  # the plan's recovery plans and VM counts, from the vault
    check_plan: Callable[[Plan], dict[str, Any]]  # the readiness checks, read-only
    # each protected item's current recovery point age (ASR's RPO), for the preview
    read_recovery_points: Callable[[Plan], list[tuple[str, float | None]]] | None = None
    # the recovery region's capacity for the named recovery plans (`capacity_check`'s result, as JSON)
    read_capacity: Callable[[Plan, list[str]], dict[str, Any]] | None = None
    # an evacuation's plans coming up in one region, checked together (`capacity_check_region`'s result, as JSON)
    read_region_capacity: Callable[[dict[str, Any]], dict[str, Any]] | None = None


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> func.HttpResponse:
    return func.HttpResponse(
        json.dumps(body), status_code=status, mimetype="application/json", headers={**JSON_HEADERS, **(headers or {})}
    )


def error_response(status: int, code: str, message: str) -> func.HttpResponse:
    return json_response({"error": {"code": code, "message": message}}, status)


def html_response(body: str, status: int = 200) -> func.HttpResponse:
    return func.HttpResponse(body, status_code=status, mimetype="text/html", charset="utf-8", headers=HTML_HEADERS)


def runtime_status(status: Any) -> str | None:
    value = getattr(status, "runtime_status", None)
    return getattr(value, "value", value)


def principal(req: func.HttpRequest) -> str:
    return (req.headers.get(PRINCIPAL_HEADER) or "").strip().lower()


def caller_roles(req: func.HttpRequest) -> set[str]:
    """The app roles in the caller's claims as App Service Authentication passes them (`X-MS-CLIENT-PRINCIPAL`:
    base64 JSON `{"claims": [{"typ", "val"}], "role_typ"}`); empty when absent or unreadable."""
    try:
        principal = json.loads(base64.b64decode(req.headers.get(CLAIMS_HEADER) or "", validate=True) or b"{}")
        types = {"roles", str(principal.get("role_typ") or "roles")}
        return {str(c.get("val")) for c in principal.get("claims") or [] if c.get("typ") in types}
    except (ValueError, TypeError, AttributeError):
        return set()


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
    force: StrictBool = False  # run outside the plan's maintenance windows (true or false: 0 is not a boolean)
    reason: str | None = Field(default=None, max_length=500)
    requested_by: str | None = Field(default=None, max_length=256)


class EvacuationRequest(BaseModel):
    """`POST /api/evacuations` body."""

    model_config = ConfigDict(extra="forbid")
    region: str = Field(min_length=2, max_length=64)
    reason: str | None = Field(default=None, max_length=500)
    requested_by: str | None = Field(default=None, max_length=256)
    exclude: list[str] = Field(default_factory=list, max_length=100)  # plans left out
    # VMs failing over at once per vault and per recovery region; default FAILOVER_EVACUATION_IN_FLIGHT_CAP (100)
    in_flight_cap: int | None = Field(default=None, ge=1, le=1000)
    dry_run: StrictBool = False  # the evacuation's preview (200), nothing started


class BackupTestRequest(BaseModel):
    """`POST /api/backup-tests` body: one of the plan's `backup_tests` (its index), or all of them."""

    model_config = ConfigDict(extra="forbid")
    plan: str = Field(min_length=1, max_length=63)
    test: int | None = Field(default=None, ge=0, le=99)


class DrillCleanupRequest(BaseModel):
    """`POST /api/drills/cleanup` body."""

    model_config = ConfigDict(extra="forbid")
    plan: str = Field(min_length=1, max_length=63)
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
    # approve without these recovery plans: of the run's `approval.excludable` (plans that cannot fail over as
    # they are), as the card's "Approve without" link does
    exclude: list[str] = Field(default_factory=list, max_length=100)


def validated(model: type[M], data: Any) -> M:
    """422 naming the field's path for a body that does not fit the schema."""
    if not isinstance(data, dict):
        raise ServiceError(422, "InvalidBody", "$: the request body must be a JSON object")
    try:
        return model.model_validate(data)
    except ValidationError as err:
        first = err.errors()[0]
        path = ".".join(str(p) for p in first["loc"]) or "$"
        raise ServiceError(422, "InvalidBody", f"{path}: {first['msg']}") from None


def optional_json(req: func.HttpRequest) -> Any:
    """A JSON body that may be empty (control requests)."""
    if not (req.get_body() or b"").strip():
        return {}
    return read_json(req)


def run_view(instance_id: str, status: Any, full: bool) -> dict[str, Any]:
    """The run as the API shows it: its live status while running, its summary once finished."""
    custom = public_status(status.custom_status) or {}
    output = run_output(status)
    source = output or custom
    gate = custom.get("approval") or {}
    view: dict[str, Any] = {
        "instance_id": instance_id,
        "plan": source.get("plan"),
        "mode": source.get("mode"),
        "runtime_status": runtime_status(status),
        "status": run_status(status),
        "stage": custom.get("stage"),
        "created_at": isoformat(status.created_time) if status.created_time else None,
        "last_updated_at": isoformat(status.last_updated_time) if status.last_updated_time else None,
    }
    if not full:
        return view
    return {
        **view,
        "requested_by": source.get("requested_by"),
        "requested_by_claim": source.get("requested_by_claim"),
        "reason": source.get("reason"),
        "progress": custom.get("progress"),
        "approval": gate or None,
        "approvals": (output or {}).get("approvals")
        or [{k: d.get(k) for k in ("approver", "decision", "at", "comment")} for d in gate.get("decisions") or []],
        "triggers": source.get("triggers") or [],
        "resolved": source.get("resolved"),
        "resolutions": source.get("resolutions") or [],
        "claim": source.get("claim"),
        "rto_met": (output or {}).get("rto_met"),
        "batches": custom.get("batches") or [],
        "operator": custom.get("operator"),
        "steps": source.get("steps") or [],
        "errors": source.get("errors") or [],
        "custom_status": custom,
        "output": output if output is not None else status.output,
    }


def restore_test_view(instance_id: str, status: Any, full: bool) -> dict[str, Any]:
    """A restore test (`backup_test_orchestrator`) as a run view: mode `restore-test`, status Completed when the
    test succeeded (Failed otherwise), its errors; `output` is its result (`BackupTestResult`)."""
    output = run_output(status)
    runtime = runtime_status(status)
    outcome = (
        ("Completed" if output.get("status") == "Succeeded" else "Failed") if output else str(runtime or "Pending")
    )
    plan = (output or {}).get("plan") or instance_id.removeprefix("backup-test-").rsplit("-", 1)[0]
    view: dict[str, Any] = {
        "instance_id": instance_id,
        "plan": plan,
        "mode": RESTORE_TEST_MODE,
        "runtime_status": runtime,
        "status": outcome,
        "stage": "restore test finished" if output else "restore test running",
        "created_at": isoformat(status.created_time) if status.created_time else None,
        "last_updated_at": isoformat(status.last_updated_time) if status.last_updated_time else None,
    }
    if not full:
        return view
    return {
        **view,
        "requested_by": None,
        "requested_by_claim": None,
        "reason": None,
        "progress": None,
        "approval": None,
        "approvals": [],
        "triggers": [],
        "resolved": None,
        "resolutions": [],
        "batches": [],
        "operator": None,
        "steps": [],
        "errors": list((output or {}).get("errors") or []),
        "custom_status": None,
        "output": output,
    }


def run_status(status: Any) -> str:
    """A run's status: its outcome (Completed, CompletedWithErrors, Cancelled, Rejected, Failed) once it has
    one, from its output or, where a listing carries no outputs, from the outcome its last custom status
    recorded; else the engine's runtime status (Running, Pending, Suspended, Terminated, or Failed when the
    orchestration itself failed)."""
    output = run_output(status)
    if output and output.get("status"):
        return str(output["status"])
    custom = status.custom_status if isinstance(status.custom_status, dict) else {}
    runtime = str(runtime_status(status) or "Pending")
    if custom.get("outcome") in OUTCOMES and runtime not in ACTIVE:
        return str(custom["outcome"])
    return runtime


def run_output(status: Any) -> dict[str, Any] | None:
    """A finished orchestration's output document as plain JSON (None without a status or a document: a failed
    run's output is its error text). Both hosts' clients return the JSON the orchestration wrote, where a contract
    would sit in azure-functions-durable's custom-object envelope."""
    output = unwrap(status.output) if status else None
    return output if isinstance(output, dict) else None


HIDDEN = ("callbacks", "callbacks_used")  # callback nonces and who used them: not for display


def public_status(custom: Any) -> Any:
    """Custom status without the gate's nonce and used-decision record, nor the callback nonces (not for display)."""
    if not isinstance(custom, dict) or not isinstance(custom.get("approval"), dict):
        return {k: v for k, v in custom.items() if k not in HIDDEN} if isinstance(custom, dict) else custom
    gate = {k: v for k, v in custom["approval"].items() if k not in ("nonce", "used")}
    return {k: v for k, v in custom.items() if k not in HIDDEN} | {"approval": gate}


def read_body(req: func.HttpRequest) -> bytes:
    body = req.get_body() or b""
    if len(body) > MAX_BODY:
        raise ServiceError(413, "PayloadTooLarge", f"request body is {len(body)} bytes; the limit is {MAX_BODY}")
    return body


def check_json_type(req: func.HttpRequest, accepted: tuple[str, ...] = ("application/json",)) -> None:
    """415 unless the request's content type (default JSON) is one of `accepted`."""
    content_type = (req.headers.get("Content-Type") or "application/json").split(";")[0].strip().lower()
    if content_type not in accepted:
        shown = content_type.encode("utf-8", "replace").decode("ascii", "replace")
        raise ServiceError(415, "UnsupportedMediaType", f"content type '{shown}' is not {' or '.join(accepted)}")


def read_json(req: func.HttpRequest, accepted: tuple[str, ...] = ("application/json",)) -> Any:
    check_json_type(req, accepted)
    return decode_json(read_body(req))


def decode_json(body: bytes) -> Any:
    """A request body's JSON, or 400 MalformedJson."""
    try:
        return json.loads(body)
    except ValueError as err:
        raise ServiceError(400, "MalformedJson", f"request body is not valid JSON: {err}") from err
    except RecursionError:
        raise ServiceError(400, "MalformedJson", "request body is nested too deeply") from None


def read_fields(req: func.HttpRequest) -> dict[str, str]:
    """Form-encoded (the confirm page) or JSON (scripts) fields."""
    content_type = (req.headers.get("Content-Type") or "").split(";")[0].strip().lower()
    if content_type == "application/x-www-form-urlencoded":
        parsed = parse_qs(read_body(req).decode("utf-8", "replace"), keep_blank_values=True)
        return {k: v[0] for k, v in parsed.items()}
    data = read_json(req)
    if not isinstance(data, dict):
        raise ServiceError(422, "InvalidBody", "the request body must be a JSON object")
    return {k: str(v) for k, v in data.items() if v is not None}
