"""The worker side of the local host: the *same* orchestrators, activities and entities as Azure's, on Microsoft's
durabletask worker.

`DfContext` presents the azure-functions-durable orchestration context API on a durabletask context
(durabletask tasks already have `.result` and timers `.cancel()`, so it only renames calls); `adapt_orchestrator`,
`adapt_activity` and `adapt_entity` wrap the workflows, activities and entity operations unchanged; `CODEC` writes
every payload as the JSON Durable Functions writes in Azure. `build_worker` assembles a worker for a backend's
address, in the host's process (`local.engine.LocalEngine`) or in one of its own (`local.worker_process`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Generator
from datetime import UTC, datetime, timedelta
from typing import Any

import azure.durable_functions as df
from durabletask import task as dt_task
from durabletask.entities import EntityContext, EntityInstanceId
from durabletask.grpc_options import GrpcWorkerResiliencyOptions
from durabletask.serialization import DataConverter
from durabletask.worker import ConcurrencyOptions, TaskHubGrpcWorker

from failover import contracts


class DfCodec(DataConverter):
    """durabletask's payload converter, set to azure-functions-durable's codec: every input, result, event and
    status goes into the local history as the same JSON Durable Functions writes in Azure (contracts in their
    `__class__`/`__module__`/`__data__` envelope, rebuilt by `from_json`), so one model serves both hosts."""

    def serialize(self, value: Any) -> str | None:
        return None if value is None else contracts.dumps(value)

    def deserialize(self, data: str | None, target_type: type | None = None) -> Any:
        return None if data is None or data == "" else contracts.loads(data)

    def coerce(self, value: Any, target_type: type | None = None) -> Any:
        """A value `deserialize` already decoded (contracts rebuilt): nothing left to do."""
        return value


CODEC = DfCodec()


def retry_policy(options: df.RetryOptions) -> dt_task.RetryPolicy:
    """df RetryOptions → durabletask RetryPolicy (same first interval and attempt count)."""
    return dt_task.RetryPolicy(
        first_retry_interval=timedelta(milliseconds=options.first_retry_interval_in_milliseconds),
        max_number_of_attempts=options.max_number_of_attempts,
    )


class DfContext:
    """The df orchestration context API over a durabletask `OrchestrationContext`."""

    def __init__(self, ctx: dt_task.OrchestrationContext, orchestration_input: Any) -> None:
        self._ctx = ctx
        self._input = orchestration_input

    # identity and time
    @property
    def instance_id(self) -> str:
        return self._ctx.instance_id

    @property
    def is_replaying(self) -> bool:
        return self._ctx.is_replaying

    @property
    def current_utc_datetime(self) -> datetime:
        now = self._ctx.current_utc_datetime
        return now.replace(tzinfo=UTC) if now.tzinfo is None else now

    def get_input(self) -> Any:
        return self._input

    def new_uuid(self) -> str:
        return self._ctx.new_uuid()

    drops_replayed_status = True  # set_custom_status ignores calls while replaying (orchestrators may skip them)

    def set_custom_status(self, status: Any) -> None:
        """durabletask serializes the status on every call, replay included: the run's status (which lists every
        batch) was encoded O(batches) times per episode, 54% of the CPU of a 10,000-VM run. While replaying,
        the value is the one an earlier episode already stored (RestartableBackend keeps the last status an
        episode set, and the orchestrator is deterministic), so only calls on new events are passed on. df
        serializes once per episode itself."""
        if not self._ctx.is_replaying:
            self._ctx.set_custom_status(status)

    # tasks
    def call_activity(self, name: str, input_: Any = None) -> dt_task.Task[Any]:
        return self._ctx.call_activity(name, input=input_)

    def call_activity_with_retry(self, name: str, retry_options: df.RetryOptions, input_: Any = None) -> Any:
        return self._ctx.call_activity(name, input=input_, retry_policy=retry_policy(retry_options))

    def call_sub_orchestrator(self, name: str, input_: Any = None, instance_id: str | None = None) -> Any:
        """durabletask encodes the input on every call, replay included, and drops it when the history shows the
        sub-orchestration was created: a run re-encoded every batch's input on every episode. While replaying
        the creation is in the history (an earlier episode sent this very input), so none is encoded. Only
        without a retry policy: a retry re-sends the input an attempt was scheduled with."""
        return self._ctx.call_sub_orchestrator(
            name, input=None if self._ctx.is_replaying else input_, instance_id=instance_id
        )

    def call_sub_orchestrator_with_retry(
        self, name: str, retry_options: df.RetryOptions, input_: Any = None, instance_id: str | None = None
    ) -> Any:
        return self._ctx.call_sub_orchestrator(
            name, input=input_, instance_id=instance_id, retry_policy=retry_policy(retry_options)
        )

    def create_timer(self, fire_at: datetime) -> Any:
        return self._ctx.create_timer(fire_at)

    def wait_for_external_event(self, name: str) -> Any:
        return self._ctx.wait_for_external_event(name)

    def task_all(self, tasks: list[Any]) -> Any:
        if not tasks:  # durabletask's when_all([]) never completes; df's completes with []
            done: dt_task.CompletableTask[list[Any]] = dt_task.CompletableTask()
            done.complete([])
            return done
        return dt_task.when_all(tasks)

    def task_any(self, tasks: list[Any]) -> Any:
        return dt_task.when_any(tasks)

    def continue_as_new(self, input_: Any) -> None:
        self._ctx.continue_as_new(input_)

    # entities (df.EntityId → durabletask EntityInstanceId)
    def call_entity(self, entity_id: df.EntityId, operation: str, input_: Any = None) -> Any:
        return self._ctx.call_entity(EntityInstanceId(entity_id.name, entity_id.key), operation, input_)

    def signal_entity(self, entity_id: df.EntityId, operation: str, input_: Any = None) -> None:
        self._ctx.signal_entity(EntityInstanceId(entity_id.name, entity_id.key), operation, input_)


def adapt_orchestrator(workflow: Callable[[Any], Generator[Any, Any, Any]]) -> Callable[..., Any]:
    """A durabletask orchestrator running a df-style workflow generator unchanged."""

    def orchestrator(ctx: dt_task.OrchestrationContext, orchestration_input: Any) -> Any:
        return (yield from workflow(DfContext(ctx, orchestration_input)))

    orchestrator.__name__ = workflow.__name__
    return orchestrator


EntityOperation = Callable[[dict[str, Any] | None, str, Any], tuple[dict[str, Any], Any]]


def adapt_entity(name: str, apply: EntityOperation) -> Callable[..., Any]:
    """A durabletask entity running a pure entity operation `(state, operation, input) -> (state, result)`, the
    same one `orchestrations.claim` wraps for Durable Functions."""

    def entity(ctx: EntityContext, entity_input: Any) -> Any:
        state, result = apply(ctx.get_state(None), ctx.operation, entity_input)
        ctx.set_state(state)
        return result

    entity.__name__ = name
    return entity


def adapt_activity(activity: Callable[[Any], Any]) -> Callable[..., Any]:
    def run(ctx: dt_task.ActivityContext, activity_input: Any) -> Any:
        return activity(activity_input)

    run.__name__ = activity.__name__
    return run


def quiet_logger(name: str, level: int) -> logging.Logger:
    """durabletask logs every orchestrator episode at INFO; the local host keeps its errors only."""
    logger = logging.getLogger(name)
    logger.setLevel(level)
    return logger


def build_worker(
    *,
    address: str,
    orchestrators: dict[str, Callable[..., Any]],
    activities: dict[str, Callable[[Any], Any]],
    entities: dict[str, EntityOperation],
    max_activities: int,
    log_level: int,
    silent_disconnect_timeout: float,
) -> TaskHubGrpcWorker:
    """A durabletask worker for the backend at `address` with these orchestrators, activities and entities (not
    started); `LocalEngine.worker_config` gives the arguments."""
    worker = TaskHubGrpcWorker(
        host_address=address,
        logger=quiet_logger("durabletask-worker", log_level),
        data_converter=CODEC,
        concurrency_options=ConcurrencyOptions(
            maximum_concurrent_activity_work_items=max_activities,
            maximum_concurrent_orchestration_work_items=4,
        ),
        resiliency_options=GrpcWorkerResiliencyOptions(silent_disconnect_timeout_seconds=silent_disconnect_timeout),
    )
    # durabletask registers by __name__; the adapters carry the workflow's own name.
    for name, fn in orchestrators.items():
        adapted = adapt_orchestrator(fn)
        adapted.__name__ = name
        worker.add_orchestrator(adapted)
    for name, fn in activities.items():
        adapted = adapt_activity(fn)
        adapted.__name__ = name
        worker.add_activity(adapted)
    for name, operation in entities.items():
        worker.add_entity(adapt_entity(name, operation), name=name)
    return worker
