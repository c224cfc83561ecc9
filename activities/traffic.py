"""Traffic Manager activities: read a profile, and switch one endpoint under a safety rule.

`tm_set_endpoint` is idempotent: it reads the endpoint and its profile first, writes (PATCH) only the
fields that differ, and answers `changed: False` when the endpoint already is as asked.

Safety rule (checked on the profile as read, before any write; a refusal is a `ValueError`, which the
orchestration treats as a failed step, and nothing is written):
- A change that disables an endpoint must leave at least one *healthy* enabled endpoint in the profile:
  healthy means `endpointMonitorStatus` Online, CheckingEndpoint or Unmonitored, and a target not listed
  in `unhealthy_targets`. So the last serving endpoint is never switched off, and neither is an endpoint
  whose only remaining peers are Degraded/Stopped/Inactive or known bad.
- A change that enables an endpoint, or gives it a better (lower) priority, is refused when that endpoint
  is unhealthy: its target is in `unhealthy_targets`, or its monitor status is Degraded, Stopped or
  Inactive. A disabled endpoint reports `Disabled` (its probes are off, its health unknown): only
  `unhealthy_targets` can refuse enabling it.
- Disabling an unhealthy endpoint or demoting its priority is always allowed when the first rule holds.
- A priority another endpoint of the profile already has is refused (ARM requires unique priorities).
A profile in which no endpoint is healthy (the whole application is down) therefore cannot lose an
enabled endpoint through this activity; an operator decides that in the portal.
"""

from __future__ import annotations

from typing import Any

import azure.durable_functions as df

from activities._common import clients, log
from failover.contracts.traffic import (
    ENDPOINT_TYPES,
    TmEndpoint,
    TmEndpointInput,
    TmEndpointResult,
    TmEndpointState,
    TmProfileInput,
    TmProfileResult,
)

HEALTHY_MONITOR = {"online", "checkingendpoint", "unmonitored"}
UNHEALTHY_MONITOR = {"degraded", "stopped", "inactive"}


def _str(value: Any) -> str | None:
    """An SDK enum or string as its plain string value."""
    if value is None:
        return None
    return str(getattr(value, "value", value))


def _short_type(arm_type: str | None) -> str:
    tail = (arm_type or "").rsplit("/", 1)[-1]
    return ENDPOINT_TYPES.get(tail.lower(), tail)


def _endpoint_dict(endpoint: Any) -> dict[str, Any]:
    return {
        "name": endpoint.name,
        "type": _short_type(endpoint.type),
        "status": _str(endpoint.endpoint_status),
        "priority": endpoint.priority,
        "weight": endpoint.weight,
        "target": endpoint.target or endpoint.target_resource_id,
        "monitor_status": _str(endpoint.endpoint_monitor_status),
    }


def tm_get_profile(payload: TmProfileInput) -> TmProfileResult:
    """A Traffic Manager profile's routing method and endpoints (status, priority, target, probe status)."""
    client = clients().traffic_manager(payload.subscription_id)
    profile = client.profiles.get(payload.resource_group, payload.profile)
    return TmProfileResult(
        profile=profile.name or payload.profile,
        routing_method=_str(profile.traffic_routing_method),
        endpoints=[TmEndpoint.model_validate(_endpoint_dict(e)) for e in profile.endpoints or []],
    )


def _healthy(endpoint: dict[str, Any], unhealthy_targets: set[str]) -> bool:
    return (endpoint["monitor_status"] or "").lower() in HEALTHY_MONITOR and (
        endpoint["target"] or ""
    ).lower() not in unhealthy_targets


