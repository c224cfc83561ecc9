"""The ARM toolkit every simulated resource provider builds on: errors, time, request bodies, long-running
operations, paging and the route table.

- **Errors**: `SimError` (raise it anywhere below a handler: the server answers ARM's `{"error": {code, message}}`
  envelope, `error_response`), `asr_error` (ASR's envelope adds `possibleCauses` and `recommendedAction`).
- **Time**: `utcnow`, `iso` (ARM's timestamps). Simulated durations are divided by the estate's `time_scale`
  once, when something starts (`Cloud.scaled`).
- **Request bodies**: `json_body` parses one (400 `InvalidRequestContent` unless a JSON object); `check_body` holds
  it to a schema from the REST spec (`Field`: JSON type, required, enum values, members, polymorphic variants) and
  refuses it with the service's own codes (`BodyErrors`).
- **Long-running operations**: `Operation` and `OperationBook` (start, finish when due, look up by id) for the
  providers whose LROs are operations (ASR reports jobs of its own); `accepted` answers the 202 with
  `Azure-AsyncOperation` / `Location` / `Retry-After`; `OperationRoutes` is a provider's handlers for them (the
  202, the status body, the `Location` answer).
- **Regions**: `Regions` (on the estate's `Cloud`): the regions whose data planes are down, which SQL, storage and
  Traffic Manager follow.
- **Paging**: `page_by_skip` (`pageSize` / `initialSkip`, as AVD) and `page_by_token` (`skipToken`, as ASR), both
  with a `nextLink` while more remain.
- **Routes**: `RouteTable` (method, path pattern compared case-insensitively, route name, handler) and the path
  prefixes (`RG`, `locations`). A provider registers its routes with `add_routes(table, state)`.

The simulator imports nothing from the product; this module imports no other module of the simulator.
"""

from __future__ import annotations

import json
import re
import uuid
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from aiohttp import web

# ---- the simulated cloud ---------------------------------------------------------------------------------------
SUBSCRIPTION_ID = "5d3c0f34-7a2b-4e53-9d0e-1f2a3b4c5d6e"
PRIMARY_REGION = "westeurope"
RECOVERY_REGION = "northeurope"


class Regions:
    """The regions whose data planes cannot be reached, and since when (`outages`, region -> time, keys lower
    case): a storage primary there reports `unavailable` (its lastSyncTime stops), a planned storage failover is
    refused, a friendly SQL failover from a primary there fails, and Traffic Manager's endpoints there are
    degraded. The estate's outage (`simulator.outage`) declares them; callers need not hold the lock."""

    def __init__(self, lock: AbstractContextManager[Any]) -> None:
        self.lock = lock
        self.outages: dict[str, datetime] = {}

    def down(self, region: str) -> None:
        """Declare a region unreachable (from now, unless it already is)."""
        with self.lock:
            self.outages.setdefault(region.lower(), utcnow())

    def up(self, region: str) -> None:
        with self.lock:
            self.outages.pop(region.lower(), None)

    def reachable(self, region: str | None) -> bool:
        return region is None or region.lower() not in self.outages


class Cloud(Protocol):
    """What the providers of one estate share: one lock guarding all their state, the simulated clock, and the
    regions that are down (`Regions`)."""

    @property
    def lock(self) -> AbstractContextManager[Any]: ...

    @property
    def regions(self) -> Regions: ...

    @property
    def time_scale(self) -> float: ...

    def scaled(self, simulated_seconds: float) -> timedelta:
        """Simulated seconds as wall-clock time (divided by `time_scale`)."""
        ...


# ---- time ------------------------------------------------------------------------------------------------------
def utcnow() -> datetime:
    return datetime.now(UTC)


def iso(ts: datetime | None) -> str | None:
    if ts is None:
        return None
    return ts.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f") + "Z"


