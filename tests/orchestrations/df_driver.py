"""Run an orchestration whole on azure-functions-durable 1.x's own replay executor, the Azure host's path.

The Functions host calls an orchestrator through its `orchestrationTrigger`: the Durable extension sends the
instance's history as one JSON string, the worker decodes it with `OrchestrationTriggerConverter` and calls
the handle `DFApp.orchestration_trigger` registered (`Orchestrator.create(fn)`: `DurableOrchestrationContext.
from_json(body)` then `Orchestrator(fn).handle(ctx)`), and returns the JSON state (actions, custom status,
output). This driver plays the extension's part, episode by episode, until the instance completes or fails:

- each scheduled activity is RUN against whatever `failover.settings` point at (the simulator in the tests),
  looked up in `activities.ALL`; its input is decoded and its result encoded with `azure.functions`'
  `ActivityTriggerConverter` (the worker's own codec, so contracts round-trip in their custom-object envelope),
  and recorded as TaskScheduled + TaskCompleted or TaskFailed. Ready activities run concurrently (a thread pool).
- `call_activity_with_retry`: after a TaskFailed the SDK waits on a retry timer (TimerCreated/TimerFired, the
  interval of its RetryOptions in real time) then reschedules; after the last attempt DTFx still creates one
  more timer before the failure is delivered (see `RetryAbleTask.try_set_value`); the driver does the same.
- timers fire in real time (OrchestratorStarted carries the wall clock, so the simulator's real-time jobs and
  the orchestrator's clock agree); a cancelled timer still fires, as DTFx created it.
- sub-orchestrations are driven by the same loop, interleaved with the parent (SubOrchestrationInstanceCreated,
  then Completed/Failed with the child's output or error).
- entities (`call_entity`, `signal_entity`): the operation runs at once through the handle `DFApp.entity_trigger`
  registered (`Entity.create(fn)`, a JSON context with the entity's state and a one-operation batch), one at a
  time as the extension runs them; a call is recorded as EventSent (its request id in the input) and answered
  by an EventRaised named by that id carrying the extension's ResponseMessage; a signal is an EventSent.
- external events (EventRaised) come from the test's `Script`, asked after every episode of an instance that
  waits for one, with what it waits for, its custom status and the activities run so far.

Task ids follow the SDK's sequence numbers: new actions in the order of the action list; a retry's timer and
rescheduled attempt when its TaskFailed/TimerFired is replayed (those events go first in an episode, so their
ids come before the ids of tasks the same episode schedules). A completion the executor cannot match is a
replay mismatch: the SDK only warns ("Potential duplicate Task completion"); the driver raises.

Limits checked on every episode (a `LimitExceeded` names the instance, what and how large):
- custom status ≤ 16 KB of UTF-16 JSON text: "The custom status payload is limited to 16 KB of UTF-16 JSON text"
  (https://learn.microsoft.com/azure/durable-task/common/durable-task-custom-orchestration-status; DTFx fails the
  orchestration with "The UTF-16 size of the JSON-serialized payload must not exceed 16 KB"). Measured on the
  compact JSON the extension re-serialises (Newtonsoft: no spaces, non-ASCII kept), 2 bytes per UTF-16 unit.
- Durable Task Scheduler: 1 MiB per message (activity and sub-orchestration inputs and results, orchestration
  input and output, event payloads); larger payloads need its blob offload, which Python Durable Functions does
  not have (https://learn.microsoft.com/azure/durable-task/scheduler/durable-task-scheduler-large-payloads, and
  the DTS sample's "1 MiB scheduler ceiling", EXTERNALIZE_THRESHOLD_BYTES ≤ 1,048,576). Measured as UTF-8.
Not failures, so not enforced: the Azure Storage backend compresses and offloads messages over ~45 KB (and
history rows over its 64 KB table property) to blobs by itself; timers longer than the backend's maximum
(6 days on Azure Storage) are split by the SDK's long timers when the host sends maximumShortTimerDuration.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import re
import time
import traceback
import uuid
import warnings
from collections.abc import Callable, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import azure.durable_functions as df
from azure.durable_functions.models.actions.ActionType import ActionType
from azure.durable_functions.models.history.HistoryEventType import HistoryEventType as Ev
from azure.functions.durable_functions import ActivityTriggerConverter, OrchestrationTriggerConverter
from azure.functions.meta import Datum

import activities
import orchestrations
from failover.contracts import unwrap

CUSTOM_STATUS_LIMIT = 16 * 1024  # bytes of UTF-16 JSON text
MESSAGE_LIMIT = 1024 * 1024  # Durable Task Scheduler, bytes (UTF-8) per message
OUT_OF_PROC = "\n\n$OutOfProcData$:"  # how the SDK appends its state to an orchestrator's exception


class LimitExceeded(AssertionError):
    """A payload over a documented Durable Functions / Durable Task Scheduler limit."""


class DriverError(AssertionError):
    """The orchestration could not be driven: a replay mismatch, or waiting on nothing the driver can give."""


def _ts(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _parse(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def status_bytes(status: Any) -> int:
    """Size of a custom status as DTFx counts it: UTF-16 bytes of its compact JSON."""
    return len(json.dumps(status, separators=(",", ":"), ensure_ascii=False).encode("utf-16-le"))


@dataclass
class Call:
    """One activity execution: name, decoded input and result as plain JSON (envelopes unwrapped)."""

    instance_id: str
    name: str
    input: Any
    result: Any = None
    error: str | None = None
    attempt: int = 1


@dataclass
class Waiting:
    """What a Script sees: the instance waiting on external events, its custom status, the calls so far."""

    instance_id: str
    events: list[str]
    status: dict[str, Any]
    calls: list[Call]
    elapsed: float


Script = Callable[[Waiting], list[tuple[str, Any]]]


@dataclass
class _Work:
    """A pending task of an instance: an activity (future), a timer (fire_at) or a child instance."""

    kind: str
    name: str = ""
    input: str = ""
    retry: dict[str, Any] | None = None
    attempt: int = 1
    future: Future[tuple[str | None, str | None, str | None]] | None = None
    fire_at: datetime | None = None
    retry_of: _Work | None = None
    child: Instance | None = None
    call: Call | None = None


@dataclass
class Instance:
    """One orchestration instance: its history, the ids it expects, what it waits on, how it ended."""

    instance_id: str
    name: str
    input: str
    parent: tuple[Instance, int] | None = None
    history: list[dict[str, Any]] = field(default_factory=list)
    inbox: list[tuple[bool, dict[str, Any]]] = field(default_factory=list)  # (retry event first?, event)
    pending: dict[int, _Work] = field(default_factory=dict)
    waits: dict[str, int] = field(default_factory=dict)
    next_id: int = 0
    seen: int = 0
    episodes: int = 0
    runtime_status: str = "Running"
    output: Any = None
    error: str | None = None
    custom_status: Any = None
    max_status_bytes: int = 0


class Driver:
    """Drives one root orchestration and its sub-orchestrations to the end. `run()` returns the root."""

    def __init__(
        self,
        script: Script | None = None,
        workers: int = 16,
        timeout: float = 120.0,
        activity_functions: Mapping[str, Callable[[Any], Any]] | None = None,
    ) -> None:
        """`activity_functions` answers activities instead of `activities.ALL` (a test's scripted stand-ins; they
        still go through the worker's converters)."""
        app = df.DFApp()
        for module in (*orchestrations.MODULES, *activities.MODULES):
            app.register_functions(module.bp)
        functions = app.get_functions()  # builds (and name-checks) the functions: once
        self.handles = {
            f.get_function_name(): f.get_user_function()
            for f in functions
            if any(b.type == "orchestrationTrigger" for b in f.get_bindings())
        }
        self.entity_handles = {
            b.entity_name: f.get_user_function()
            for f in functions
            for b in f.get_bindings()
            if b.type == "entityTrigger"
        }
        self.entities: dict[str, str | None] = {}  # scheduler id "@name@key" -> state JSON (None: never set)
        self.script = script or (lambda waiting: [])
        self.activity_functions = activities.ALL if activity_functions is None else activity_functions
        self.workers = workers
        self.pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="df-activity")
        self.timeout = timeout
        self.instances: dict[str, Instance] = {}
        self.calls: list[Call] = []
        self.raised: list[tuple[str, str, Any]] = []  # (instance, event, payload)
        self.max_message_bytes = 0
        self.started = time.monotonic()
        self._clock = datetime.now(UTC)

    # ---- the loop ------------------------------------------------------------------------------
    def run(self, name: str, instance_id: str, input_: Any) -> Instance:
        """Start `name` with `input_` (encoded as df's client encodes it) and drive it to Completed or Failed. A driver
        may run several roots one after the other (they share its entities, as runs share a task hub)."""
        if self.pool._shutdown:  # type: ignore[attr-defined]  # an earlier run() closed it
            self.pool = ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="df-activity")
        root = self._start(name, instance_id, _dumps(input_), None)
        deadline = time.monotonic() + self.timeout
        try:
            while root.runtime_status == "Running":
                if time.monotonic() > deadline:
                    raise DriverError(f"{instance_id} still running after {self.timeout:.0f}s: {self._describe()}")
                self._collect()
                ready = [i for i in self.instances.values() if i.inbox and i.runtime_status == "Running"]
                for instance in ready:
                    self._episode(instance)
                if not ready:
                    self._idle()
        finally:
            self.close()
        return root

    def close(self) -> None:
        self.pool.shutdown(wait=False, cancel_futures=True)

    def _start(self, name: str, instance_id: str, input_json: str, parent: tuple[Instance, int] | None) -> Instance:
        if name not in self.handles:
            raise DriverError(f"no orchestrator named {name!r} is registered")
        self._check_message(f"{instance_id}: input of orchestration {name}", input_json)
        instance = Instance(instance_id=instance_id, name=name, input=input_json, parent=parent)
        self.instances[instance_id] = instance
        started: dict[str, Any] = {"Name": name, "Input": input_json, "Version": ""}
        if parent is not None:
            started["ParentInstance"] = {"OrchestrationInstance": {"InstanceId": parent[0].instance_id}}
        instance.history.append(self._event(Ev.ORCHESTRATOR_STARTED))
        instance.inbox.append((False, self._event(Ev.EXECUTION_STARTED, **started)))
        return instance

    def _now(self) -> datetime:
        self._clock = max(self._clock, datetime.now(UTC))
        return self._clock

    def _event(self, kind: Ev, event_id: int = -1, **fields: Any) -> dict[str, Any]:
        return {"EventType": int(kind), "EventId": event_id, "IsPlayed": False, "Timestamp": _ts(self._now()), **fields}

    def _check_message(self, what: str, text: str | None) -> None:
        size = len((text or "").encode("utf-8"))
        self.max_message_bytes = max(self.max_message_bytes, size)
        if size > MESSAGE_LIMIT:
            raise LimitExceeded(f"{what} is {size:,} bytes; the Durable Task Scheduler allows {MESSAGE_LIMIT:,}")

    # ---- one episode ---------------------------------------------------------------------------
    def _episode(self, instance: Instance) -> None:
        """Append the inbox (retry events first), replay through the trigger's handle, act on new actions."""
        history = instance.history
        for event in history:
            event["IsPlayed"] = True
        if instance.episodes:  # the first episode's OrchestratorStarted is already there
            history.append(self._event(Ev.ORCHESTRATOR_STARTED))
        for retry_first, event in sorted(instance.inbox, key=lambda item: not item[0]):
            history.append(event)
            self._after_event(instance, event, retry_first)
        instance.inbox.clear()
        instance.episodes += 1
        state = self._invoke(instance)
        if "customStatus" in state:
            instance.custom_status = state["customStatus"]
            size = status_bytes(instance.custom_status)
            instance.max_status_bytes = max(instance.max_status_bytes, size)
            if size > CUSTOM_STATUS_LIMIT:
                raise LimitExceeded(
                    f"{instance.instance_id}: custom status is {size:,} bytes as UTF-16 JSON; "
                    f"Durable Functions allows 16 KB ({CUSTOM_STATUS_LIMIT:,} bytes)"
                )
        leaves = [leaf for group in state.get("actions") or [] for leaf in _leaves(group)]
        if state.get("error") or state.get("isDone"):
            for action in leaves[instance.seen :]:  # sent with the completion: signals (fire and forget)
                if action["actionType"] == ActionType.SIGNAL_ENTITY:
                    self._schedule(instance, action)
            history.append(self._event(Ev.ORCHESTRATOR_COMPLETED))
            self._finish(instance, state)
            return
        for action in leaves[instance.seen :]:
            self._schedule(instance, action)
        instance.seen = len(leaves)
        history.append(self._event(Ev.ORCHESTRATOR_COMPLETED))
        self._ask_script(instance)

    def _invoke(self, instance: Instance) -> dict[str, Any]:
        """Exactly the trigger's call: JSON string in (OrchestrationTriggerConverter), JSON string out."""
        body = json.dumps(
            {
                "history": instance.history,
                "instanceId": instance.instance_id,
                "isReplaying": False,
                "parentInstanceId": instance.parent[0].instance_id if instance.parent else None,
                "input": instance.input,
                "upperSchemaVersion": 1,  # ReplaySchema V2: one flat action list, compound actions nested
                "upperSchemaVersionNew": 2,  # V3 (long timers apply only with the backend's timer settings)
            }
        )
        context = OrchestrationTriggerConverter.decode(Datum(body, "json"), trigger_metadata=None)
        handle = self.handles[instance.name]
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                out = OrchestrationTriggerConverter.encode(handle(context), expected_type=None).value
            except Exception as err:  # the orchestrator raised: the SDK appended its state to the message
                message, _, state = str(err).partition(OUT_OF_PROC)
                parsed = json.loads(state) if state else {}
                return {**parsed, "error": parsed.get("error") or message or type(err).__name__}
        for warning in caught:
            match = re.search(r"Potential duplicate Task completion for TaskId: (\d+)$", str(warning.message))
            if match:  # event names may arrive before their wait (DTFx buffers them); task ids must match
                raise DriverError(f"{instance.instance_id}: the executor has no task {match[1]}: replay mismatch")
        return json.loads(out)

    def _finish(self, instance: Instance, state: dict[str, Any]) -> None:
        if state.get("error"):
            instance.runtime_status, instance.error = "Failed", str(state["error"])
        else:
            instance.runtime_status, instance.output = "Completed", state.get("output")
            self._check_message(f"{instance.instance_id}: output", _dumps(instance.output))
        if instance.parent is not None:
            parent, task_id = instance.parent
            if instance.error is None:
                parent.inbox.append(
                    (False, self._event(Ev.SUB_ORCHESTRATION_INSTANCE_COMPLETED, TaskScheduledId=task_id,
                                        Result=_dumps(instance.output)))
                )  # fmt: skip
            else:
                reason = f"Orchestrator function '{instance.name}' failed: {instance.error.splitlines()[0]}"
                parent.inbox.append(
                    (False, self._event(Ev.SUB_ORCHESTRATION_INSTANCE_FAILED, TaskScheduledId=task_id,
                                        Reason=reason, Details=instance.error))
                )  # fmt: skip

    # ---- actions -------------------------------------------------------------------------------
    def _schedule(self, instance: Instance, action: dict[str, Any]) -> None:
        kind = action["actionType"]
        if kind == ActionType.WAIT_FOR_EXTERNAL_EVENT:
            name = action["externalEventName"]
            instance.waits[name] = instance.waits.get(name, 0) + 1
            return
        task_id = instance.next_id
        instance.next_id += 1
        if kind in (ActionType.CALL_ACTIVITY, ActionType.CALL_ACTIVITY_WITH_RETRY):
            retry = action.get("retryOptions") if kind == ActionType.CALL_ACTIVITY_WITH_RETRY else None
            self._run_activity(instance, task_id, _Work("activity", action["functionName"], action["input"], retry))
        elif kind == ActionType.CREATE_TIMER:
            instance.history.append(self._event(Ev.TIMER_CREATED, task_id, FireAt=action["fireAt"]))
            instance.pending[task_id] = _Work("timer", fire_at=_parse(action["fireAt"]))
        elif kind in (ActionType.CALL_SUB_ORCHESTRATOR, ActionType.CALL_SUB_ORCHESTRATOR_WITH_RETRY):
            child_id = action.get("instanceId") or f"{instance.instance_id}:{task_id}"
            instance.history.append(
                self._event(Ev.SUB_ORCHESTRATION_INSTANCE_CREATED, task_id, Name=action["functionName"],
                            Input=action["input"], InstanceId=child_id)
            )  # fmt: skip
            child = self._start(action["functionName"], child_id, action["input"], (instance, task_id))
            instance.pending[task_id] = _Work("child", child=child)
        elif kind == ActionType.CALL_ENTITY:
            request_id = str(uuid.uuid4())
            sent = json.dumps({"id": request_id, "op": action["operation"], "input": action.get("input")})
            instance.history.append(self._event(Ev.EVENT_SENT, task_id, Name="op", Input=sent))
            response = self._run_entity(action["instanceId"], action["operation"], action.get("input"))
            instance.inbox.append((False, self._event(Ev.EVENT_RAISED, Name=request_id, Input=response)))
        elif kind == ActionType.SIGNAL_ENTITY:
            sent = json.dumps({"op": action["operation"], "input": action.get("input"), "signal": True})
            instance.history.append(self._event(Ev.EVENT_SENT, task_id, Name="op", Input=sent))
            self._run_entity(action["instanceId"], action["operation"], action.get("input"))
        else:
            raise DriverError(f"{instance.instance_id}: action type {kind} is not supported by this driver")

    def _run_entity(self, scheduler_id: str, operation: str, input_json: str | None) -> str:
        """One operation on an entity through its registered handle; returns the ResponseMessage JSON."""
        _, name, key = scheduler_id.split("@", 2)
        if name not in self.entity_handles:
            raise DriverError(f"no entity named {name!r} is registered")
        state = self.entities.get(scheduler_id)
        context = {
            "self": {"name": name, "key": key},
            "state": state,
            "exists": state is not None,
            # the extension hands each operation's input as a JSON string of the input's JSON (DurableEntityContext.
            # get_input decodes twice)
            "batch": [{"name": operation, "input": json.dumps(input_json)}],
        }
        out = json.loads(self.entity_handles[name](json.dumps(context)))
        if out.get("entityExists"):
            self.entities[scheduler_id] = out.get("entityState")
        result = out["results"][0]
        response: dict[str, Any] = {"result": result["result"]}
        if result.get("isError"):
            response["exceptionType"] = "Exception"
        return json.dumps(response)

    def _run_activity(self, instance: Instance, task_id: int, work: _Work) -> None:
        if work.name not in self.activity_functions:
            raise DriverError(f"{instance.instance_id}: no activity named {work.name!r}")
        self._check_message(f"{instance.instance_id}: input of activity {work.name}", work.input)
        instance.history.append(self._event(Ev.TASK_SCHEDULED, task_id, Name=work.name, Input=work.input))
        work.call = Call(instance.instance_id, work.name, unwrap(json.loads(work.input)), attempt=work.attempt)
        self.calls.append(work.call)
        work.future = self.pool.submit(_execute, self.activity_functions[work.name], work.input)
        instance.pending[task_id] = work

    def _after_event(self, instance: Instance, event: dict[str, Any], retry_event: bool) -> None:
        """A retry's TaskFailed allocates its timer; that timer's firing allocates the next attempt (as the
        SDK does while replaying these events)."""
        if not retry_event:
            return
        if event["EventType"] == Ev.TASK_FAILED:
            failed = event["_work"]
            delay = timedelta(milliseconds=failed.retry["firstRetryIntervalInMilliseconds"])
            timer_id = instance.next_id
            instance.next_id += 1
            fire_at = self._now() + delay
            instance.history.append(self._event(Ev.TIMER_CREATED, timer_id, FireAt=_ts(fire_at)))
            instance.pending[timer_id] = _Work("timer", fire_at=fire_at, retry_of=failed)
        elif event["EventType"] == Ev.TIMER_FIRED:
            failed = event["_work"]
            if failed.attempt < failed.retry["maxNumberOfAttempts"]:
                task_id = instance.next_id
                instance.next_id += 1
                again = _Work("activity", failed.name, failed.input, failed.retry, failed.attempt + 1)
                self._run_activity(instance, task_id, again)
        del event["_work"]  # bookkeeping only, not part of the history the executor sees

    # ---- completions ---------------------------------------------------------------------------
    def _collect(self) -> None:
        """Move finished activities and due timers into their instances' inboxes."""
        now = datetime.now(UTC)
        for instance in self.instances.values():
            for task_id, work in list(instance.pending.items()):
                if work.kind == "activity" and work.future is not None and work.future.done():
                    del instance.pending[task_id]
                    result, reason, details = work.future.result()
                    assert work.call is not None
                    if reason is None:
                        self._check_message(f"{instance.instance_id}: result of activity {work.name}", result)
                        work.call.result = unwrap(json.loads(result)) if result else None
                        event = self._event(Ev.TASK_COMPLETED, TaskScheduledId=task_id, Result=result)
                        instance.inbox.append((False, event))
                    else:
                        work.call.error = reason
                        event = self._event(Ev.TASK_FAILED, TaskScheduledId=task_id, Reason=reason, Details=details)
                        if work.retry:
                            event["_work"] = work
                        instance.inbox.append((bool(work.retry), event))
                elif work.kind == "timer" and work.fire_at is not None and work.fire_at <= now:
                    del instance.pending[task_id]
                    event = self._event(Ev.TIMER_FIRED, TimerId=task_id, FireAt=_ts(work.fire_at))
                    if work.retry_of is not None:
                        event["_work"] = work.retry_of
                    instance.inbox.append((work.retry_of is not None, event))
                elif work.kind == "child" and work.child is not None and work.child.runtime_status != "Running":
                    del instance.pending[task_id]

    def _ask_script(self, instance: Instance) -> None:
        waiting = [name for name, count in instance.waits.items() if count > 0]
        if not waiting:
            return
        view = Waiting(
            instance.instance_id,
            waiting,
            instance.custom_status or {},
            self.calls,
            time.monotonic() - self.started,
        )
        for name, payload in self.script(view):
            text = _dumps(payload)
            self._check_message(f"{instance.instance_id}: event {name}", text)
            self.raised.append((instance.instance_id, name, payload))
            if instance.waits.get(name):
                instance.waits[name] -= 1
            instance.inbox.append((False, self._event(Ev.EVENT_RAISED, Name=name, Input=text)))

    def _idle(self) -> None:
        """Nothing to replay: wait for an activity or the next timer; ask waiting scripts again meanwhile."""
        futures = [w.future for i in self.instances.values() for w in i.pending.values() if w.future is not None]
        timers = [w.fire_at for i in self.instances.values() for w in i.pending.values() if w.fire_at is not None]
        running = [i for i in self.instances.values() if i.runtime_status == "Running"]
        if not futures and not timers:
            for instance in running:
                self._ask_script(instance)
            if not any(i.inbox for i in running):
                raise DriverError(f"nothing pending and the script raised nothing: {self._describe()}")
            return
        until = min(timers, default=None)
        timeout = 0.05 if until is None else min(0.05, max(0.0, (until - datetime.now(UTC)).total_seconds()))
        if futures:
            wait(futures, timeout=timeout, return_when=FIRST_COMPLETED)
        else:
            time.sleep(timeout)
        for instance in running:  # a script may act on time or on the simulator's state, not only on episodes
            if not instance.inbox:
                self._ask_script(instance)

    def _describe(self) -> str:
        return "; ".join(
            f"{i.instance_id} stage {i.custom_status.get('stage') if isinstance(i.custom_status, dict) else None}"
            f" waits {[n for n, c in i.waits.items() if c]} pending {sorted(w.kind for w in i.pending.values())}"
            for i in self.instances.values()
            if i.runtime_status == "Running"
        )


