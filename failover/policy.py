"""Alert policy: which plans, if any, an alert starts. A pure function of (alert, plans); unit tested.

Rules (docs/triggers.md):
- A resolution never starts a run: `monitorCondition: Resolved`, a Service Health stage Resolved / RCA /
  Complete / Canceled, an activity-log status Resolved, or Resource Health back to Available. The plans
  it *would* have matched are returned in `resolved_plans`, so the caller can record the resolution on
  a running run of those plans.
- Service Health notices match a plan when they name one of its trigger regions (default: its primary
  region; ARM names, whatever spelling Azure used) and, if the plan lists services, one of those
  services. Only incidents start a run; Maintenance and Informational notices need
  `triggers.include_maintenance`, ActionRequired `include_action_required`, Security advisories
  `include_security`. A type we do not know never starts a run.
- Resource Health (activity-log alerts and Event Grid events) matches by alert rule id or by a target
  resource inside one of the plan's `resource_scopes`, only when the resource is Unavailable or Degraded
  and the downtime is not user-initiated (Unknown is not evidence of an outage).
- Metric, log and other non-activity-log alerts match by alert rule id or resource scope (their target
  ids and any `_ResourceId` dimension).
- Any other activity-log alert (Administrative, Policy, Security, Autoscale, Recommendation...) matches
  only by alert rule id: a VM restart inside a scope is not a reason to evacuate a region.
- Scopes are ARM id prefixes compared case-insensitively on whole path segments:
  `/subscriptions/x/resourceGroups/rg-a` contains `.../rg-a/providers/...` but not `.../rg-ab`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from failover.alerts import Alert, arm_id_key
from failover.plan import Plan

_OUTAGE_STATES = {"unavailable", "degraded"}


@dataclass(frozen=True)
class PolicyDecision:
    """`plans`: start (or join) a run of each. `resolved_plans`: the plans this alert would have matched
    were it not a resolution. `skipped`: plan name → why that plan did not match."""

    plans: list[str] = field(default_factory=list)
    reason: str = ""
    resolved_plans: list[str] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)
    warnings: dict[str, list[str]] = field(default_factory=dict)  # plan name → what its approvers must know

    @property
    def ignored(self) -> bool:
        return not self.plans


def in_scope(resource_id: str, scope: str) -> bool:
    """Is `resource_id` the scope itself or below it? Case-insensitive, on whole path segments.

    Hand-written on purpose: azure.mgmt.core.tools parses and validates ids but has no "is under" test, and a
    prefix on whole segments is exactly that (a subscription, resource group or resource contains its children)."""
    resource, prefix = arm_id_key(resource_id), arm_id_key(scope)
    return bool(prefix) and (resource == prefix or resource.startswith(prefix + "/"))


_OPT_IN = {
    "Maintenance": "include_maintenance",
    "Informational": "include_maintenance",
    "ActionRequired": "include_action_required",
    "Security": "include_security",
}


def _opt_in(alert: Alert, plan: Plan) -> str | None:
    """Why a Service Health notice of this type cannot start this plan, or None if it may."""
    kind = alert.incident_type or "Incident"  # a notice without a type (nor operationName) is an incident
    if kind == "Incident":
        return None
    flag = _OPT_IN.get(kind)
    if flag is None:
        return f"Service Health notice type '{kind}' is not one we act on"
    return None if getattr(plan.triggers, flag) else f"{kind} notices need triggers.{flag}"


def _service_health(alert: Alert, plan: Plan) -> str | None:
    why = _opt_in(alert, plan)
    if why:
        return why
    covered = set(plan.trigger_regions)
    if not covered & set(alert.regions):
        return f"regions {', '.join(alert.regions) or 'none'} are not in {', '.join(sorted(covered))}"
    if plan.triggers.services:
        wanted = {s.strip().lower() for s in plan.triggers.services}
        if not any(s.strip().lower() in wanted for s in alert.services):
            return f"services {', '.join(alert.services) or 'none'} are not in {', '.join(plan.triggers.services)}"
    return None


def _rule_listed(alert: Alert, plan: Plan) -> bool:
    rule_id = arm_id_key(alert.alert_rule_id or "")
    return bool(rule_id) and rule_id in {arm_id_key(r) for r in plan.triggers.alert_rule_ids}


def _scoped(alert: Alert, plan: Plan) -> bool:
    return any(in_scope(r, s) for r in alert.resource_ids for s in plan.triggers.resource_scopes)


def _alert_level(alert: Alert) -> str | None:
    """Why this alert cannot start any plan, whatever the plans say (resolution aside)."""
    if alert.is_resource_health and not alert.is_resolved:
        state = alert.availability_state
        if (state or "").lower() not in _OUTAGE_STATES:
            return f"Resource Health availability {state or 'not given'} is not an outage"
        if (alert.cause or "").replace(" ", "").lower() == "userinitiated":
            return "Resource Health reports user-initiated downtime"
    return None


def _why_not(alert: Alert, plan: Plan) -> str | None:
    """None when `plan` matches `alert` (resolution aside), else why it does not."""
    foreign = alert.subscriptions - plan.trigger_subscriptions
    if foreign:  # the alert (or a resource it is about) is in a subscription the plan does not name
        return (
            f"subscription {', '.join(sorted(foreign))} is not one the plan names "
            f"({', '.join(sorted(plan.trigger_subscriptions))}; triggers.subscriptions)"
        )
    if alert.is_service_health:
        return _service_health(alert, plan)
    if _rule_listed(alert, plan):
        return None
    rule = alert.alert_rule or alert.monitoring_service
    if alert.kind == "ActivityLog":
        return f"activity-log alert rule '{rule}' is not in triggers.alert_rule_ids"
    if _scoped(alert, plan):
        return None
    return f"alert rule '{rule}' is not listed and no target resource is in triggers.resource_scopes"


def _warnings(alert: Alert, plan: Plan) -> list[str]:
    """What approvers must see before they fail this plan over for this alert: a Service Health notice that also
    names the recovery region (failing over into it may land in the same outage)."""
    if alert.is_service_health and plan.recovery_region in alert.regions:
        return [
            f"the incident also names the recovery region {plan.recovery_region}: failing over may move into "
            "the same outage"
        ]
    return []


def decide(alert: Alert, plans: list[Plan]) -> PolicyDecision:
    """The plans this alert should start a failover for, or why none."""
    by_name = {p.name: p for p in plans}
    blocker = _alert_level(alert)
    matched: list[str] = []
    skipped: dict[str, str] = {}
    for plan in plans:
        why = blocker or _why_not(alert, plan)
        if why is None:
            matched.append(plan.name)
        else:
            skipped[plan.name] = why
    if alert.is_resolved:
        return PolicyDecision(
            reason=f"alert is resolved ({alert.resolution}): a resolution never starts a run",
            resolved_plans=matched,
            skipped=skipped,
        )
    if matched:
        kind = f"Service Health {alert.incident_type or 'incident'}" if alert.is_service_health else alert.kind
        warnings = {name: found for name in matched if (found := _warnings(alert, by_name[name]))}
        return PolicyDecision(
            plans=matched, reason=f"{kind} alert matches the plan triggers", skipped=skipped, warnings=warnings
        )
    if not plans:
        return PolicyDecision(reason="no plans are loaded")
    if blocker:
        return PolicyDecision(reason=blocker, skipped=skipped)
    if alert.is_service_health:
        regions = ", ".join(alert.regions) or "none"
        reasons = "; ".join(f"{name}: {why}" for name, why in skipped.items())
        return PolicyDecision(
            reason=f"no plan covers this {alert.incident_type or 'notice'} (regions: {regions}) - {reasons}",
            skipped=skipped,
        )
    reasons = "; ".join(f"{name}: {why}" for name, why in skipped.items())
    return PolicyDecision(reason=f"no plan matches - {reasons}", skipped=skipped)
