"""ASR replication health (`asr_replication_health`): reads only, so it may run any number of times; registered
with the other ASR activities by `activities.asr`."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from activities._asr import plan_items, protected_items_json
from activities._common import clients, log
from failover.contracts.asr import ReplicationHealthInput, ReplicationHealthResult, UnhealthyItem

# Bounds that keep the activity's output (and so the orchestration history) small.
UNHEALTHY_LISTED = 50
ERRORS_PER_ITEM = 3
ERROR_CHARS = 300
_SEVERITY = {"critical": 0, "missing": 1, "warning": 2}


def _health_errors(props: dict[str, Any]) -> list[str]:
    texts = []
    for error in props.get("healthErrors") or []:
        text = (error.get("errorMessage") or error.get("summaryMessage")) if isinstance(error, dict) else None
        if text:
            code = error.get("errorCode")
            text = f"{code}: {text}" if code else str(text)
            texts.append(text[:ERROR_CHARS])
    return texts[:ERRORS_PER_ITEM]


def _rpo_seconds(props: dict[str, Any]) -> float | None:
    """The item's RPO from its provider details: A2A `rpoInSeconds`, InMage-style `lastRpoInSeconds`."""
    details = props.get("providerSpecificDetails")
    for field in ("rpoInSeconds", "lastRpoInSeconds"):
        value = details.get(field) if isinstance(details, dict) else None
        if value is not None:
            return float(value)
    return None


def _wanted(payload: ReplicationHealthInput) -> dict[str, str] | None:
    """Lower-cased item id -> name of the items the payload's recovery plans list; None: the whole vault."""
    if payload.recovery_plans is None:
        return None
    client = clients().site_recovery(payload.subscription_id)
    items = plan_items(client, payload.resource_group, payload.vault, payload.recovery_plans)
    return {key: item_id.rsplit("/", 1)[-1] for key, (_, item_id) in items.items()}


def _listing(
    payload: ReplicationHealthInput, wanted: dict[str, str] | None, seen: set[str]
) -> Iterator[tuple[dict[str, Any], dict[str, Any] | None, str, bool]]:
    """The vault's protected items the health and recovery-point reads count (one listing, both reads), as ARM's
    JSON (`protected_items_json`): (item, its properties or None, label, on_target: already active on the
    direction's target side); adds each item id listed to `seen`."""
    target = "recovery" if payload.direction == "PrimaryToRecovery" else "primary"
    client = clients().site_recovery(payload.subscription_id)
    for item in protected_items_json(client, payload.subscription_id, payload.resource_group, payload.vault):
        key = str(item.get("id") or "").lower()
        if (wanted is not None and key not in wanted) or key in seen:
            continue
        seen.add(key)
        props = item.get("properties") if isinstance(item.get("properties"), dict) else None
        label = str((props or {}).get("friendlyName") or item.get("name") or key)
        yield item, props, label, props is not None and str(props.get("activeLocation") or "").lower() == target


def recovery_point_ages(payload: ReplicationHealthInput) -> list[tuple[str, float | None]]:
    """Each protected item still on the direction's source side with its current recovery point age (the RPO ASR
    reports, as `asr_replication_health` reads it; None when it reports none), by name. Read-only."""
    return sorted(
        (label, _rpo_seconds(props))
        for _, props, label, on_target in _listing(payload, _wanted(payload), set())
        if props is not None and not on_target
    )


def asr_replication_health(payload: ReplicationHealthInput) -> ReplicationHealthResult:
    """Replication readiness of the vault's protected items, for the approval card.

    Input: subscription_id, resource_group, vault, and optionally recovery_plans (names): then only
    the items those plans list in `groups[].replicationProtectedItems[].id` count, and an item a plan
    lists that the vault does not is reported unhealthy with health "Missing"; and direction
    (`PrimaryToRecovery`, the default, before a failover; `RecoveryToPrimary` before a failback, once
    reprotect made the recovery region replicate back).
    Output: protected_items (items counted), healthy (replicationHealth Normal and active on the
    direction's source side: Primary, or Recovery for RecoveryToPrimary), failed_over (already active on
    the direction's target side: neither healthy nor unhealthy), unhealthy (worst first, at most 50:
    name, health, errors; an item on the source side that does not replicate - health "None", e.g.
    committed but not reprotected - is unhealthy), unhealthy_total, max_rpo_seconds (highest RPO among
    items on the source side; None when none reports one), direction and checked_at.
    """
    direction = payload.direction
    healthy = failed_over = 0
    unhealthy: list[dict[str, Any]] = []
    rpos: list[float] = []
    wanted, seen = _wanted(payload), set[str]()
    for item, props, label, on_target in _listing(payload, wanted, seen):
        if props is None:
            unhealthy.append({"name": item.get("name"), "health": "Unknown", "errors": ["ASR returned no properties"]})
            continue
        if on_target:
            failed_over += 1
            continue
        rpo = _rpo_seconds(props)
        if rpo is not None:
            rpos.append(rpo)
        health = str(props.get("replicationHealth") or "Unknown")
        if health.lower() == "normal":
            healthy += 1
        else:
            errors = _health_errors(props)
            if not errors and health.lower() == "none":
                errors = [f"not replicating ({props.get('protectionState') or 'unknown protection state'})"]
            unhealthy.append({"name": label, "health": health, "errors": errors})
    for key in sorted(set(wanted or {}) - seen):
        unhealthy.append(
            {
                "name": (wanted or {})[key],
                "health": "Missing",
                "errors": ["listed in a recovery plan but not a replication protected item of the vault"],
            }
        )
    unhealthy.sort(key=lambda u: (_SEVERITY.get(u["health"].lower(), 3), u["name"]))
    result = ReplicationHealthResult(
        protected_items=len(seen) + len(set(wanted or {}) - seen),
        healthy=healthy,
        failed_over=failed_over,
        unhealthy=[UnhealthyItem(**u) for u in unhealthy[:UNHEALTHY_LISTED]],
        unhealthy_total=len(unhealthy),
        max_rpo_seconds=max(rpos) if rpos else None,
        direction=direction,
        checked_at=datetime.now(UTC).isoformat(),
    )
    log(payload, "asr.health").info(
        "replication health",
        vault=payload.vault,
        protected_items=result.protected_items,
        healthy=healthy,
        unhealthy=len(unhealthy),
        max_rpo_seconds=result.max_rpo_seconds,
        direction=direction,
    )
    return result