def _dumps(value: Any) -> str:
    """df's encoding of a payload (custom objects in their envelope)."""
    return str(ActivityTriggerConverter.encode(value, expected_type=None).value)


def _leaves(action: Any) -> list[dict[str, Any]]:
    """Flatten WhenAll/WhenAny compound actions into their scheduled actions, in order."""
    if isinstance(action, list):
        return [leaf for item in action for leaf in _leaves(item)]
    if action.get("actionType") in (ActionType.WHEN_ALL, ActionType.WHEN_ANY):
        return _leaves(action.get("compoundActions") or [])
    return [action]


def _execute(fn: Callable[[Any], Any], input_json: str) -> tuple[str | None, str | None, str | None]:
    """The worker's activity path: decode the trigger input, call, encode the result. Returns (result JSON,
    None, None) or (None, reason, details) as the extension records a failed activity."""
    payload = ActivityTriggerConverter.decode(Datum(input_json, "json"), trigger_metadata=None)
    try:
        result = fn(payload)
        if inspect.isawaitable(result):
            result = asyncio.run(result)  # type: ignore[arg-type]
        return _dumps(result), None, None
    except Exception as err:
        name = getattr(fn, "__name__", "activity")
        reason = f"Activity function '{name}' failed: {type(err).__name__}: {err}"
        return None, reason, "".join(traceback.format_exception_only(err)).strip()
