"""Helpers the orchestrations share: retry options, time, and replay-safe event publishing."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import azure.durable_functions as df

from failover.contracts.notify import PublishEventInput
from failover.run import isoformat

__all__ = ["ARM_RETRY", "NOTIFY_RETRY", "EventLog", "as_utc", "isoformat"]

# Durable retries for steps that call ARM (activities are idempotent, so a retry converges).
ARM_RETRY = df.RetryOptions(first_retry_interval_in_milliseconds=2000, max_number_of_attempts=4)
# Event Grid / Teams: retried, and a final failure is counted, never fatal to the run.
NOTIFY_RETRY = df.RetryOptions(first_retry_interval_in_milliseconds=1000, max_number_of_attempts=3)

EVENT_TYPE_PREFIX = "Contoso.Failover."


def as_utc(ts: datetime) -> datetime:
    """The context's clock, timezone-aware (df may hand out naive UTC datetimes)."""
    return ts.replace(tzinfo=UTC) if ts.tzinfo is None else ts.astimezone(UTC)


class EventLog:
    """Builds CloudEvents with deterministic ids (`{run id}:{sequence}` for the run's own events,
    `{run id}:batch-{index}:{sequence}` for a batch's: unique across runs, as every run has its own id) and
    counts what was sent. A batch sub-orchestration publishes its own events with the run's id and source
    (`run_id`), so the run's history gains no activity per batch event (docs/performance.md)."""

    def __init__(self, context: Any, plan: str, waiter: Any = None, run_id: str | None = None) -> None:
        self.context = context
        # the run's `step` (control channel open while an event is published), or None: a plain yield
        self.waiter = waiter
        self.plan = plan
        self.run_id = run_id or context.instance_id
        # ids of a sub-orchestration's events are prefixed with its instance id (`{run id}:batch-{index}`)
        self.id_prefix = context.instance_id
        self.sequence = 0
        self.published = 0
        self.failed = 0
        # Open after a publish failed even with retries (Event Grid down): later events get one attempt
        # each, so a sink outage costs the run seconds, not minutes; the next success closes it.
        self.breaker_open = False

    def publish(self, event_type: str, subject: str, data: dict[str, Any]):
        """Generator: `yield from events.publish(...)`. A failed publish is counted, not raised."""
        yield from self.settle(self.send(event_type, subject, data))

    def send(self, event_type: str, subject: str, data: dict[str, Any]) -> Any:
        """Start publishing the event without waiting for it (the next step goes out in the same episode, beside
        it: an event on the critical path costs no round trip of its own). Returns the pending publish, for
        `settle`; its id and `time` are those `publish` would give it at this point."""
        self.sequence += 1
        payload = PublishEventInput(
            instance_id=self.run_id,
            plan=self.plan,
            id=f"{self.id_prefix}:{self.sequence}",
            type=EVENT_TYPE_PREFIX + event_type,
            source=f"/failover/plans/{self.plan}/runs/{self.run_id}",
            subject=subject,
            time=isoformat(as_utc(self.context.current_utc_datetime)),
            data={"instance_id": self.run_id, "plan": self.plan, **data},
        )
        if self.breaker_open:
            return self.context.call_activity("publish_event", payload)
        return self.context.call_activity_with_retry("publish_event", NOTIFY_RETRY, payload)

    def settle(self, task: Any):
        """Generator: wait for a publish `send` started and count it (a failed one is counted, not raised)."""
        try:
            if self.waiter is not None:
                yield from self.waiter(task)
            else:
                yield task
            self.published += 1
            self.breaker_open = False
        except Exception:  # a status event must never fail the failover itself
            self.failed += 1
            self.breaker_open = True
