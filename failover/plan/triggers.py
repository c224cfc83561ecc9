"""A plan's `triggers` section: which alerts start it."""

from __future__ import annotations

from pydantic import Field, field_validator

from failover.plan.fields import Region, _Model, is_arm_id


class Triggers(_Model):
    """Which alerts start this plan (failover/policy.py, docs/triggers.md).

    Service Health notices match by region (default: the plan's primary region) and, if `services`
    is not empty, by impacted service; only incidents start a run unless an `include_*` flag opts in.
    Metric, log and Resource Health alerts match by `alert_rule_ids` or by a target resource inside one
    of `resource_scopes` (ARM ids, compared case-insensitively, path-prefix aware). Every alert must come from
    one of `subscriptions` (default: the plan's own).
    """

    regions: list[Region] = Field(default_factory=list)
    # The subscriptions whose alerts may start the plan (default: every subscription the plan names). An alert
    # from another subscription (a Service Health incident of someone else's subscription) starts nothing.
    subscriptions: list[str] = Field(default_factory=list)
    services: list[str] = Field(default_factory=list)
    alert_rule_ids: list[str] = Field(default_factory=list)
    resource_scopes: list[str] = Field(default_factory=list)
    include_maintenance: bool = False  # Service Health Maintenance and Informational notices
    include_action_required: bool = False  # Service Health ActionRequired notices
    include_security: bool = False  # Service Health Security advisories

    @field_validator("alert_rule_ids", "resource_scopes")
    @classmethod
    def _arm_ids(cls, values: list[str]) -> list[str]:
        cleaned = [v.strip().rstrip("/") for v in values]
        wrong = [v for v in cleaned if not is_arm_id(v)]
        if wrong:
            raise ValueError(
                f"'{wrong[0]}' is not an ARM id (expected a subscription, resource group or resource id: "
                "'/subscriptions/<id>/...')"
            )
        return cleaned
