"""Contracts of the batch sub-orchestration (orchestrations/batch.py): what the failover orchestration's
dispatcher hands it (`BatchInput`) and the batch's summary entry it returns (`BatchResult`)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from failover.contracts import Contract, Mode


class BatchInput(Contract):
    """One planned batch to fail over. `batch` is `failover.batching.Batch.to_dict()` (group, index,
    recovery_plans [{name, vms}], vms; a retry adds `retry_of`); `asr` the vault (`Plan.vault_ref()`) and the
    plan's ASR settings (recovery_point_type, source_site_operations, drill_network, drill_networks). Seconds
    are already divided by the run's time scale."""

    plan: str | None = None  # the plan's name, for the activities' logs
    # the run's instance id: the batch publishes BatchStarted, BatchCompleted and PlanFailed as the run's
    # events (None: a history started before, whose run publishes them itself)
    run_id: str | None = None
    batch: dict[str, Any]
    asr: dict[str, Any]
    mode: Mode
    poll_seconds: float = Field(gt=0)
    poll_max_seconds: float | None = None
    commit: bool = False
    timeout_seconds: float = Field(gt=0)  # each job's own deadline, from when it was started
    # when each recovery plan's failover job is expected to have ended (its first read), and a commit's
    expected_seconds: dict[str, float] = Field(default_factory=dict)
    expected_commit_seconds: float = 0.0


class BatchResult(Contract):
    """The batch's summary entry: every recovery plan's job, state and errors (`plans`, JSON documents:
    name, vms, job, action, state, errors, and commit/timing fields when they apply)."""

    group: str
    index: int
    recovery_plans: list[str]
    vms: int
    started_at: str
    finished_at: str
    status: Literal["Succeeded", "Failed"]
    plans: list[dict[str, Any]]
    # the run's CloudEvents the batch published itself, and those that failed (BatchInput.run_id)
    events_published: int = 0
    events_failed: int = 0
