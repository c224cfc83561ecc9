"""The local host's engine: Microsoft's durabletask in-memory backend running the *same* orchestrators, with a
durabletask worker (`local.worker`) in the host's process or in one of its own (`local.worker_process`).

`LocalDurableClient` presents the df client API (`start_new`, `get_status`, `raise_event`,
`terminate`) over durabletask's `TaskHubGrpcClient`, so one set of HTTP handlers serves both hosts. That client
calls the backend in process (`local.channel`); the worker reaches the backend over gRPC, as a remote worker would.
"""

from __future__ import annotations

import json
import logging
import socket
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import azure.durable_functions as df
import grpc
from azure.durable_functions.models.DurableOrchestrationStatus import DurableOrchestrationStatus
from azure.durable_functions.models.EntityStateResponse import EntityStateResponse
from durabletask import client as dt_client
from durabletask.entities import EntityInstanceId
from durabletask.internal import orchestrator_service_pb2 as pb

from local.backend import RestartableBackend
from local.channel import InProcessChannel
from local.worker import CODEC, EntityOperation, build_worker, quiet_logger

if TYPE_CHECKING:
    from local.worker_process import WorkerProcessOptions

# durabletask status → df's OrchestrationRuntimeStatus names
_STATUS = {
    dt_client.OrchestrationStatus.RUNNING: "Running",
    dt_client.OrchestrationStatus.COMPLETED: "Completed",
    dt_client.OrchestrationStatus.FAILED: "Failed",
    dt_client.OrchestrationStatus.TERMINATED: "Terminated",
    dt_client.OrchestrationStatus.CONTINUED_AS_NEW: "ContinuedAsNew",
    dt_client.OrchestrationStatus.PENDING: "Pending",
    dt_client.OrchestrationStatus.SUSPENDED: "Suspended",
}
# A finished instance id may be reused by a new run (df's start_new replaces it too).
_REUSABLE = pb.OrchestrationIdReusePolicy(
    replaceableStatus=[
        pb.ORCHESTRATION_STATUS_COMPLETED,
        pb.ORCHESTRATION_STATUS_FAILED,
        pb.ORCHESTRATION_STATUS_TERMINATED,
    ]
)


def _status(state: dt_client.OrchestrationState | None, show_input: bool) -> DurableOrchestrationStatus:
    """durabletask state → df DurableOrchestrationStatus (falsy when the instance does not exist)."""
    if state is None:
        return DurableOrchestrationStatus()

    def load(text: str | None) -> Any:
        return json.loads(text) if text else None

    output = load(state.serialized_output)
    if state.failure_details is not None:
        output = f"{state.failure_details.error_type}: {state.failure_details.message}"
    return DurableOrchestrationStatus(
        name=state.name,
        instanceId=state.instance_id,
        createdTime=state.created_at.isoformat(),
        lastUpdatedTime=state.last_updated_at.isoformat(),
        input=load(state.serialized_input) if show_input else None,
        output=output,
        runtimeStatus=_STATUS.get(state.runtime_status, "Pending"),
        customStatus=load(state.serialized_custom_status),
    )


class InstanceExistsError(RuntimeError):
    """start_new on an instance id that is still running (the in-memory engine's ALREADY_EXISTS)."""


class LocalDurableClient:
    """The df `DurableOrchestrationClient` API (async) over durabletask's client, whose channel runs the in-process
    backend's handlers in the caller's thread (`local.channel.InProcessChannel`). A call answers without suspending:
    the HTTP handler that asked keeps the loop (in an alert storm, the first copy's run is accepted before the loop
    parses the copies arriving with it; over gRPC it waited behind them, docs/performance.md). The backend's lock
    is held briefly by its other callers (the worker's gRPC calls), so a call blocks the loop at most that long."""

    answers_in_process = True  # each call returns without suspending (see `failover.api.runs`)

    def __init__(self, client: dt_client.TaskHubGrpcClient) -> None:
        self._client = client

    async def start_new(
        self, orchestration_function_name: str, instance_id: str | None = None, client_input: Any = None
    ) -> str:
        try:
            return self._client.schedule_new_orchestration(
                orchestration_function_name,
                input=client_input,
                instance_id=instance_id or uuid.uuid4().hex,
                reuse_id_policy=_REUSABLE,
            )
        except grpc.RpcError as err:
            if err.code() == grpc.StatusCode.ALREADY_EXISTS:
                raise InstanceExistsError(f"instance {instance_id} is already running") from err
            raise

    async def get_status(
        self, instance_id: str, show_history: bool = False, show_history_output: bool = False, show_input: bool = False
    ) -> DurableOrchestrationStatus:
        return _status(self._client.get_orchestration_state(instance_id), show_input)

    async def get_status_all(self) -> list[DurableOrchestrationStatus]:
        return [_status(state, show_input=False) for state in self._client.get_all_orchestration_states()]

    async def raise_event(self, instance_id: str, event_name: str, event_data: Any = None) -> None:
        self._client.raise_orchestration_event(instance_id, event_name, data=event_data)

    async def read_entity_state(self, entity_id: df.EntityId) -> EntityStateResponse:
        """df's `read_entity_state`: (exists, state)."""
        found = self._client.get_entity(EntityInstanceId(entity_id.name, entity_id.key))
        state = found.get_state() if found is not None else None
        if isinstance(state, str):  # durabletask hands back the serialized state without a target type
            state = CODEC.deserialize(state)
        return EntityStateResponse(found is not None, state)

    async def purge_instance_history(self, instance_id: str) -> None:
        self._client.purge_orchestration(instance_id)

    async def terminate(self, instance_id: str, reason: str) -> None:
        self._client.terminate_orchestration(instance_id, output=reason)

    def wait_for_completion(self, instance_id: str, timeout: float) -> DurableOrchestrationStatus:
        state = self._client.wait_for_orchestration_completion(instance_id, timeout=int(timeout) + 1)
        return _status(state, show_input=False)


