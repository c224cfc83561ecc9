"""Contracts of the failover orchestration: what a trigger hands it (`RunInput`) and what it returns
(`RunSummary`, the `failover demo --json` document and the `output` of `GET /api/failovers/{id}`)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from failover.contracts import Contract, Mode
from failover.contracts.asr import RestoredVm
from failover.plan import Plan

RunStatus = Literal["Completed", "CompletedWithErrors", "Cancelled", "Rejected", "Failed"]


class RunInput(Contract):
    """The failover orchestration's input (`failover.run.build_run_input`). `time_scale` divides every plan
    duration (demo, tests, rehearsals); `restore` is what a failback puts back (DNS, Traffic Manager)."""

    plan: Plan
    mode: Mode
    triggers: list[dict[str, Any]] = Field(default_factory=list)  # normalised alerts (failover.alerts), as recorded
    # who started it: the signed-in caller, `function-key` (the key alone), `schedule`; None for an alert
    requested_by: str | None = None
    # a key-only start's body `requested_by`: shown as an unverified note, never compared to an approver
    requested_by_claim: str | None = None
    reason: str | None = None
    restore: dict[str, Any] = Field(default_factory=dict)
    time_scale: float = Field(default=1.0, gt=0)
    # the drill this run supersedes (a real failover arriving during a drill, plan `runs.during_drill: cancel`)
    supersedes: str | None = None
    # claims left by runs that ended without releasing them (host crashed, terminated): the handler saw them end
    stale_claims: list[str] = Field(default_factory=list)
    # a drill that only cleans up the test failovers an earlier drill left (`POST /api/drills/cleanup`): no test
    # failover, no approval
    cleanup_only: bool = False
    # a plan's run in an evacuation: the evacuation's approval stands for this run's (no card of its own) ...
    preapproved: dict[str, Any] | None = None  # {"evacuation": id, "decisions": [...]}
    # ... and its share of the evacuation's in-flight cap (VMs failing over at once; None: the plan's batch_size)
    in_flight_cap: int | None = Field(default=None, ge=1)


class EvacuationInput(Contract):
    """`evacuation_orchestrator`: every plan whose primary is `region`, one approval, each plan a child run."""

    region: str
    plans: list[Plan] = Field(min_length=1)
    requested_by: str | None = None
    reason: str | None = None
    trigger: dict[str, Any] | None = None
    time_scale: float = Field(default=1.0, gt=0)
    in_flight_cap: int = Field(default=100, ge=1)
    exclude: list[str] = Field(default_factory=list)  # plans left out when it was started


class RunSummary(Contract):
    """The run's summary. Top-level fields are the contract scripts read (docs/api.md); the per-step details
    below them stay JSON documents written by the workflow and read by the report."""

    instance_id: str
    plan: str
    mode: Mode
    status: RunStatus
    requested_by: str | None = None
    requested_by_claim: str | None = None  # unverified (a key-only start's body `requested_by`)
    reason: str | None = None
    approvals: list[dict[str, Any]]
    sessions: dict[str, Any]
    messages: dict[str, Any] | list[Any] | None = None
    batches: list[dict[str, Any]]
    recovery_plans: list[dict[str, Any]]
    vms_failed_over: int
    # the in-flight cap (plan batch_size) and the most VMs the run's batches had failing over at once
    batch_size: int | None = None
    peak_vms_in_flight: int = 0
    dns: list[dict[str, Any]]
    dependencies: list[dict[str, Any]]
    waves: list[dict[str, Any]]
    preflight: dict[str, Any] | None = None
    capacity: dict[str, Any] | None = None  # recovery capacity against the plans (orchestrations.capacity)
    standby: dict[str, Any] | None = None
    # `recovery: provision`: the session hosts built in the recovery region, their state, and what was removed
    provisioned: dict[str, Any] | None = None
    verify: dict[str, Any]
    cleanup: str | None = None  # drills: "done" | "failed"
    drill: dict[str, Any] | None = None
    # failbacks of Azure Local (HyperVReplicaAzure) recovery plans: the VMs brought back, where, what to do
    restored_vms: list[RestoredVm] = Field(default_factory=list)
    operator: dict[str, Any]
    steps: list[dict[str, Any]]
    events_published: int
    events_failed: int
    triggers: list[dict[str, Any]]
    resolved: dict[str, Any] | None = None  # the Resolved notice of the incident that started the run
    resolutions: list[dict[str, Any]] = Field(default_factory=list)  # other incidents' Resolved notices
    claim: dict[str, Any] | None = None  # the plan's claim this run held (docs/runbook.md, "Runs")
    started_at: str
    finished_at: str
    rto_seconds: float
    rto_target_seconds: float
    rto_met: bool | None = None  # True only when the failover completed within the target (failover.run.rto_verdict)
    rto_note: str | None = None
    # the plan's rpo_target in run seconds (as rto_target_seconds); None in summaries written before it
    rpo_target_seconds: float | None = None
    time_scale: float
    errors: list[Any]
    warnings: list[str] = Field(default_factory=list)  # shown to approvers and in the report; not errors