# ---- errors ----------------------------------------------------------------------------------------------------
class SimError(Exception):
    """An Azure-style error answer: HTTP status plus the ARM error envelope's code and message.

    `extra` adds keys to the envelope's `error` object: ASR's errors carry `possibleCauses` and
    `recommendedAction` next to `code` and `message`.
    """

    def __init__(self, status: int, code: str, message: str, extra: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.extra = dict(extra or {})


def asr_error(status: int, code: str, message: str, causes: str, action: str) -> SimError:
    """An ASR-style error: the ARM envelope plus `possibleCauses` and `recommendedAction`."""
    return SimError(status, code, message, {"possibleCauses": causes, "recommendedAction": action})


def error_response(
    status: int,
    code: str,
    message: str,
    headers: dict[str, str] | None = None,
    extra: dict[str, str] | None = None,
) -> web.Response:
    """ARM's error envelope: `{"error": {"code", "message", ...extra}}`."""
    error = {"code": code, "message": message, **(extra or {})}
    return web.json_response({"error": error}, status=status, headers=headers)


# ---- request bodies --------------------------------------------------------------------------------------------
async def json_body(request: web.Request) -> dict[str, Any]:
    """A request's JSON object body ({} when empty); anything else is ARM's 400 InvalidRequestContent."""
    raw = await request.read()
    if not raw:
        return {}
    try:
        body = json.loads(raw)
    except ValueError as err:
        raise SimError(400, "InvalidRequestContent", f"The request body is not valid JSON: {err}") from err
    if not isinstance(body, dict):
        raise SimError(400, "InvalidRequestContent", "The request body must be a JSON object.")
    return body


@dataclass(frozen=True)
class Field:
    """One member of a request body schema, as the REST spec defines it: JSON type, required, enum values.

    Objects list their known `members` (unknown members are ignored, as ARM resource providers do); a
    polymorphic object picks its members by `instanceType` (`variants`: every known discriminator value,
    its members; an unknown value is refused). Maps (`metadata`, `tags`) give `values`; arrays `items`.
    """

    kind: str  # string | boolean | integer | object | array
    required: bool = False
    enum: tuple[str, ...] = ()
    members: dict[str, Field] | None = None
    variants: dict[str, dict[str, Field]] | None = None
    values: Field | None = None
    items: Field | None = None


@dataclass(frozen=True)
class BodyErrors:
    """The error codes a service answers a refused body with: missing member, wrong JSON type, bad value."""

    missing: str
    wrong_type: str
    bad_value: str


def _json_kind(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object" if isinstance(value, dict) else "null"


def _at(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def check_body(value: Any, schema: Field, errors: BodyErrors, path: str = "") -> Any:
    """Refuse (400, `errors`' codes) a body the schema does not allow; return it with enum values in their
    canonical case (ARM resource providers read enums case-insensitively)."""
    if value is None:
        if schema.required:
            raise SimError(400, errors.missing, f"{path} is required.")
        return None
    if _json_kind(value) != schema.kind and not (schema.kind == "integer" and type(value) is int):
        where = path or "The request body"
        raise SimError(400, errors.wrong_type, f"{where} must be a JSON {schema.kind}, not {_json_kind(value)}.")
    if schema.enum:
        canonical = next((e for e in schema.enum if e.lower() == value.lower()), None)
        if canonical is None:
            raise SimError(400, errors.bad_value, f"{path} '{value}' is not one of {', '.join(schema.enum)}.")
        return canonical
    if schema.kind == "array" and schema.items is not None:
        return [check_body(item, schema.items, errors, f"{path}[{i}]") for i, item in enumerate(value)]
    if schema.kind != "object":
        return value
    if schema.values is not None:
        return {k: check_body(v, schema.values, errors, _at(path, k)) for k, v in value.items()}
    obj: dict[str, Any] = value
    members = dict(schema.members or {})
    if schema.variants is not None:
        kind = obj.get("instanceType")
        if kind is None:
            raise SimError(400, errors.missing, f"{_at(path, 'instanceType')} is required.")
        variant = next((k for k in schema.variants if isinstance(kind, str) and k.lower() == kind.lower()), None)
        if variant is None:
            known = ", ".join(schema.variants)
            raise SimError(400, errors.bad_value, f"{_at(path, 'instanceType')} '{kind}' is not one of {known}.")
        members.update(schema.variants[variant])
        obj = {**obj, "instanceType": variant}
    checked = dict(obj)
    for name, member in members.items():
        if name in obj or member.required:
            checked[name] = check_body(obj.get(name), member, errors, _at(path, name))
    return checked


# ---- long-running operations -----------------------------------------------------------------------------------
@dataclass
class Operation:
    """One long-running operation: a failover, a VM start or deallocate, a replication break, a restore."""

    id: str
    kind: str  # sql.failover | storage.failover | vm.start | netapp.break | backup.restore | ...
    provider: str  # microsoft.sql | microsoft.storage | microsoft.compute | microsoft.netapp | ...
    location: str
    target: Any  # the resource it acts on
    started_at: datetime
    due_at: datetime
    status: str = "InProgress"  # InProgress | Succeeded | Failed
    ended_at: datetime | None = None
    error: dict[str, str] | None = None  # ARM's {code, message} once Failed
    fail_with: str | None = None  # configured failure: the operation ends Failed with this message
    server: str | None = None  # SQL: the server the failover was requested on (the new primary)


class OperationBook(ABC):
    """The operations of one estate's providers: one record type and one book that starts them, finishes them when
    their simulated time is up (on the first read after), and finds them by id. Subclasses apply an operation's
    effect in `_finish`. Callers hold the estate's lock (`lock`)."""

    def __init__(self, cloud: Cloud) -> None:
        self.cloud = cloud
        self.operations: dict[str, Operation] = {}

    @property
    def lock(self) -> AbstractContextManager[Any]:
        return self.cloud.lock

    def _start(
        self, kind: str, provider: str, location: str, target: Any, seconds: float, fail_with: str | None
    ) -> Operation:
        """An operation that takes `seconds` of simulated time."""
        now = utcnow()
        op = Operation(
            id=str(uuid.uuid4()),
            kind=kind,
            provider=provider,
            location=location,
            target=target,
            started_at=now,
            due_at=now + self.cloud.scaled(seconds),
            fail_with=fail_with,
        )
        self.operations[op.id] = op
        return op

    def refresh(self) -> None:
        """Finish every operation whose simulated time is up and apply its effect."""
        now = utcnow()
        with self.lock:
            for op in self.operations.values():
                if op.status == "InProgress" and now >= op.due_at:
                    op.ended_at = op.due_at
                    self._finish(op)

    def finish_running(self) -> None:
        """Make every running operation due now, so it ends on the next read (tests skip simulated waiting)."""
        with self.lock:
            due = utcnow() - timedelta(seconds=1)
            for op in self.operations.values():
                if op.status == "InProgress":
                    op.due_at = due

    @abstractmethod
    def _finish(self, op: Operation) -> None:
        """Set the operation's status (and error) and apply its effect on its target."""

    def operation(self, op_id: str, provider: str | None = None) -> Operation:
        """An operation by id; with `provider`, only one of that provider (an id is only known to its own)."""
        with self.lock:
            self.refresh()
            op = self.operations.get(op_id.lower())
            if op is None or (provider is not None and op.provider != provider.lower()):
                raise SimError(404, "ResourceNotFound", f"The operation '{op_id}' was not found.")
            return op


class OperationRoutes(ABC):
    """The handlers of one provider's long-running operations (its `OperationBook`): the 202 that starts one and
    points at where to watch it (`_op_urls`, the provider's own), the `Azure-AsyncOperation` status body, and the
    `Location` answer (202 while running, then 200 or the failure). LRO headers point back at `table.base_url`;
    Retry-After is `retry_after_seconds` simulated seconds, scaled like every duration."""

    retry_after_seconds: int = 10

    def __init__(self, table: RouteTable, book: OperationBook) -> None:
        self.table = table
        self.book = book

    @abstractmethod
    def _op_urls(self, sub: str, op: Operation) -> dict[str, str]:
        """Where to watch the operation: `Azure-AsyncOperation` and/or `Location`, as the service sends them."""

    def _accepted(self, sub: str, op: Operation) -> web.Response:
        """202 and where to watch. Retry-After is in simulated seconds, scaled like every duration (0 at high
        time scales: the SDK then polls at its own `polling_interval`)."""
        retry_after = int(self.retry_after_seconds / self.book.cloud.time_scale)
        urls = self._op_urls(sub, op)
        return accepted(
            async_operation=urls.get("Azure-AsyncOperation"), location=urls.get("Location"), retry_after=retry_after
        )

    def _status_json(self, op: Operation) -> dict[str, Any]:
        body: dict[str, Any] = {"name": op.id, "status": op.status, "startTime": iso(op.started_at)}
        if op.ended_at:
            body["endTime"] = iso(op.ended_at)
        if op.error:
            body["error"] = dict(op.error)
        return body

    async def operation_status(self, request: web.Request, m: dict[str, str]) -> web.Response:
        """Azure-AsyncOperation: the status body. `?monitor=true` (Location): 202 while running, then 200."""
        op = self.book.operation(m["op"], m["provider"])
        if "monitor" not in request.query:
            with self.book.lock:
                return web.json_response(self._status_json(op))
        return self._location_answer(m["sub"], op, body=None)

    def _location_answer(self, sub: str, op: Operation, body: dict[str, Any] | None) -> web.Response:
        if op.status == "InProgress":
            return self._accepted(sub, op)
        if op.status == "Failed":
            error = op.error or {"code": "OperationFailed", "message": "The operation failed."}
            return error_response(400, error["code"], error["message"])
        return web.json_response(body) if body is not None else web.Response(status=200)


def accepted(
    *, async_operation: str | None = None, location: str | None = None, retry_after: int | str
) -> web.Response:
    """A long-running operation's 202: where to watch it (`Azure-AsyncOperation`, `Location`: each service sends
    its own pick of the two) and `Retry-After` in seconds."""
    headers: dict[str, str] = {}
    if async_operation is not None:
        headers["Azure-AsyncOperation"] = async_operation
    if location is not None:
        headers["Location"] = location
    headers["Retry-After"] = str(retry_after)
    return web.Response(status=202, headers=headers)


# ---- paging ----------------------------------------------------------------------------------------------------
def page_by_skip(request: web.Request, items: list[dict[str, Any]]) -> web.Response:
    """ARM paging: `pageSize` and `initialSkip` query parameters, `nextLink` while more remain."""
    try:
        size = int(request.query.get("pageSize", "1000"))
        skip = int(request.query.get("initialSkip", "0"))
    except ValueError:
        return error_response(400, "InvalidParameterValue", "pageSize and initialSkip must be integers.")
    size = max(1, min(size, 1000))
    page = items[skip : skip + size]
    body: dict[str, Any] = {"value": page}
    if skip + size < len(items):
        query = dict(request.query)
        query["initialSkip"] = str(skip + size)
        query["pageSize"] = str(size)
        body["nextLink"] = str(request.url.with_scheme("https").with_query(query))
    else:
        body["nextLink"] = None
    return web.json_response(body)


def page_by_token(
    request: web.Request, items: Sequence[Any], size: int, render: Callable[[Any], dict[str, Any]] | None = None
) -> web.Response:
    """ASR paging: the server picks the page size; `nextLink` carries an opaque `skipToken`. `render` builds the
    JSON of the page's items only (a vault of 10,000 items is not rendered a hundred times)."""
    try:
        skip = int(request.query.get("skipToken", "0"))
    except ValueError:
        return error_response(400, "InvalidParameterValue", f"skipToken '{request.query['skipToken']}' is not valid.")
    size = max(1, size)
    page = items[skip : skip + size]
    body: dict[str, Any] = {"value": [render(i) for i in page] if render else list(page), "nextLink": None}
    if skip + size < len(items):
        query = dict(request.query)
        query["skipToken"] = str(skip + size)
        body["nextLink"] = str(request.url.with_scheme("https").with_query(query))
    return web.json_response(body)


# ---- routes ----------------------------------------------------------------------------------------------------
Handler = Callable[[web.Request, dict[str, str]], Awaitable[web.StreamResponse]]

# `/subscriptions/{sub}/resourceGroups/{rg}/providers`: the prefix of every resource route (groups `sub`, `rg`).
RG = r"/subscriptions/(?P<sub>[^/]+)/resourcegroups/(?P<rg>[^/]+)/providers"


def locations(provider: str) -> str:
    """Operation status paths: `/subscriptions/{s}/providers/Microsoft.X/locations/{location}` (groups `sub`,
    `provider`, `loc`); `provider` is the part after `microsoft.`, lower case."""
    return rf"/subscriptions/(?P<sub>[^/]+)/providers/(?P<provider>microsoft\.{provider})/locations/(?P<loc>[^/]+)"


class RouteTable:
    """The simulator's routes, matched in the order added: (method, path pattern, route name, handler). Route names
    (`avd.sessionhosts.update`, ...) key the request counters, latency and faults (`simulator.faults`). `base_url`
    is the simulator's own URL once it listens (LRO headers point back at it)."""

    def __init__(self) -> None:
        self.routes: list[tuple[str, re.Pattern[str], str, Handler]] = []
        self.base_url = ""

    def add(self, method: str, pattern: str, name: str, handler: Handler) -> None:
        self.routes.append((method, re.compile(pattern, re.IGNORECASE), name, handler))
