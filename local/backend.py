"""durabletask's in-memory backend, made to behave as a durable backend does when a worker goes away or a
sub-orchestration runs long (see `RestartableBackend`). Used by `local.engine.LocalEngine`."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from typing import Any

from durabletask.internal import helpers
from durabletask.internal import orchestrator_service_pb2 as pb
from durabletask.testing.in_memory_backend import ActivityWorkItem, InMemoryOrchestrationBackend


class RestartableBackend(InMemoryOrchestrationBackend):
    """durabletask's in-memory backend, plus what a durable backend does when a worker goes away: the work
    items it was handed and did not complete are handed out again (Azure Storage and the Durable Task
    Scheduler do this when the item's lease expires). The in-memory backend forgets an activity once it has
    streamed it and keeps an orchestration marked in flight until it is completed, so a worker stopped at the
    wrong moment stranded its run. Activities are idempotent, so running one again is safe."""

    def __init__(self, port: int) -> None:
        super().__init__(port=port)
        # (instance id, task id) -> the activity work item handed to a worker and not completed yet
        self._handed_out: dict[tuple[str, int], ActivityWorkItem] = {}

    def GetWorkItems(self, request: pb.GetWorkItemsRequest, context: Any) -> Any:
        for item in super().GetWorkItems(request, context):
            if item.HasField("activityRequest"):
                activity = item.activityRequest
                with self._lock:
                    self._handed_out[(activity.orchestrationInstance.instanceId, activity.taskId)] = ActivityWorkItem(
                        instance_id=activity.orchestrationInstance.instanceId,
                        name=activity.name,
                        task_id=activity.taskId,
                        input=activity.input.value if activity.HasField("input") else None,
                        completion_token=int(item.completionToken),
                    )
            yield item

    def CompleteOrchestratorTask(self, request: pb.OrchestratorResponse, context: Any) -> pb.CompleteTaskResponse:
        """An episode that set no custom status keeps the one it had (as Durable Functions keeps it); the
        in-memory backend stored an empty one. DfContext leaves the status unset while replaying."""
        if request.HasField("customStatus"):
            return super().CompleteOrchestratorTask(request, context)
        with self._lock:  # re-entrant: the base takes it again
            instance = self._instances.get(request.instanceId)
            kept = instance.custom_status if instance is not None else None
            response = super().CompleteOrchestratorTask(request, context)
            if instance is not None and kept and not instance.custom_status:
                instance.custom_status = kept
            return response

    def CompleteActivityTask(self, request: pb.ActivityResponse, context: Any) -> pb.CompleteTaskResponse:
        with self._lock:
            handed = self._handed_out.get((request.instanceId, request.taskId))
            if handed is None or str(handed.completion_token) != request.completionToken:
                return pb.CompleteTaskResponse()  # handed out again since: the new attempt's answer counts
            del self._handed_out[(request.instanceId, request.taskId)]
        return super().CompleteActivityTask(request, context)

    # durabletask 1.12's watcher of a sub-orchestration asks `_wait_for_state` for "no timeout" (None), which
    # waits 30 s and then gives up: a batch (sub-orchestration) running longer than 30 s of wall-clock time
    # never reported its completion to the parent run, which then waited forever (every batch at time scale 1;
    # a 10-minute spacing at time scale 5). This watcher waits in slices of this many seconds until the
    # sub-orchestration ends, the parent ends or the backend stops.
    SUB_ORCHESTRATION_WAIT = 30.0

    def _watch_sub_orchestration(self, parent_instance_id: str, sub_instance_id: str, task_id: int) -> None:
        def watch() -> None:
            while True:
                sub = self._wait_for_state(sub_instance_id, self._is_terminal_status_check, self.SUB_ORCHESTRATION_WAIT)
                with self._lock:
                    parent = self._instances.get(parent_instance_id)
                    if parent is None or self._is_terminal_status(parent.status) or self._shutdown_event.is_set():
                        return
                    if sub is None:
                        if sub_instance_id in self._instances:
                            continue  # still running: wait another slice
                        return
                    if sub.status == pb.ORCHESTRATION_STATUS_COMPLETED:
                        event = helpers.new_sub_orchestration_completed_event(task_id, sub.output)
                    else:
                        message = (
                            sub.failure_details.errorMessage if sub.failure_details else "Sub-orchestration failed"
                        )
                        event = helpers.new_sub_orchestration_failed_event(task_id, Exception(message))
                    parent.pending_events.append(event)
                    parent.last_updated_at = datetime.now(UTC)
                    self._enqueue_orchestration(parent_instance_id)
                    return

        threading.Thread(target=watch, name=f"watch-{sub_instance_id}", daemon=True).start()

    def release_unfinished(self) -> None:
        """The worker is gone: queue again every activity it did not complete and every orchestration work
        item it did not complete (with a new completion token, so a late answer is ignored as stale)."""
        with self._lock:
            for item in self._handed_out.values():
                item.completion_token = self._next_completion_token  # a late answer of the old worker is stale
                self._next_completion_token += 1
                self._activity_queue.append(item)
            for instance_id in list(self._orchestration_in_flight):
                instance = self._instances.get(instance_id)
                self._orchestration_in_flight.discard(instance_id)
                if instance is None:
                    continue
                instance.pending_events = list(instance.dispatched_events) + list(instance.pending_events)
                instance.dispatched_events.clear()
                instance.completion_token = self._next_completion_token
                self._next_completion_token += 1
                self._enqueue_orchestration(instance_id)
            self._work_available.set()
