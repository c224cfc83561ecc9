"""Azure NetApp Files: break cross-region replication so the destination volume (in the recovery region) becomes
writable, e.g. the FSLogix profile share, before session hosts in the recovery region take users.

Started by `netapp_break_start` (reads the replication first: already broken is skipped, a break in progress is
attached to) and watched by the orchestration through `netapp_break_status` (done when the mirror state is Broken,
or when Azure's operation failed). The data-loss window is at most one replication interval (the schedule): writes
to the source volume after the last transfer are not on the destination.
"""

from __future__ import annotations

from typing import Any, Literal

import azure.durable_functions as df
from azure.core.exceptions import ResourceExistsError

from activities._arm import LroHeaders, operation_state, text
from activities._common import clients, log
from failover.contracts.netapp import (
    NetAppBreakInput,
    NetAppBreakResult,
    NetAppBreakStatusInput,
    NetAppBreakStatusResult,
    NetAppVolumeInput,
)

SCHEDULE_SECONDS = {"_10minutely": 600, "hourly": 3600, "daily": 86400}


def _read(payload: NetAppVolumeInput) -> tuple[Any, Any, Any]:
    client = clients().netapp(payload.subscription_id)
    args = (payload.resource_group, payload.account, payload.pool, payload.volume)
    volume = client.volumes.get(*args)
    status = client.volumes.replication_status(*args)
    return client, volume, status


def _replication(volume: Any) -> Any:
    protection = getattr(volume.properties, "data_protection", None) if volume.properties else None
    return getattr(protection, "replication", None) if protection else None


def netapp_break_start(payload: NetAppBreakInput) -> NetAppBreakResult:
    """Break the replication of the destination `volume`. Skipped when it is already broken; refuses a volume that
    is not a replication destination (breaking on the source would not make the recovery copy writable)."""
    from azure.mgmt.netapp.models import BreakReplicationRequest

    force = payload.force
    client, volume, status = _read(payload)
    replication = _replication(volume)
    if replication is None or str(text(replication.endpoint_type) or "").lower() != "dst":
        raise ValueError(f"volume {payload.volume} is not the destination of a cross-region replication")
    schedule = text(replication.replication_schedule)
    before = {
        "mirror_state_before": text(status.mirror_state),
        "relationship_status": text(status.relationship_status),
        "replication_schedule": schedule,
        "data_loss_window_seconds": SCHEDULE_SECONDS.get(str(schedule)),
        "remote_volume_region": replication.remote_volume_region,
    }
    if str(text(status.mirror_state)).lower() == "broken":
        return NetAppBreakResult(
            **before, action="skipped", reason="the replication is already broken: the volume is writable"
        )
    hook = LroHeaders()
    try:
        client.volumes.begin_break_replication(
            payload.resource_group,
            payload.account,
            payload.pool,
            payload.volume,
            body=BreakReplicationRequest(force_break_replication=force),
            polling=False,
            raw_response_hook=hook,
        )
        action: Literal["started", "attached"] = "started"
    except ResourceExistsError:
        action = "attached"  # a break is already running
    log(payload, "netapp.break").info("netapp break", volume=payload.volume, action=action, force=force)
    return NetAppBreakResult(**before, action=action, operation=hook.operation() if action == "started" else None)


def netapp_break_status(payload: NetAppBreakStatusInput) -> NetAppBreakStatusResult:
    """`done` when the mirror state is Broken (the volume is writable) or Azure's operation failed."""
    client, _, status = _read(payload)
    broken = str(text(status.mirror_state)).lower() == "broken"
    state, error = (None, None) if broken else operation_state(client, payload.operation)
    return NetAppBreakStatusResult(
        done=broken or state == "Failed",
        mirror_state=text(status.mirror_state),
        relationship_status=text(status.relationship_status),
        failed=state == "Failed",
        error=error,
    )


ACTIVITIES = [netapp_break_start, netapp_break_status]

bp = df.Blueprint()
for _activity in ACTIVITIES:
    bp.activity_trigger(input_name="payload")(_activity)
