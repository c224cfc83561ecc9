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
from failover.run import parse_iso
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
    announced = None  # BatchStarted, sent beside the failover POSTs (not one round trip before them)
    if events is not None:
        announced = events.send(
            "BatchStarted",
            f"batch/{batch['index']}",
            {k: batch[k] for k in ("group", "index", "vms")}
            | {"recovery_plans": [p["name"] for p in batch["recovery_plans"]], "retry_of": batch.get("retry_of")},
        )
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
                # Azure Local (HyperVReplicaAzure) groups: the provider input and its failback options
                replication_provider=asr.get("replication_provider"),
                failback_data_sync=asr.get("failback_data_sync"),
                failback_vm_creation=asr.get("failback_vm_creation"),
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
    if announced is not None and events is not None:
        yield from events.settle(announced)
    job_starts: dict[str, Any] = {}  # recovery plan -> when ASR says its failover job started
    for started_job in starts:
        if isinstance(started_job, dict):
            results[started_job["recovery_plan"]].update(state="Failed", errors=[started_job["error"]])
            continue
        entry = results[started_job.recovery_plan]
        entry.update(job=started_job.job, action=started_job.action)
        if started_job.started_at:
            job_starts[started_job.recovery_plan] = parse_iso(started_job.started_at)
        if started_job.action == "skipped":
            entry.update(state="Succeeded", note=started_job.reason or "already failed over")
        else:
            entry["state"] = "InProgress"

    # Watch every started job on its own (docs/runbook.md, "Batches"): a job is first read when it is
    # expected to have ended (`expected_seconds`, the plan's estimate, from when it was started), then with
    # the backoff poll_seconds → poll_max_seconds; a failover that succeeded is committed at once, not when
    # its batch-mates end; a job still running at its own deadline (started + timeout_seconds) is read once
    # more and reported TimedOut alone. So a hung job holds no other plan, and ASR is read about once per job.
    after_start = as_utc(context.current_utc_datetime)
    watching: dict[str, dict[str, Any]] = {}  # name -> {field, label, due, poll, deadline}

    def watch(r: dict[str, Any], field: str, label: str, since: Any, expected: float, job_start: Any = None) -> None:
        # first read: when the job is expected to end, from its own start when ASR says it (the activity returned
        # later than that: counting from its return read every job late by the POST's answer and a round trip)
        due_from = min(since, job_start) if job_start is not None else since
        watching[r["name"]] = {
            "field": field,
            "label": label,
            "due": due_from + timedelta(seconds=max(expected, 0.0) or spec.poll_seconds),
            "poll": spec.poll_seconds,
            "deadline": since + timedelta(seconds=spec.timeout_seconds),
        }

    for r in results.values():
        if r["state"] == "InProgress":
            watch(
                r, "job", "failover", after_start, spec.expected_seconds.get(r["name"], 0.0), job_starts.get(r["name"])
            )
    while watching:
        now = as_utc(context.current_utc_datetime)
        due = [n for n, w in watching.items() if min(w["due"], w["deadline"]) <= now]
        if not due:
            yield context.create_timer(min(min(w["due"], w["deadline"]) for w in watching.values()))
            continue
        reads = yield context.task_all(
            [
                context.call_activity_with_retry(
                    "asr_get_job",
                    ARM_RETRY,
                    AsrJobInput(**common, job=results[n][watching[n]["field"]], recovery_plan=n),
                )
                for n in due
            ]
        )
        now = as_utc(context.current_utc_datetime)
        to_commit: list[dict[str, Any]] = []
        for name, job in zip(due, reads, strict=True):
            r, w = results[name], watching[name]
            field, label = w["field"], w["label"]
            if job.terminal:
                del watching[name]
                r["state"] = job.state
                r["errors"].extend(f"{label}: {e}" if label != "failover" else e for e in job.errors)
                if job.warnings:
                    r.setdefault("warnings", []).extend(job.warnings)
                r[f"{field}_started_at"], r[f"{field}_ended_at"] = job.started_at, job.ended_at
                if job.recovery_points:  # the recovery point each VM came up from (the report's data-loss table)
                    r["recovery_points"] = dict(job.recovery_points)
                if label == "failover" and job.state == "Succeeded" and spec.commit:
                    to_commit.append(r)
            elif now >= w["deadline"]:
                del watching[name]
                r["state"] = "TimedOut"
                r["errors"].append(f"{label} job {r[field]} did not finish within {spec.timeout_seconds:.0f}s")
            else:
                w["due"] = now + timedelta(seconds=w["poll"])
                w["poll"] = min(w["poll"] * 2, spec.poll_max_seconds or w["poll"])
        if to_commit:
            # Commit after a successful failover (plan.asr.commit): an ASR job watched the same way.
            commits = yield context.task_all(
                [
                    context.call_activity_with_retry(
                        "asr_commit", ARM_RETRY, RecoveryPlanInput(**common, recovery_plan=r["name"])
                    )
                    for r in to_commit
                ]
            )
            committed_at = as_utc(context.current_utc_datetime)
            for r, commit in zip(to_commit, commits, strict=True):
                r["commit"] = commit.action
                if commit.job and commit.action != "skipped":
                    r.update(state="InProgress", commit_job=commit.job)
                    watch(r, "commit_job", "commit", committed_at, spec.expected_commit_seconds)

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