def port_free(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as sock:
        try:
            sock.bind((host, port))
        except OSError:
            return False
        return True


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class LocalEngine:
    """In-memory durabletask backend + a worker running the product's orchestrators and activities."""

    def __init__(
        self,
        orchestrators: dict[str, Callable[..., Any]],
        activities: dict[str, Callable[[Any], Any]],
        entities: dict[str, EntityOperation] | None = None,
        *,
        max_activities: int = 16,
        log_level: int = logging.ERROR,
        silent_disconnect_timeout: float = 0.0,
        worker_process: WorkerProcessOptions | None = None,
    ) -> None:
        """`worker_process`: a `local.worker_process.WorkerProcessOptions` to run the worker (orchestrators and
        activities) in a process of its own; None runs it in this process."""
        self.log_level = log_level
        self.orchestrators = orchestrators
        self.activities = activities
        self.entities = entities or {}
        self.max_activities = max_activities
        # durabletask's worker reconnects when its work-item stream stays silent this long, expecting a remote
        # sidecar's health pings. The in-memory backend sends none, so the worker reconnected every 120 s while
        # a run waited on a timer (seen at time scale 5; no work item was shown to be lost). In one process the
        # stream cannot go silently dead: 0 turns the check off.
        self.silent_disconnect_timeout = silent_disconnect_timeout
        self.port = free_port()
        self.address = f"localhost:{self.port}"
        self.backend: Any = None
        self.worker_process = worker_process
        self.worker: Any = None  # TaskHubGrpcWorker, or local.worker_process.WorkerProcess (both `stop()`)
        self._grpc_client: dt_client.TaskHubGrpcClient | None = None

    def start(self) -> LocalEngine:
        self.backend = RestartableBackend(port=self.port)
        self.backend.start()
        self.start_worker()
        self._grpc_client = dt_client.TaskHubGrpcClient(  # the API's client: in process (the worker's is gRPC)
            channel=InProcessChannel(self.backend),
            logger=quiet_logger("durabletask-client", self.log_level),
            data_converter=CODEC,
        )
        return self

    def start_worker(self) -> None:
        """(Re)start the worker: runs in flight carry on from their history. With `worker_process`, the worker runs in
        a process of its own (`local.worker_process`)."""
        if self.worker_process is not None:
            from local.worker_process import WorkerProcess

            self.worker = WorkerProcess(self.worker_config(), self.worker_process).start()
            return
        worker = build_worker(**self.worker_config())
        worker.start()
        self.worker = worker

    def worker_config(self) -> dict[str, Any]:
        """What `build_worker` needs: the backend's address, the registries, the worker's limits."""
        return {
            "address": self.address,
            "orchestrators": self.orchestrators,
            "activities": self.activities,
            "entities": self.entities,
            "max_activities": self.max_activities,
            "log_level": self.log_level,
            "silent_disconnect_timeout": self.silent_disconnect_timeout,
        }

    def stop_worker(self) -> None:
        """Stop the worker; what it was handed and did not finish goes back to the queue for the next one."""
        if self.worker is not None:
            self.worker.stop()
            self.worker = None
            if self.backend is not None:
                self.backend.release_unfinished()

    @property
    def client(self) -> LocalDurableClient:
        assert self._grpc_client is not None, "engine not started"
        return LocalDurableClient(self._grpc_client)

    def stop(self) -> None:
        self.stop_worker()
        if self._grpc_client is not None:
            self._grpc_client.close()
        if self.backend is not None:
            self.backend.stop()

    def __enter__(self) -> LocalEngine:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
