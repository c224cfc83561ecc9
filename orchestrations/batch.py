"""The batch orchestration: fail over the recovery plans of one batch and watch their jobs to the end.

One sub-orchestration per batch keeps each history small. Jobs are started by one activity each
(idempotent: attach to a running job, skip a plan already failed over) and watched with durable
timers; no activity blocks on a job. Deterministic: no I/O, no clock but the context's.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import azure.durable_functions as df

from failover.contracts.asr import AsrJobInput, RecoveryPlanInput, RecoveryPlanJob, StartFailoverInput
from failover.contracts.batch import BatchInput, BatchResult
from orchestrations.common import ARM_RETRY, EventLog, as_utc, isoformat


def batch_orchestrator(context: df.DurableOrchestrationContext):
    """Input: `BatchInput`. Output: the batch's summary entry (`BatchResult`, as JSON)."""
    spec = context.get_input()
    if not isinstance(spec, BatchInput):  # a history started before the contract: the same keys as plain JSON
        spec = BatchInput.model_validate(spec)
    batch, asr = spec.batch, spec.asr
    started = as_utc(context.current_utc_datetime)
    # The batch's events are the run's (its id and source); None: an older run publishes them itself.
    events = EventLog(context, spec.plan or "", run_id=spec.run_id) if spec.run_id else None
    if events is not None:
        yield from events.publish(
            "BatchStarted",
            f"batch/{batch['index']}",
            {k: batch[k] for k in ("group", "index", "vms")}
            | {"recovery_plans": [p["name"] for p in batch["recovery_plans"]], "retry_of": batch.get("retry_of")},
        )
    deadline = started + timedelta(seconds=spec.timeout_seconds)
    common = {
        "instance_id": context.instance_id,
        "plan": spec.plan,
        "subscription_id": asr["subscription_id"],
        "resource_group": asr["resource_group"],
        "vault": asr["vault"],
    }

    results: dict[str, dict[str, Any]] = {
        p["name"]: {
            "name": p["name"],
            "vms": p["vms"],
            "job": None,
            "action": None,
            "state": "NotStarted",
            "errors": [],
        }
        for p in batch["recovery_plans"]
    }

    def start(plan: dict[str, Any]) -> Any:
        return context.call_activity_with_retry(
            "asr_start_failover",
            ARM_RETRY,
            StartFailoverInput(
                **common,
                recovery_plan=plan["name"],
                mode=spec.mode,
                recovery_point_type=asr.get("recovery_point_type"),
                source_site_operations=asr.get("source_site_operations"),
                # drills: the isolated network of this recovery plan
                network_id=(asr.get("drill_networks") or {}).get(plan["name"]) or asr.get("drill_network"),
            ),
        )

    # Start every plan of the batch at once. If one cannot be started, start them again one by one:
    # the activity is idempotent (it attaches to running jobs), so only the failing plan fails.
    starts: list[RecoveryPlanJob | dict[str, Any]]  # a dict: {recovery_plan, error} of a plan not started
    try:
        starts = yield context.task_all([start(p) for p in batch["recovery_plans"]])
    except Exception:  # durabletask raises TaskFailedError, df a plain Exception
        starts = []
        for p in batch["recovery_plans"]:
            try:
                starts.append((yield start(p)))
            except Exception as err:
                starts.append({"recovery_plan": p["name"], "error": f"failover could not be started: {err}"})
    for started_job in starts:
        if isinstance(started_job, dict):
            results[started_job["recovery_plan"]].update(state="Failed", errors=[started_job["error"]])
            continue
        entry = results[started_job.recovery_plan]
        entry.update(job=started_job.job, action=started_job.action)
        if started_job.action == "skipped":
            entry.update(state="Succeeded", note=started_job.reason or "already failed over")
        else:
            entry["state"] = "InProgress"

    def watch(field: str, label: str):
        """Monitor pattern: durable timer, then one job read per running plan, until all end or the
        deadline. The poll interval backs off from poll_seconds to poll_max_seconds."""
        poll = spec.poll_seconds
        while any(r["state"] == "InProgress" for r in results.values()):
            now = as_utc(context.current_utc_datetime)
            if now >= deadline:
                for r in results.values():
                    if r["state"] == "InProgress":
                        r["state"] = "TimedOut"
                        r["errors"].append(f"{label} job {r[field]} did not finish within {spec.timeout_seconds:.0f}s")
                break
            yield context.create_timer(min(deadline, now + timedelta(seconds=poll)))
            poll = min(poll * 2, spec.poll_max_seconds or poll)
            running = [r for r in results.values() if r["state"] == "InProgress"]
            reads = yield context.task_all(
                [
                    context.call_activity_with_retry(
                        "asr_get_job", ARM_RETRY, AsrJobInput(**common, job=r[field], recovery_plan=r["name"])
                    )
                    for r in running
                ]
            )
            for r, job in zip(running, reads, strict=True):
                if job.terminal:
                    r["state"] = job.state
                    r["errors"].extend(f"{label}: {e}" if label != "failover" else e for e in job.errors)
                    r[f"{field}_started_at"], r[f"{field}_ended_at"] = job.started_at, job.ended_at

    yield from watch("job", "failover")

    # Commit after a successful failover (plan.asr.commit): the commit is an ASR job watched the same way.
    committing = [r for r in results.values() if r["state"] == "Succeeded"] if spec.commit else []
    if committing:
        commits = yield context.task_all(
            [
                context.call_activity_with_retry(
                    "asr_commit", ARM_RETRY, RecoveryPlanInput(**common, recovery_plan=r["name"])
                )
                for r in committing
            ]
        )
        for r, commit in zip(committing, commits, strict=True):
            r["commit"] = commit.action
            if commit.job and commit.action != "skipped":
                r.update(state="InProgress", commit_job=commit.job)
        yield from watch("commit_job", "commit")

    finished = as_utc(context.current_utc_datetime)
    ok = all(r["state"] == "Succeeded" for r in results.values())
    result = BatchResult(
        group=batch["group"],
        index=batch["index"],
        recovery_plans=[p["name"] for p in batch["recovery_plans"]],
        vms=batch["vms"],
        started_at=isoformat(started),
        finished_at=isoformat(finished),
        status="Succeeded" if ok else "Failed",
        plans=list(results.values()),
    )
    if events is not None:
        yield from publish_outcome(events, result)
        result = result.model_copy(update={"events_published": events.published, "events_failed": events.failed})
    # JSON, not the model: df 1.7's executor json.dumps an orchestration's output without the custom-object hook
    return result.plain()


def batch_event(result: dict[str, Any]) -> dict[str, Any]:
    """BatchCompleted's data."""
    return {k: result[k] for k in ("group", "index", "vms", "status", "recovery_plans", "started_at", "finished_at")}


def publish_outcome(events: EventLog, result: BatchResult):
    """BatchCompleted, then a PlanFailed per recovery plan that did not succeed."""
    index = result.index
    yield from events.publish("BatchCompleted", f"batch/{index}", batch_event(result.plain()))
    for entry in (e for e in result.plans if e["state"] != "Succeeded"):
        yield from events.publish(
            "PlanFailed",
            f"batch/{index}",
            {"recovery_plan": entry["name"], "state": entry["state"], "errors": entry["errors"]},
        )


bp = df.Blueprint()
bp.orchestration_trigger(context_name="context")(batch_orchestrator)
