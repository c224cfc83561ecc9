"""Alert policy: which plans, if any, an alert starts. A pure function, unit tested.

Rules (first cut; the triggers issue deepens them):
- never for a Resolved alert (monitor condition or Service Health stage);
- Service Health maintenance and informational notices only for plans that opt in;
- a plan matches when the alert names one of its trigger regions and (if the plan lists services)
  one of its services; metric, log and resource-health alerts match by alert rule id or by a target
  resource inside one of the plan's resource scopes.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from failover.alerts import Alert
from failover.plan import Plan

_OPT_IN_TYPES = {"maintenance", "informational"}


@dataclass(frozen=True)
class PolicyDecision:
    plans: list[str] = field(default_factory=list)
    reason: str = ""

    @property
    def ignored(self) -> bool:
        return not self.plans


def instance_id_for(plan: str, mode: str = "failover") -> str:
    """One active run per plan: the orchestration instance id is derived from the plan."""
    return f"{mode}-{plan}"


def _matches_service_health(alert: Alert, plan: Plan) -> bool:
    if (alert.incident_type or "").lower() in _OPT_IN_TYPES and not plan.triggers.include_maintenance:
        return False
    if not set(alert.regions) & set(plan.trigger_regions):
        return False
    if plan.triggers.services:
        wanted = {s.lower() for s in plan.triggers.services}
        return any(s.lower() in wanted for s in alert.services)
    return True


def _matches_resource_alert(alert: Alert, plan: Plan) -> bool:
    rule_id = (alert.alert_rule_id or "").lower()
    if rule_id and rule_id in {r.lower() for r in plan.triggers.alert_rule_ids}:
        return True
    scopes = [s.lower().rstrip("/") + "/" for s in plan.triggers.resource_scopes]
    return any((t.lower().rstrip("/") + "/").startswith(scope) for t in alert.target_ids for scope in scopes)


def decide(alert: Alert, plans: list[Plan]) -> PolicyDecision:
    """The plans this alert should start a failover for, or why none."""
    if alert.is_resolved:
        return PolicyDecision(reason=f"alert is resolved (condition {alert.monitor_condition}, stage {alert.stage})")
    if alert.is_service_health:
        matched = [p.name for p in plans if _matches_service_health(alert, p)]
        if not matched:
            regions = ", ".join(alert.regions) or "none"
            kind = alert.incident_type or "notice"
            return PolicyDecision(reason=f"no plan covers this {kind} (regions: {regions})")
        return PolicyDecision(plans=matched, reason="service health incident in a covered region")
    matched = [p.name for p in plans if _matches_resource_alert(alert, p)]
    if not matched:
        return PolicyDecision(reason=f"no plan lists alert rule '{alert.alert_rule}' or its target resources")
    return PolicyDecision(plans=matched, reason="alert rule or resource scope named by the plan")
