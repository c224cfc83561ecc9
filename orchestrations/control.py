"""The run's control channel: one `control` external event for cancel, retry, skip, triggers and
resolutions, honoured at every wait of every step (docs/api.md, "What a run does with control requests").

Every wait of a run goes through `Controlled.wait_any` (an activity, a batch, a timer, an approval, a callback):
a control event arriving meanwhile is applied at once. After an accepted cancel nothing new starts: each step
looks at `run.cancel` before it starts anything, and what is already running is watched to its end
(`Controlled.step` keeps waiting for it). Operator commands carry a request id; the run records each one as
accepted or refused (`operator.requests` in the custom status), so of two concurrent commands exactly one is
decided first and the HTTP handler answers the other 409 naming it.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

from failover.contracts.notify import TeamsDecisionInput
from orchestrations.common import ARM_RETRY, NOTIFY_RETRY, isoformat

CONTROL_EVENT = "control"  # operator and trigger events: cancel, retry, skip, trigger, resolved
STATUS_REQUESTS = 10  # operator requests listed in the custom status (the latest)


class _Interrupted:
    """What `wait_any` returns when a control event changed what the caller must do."""


INTERRUPTED = _Interrupted()


class Controlled(ABC):
    """The control-channel half of the run (`orchestrations.run_state.Run`): state it reads and writes is the
    run's (`cancel`, `blocked`, `retry_queue`, `skipped`, `operator_actions`, `triggers`, `resolved`,
    `resolutions`, `requests`)."""

    context: Any
    cancel: dict[str, Any] | None
    blocked: list[str]
    retry_queue: list[str]
    forceable: list[str]
    forced: list[str]
    skipped: list[dict[str, Any]]
    operator_actions: list[dict[str, Any]]
    triggers: list[dict[str, Any]]
    resolved: dict[str, Any] | None
    resolutions: list[dict[str, Any]]
    requests: list[dict[str, Any]]
    plan_errors: dict[str, str]
    errors: list[str]
    approval: dict[str, Any]
    steps: list[dict[str, Any]]
    batches_started: int
    policy: Any
    events: Any
    _control: Any
    changes: int  # control events applied that changed the run (`wait_any`)
    # started and not awaited yet (a read the run needs later, e.g. the recovery capacity check of a run nobody
    # approves): each wait watches them too, so that they are scheduled on both hosts and their ends recorded
    background: list[Any]

    # what the run (orchestrations.run_state.Run) implements for the channel
    @abstractmethod
    def now(self) -> Any:
        """The orchestration's deterministic clock."""

    @abstractmethod
    def publish_status(self, stage: str | None = None) -> None:
        """Publish the run's custom status."""

    @property
    @abstractmethod
    def ids(self) -> dict[str, str]:
        """The run's instance id and plan name, as activity inputs start."""

    def control_task(self) -> Any:
        if self._control is None:
            self._control = self.context.wait_for_external_event(CONTROL_EVENT)
        return self._control

    def wait_any(self, tasks: list[Any]):
        """task_any over `tasks` and the control channel. Applies control events as they come; returns
        INTERRUPTED after one that changed the run (cancel, retry, skip), else the task that finished.

        Applying an event may wait itself (a Resolved notice publishes its CloudEvent, posts to Teams), and an event
        arriving meanwhile is applied by that inner wait, whose caller (`step`) goes on waiting for its own task. So a
        change is counted (`changes`) where it is applied, and every wait it happened under returns INTERRUPTED: the
        starting incident's Resolved notice, arriving while another incident's notice was being recorded, cancelled
        the run and the approval gate never saw it (it waited for the approval's timeout)."""
        while True:
            control = self.control_task()
            background = [t for t in self.background if t not in tasks]
            winner = yield self.context.task_any([*tasks, *background, control])
            if winner in background:  # it ended: its owner reads it (`yield task`) when it needs it
                self.background.remove(winner)
                continue
            if winner is not control:
                return winner
            self._control = None
            seen = self.changes
            if (yield from self.on_control(control.result or {})):
                self.changes += 1
            if self.changes != seen:
                return INTERRUPTED

    def step(self, task: Any):
        """Wait for `task` (an activity, a task_all, a sub-orchestration) with the control channel open: a cancel
        is recorded when it arrives, and the task is still watched to its end. Returns its result, or raises
        its error."""
        while (yield from self.wait_any([task])) is not task:
            continue
        return (yield task)  # completed: its value (or its error) at once, on both hosts

    def call(self, activity: str, payload: Any):
        """An ARM activity (durable retries: ARM_RETRY), awaited with the control channel open (`step`)."""
        return (yield from self.step(self.context.call_activity_with_retry(activity, ARM_RETRY, payload)))

    def sleep_until(self, when: Any, interruptible: bool = False):
        """A durable timer with the control channel open. A cancel ends the sleep early only when the caller
        says it may (`interruptible`: a read-only wait such as verify); otherwise the caller is watching
        something already started to its end and the cancel is only recorded (it looks at `cancel` after)."""
        timer = self.context.create_timer(when)
        while (yield from self.wait_any([timer])) is not timer:
            if self.cancel and interruptible:
                timer.cancel()
                return

    # ---- applying one event -------------------------------------------------------------------
    def _answer(self, event: dict[str, Any], accepted: bool, note: str) -> None:
        """Record the decision on an operator request (the HTTP handler reads it back by request id)."""
        request_id = event.get("request_id")
        if not request_id:
            return
        self.requests.append(
            {"request_id": str(request_id), "action": event.get("action"), "by": event.get("by"),
             "accepted": accepted, "note": note}
        )  # fmt: skip
        del self.requests[:-STATUS_REQUESTS]

    def on_control(self, event: dict[str, Any]):
        """Apply one control event. Returns True when the caller must look at the run's state."""
        action = event.get("action")
        at = isoformat(self.now())
        if action == "trigger" and isinstance(event.get("trigger"), dict):
            trigger = event["trigger"]
            known = {(t.get("alert_id"), t.get("monitor_condition")) for t in self.triggers}
            if (trigger.get("alert_id"), trigger.get("monitor_condition")) not in known:
                self.triggers.append({**trigger, "attached_at": at})
                self.publish_status()
            return False
        if action == "resolved" and isinstance(event.get("trigger"), dict):
            return (yield from self._on_resolved(event["trigger"], at))
        if action == "cancel":
            if self.cancel is not None:
                first = self.cancel
                self._answer(event, False, f"already cancelled by {first.get('by')} at {first.get('at')}")
                self.publish_status()
                return False
            self.cancel = {
                "by": event.get("by"),
                "reason": event.get("reason"),
                "at": at,
                "request_id": event.get("request_id"),
                "steps_before": len(self.steps),  # what was done before and after it (the summary lists both)
                "batches_before": self.batches_started,
            }
            self.operator_actions.append({"action": "cancel", "by": event.get("by"), "at": at})
            self._answer(event, True, "cancel accepted: nothing new starts; what is running is watched to its end")
            self.publish_status()
            return True
        if action in ("retry", "skip", "force"):
            name = event.get("recovery_plan")
            if action == "force" and name in self.blocked and name not in self.forceable and self.cancel is None:
                self._answer(event, False, f"{name} cannot be forced: retry or skip it")
                self.publish_status()
                return False
            if self.cancel is not None or name not in self.blocked:
                earlier = next((a for a in reversed(self.operator_actions) if a.get("recovery_plan") == name), None)
                why = (
                    f"the run is cancelled (by {self.cancel.get('by')})" if self.cancel
                    else f"{earlier['action']} of {name} by {earlier.get('by')} at {earlier.get('at')} came first"
                    if earlier else f"recovery plan {name} is not waiting for an operator"
                )  # fmt: skip
                self._answer(event, False, why)
                self.publish_status()
                return False
            self.operator_actions.append({"action": action, "recovery_plan": name, "by": event.get("by"), "at": at})
            self.blocked.remove(name)
            if action in ("retry", "force"):
                self.retry_queue.append(name)
                if action == "force":
                    self.forced.append(name)
            else:
                self.skipped.append({"name": name, "by": event.get("by"), "at": at})
                self.plan_errors[name] = f"{self.plan_errors.get(name, name)} (skipped by {event.get('by')})"
            self._answer(event, True, f"{action} of {name} accepted")
            self.publish_status()
            return True
        if action is not None:
            self._answer(event, False, f"'{action}' is not a control action of this run")
        return False

    def _on_resolved(self, trigger: dict[str, Any], at: str):
        """Only the Resolved notice of the incident that started the run may cancel it (while it waits for
        approval and the plan says so); other incidents' notices are recorded on the run."""
        first = self.triggers[0] if self.triggers else {}
        if trigger.get("incident_key") != first.get("incident_key") or self.resolved is not None:
            self.resolutions.append({**trigger, "received_at": at})
            self.publish_status()
            yield from self.events.publish("IncidentResolved", "run", {"trigger": trigger, "started_the_run": False})
            return False
        self.resolved = {**trigger, "received_at": at}
        self.publish_status()
        yield from self.events.publish("IncidentResolved", "run", {"trigger": trigger, "started_the_run": True})
        cancels = self.approval["waiting"] and self.policy.cancel_on_resolved
        try:
            yield self.context.call_activity_with_retry(
                "teams_post_decision",
                NOTIFY_RETRY,
                TeamsDecisionInput(
                    **self.ids,
                    outcome="the incident was resolved"
                    + ("; the run is cancelled, nothing was changed" if cancels else "; the run goes on"),
                    decisions=[],
                    note=str(trigger.get("title") or ""),
                ),
            )
        except Exception as err:
            self.errors.append(f"resolution message not delivered to Teams: {err}")
        if cancels and self.cancel is None:
            self.cancel = {
                "by": "alert",
                "reason": "the incident was resolved before approval",
                "at": at,
                "steps_before": len(self.steps),
                "batches_before": self.batches_started,
            }
            return True
        return False


