"""A plan's Azure Site Recovery sections: the vault and its job settings (`asr`), and the waves (`groups`)."""

from __future__ import annotations

import fnmatch
import re
from typing import Literal

from pydantic import Field, model_validator

from failover.plan.fields import Duration, WebhookBody, _Model

ReplicationProvider = Literal["A2A", "HyperVReplicaAzure"]
"""What a recovery plan's VMs replicate with: `A2A` (Azure VMs, region to region) or `HyperVReplicaAzure` (Azure
Local / Hyper-V VMs of a Hyper-V site, replicated to Azure). Its failover inputs differ (docs/plan-reference.md)."""


class Asr(_Model):
    resource_group: str = Field(min_length=1)
    vault: str = Field(min_length=1)
    subscription_id: str | None = None
    mode: Literal["planned", "unplanned"] = "unplanned"
    recovery_point_type: Literal[
        "Latest", "LatestProcessed", "LatestApplicationConsistent", "LatestCrashConsistent"
    ] = "Latest"
    source_site_operations: Literal["Required", "NotRequired"] = "NotRequired"
    job_poll_interval: Duration = 15.0  # first job read; then doubling up to job_poll_max
    job_poll_max: Duration = 60.0
    job_timeout: Duration = 3600.0  # per batch: a job still running then is reported TimedOut
    expected_job_duration: Duration = 900.0  # for the approval card's estimate and previews
    commit: bool = True  # commit each recovery plan after its failover succeeded
    expected_seconds_per_vm: Duration = 0.0  # preview: a job's estimate grows by this per VM
    expected_commit_duration: Duration = 60.0  # preview
    # the recovery plans' replication provider, unless a group says otherwise
    replication_provider: ReplicationProvider = "A2A"
    # HyperVReplicaAzure failbacks (Azure back to the Azure Local / Hyper-V site): ASR's data sync option ...
    failback_data_sync: Literal["ForSynchronization", "ForDownTime"] = "ForSynchronization"
    # ... and its alternate location recovery option: create the VM on a host of the site when it is gone
    failback_vm_creation: Literal["CreateVmIfNotFound", "NoAction"] = "CreateVmIfNotFound"

    @model_validator(mode="after")
    def _failback_completes(self) -> Asr:
        if self.failback_data_sync == "ForDownTime":
            # ASR suspends a ForDownTime failback after its first sync until someone completes the failover (resumes
            # the job); the runbook does not, so its failback would wait forever
            raise ValueError(
                "failback_data_sync: ForDownTime suspends the failback job until someone completes the failover "
                "(ASR job resume), which the runbook does not do; use ForSynchronization"
            )
        if self.replication_provider == "HyperVReplicaAzure" and self.recovery_point_type == "LatestCrashConsistent":
            raise ValueError(
                "recovery_point_type: HyperVReplicaAzure offers Latest, LatestApplicationConsistent, LatestProcessed"
            )
        return self


class GroupAction(_Model):
    """A custom-action wave: call a webhook (e.g. an Automation runbook on a hybrid worker that fails a larger
    Azure Local site over with Hyper-V Replica) and wait for its completion callback or the timeout."""

    webhook: str = Field(min_length=1, description="settings name: FAILOVER_WEBHOOK_<NAME> holds the URL")
    body: WebhookBody = Field(default_factory=dict)
    timeout: Duration = 3600.0
    expected_duration: Duration = 1800.0  # preview: how long the action usually takes


class Group(_Model):
    """A wave: every recovery plan of a group (or its custom action) finishes before the next group starts.

    A group holds either ASR `recovery_plans` (names or glob patterns) or one custom `action`, so one plan can
    sequence ASR recovery plans (e.g. remote sites) and Hyper-V Replica runbooks (larger locations) in one order.
    """

    name: str = Field(min_length=1)
    recovery_plans: list[str] = Field(default_factory=list)
    action: GroupAction | None = None
    on_failure: Literal["stop", "continue"] = "stop"
    replication_provider: ReplicationProvider | None = None  # None: the `asr` section's

    @model_validator(mode="after")
    def _plans_or_action(self) -> Group:
        if self.action is None and not self.recovery_plans:
            raise ValueError(f"group '{self.name}': list recovery_plans, or give a custom action")
        if self.action is not None and self.recovery_plans:
            raise ValueError(f"group '{self.name}': a group has recovery_plans or an action, not both")
        if self.action is not None and self.replication_provider is not None:
            raise ValueError(f"group '{self.name}': replication_provider applies to recovery_plans, not to an action")
        if self.action is not None and not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]{0,62}", self.name):
            raise ValueError(f"group '{self.name}': an action group's name is its callback step: use A-Z a-z 0-9 . _ -")
        return self

    @property
    def is_action(self) -> bool:
        return self.action is not None

    def matches(self, recovery_plan: str) -> bool:
        return any(fnmatch.fnmatchcase(recovery_plan.lower(), p.lower()) for p in self.recovery_plans)