def _check_safety(
    profile: str,
    endpoints: list[dict[str, Any]],
    current: dict[str, Any],
    status: str | None,
    priority: int | None,
    unhealthy_targets: set[str],
) -> None:
    """Raise ValueError when the change breaks the safety rule (see the module docstring)."""
    label = f"{profile}/{current['name']}"
    enabling = status == "Enabled" and current["status"] != "Enabled"
    promoting = priority is not None and current["priority"] is not None and priority < current["priority"]
    if (enabling or promoting) and status == "Enabled":
        target = (current["target"] or "").lower()
        monitor = (current["monitor_status"] or "").lower()
        action = "enable" if enabling else f"raise the priority of (to {priority})"
        if target in unhealthy_targets:
            raise ValueError(f"refused to {action} {label}: its target {current['target']} is listed as unhealthy")
        if monitor in UNHEALTHY_MONITOR:
            raise ValueError(f"refused to {action} {label}: Traffic Manager reports it {current['monitor_status']}")
    if status == "Disabled" and current["status"] == "Enabled":
        others = [
            e
            for e in endpoints
            if e["status"] == "Enabled" and not (e["name"] == current["name"] and e["type"] == current["type"])
        ]
        if not any(_healthy(e, unhealthy_targets) for e in others):
            remaining = ", ".join(f"{e['name']} ({e['monitor_status']})" for e in others) or "none"
            raise ValueError(
                f"refused to disable {label}: the profile would have no healthy enabled endpoint left "
                f"(other enabled endpoints: {remaining})"
            )
    if priority is not None and priority != current["priority"]:
        clash = next(
            (e for e in endpoints if e["priority"] == priority and e["name"] != current["name"]),
            None,
        )
        if clash is not None:
            raise ValueError(
                f"refused to set the priority of {label} to {priority}: endpoint {clash['name']} already has it "
                "(priorities are unique within a profile)"
            )


def tm_set_endpoint(payload: TmEndpointInput) -> TmEndpointResult:
    """Set one endpoint's status and/or priority, idempotently and under the safety rule.

    Input (`TmEndpointInput`): the endpoint, and optionally status ("Enabled" | "Disabled"), priority (1-1000),
    unhealthy_targets (targets known to be down); the contract refuses anything else before any call.
    Output: record "{profile}/{endpoint}", from/to {status, priority}, changed.
    """
    from azure.mgmt.trafficmanager.models import Endpoint

    endpoint_type, status, priority = payload.endpoint_type, payload.status, payload.priority
    unhealthy_targets = {t.lower() for t in payload.unhealthy_targets}

    client = clients().traffic_manager(payload.subscription_id)
    rg, profile_name, name = payload.resource_group, payload.profile, payload.endpoint
    current = _endpoint_dict(client.endpoints.get(rg, profile_name, endpoint_type, name))  # 404: unknown
    profile = client.profiles.get(rg, profile_name)
    endpoints = [_endpoint_dict(e) for e in profile.endpoints or []]
    record = f"{profile_name}/{current['name']}"
    before = TmEndpointState(status=current["status"], priority=current["priority"])
    after = TmEndpointState(
        status=status if status is not None else before.status,
        priority=priority if priority is not None else before.priority,
    )
    if after == before:
        return TmEndpointResult(record=record, from_=before, to=after, changed=False)
    _check_safety(profile_name, endpoints, current, after.status, priority, unhealthy_targets)
    patch: dict[str, Any] = {}
    if after.status != before.status:
        patch["endpoint_status"] = after.status
    if after.priority != before.priority:
        patch["priority"] = after.priority
    updated = client.endpoints.update(rg, profile_name, endpoint_type, name, Endpoint(**patch))
    result = TmEndpointState(status=_str(updated.endpoint_status), priority=updated.priority)
    if result != after:
        raise RuntimeError(
            f"Traffic Manager endpoint {record}: asked for {after.plain()}, the update answered {result.plain()}"
        )
    log(payload, "traffic.endpoint").info(
        "traffic manager endpoint", record=record, before=before.plain(), after=result.plain()
    )
    return TmEndpointResult(record=record, from_=before, to=result, changed=True)


ACTIVITIES = [tm_get_profile, tm_set_endpoint]

bp = df.Blueprint()
for _activity in ACTIVITIES:
    bp.activity_trigger(input_name="payload")(_activity)