def operator_decision(run: Any, name: str, subject: str, data: dict[str, Any], forceable: bool = False):
    """What failed (`name`: a dependency, or `sign-out`) waits up to the plan's operator_wait for an operator:
    it is listed in `operator.blocked` (and `forceable`), `OperatorActionRequired` is published with `data`,
    and the run's step `operator wait: {name}` spans the wait. Returns "retry", "force", "skip", "timeout" or
    "cancel". A command that arrived while the event was published is taken as well."""
    run.blocked = [name]
    run.forceable = [name] if forceable else []
    run.begin(f"operator wait: {name}")
    run.publish_status("awaiting operator")
    yield from run.events.publish("OperatorActionRequired", subject, {"failed": [name], **data})
    deadline = run.context.create_timer(run.at(run.plan.operator_wait))
    decision = "timeout"
    while True:
        if run.cancel:
            decision = "cancel"
        elif name in run.retry_queue:
            run.retry_queue.remove(name)
            decision = "force" if name in run.forced else "retry"
        elif any(s["name"] == name for s in run.skipped):
            decision = "skip"
        if decision != "timeout":
            deadline.cancel()
            break
        if (yield from run.wait_any([deadline])) is deadline:
            break
    run.blocked, run.forceable = [], []
    run.end(f"operator wait: {name}", {"timeout": "TimedOut", "cancel": "Cancelled"}.get(decision, "Succeeded"))
    run.publish_status()
    return decision
