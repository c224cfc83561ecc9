"""One wave and batch dispatcher for every mode: groups in order; within a group, batches of at most
batch_size VMs started batch_interval apart (each a `batch_orchestrator` sub-orchestration), watched to their
end; a stopped group's failed recovery plans wait for an operator's retry or skip. Failover, drill and failback
all run their recovery plans through `run_groups`."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Literal

from failover.batching import Batch
from failover.contracts.batch import BatchInput, BatchResult
from orchestrations import capacity
from orchestrations import dependencies as deps_steps
from orchestrations.common import isoformat
from orchestrations.control import INTERRUPTED
from orchestrations.run_state import Run


class Dispatcher:
    """Starts batches batch_interval apart (the spacing rule's clock is the dispatch time) and with at most
    batch_size VMs in flight across them, and records the ones that finish. Shared by the planned batches
    and the operator's retries."""

    def __init__(self, run: Run) -> None:
        plan = run.plan
        self.run = run
        self.interval = timedelta(seconds=run.seconds(plan.batch_interval))
        self.last_start: datetime | None = None
        self.pending: dict[int, Any] = {}
        self.dispatched: dict[int, str] = {}
        self.vms: dict[int, int] = {}  # batch index -> VMs
        self.asr = {
            **plan.vault_ref(),
            "recovery_point_type": plan.asr.recovery_point_type,
            "source_site_operations": plan.asr.source_site_operations,
            "drill_network": plan.drill.network_id if plan.drill else None,
            "drill_networks": dict(plan.drill.networks) if plan.drill else {},
        }

    def provider_inputs(self, group: str) -> dict[str, Any]:
        """The batch's ASR settings: the vault's, plus for an Azure Local (HyperVReplicaAzure) group its provider
        and failback options (A2A groups send what they always sent)."""
        plan = self.run.plan
        provider = plan.provider_of_group(group)
        if provider == "A2A":
            return self.asr
        return {
            **self.asr,
            "replication_provider": provider,
            "failback_data_sync": plan.asr.failback_data_sync,
            "failback_vm_creation": plan.asr.failback_vm_creation,
        }

    def _finish(self, task: Any) -> None:
        run = self.run
        index = next(i for i, t in self.pending.items() if t is task)
        del self.pending[index]
        result = {**BatchResult.model_validate(task.result).plain(), "started_at": self.dispatched[index]}
        # the batch published its own events (BatchStarted, BatchCompleted, PlanFailed): count them as the run's
        run.events.published += result.pop("events_published")
        run.events.failed += result.pop("events_failed")
        run.batch_results[index] = result
        for entry in result["plans"]:
            for warning in entry.get("warnings") or []:  # e.g. source VMs that could not be shut down
                text = f"recovery plan {entry['name']}: {warning}"
                if text not in run.warnings:
                    run.warnings.append(text)
            if entry["state"] == "Succeeded":
                run.plan_errors.pop(entry["name"], None)
            else:
                capacity.report_failures(run, entry["name"], entry["errors"])
                # ASR's errors (one a VM when quota runs out); the first few: the custom status stays under 16 KB
                errors = entry["errors"]
                reason = "; ".join(errors[:3]) + (f" (+{len(errors) - 3} more errors)" if len(errors) > 3 else "")
                reason = reason or entry["state"]
                run.plan_errors[entry["name"]] = (
                    f"recovery plan {entry['name']} ({result['group']}): {entry['state']}: {reason}"
                )
        run.publish_status()

    def in_flight(self) -> int:
        """VMs of the batches started and not yet ended."""
        return sum(self.vms[i] for i in self.pending)

    def wait_one(self, extra: list[Any] | None = None):
        """Wait for a running batch (or an `extra` task). Returns the winner, or INTERRUPTED."""
        winner = yield from self.run.wait_any([*self.pending.values(), *(extra or [])])
        if winner is not INTERRUPTED and winner in self.pending.values():
            self._finish(winner)
        return winner

    def dispatch(self, batch: dict[str, Any]):
        """Start one batch once the spacing allows. Returns False if the run was cancelled meanwhile."""
        run, context = self.run, self.run.context
        asr = run.plan.asr
        while self.last_start is not None and run.now() < self.last_start + self.interval and not run.cancel:
            timer = context.create_timer(self.last_start + self.interval)
            while not run.cancel and (yield from self.wait_one([timer])) is not timer:
                pass
            if run.cancel:
                timer.cancel()
        # The in-flight cap: never more than batch_size VMs failing over at once across batches, so a batch
        # whose predecessors' jobs outlast the spacing waits for room as well (docs/runbook.md, "Batches").
        while self.pending and self.in_flight() + batch["vms"] > run.in_flight_cap and not run.cancel:
            yield from self.wait_one()
        if run.cancel:
            return False
        self.last_start = run.now()
        self.dispatched[batch["index"]] = isoformat(self.last_start)
        self.vms[batch["index"]] = batch["vms"]
        # a plan an operator forced: an unplanned failover that does not ask for the source site
        mode = "unplanned" if batch.get("forced") else run.mode
        spec = BatchInput(
            plan=run.plan.name,
            run_id=context.instance_id,
            batch=batch,
            asr=(
                {**self.provider_inputs(batch["group"]), "source_site_operations": "NotRequired"}
                if batch.get("forced")
                else self.provider_inputs(batch["group"])
            ),
            mode=mode,
            poll_seconds=run.seconds(run.plan.asr.job_poll_interval),
            poll_max_seconds=run.seconds(run.plan.asr.job_poll_max),
            commit=run.plan.asr.commit and mode in ("planned", "unplanned", "failback"),
            timeout_seconds=run.seconds(run.plan.asr.job_timeout),
            expected_seconds={
                p["name"]: run.seconds(asr.expected_job_duration + asr.expected_seconds_per_vm * p["vms"])
                for p in batch["recovery_plans"]
            },
            expected_commit_seconds=run.seconds(asr.expected_commit_duration),
        )
        self.pending[batch["index"]] = context.call_sub_orchestrator(
            "batch_orchestrator", spec, f"{context.instance_id}:batch-{batch['index']}"
        )
        run.batches_started += 1
        run.dispatched.append(batch["index"])
        run.publish_status()
        return True

    def drain(self):
        """Watch every running batch to its end (also after a cancel: jobs in flight are not abandoned)."""
        while self.pending:
            yield from self.wait_one()


FORCE_LOSES = (
    "an unplanned failover instead of the planned one: the source VMs are not shut down and their changes since "
    "the latest recovery point are lost"
)


def _forceable(run: Run) -> list[str]:
    """The failed recovery plans an operator may force: in a planned failover (which needs the source site: it
    shuts the VMs down and synchronises them), an unplanned failover of the plan instead."""
    return list(run.blocked) if run.mode == "planned" else []


def _still_failed(run: Run, dispatcher: Dispatcher, group: Any) -> list[str]:
    """The group's plans whose last attempt failed, not being retried and not skipped."""
    in_flight = {p["name"] for b in run.batches if b["index"] in dispatcher.pending for p in b["recovery_plans"]}
    skipped = {s["name"] for s in run.skipped}
    return sorted(
        p["name"]
        for p in run.final_plans()
        if p["state"] != "Succeeded"
        and group.matches(p["name"])
        and p["name"] not in in_flight | skipped
        and p["name"] not in run.retry_queue
    )


def _operator_wait(run: Run, dispatcher: Dispatcher, group: Any):
    """A stopped group's failed plans wait for an operator's retry or skip, up to plan.operator_wait.
    Returns True when every failed plan was retried successfully or skipped."""
    context = run.context
    run.blocked = _still_failed(run, dispatcher, group)
    if not run.blocked:
        return True
    run.forceable = _forceable(run)
    deadline = context.create_timer(run.at(run.plan.operator_wait))
    timed_out = False
    run.begin(f"operator wait: {group.name}")
    run.publish_status("awaiting operator")
    data: dict[str, Any] = {"group": group.name, "failed": list(run.blocked)}
    if run.forceable:
        data |= {"forceable": list(run.forceable), "force_loses": FORCE_LOSES}
    yield from run.events.publish("OperatorActionRequired", f"group/{group.name}", data)
    while (run.blocked or run.retry_queue or dispatcher.pending) and not run.cancel:
        while run.retry_queue and not run.cancel:
            name = run.retry_queue.pop(0)
            vms = next(p["vms"] for p in run.final_plans() if p["name"] == name)
            batch = {
                "group": group.name,
                "index": max(b["index"] for b in run.batches) + 1,
                "vms": vms,
                "recovery_plans": [{"name": name, "vms": vms}],
                "retry_of": name,
            }
            if name in run.forced:  # an unplanned failover instead of the planned one that failed
                batch["forced"] = True
            run.batches.append(batch)
            run.publish_status("retrying")
            yield from dispatcher.dispatch(batch)
        if not (run.blocked or dispatcher.pending):
            break
        winner = yield from dispatcher.wait_one([deadline])
        if winner is deadline:
            timed_out = True
            break
        run.blocked = _still_failed(run, dispatcher, group)  # a retry that failed again is blocked again
        run.forceable = _forceable(run)
        run.publish_status("awaiting operator" if run.blocked else "retrying" if dispatcher.pending else None)
    if not timed_out:
        deadline.cancel()
    yield from dispatcher.drain()
    run.blocked = _still_failed(run, dispatcher, group)
    stopped = bool(run.blocked) or bool(run.cancel)
    run.end(f"operator wait: {group.name}", "Cancelled" if run.cancel else "TimedOut" if run.blocked else "Succeeded")
    run.blocked, run.forceable = [], []
    run.publish_status()
    return not stopped


Outcome = Literal["completed", "stopped", "cancelled"]


def run_groups(
    run: Run,
    batches: list[Batch],
    *,
    dependencies: bool = True,
    operator_wait: bool = True,
    what: str = "failed over",
    stage: str = "failing over",
):
    """The plan's groups in order. A group runs its dependency steps first (`dependencies`), then either its
    custom action (in every mode: the webhook gets the run's mode) or its batches; when a group with
    `on_failure: stop` has a failed recovery plan, its failed plans wait for an operator (`operator_wait`) or
    the run stops there. Returns "completed",
    "stopped" or "cancelled"; every batch started is watched to its end whatever the outcome."""
    plan = run.plan
    dispatcher = Dispatcher(run)
    for position, group in enumerate(plan.groups):
        if run.cancel:
            break
        if dependencies and not (yield from deps_steps.dependencies_before(run, group.name, first=position == 0)):
            yield from dispatcher.drain()
            return "cancelled" if run.cancel else "stopped"
        run.publish_status(stage)
        if group.action is not None:  # a custom-action wave: its webhook and completion callback
            ok = yield from deps_steps.run_action_group(run, group)
            if run.cancel:
                break
            if not ok and group.on_failure == "stop":
                run.errors.append(
                    f"action group '{group.name}' failed; later groups were not started (on_failure: stop)"
                )
                return "stopped"
            continue
        for batch in (b for b in batches if b.group == group.name):
            if not (yield from dispatcher.dispatch(batch.to_dict())):
                break
        yield from dispatcher.drain()
        if run.cancel:
            break
        failed = [p for p in run.final_plans() if p["state"] != "Succeeded" and group.matches(p["name"])]
        if failed and group.on_failure == "stop":
            if operator_wait and (yield from _operator_wait(run, dispatcher, group)):
                run.publish_status(stage)
                continue
            if not run.cancel:
                run.errors.append(f"group '{group.name}' failed; later groups were not {what} (on_failure: stop)")
            yield from dispatcher.drain()
            return "cancelled" if run.cancel else "stopped"
    yield from dispatcher.drain()
    return "cancelled" if run.cancel else "completed"
