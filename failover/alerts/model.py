"""The `Alert` value: what the policy needs from any alert, whatever its schema, and the error of a payload
we do not understand."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

COMMON_SCHEMA = "azureMonitorCommonAlertSchema"
LEGACY_ACTIVITY_LOG_SCHEMA = "Microsoft.Insights/activityLogs"

RESOLVED_STAGES = frozenset({"resolved", "rca", "complete", "completed", "canceled", "cancelled"})


class AlertError(ValueError):
    """The payload is not an alert we understand; `field` is the JSON path at fault."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


@dataclass(frozen=True)
class ImpactedService:
    service: str
    regions: list[str]  # ARM names


@dataclass(frozen=True)
class Criterion:
    """One condition of a metric or log alert: `alertContext.condition.allOf[]`, or a V1 log alert's fields."""

    metric: str | None  # metricName, or the search query of a log alert
    operator: str | None = None
    threshold: str | None = None  # as sent (a string in metric alerts, a number in V1 log alerts)
    value: float | None = None  # metricValue, or ResultCount of a V1 log alert
    dimensions: dict[str, str] = field(default_factory=dict)


def _key(text: str | None) -> str:
    """Compare names the way Azure spells them both ways: no spaces, any case."""
    return (text or "").replace(" ", "").lower()


def arm_id_key(resource_id: str) -> str:
    """An ARM id for comparison: lower case, no trailing slash. (azure.mgmt.core.tools has no such key: its
    is_valid_resource_id compares case-insensitively but refuses a trailing slash, which alert payloads and plans
    may carry; and this also keys strings that are not ARM ids, compared as they are.)"""
    return resource_id.strip().rstrip("/").lower()


@dataclass(frozen=True)
class Alert:
    """What the policy needs from any alert, whatever its schema."""

    schema: str
    alert_id: str
    alert_rule: str
    alert_rule_id: str | None
    severity: str | None
    signal_type: str  # Metric | Log | ActivityLog (normalised spelling) | Event (Event Grid) | "" (unknown)
    monitoring_service: str
    monitor_condition: str  # Fired | Resolved
    fired_at: str | None
    target_ids: list[str] = field(default_factory=list)
    resolved_at: str | None = None
    # Activity-log event fields (Service Health, Resource Health, other activity-log alerts)
    operation_name: str | None = None
    status: str | None = None  # the event's status: Active, Resolved, Succeeded, ...
    # Service Health
    title: str | None = None
    incident_type: str | None = None  # Incident | ActionRequired | Informational | Maintenance | Security
    stage: str | None = None
    tracking_id: str | None = None
    impacted_services: list[ImpactedService] = field(default_factory=list)
    # Resource Health
    availability_state: str | None = None  # Available | Unavailable | Degraded | Unknown
    previous_availability_state: str | None = None
    cause: str | None = None  # PlatformInitiated | UserInitiated | ...
    # Metric and log alerts
    condition_type: str | None = None
    criteria: list[Criterion] = field(default_factory=list)
    dimension_resource_ids: list[str] = field(default_factory=list)  # ARM ids named by _ResourceId dimensions

    @property
    def regions(self) -> list[str]:
        seen: list[str] = []
        for impacted in self.impacted_services:
            for region in impacted.regions:
                if region not in seen:
                    seen.append(region)
        return seen

    @property
    def services(self) -> list[str]:
        return [s.service for s in self.impacted_services]

    @property
    def is_service_health(self) -> bool:
        return _key(self.monitoring_service) == "servicehealth"

    @property
    def is_resource_health(self) -> bool:
        return _key(self.monitoring_service) == "resourcehealth"

    @property
    def kind(self) -> str:
        """ServiceHealth | ResourceHealth | Metric | Log | ActivityLog | Other: decides how plans match."""
        if self.is_service_health:
            return "ServiceHealth"
        if self.is_resource_health:
            return "ResourceHealth"
        return self.signal_type if self.signal_type in ("Metric", "Log", "ActivityLog") else "Other"

    @property
    def resource_ids(self) -> list[str]:
        """The resources this alert is about: its targets, then ARM ids named by its dimensions."""
        seen: dict[str, str] = {}
        for resource_id in [*self.target_ids, *self.dimension_resource_ids]:
            seen.setdefault(arm_id_key(resource_id), resource_id)
        return list(seen.values())

    @property
    def subscriptions(self) -> set[str]:
        """The subscriptions this alert comes from (lower case): its alert id's and its resources', where they
        are ARM ids. Empty when it names none (then the plan's subscriptions cannot be checked)."""
        from azure.mgmt.core.tools import parse_resource_id  # imported when first used (issue 22)

        found = set()
        for arm_id in [self.alert_id, *self.resource_ids, *self.target_ids]:
            subscription = parse_resource_id((arm_id or "").strip()).get("subscription")
            if subscription:
                found.add(str(subscription).lower())
        return found

    @property
    def resolution(self) -> str | None:
        """Why this notification says the problem is over, or None if it does not."""
        if self.monitor_condition.lower() == "resolved":
            return "monitor condition Resolved"
        if (self.stage or "").lower() in RESOLVED_STAGES:
            return f"stage {self.stage}"
        if (self.status or "").lower() == "resolved":
            return "status Resolved"
        if self.is_resource_health and (self.availability_state or "").lower() == "available":
            return "availability Available"
        return None

    @property
    def is_resolved(self) -> bool:
        return self.resolution is not None

    @property
    def incident_key(self) -> str:
        """The incident's identity across its Fired and Resolved notifications.

        Service Health: the tracking id. Resource Health: the target resource id (lower case), because
        each activity-log or Event Grid notification has its own id. Metric, log and other alerts: the
        alert id (the common schema keeps one alertId for the Fired and Resolved of an alert instance).
        """
        if self.is_service_health and self.tracking_id:
            return self.tracking_id
        if self.is_resource_health and self.target_ids:
            return arm_id_key(self.target_ids[0])
        return self.alert_id

    def summary(self) -> dict[str, Any]:
        """The small trigger record kept in the run (history stays small)."""
        return {
            "alert_id": self.alert_id,
            "incident_key": self.incident_key,
            "alert_rule": self.alert_rule,
            "title": self.title or self.alert_rule,
            "monitoring_service": self.monitoring_service,
            "signal_type": self.signal_type,
            "monitor_condition": self.monitor_condition,
            "incident_type": self.incident_type,
            "stage": self.stage,
            "tracking_id": self.tracking_id,
            "availability_state": self.availability_state,
            "regions": self.regions,
            "services": self.services,
            "fired_at": self.fired_at,
        }
