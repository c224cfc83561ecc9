"""Contracts of the notification activities (activities/notify.py): CloudEvents to Event Grid, cards to Teams.

Neither secret (webhook URL, signing key) is in any of them: the activity reads both from its settings.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from failover.contracts import ActivityInput, Contract, Mode, NonEmpty


class PublishEventInput(ActivityInput):
    """`publish_event`: one CloudEvent. The orchestration chooses the id, so a retry repeats the same event."""

    id: NonEmpty
    type: NonEmpty
    source: NonEmpty
    subject: NonEmpty
    time: str | None = None  # ISO 8601, the orchestration's clock; none: Event Grid's
    # Free-form: each event type carries its own JSON document (docs/events.md), built from the run's state.
    data: dict[str, Any] = Field(default_factory=dict)


class PublishEventResult(Contract):
    published: int
    id: str


class ApprovalCardInput(ActivityInput):
    """`teams_post_approval_card` and `teams_post_reminder`: what the approvers see, and what the signed
    approve/reject links name (the run, the gate's nonce, its deadline)."""

    instance_id: NonEmpty
    plan: NonEmpty
    nonce: NonEmpty
    expires_at: NonEmpty  # ISO 8601; the links are valid until then (a reminder: the extended deadline)
    mode: Mode
    # Free-form: the alert that triggered the run, as normalised by failover.alerts and recorded in the run.
    trigger: dict[str, Any] | None = None
    requested_by: str | None = None
    requested_by_claim: str | None = None  # a key-only start's body `requested_by`: shown as not verified
    reason: str | None = None
    # Free-form: the run's preflight document (network and identity checks), as recorded in the run.
    preflight: dict[str, Any] | None = None
    primary_region: str
    recovery_region: str
    vms: int
    recovery_plans: int
    batches: int
    sessions: int | None = None  # user sessions approving will sign out (None: no host pool, or not counted)
    # per host pool: {"host_pool", "sessions"}, or {"host_pool", "error"} when it could not be read
    host_pools: list[dict[str, Any]] = Field(default_factory=list)
    # each dependency's data-loss window, as the preview states it: {"dependency", "bound"}
    data_loss: list[dict[str, str]] = Field(default_factory=list)
    expected_seconds: float
    approvers: list[str]
    required: int
    # Free-form: asr_replication_health's output as the run records it, or {"error": why} when it failed.
    readiness: dict[str, Any] | None = None
    # recovery plans that cannot fail over as they are: {"recovery_plan", "why", "approving"} (what approving
    # does about it); the card offers to approve without them
    excludable: list[dict[str, str]] = Field(default_factory=list)
    # Free-form: the recovery capacity check as the run records it (`orchestrations.capacity`: rows, policy,
    # short), or {"error": why}; None when the run did not check (a failback)
    capacity: dict[str, Any] | None = None


class ApprovalDecision(Contract):
    """One entry of the run's approval decisions (`approvals` in its summary)."""

    approver: str | None = None  # none: the gate's timer (timeout, escalation)
    decision: Literal["approve", "reject", "timeout", "escalated"]
    at: str
    comment: str | None = None


class TeamsDecisionInput(ActivityInput):
    """`teams_post_decision`: the follow-up saying who decided what, when."""

    plan: NonEmpty
    outcome: NonEmpty
    decisions: list[ApprovalDecision] = Field(default_factory=list)
    note: str = ""


class TeamsPostResult(Contract):
    posted: bool


class TeamsReminderResult(TeamsPostResult):
    escalation_webhook: bool  # posted to the escalation webhook (else to the approvers' channel)
