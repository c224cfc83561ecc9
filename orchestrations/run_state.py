"""The failover run's state: what it has done, its custom status (what `failover status` and the live view
show) and its summary (the orchestration's output, the report's facts). Deterministic: built from the
orchestration context and the run's input only."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from failover.batching import peak_in_flight
from failover.contracts import Mode
from failover.contracts.run import RunInput
from failover.plan import Plan
from failover.run import rto_seconds, rto_verdict
from orchestrations.common import EventLog, as_utc, isoformat
from orchestrations.control import Controlled

STATUS_TRIGGERS = 3  # alert notifications listed in the custom status besides the first
STATUS_BATCH_ROWS = 24  # batches listed in the custom status; beyond, the ones that matter now and per-group counts


def _status_batch(entry: dict[str, Any]) -> dict[str, Any]:
    """A batch as the custom status lists it: group, index, VMs, status, its plans' names, and each plan's VMs
    and state only while they differ from the batch's (a partly failed batch); no job ids, times or errors
    (those are in the summary, errors also in the status's `errors`). A 10,000-VM plan's 101 batches fit."""
    slim = {k: entry[k] for k in ("group", "index", "vms", "status", "retry_of") if entry.get(k) is not None}
    slim["recovery_plans"] = [p["name"] if isinstance(p, dict) else p for p in entry.get("recovery_plans") or []]
    plans = entry.get("plans")
    if isinstance(plans, list) and any(p.get("state") != "Succeeded" for p in plans):
        slim["plans"] = [{k: p.get(k) for k in ("name", "vms", "state")} for p in plans]
    return slim


class Run(Controlled):
    """The run's visible state (`publish_status` is its custom status, `summary` its output) and its control
    channel (`Controlled`)."""

    def __init__(self, context: Any, plan: Plan, spec: RunInput) -> None:
        self.context = context
        self.plan = plan
        self.mode: Mode = spec.mode
        self.scale = spec.time_scale
        self.triggers: list[dict[str, Any]] = list(spec.triggers)
        self.requested_by: str | None = spec.requested_by
        self.requested_by_claim: str | None = spec.requested_by_claim  # unverified: shown, never checked
        self.reason: str | None = spec.reason
        self.started_at = isoformat(self.now())
        self.stage = "starting"
        self.cleanup_only = spec.cleanup_only  # a drill that only cleans up what an earlier drill left
        self.policy = plan.approval.for_mode(self.mode)
        self.preapproved = spec.preapproved  # a plan's run in an evacuation: approved with the evacuation
        if self.cleanup_only or self.preapproved:  # no card of its own (test VMs only; or the evacuation's)
            self.policy = self.policy.model_copy(update={"required": 0})
        # VMs failing over at once: the plan's batch_size, or its share of an evacuation's cap when smaller
        self.in_flight_cap = min(plan.batch_size, spec.in_flight_cap or plan.batch_size)
        self.approval: dict[str, Any] = {
            "required": self.policy.required,
            "approvers": self.policy.approvers,
            "on_timeout": self.policy.on_timeout,
            "allow_requester": self.policy.allow_requester,
            "requested_by": self.requested_by,
            "waiting": False,
            "escalated": False,
            # a plan's run in an evacuation: the evacuation's decisions (its approval stands for this run's)
            "decisions": list((self.preapproved or {}).get("decisions") or []),
            "used": {},  # "nonce:approver" -> request id of the accepted decision (single use)
            "expires_at": None,
        }
        self.sessions = {"found": 0, "logged_off": 0}
        self.messages: dict[str, Any] = {"sent": 0, "failed": []}  # the warning to users before log-off
        self.batches: list[dict[str, Any]] = []  # planned batches (Batch.to_dict), retries appended
        self.batch_results: dict[int, dict[str, Any]] = {}
        self.batches_started = 0
        self.dispatched: list[int] = []  # indexes of the batches started, in order
        self.dns: list[dict[str, Any]] = []
        self.errors: list[str] = []
        # what approvers and the report must show without failing the run: the starting alert's warnings (e.g. the
        # incident names the recovery region too)
        self.warnings: list[str] = [w for t in spec.triggers[:1] for w in t.get("warnings") or []]
        # recovery plans whose test failover is running or awaits cleanup (a drill left it): a failover cleans
        # them up after approval and before anyone is signed out
        self.leftover_drills: list[str] = []
        self.excluded: list[str] = []  # recovery plans an approver left out ("approve without")
        self.refused_plans: dict[str, str] = {}  # recovery plan -> why ASR offers no failover of it now
        self.plan_errors: dict[str, str] = {}  # recovery plan -> why it failed (cleared by a successful retry)
        self.blocked: list[str] = []  # failed plans of a stopped group, waiting for retry or skip
        self.retry_queue: list[str] = []
        self.forceable: list[str] = []  # of `blocked`: the failed dependency an operator may force (allowing data loss)
        self.forced: list[str] = []  # the ones an operator forced
        self.skipped: list[dict[str, Any]] = []
        self.operator_actions: list[dict[str, Any]] = []
        self.cancel: dict[str, Any] | None = None
        self.resolved: dict[str, Any] | None = None  # the Resolved notice of the incident that started the run
        self.resolutions: list[dict[str, Any]] = []  # Resolved notices of other incidents: recorded only
        self.requests: list[dict[str, Any]] = []  # the latest operator requests and how each was decided
        self.outcome: str | None = None  # the run's status once it ends (listings read it from the custom status)
        self.claim: dict[str, Any] | None = None  # the plan's claim (one active run per plan)
        self.callbacks: dict[str, str] = {}  # step -> nonce of the completion callback it waits for
        self.callbacks_used: dict[str, str] = {}  # nonce -> request id of the callback that completed the step
        self.steps: list[dict[str, Any]] = []
        self.dependencies: list[dict[str, Any]] = []
        self.actions: list[dict[str, Any]] = []  # custom-action groups (waves that are not ASR recovery plans)
        self.preflight: dict[str, Any] | None = None  # network and identity checks before the proposal
        self.capacity: dict[str, Any] | None = None  # recovery capacity against the plans (orchestrations.capacity)
        self.capacity_refused: list[dict[str, Any]] = []  # VMs a failover job could not bring up for quota/capacity
        self.capacity_task: Any = None  # its check, when started in the background (orchestrations.capacity)
        self.standby: dict[str, Any] | None = None
        self.provisioned: dict[str, Any] | None = None  # `recovery: provision` session hosts (orchestrations.provision)
        self.verify: dict[str, Any] | None = None
        self.cleanup: str | None = None  # drills: "done" | "failed"
        self.drill: dict[str, Any] | None = None
        self.restored_vms: list[dict[str, Any]] = []  # failbacks: Azure Local VMs brought back (RestoredVm)
        self.events = EventLog(context, plan.name, waiter=self.step)
        self._control: Any = None
        self.changes = 0  # control events applied that changed the run (`Controlled.wait_any`)
        self.background: list[Any] = []  # tasks started and not awaited yet (`Controlled.background`)

    def now(self) -> datetime:
        return as_utc(self.context.current_utc_datetime)

    def seconds(self, plan_seconds: float) -> float:
        return plan_seconds / self.scale

    def at(self, plan_seconds: float) -> datetime:
        return self.now() + timedelta(seconds=self.seconds(plan_seconds))

    # ---- steps ---------------------------------------------------------------------------------
    def begin(self, name: str) -> None:
        self.steps.append({"name": name, "status": "Running", "started_at": isoformat(self.now()), "finished_at": None})

    def end(self, name: str, status: str = "Succeeded") -> None:
        for step in reversed(self.steps):
            if step["name"] == name and step["finished_at"] is None:
                step.update(status=status, finished_at=isoformat(self.now()))
                return

    def all_errors(self) -> list[str]:
        return self.errors + list(self.plan_errors.values())

    @property
    def ids(self) -> dict[str, str]:
        """The run's instance id and plan name: the first two fields of every activity input (for its logs)."""
        return {"instance_id": self.context.instance_id, "plan": self.plan.name}

    def status_triggers(self) -> list[dict[str, Any]]:
        """The alert notifications the custom status lists (the summary keeps them all): the first, which
        started the run and names its incident, and the last STATUS_TRIGGERS. Every copy of an alert would
        otherwise add ~670 characters to a status Durable Functions caps at 16 KB of UTF-16 JSON."""
        return self.triggers[:1] + self.triggers[max(1, len(self.triggers) - STATUS_TRIGGERS) :]

    def publish_status(self, stage: str | None = None) -> None:
        if stage:
            self.stage = stage
        if self.context.is_replaying and getattr(self.context, "drops_replayed_status", False):
            return  # the local engine keeps the status an earlier episode set: building it again is wasted work
        vms_done = sum(r["vms"] for r in self.batch_results.values() if r["status"] == "Succeeded")
        self.context.set_custom_status(
            {
                "stage": self.stage,
                "outcome": self.outcome,
                "plan": self.plan.name,
                "mode": self.mode,
                "started_at": self.started_at,
                "requested_by": self.requested_by,
                "requested_by_claim": self.requested_by_claim,
                "reason": self.reason,
                "triggers": self.status_triggers(),  # the first (it names the incident) and the latest
                "triggers_total": len(self.triggers),
                "resolved": self.resolved,
                "resolutions": self.resolutions[-STATUS_TRIGGERS:],  # the latest (the summary keeps all)
                "claim": self.claim,
                "callbacks": self.callbacks,  # not shown by the API (like the approval nonce)
                "callbacks_used": self.callbacks_used,
                "approval": self.approval,
                "progress": {
                    "batches_total": len(self.batches),
                    "batches_started": self.batches_started,
                    "batches_done": len(self.batch_results),
                    "vms_total": sum(b["vms"] for b in self.batches if not b.get("retry_of")),
                    "vms_failed_over": vms_done,
                    "sessions_found": self.sessions["found"],
                    "sessions_logged_off": self.sessions["logged_off"],
                },
                **self.status_batches(),
                "operator": {
                    "blocked": self.blocked,
                    "forceable": self.forceable,
                    "skipped": self.skipped,
                    "actions": self.operator_actions,
                    "cancel": self.cancel,
                    "requests": self.requests,
                },
                "steps": self.steps,
                "dependencies": self.dependencies,
                "actions": self.actions,
                "preflight": self.preflight,
                "capacity": self.capacity,  # the check; the VMs refused are in the summary only (16 KB)
                "verify": self.verify,
                "errors": self.all_errors(),
                "warnings": self.warnings,
            }
        )

    def status_batches(self) -> dict[str, Any]:
        """The batches as the custom status lists them. Up to STATUS_BATCH_ROWS, every batch (`batches`). Beyond
        (a 10,000-VM plan has 101), which would pass Durable Functions' 16 KB status, the rows that matter now (failed,
        running, the next to start, the latest done; started ones marked `Running`, as the list no longer shows
        their order) and `batch_groups`, each group's counts, from which the live view draws its group lines."""
        rows = [_status_batch(self.batch_results.get(b["index"], {**b, "status": "Pending"})) for b in self.batches]
        if len(rows) <= STATUS_BATCH_ROWS:
            return {"batches": rows}
        started = max(0, self.batches_started - sum(1 for b in self.batches if b.get("retry_of")))
        position = 0
        for row in rows:  # planned batches start in list order; a retry batch is listed once dispatched
            if row["status"] == "Pending" and (row.get("retry_of") or position < started):
                row["status"] = "Running"
            position += 0 if row.get("retry_of") else 1
        groups: dict[str, dict[str, Any]] = {}
        for row in rows:
            group = groups.setdefault(
                row["group"],
                {
                    "group": row["group"],
                    "batches": 0,
                    "done": 0,
                    "failed": 0,
                    "running": 0,
                    "vms": 0,
                    "vms_failed_over": 0,
                },
            )
            group["batches"] += 1
            group["vms"] += 0 if row.get("retry_of") else row["vms"]
            group["done"] += row["status"] in ("Succeeded", "Failed")
            group["failed"] += row["status"] == "Failed"
            group["running"] += row["status"] == "Running"
            if row["status"] == "Succeeded":
                group["vms_failed_over"] += row["vms"]
            elif row["status"] == "Failed":
                group["vms_failed_over"] += sum(
                    p.get("vms") or 0 for p in row.get("plans") or [] if p["state"] == "Succeeded"
                )
        rank = {"Failed": 0, "Running": 1, "Pending": 2, "Succeeded": 3}
        pending = [r["index"] for r in rows if r["status"] == "Pending"]
        done = [r["index"] for r in rows if r["status"] == "Succeeded"]
        order = {i: n for n, i in enumerate(pending)} | {i: -n for n, i in enumerate(done)}  # next first, latest first
        chosen = sorted(rows, key=lambda r: (rank[r["status"]], order.get(r["index"], 0)))[:STATUS_BATCH_ROWS]
        keep = {r["index"] for r in chosen}
        return {"batches": [r for r in rows if r["index"] in keep], "batch_groups": list(groups.values())}

    def batches_dispatched(self) -> list[dict[str, Any]]:
        """The batches started so far (planned and retries), in the order they started."""
        by_index = {b["index"]: b for b in self.batches}
        return [by_index[i] for i in self.dispatched if i in by_index]

    def final_plans(self) -> list[dict[str, Any]]:
        """Each recovery plan's last attempt (a retry replaces the failed attempt)."""
        latest: dict[str, dict[str, Any]] = {}
        for index in sorted(self.batch_results):
            for entry in self.batch_results[index].get("plans", []):
                latest[entry["name"]] = entry
        return list(latest.values())

    def waves(self) -> list[dict[str, Any]]:
        """The groups in order, ASR recovery plans and custom actions alike, with what became of each."""
        out: list[dict[str, Any]] = []
        plans = self.final_plans()
        for group in self.plan.groups:
            if group.action is not None:
                done = next((a for a in self.actions if a["name"] == group.name), None)
                status = done["status"] if done else "NotStarted"
                out.append(
                    {"group": group.name, "kind": "custom_action", "webhook": group.action.webhook, "status": status,
                     "error": (done or {}).get("error")}
                )  # fmt: skip
                continue
            mine = [p for p in plans if group.matches(p["name"])]
            ok = [p for p in mine if p["state"] == "Succeeded"]
            status = "NotStarted" if not mine else "Succeeded" if len(ok) == len(mine) else "Failed"
            out.append(
                {"group": group.name, "kind": "asr", "recovery_plans": len(mine), "vms": sum(p["vms"] for p in mine),
                 "status": status}
            )  # fmt: skip
        return out

    def cancel_record(self) -> dict[str, Any] | None:
        """The accepted cancel, with what was done before it and what ran after it (the steps begun after it
        are cleanup, reporting and steps already running; `batches_started_after` is 0 by construction)."""
        if self.cancel is None:
            return None
        before = int(self.cancel.get("steps_before") or 0)
        return {
            **{k: v for k, v in self.cancel.items() if k not in ("steps_before", "batches_before", "request_id")},
            "done_before": [f"{s['name']}: {s['status']}" for s in self.steps[:before]],
            "after": [f"{s['name']}: {s['status']}" for s in self.steps[before:]],
            "batches_started_before": int(self.cancel.get("batches_before") or 0),
            "batches_started_after": self.batches_started - int(self.cancel.get("batches_before") or 0),
        }

    def summary(self, status: str) -> dict[str, Any]:
        finished = isoformat(self.now())
        results = [self.batch_results[b["index"]] for b in self.batches if b["index"] in self.batch_results]
        plans = self.final_plans()
        achieved, target = rto_seconds(self.started_at, finished), self.seconds(self.plan.rto_target)
        planned = {p["name"] for b in self.batches if not b.get("retry_of") for p in b["recovery_plans"]}
        met, note = rto_verdict(status, planned, plans, achieved, target)
        return {
            "instance_id": self.context.instance_id,
            "plan": self.plan.name,
            "mode": self.mode,
            "status": status,
            "requested_by": self.requested_by,
            "requested_by_claim": self.requested_by_claim,
            "reason": self.reason,
            "approvals": [
                {"approver": d["approver"], "decision": d["decision"], "at": d["at"], "comment": d.get("comment")}
                for d in self.approval["decisions"]
            ],
            "sessions": dict(self.sessions),
            "messages": self.messages,
            "batches": [
                {k: r[k] for k in ("group", "index", "recovery_plans", "vms", "started_at", "finished_at", "status")}
                for r in results
            ],
            "recovery_plans": plans,
            "vms_failed_over": sum(p["vms"] for p in plans if p["state"] == "Succeeded"),
            "batch_size": self.in_flight_cap,  # the in-flight cap: batch_size, or an evacuation's share
            "peak_vms_in_flight": peak_in_flight(results),
            "dns": [{"record": d["record"], "from": d["from"], "to": d["to"]} for d in self.dns],
            "dependencies": self.dependencies,
            "waves": self.waves(),
            "preflight": self.preflight,
            "capacity": {**self.capacity, "refused": self.capacity_refused} if self.capacity else None,
            "standby": self.standby,
            "provisioned": self.provisioned,
            "verify": self.verify or {"healthy": False, "checks": [], "note": "verify did not run"},
            "cleanup": self.cleanup,
            "drill": self.drill,
            "restored_vms": self.restored_vms,
            "operator": {"skipped": self.skipped, "actions": self.operator_actions, "cancel": self.cancel_record()},
            "steps": self.steps,
            "events_published": self.events.published,
            "events_failed": self.events.failed,
            "triggers": self.triggers,
            "resolved": self.resolved,
            "resolutions": self.resolutions,
            "claim": self.claim,
            "started_at": self.started_at,
            "finished_at": finished,
            "rto_seconds": achieved,
            "rto_target_seconds": target,
            "rto_met": met,
            "rto_note": note,
            "rpo_target_seconds": self.seconds(self.plan.rpo_target),  # run seconds, as rto_target_seconds
            "time_scale": self.scale,
            "errors": self.all_errors(),
            "warnings": self.warnings,
        }
