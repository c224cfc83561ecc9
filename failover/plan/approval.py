"""A plan's `approval` section: who approves a run, and what an unanswered gate decides."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from failover.contracts import Mode
from failover.plan.fields import Duration, _Model

OnTimeout = Literal["abort", "proceed", "escalate"]


class ApprovalOverride(_Model):
    """Per-mode overrides of the approval policy (e.g. two approvers for an unplanned failover)."""

    required: int | None = Field(default=None, ge=0, le=10)
    timeout: Duration | None = None
    on_timeout: OnTimeout | None = None
    allow_requester: bool | None = None


class Approval(_Model):
    """Who must approve a run before anything changes, and what an unanswered gate decides.

    `on_timeout`: `abort` (the run ends Rejected), `proceed` (the run goes on), or `escalate`
    (a reminder goes to the escalation webhook, the gate is extended once by `escalation_extension`,
    then aborts). `modes` overrides `required`, `timeout`, `on_timeout`, `allow_requester` per mode.
    """

    required: int = Field(default=1, ge=0, le=10)
    approvers: list[str] = Field(default_factory=list)
    timeout: Duration = 1800.0
    on_timeout: OnTimeout = "abort"
    escalation_extension: Duration | None = None  # default: the gate's timeout again
    allow_requester: bool = False  # may the person who requested a run approve it?
    cancel_on_resolved: bool = True  # a Resolved alert for the incident cancels a run still awaiting approval
    modes: dict[Mode, ApprovalOverride] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _enough_approvers(self) -> Approval:
        distinct = len({a.lower() for a in self.approvers})
        for label, required in [("approval.required", self.required)] + [
            (f"approval.modes.{mode}.required", o.required) for mode, o in self.modes.items() if o.required is not None
        ]:
            if required > distinct:
                raise ValueError(f"{label} is {required} but only {distinct} distinct approvers are listed")
        return self

    def for_mode(self, mode: str) -> Approval:
        """The effective policy of one mode: the plan's values with that mode's overrides applied."""
        override = self.modes.get(mode)  # type: ignore[call-overload]
        if override is None:
            return self.model_copy(update={"modes": {}})
        changes = {k: v for k, v in override.model_dump().items() if v is not None}
        return self.model_copy(update={**changes, "modes": {}})
