"""The report's facts: `report_data(summary)`, a finished run's summary as JSON (see `failover.report`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from failover.run import parse_iso

DETAIL_KEYS = (
    "action",
    "primary_before",
    "primary",
    "primary_location_before",
    "primary_location",
    "replication_state",
    "last_sync_time",
    "data_loss_window_seconds",
    "mirror_state_before",
    "mirror_state",
    "replication_schedule",
    "status_code",
)


def _time(text: Any) -> datetime | None:
    if not isinstance(text, str) or not text:
        return None
    try:
        return parse_iso(text)
    except ValueError:
        return None


def _offset(start: datetime | None, text: Any) -> float | None:
    at = _time(text)
    if start is None or at is None:
        return None
    return round((at - start).total_seconds(), 3)


def _timeline(summary: dict[str, Any], scale: float) -> list[dict[str, Any]]:
    start = _time(summary.get("started_at"))
    run_end = _offset(start, summary.get("finished_at"))
    entries: list[dict[str, Any]] = []

    def add(kind: str, label: str, status: Any, started: Any, finished: Any) -> None:
        begin = _offset(start, started)
        if begin is None:
            return
        end = _offset(start, finished)
        if end is None:  # still running when the run ended
            end = run_end if run_end is not None else begin
        end = max(end, begin)
        entries.append(
            {
                "kind": kind,
                "label": label,
                "status": status,
                "start": begin,
                "end": end,
                "duration": round(end - begin, 3),
                "plan_start": round(begin * scale, 3),
                "plan_end": round(end * scale, 3),
            }
        )

    for step in summary.get("steps") or []:
        add("step", str(step.get("name")), step.get("status"), step.get("started_at"), step.get("finished_at"))
    for batch in summary.get("batches") or []:
        plans = ", ".join(str(p) for p in batch.get("recovery_plans") or [])
        label = f"batch {batch.get('index')} [{batch.get('group')}] {batch.get('vms')} VMs: {plans}"
        add("batch", label, batch.get("status"), batch.get("started_at"), batch.get("finished_at"))
    return entries


def _dns(change: dict[str, Any]) -> dict[str, Any]:
    before, after = change.get("from"), change.get("to")
    traffic_manager = isinstance(before, dict) or isinstance(after, dict)
    return {
        "record": change.get("record"),
        "kind": "traffic_manager" if traffic_manager else "dns",
        "from": before,
        "to": after,
    }


def _dependency(dep: dict[str, Any]) -> dict[str, Any]:
    raw = dep.get("details")
    details: dict[str, Any] = raw if isinstance(raw, dict) else {}
    return {
        "name": dep.get("name"),
        "kind": dep.get("kind"),
        "status": dep.get("status"),
        "error": dep.get("error") or details.get("error"),
        "details": {k: details[k] for k in DETAIL_KEYS if details.get(k) is not None},
    }


def _azure_local(summary: dict[str, Any]) -> dict[str, Any]:
    """A failback's Azure Local VMs: those restored on another cluster (unmanaged until registered there and
    reconnected to their Azure resource) and those restored in place, with the days left of Azure Arc's 45-day
    reconnection window (`failover.azure_local`)."""
    vms = [dict(vm) for vm in summary.get("restored_vms") or []]
    return {
        "other_cluster": [vm for vm in vms if vm.get("in_place") is False],
        "in_place": [vm for vm in vms if vm.get("in_place") is True],
        "unknown": [vm for vm in vms if vm.get("in_place") is None],
    }


def _rpo(summary: dict[str, Any], scale: float) -> dict[str, Any]:
    """The data-loss (RPO) table: each failed-over VM's recovery point (ASR's failover job) against the outage start -
    the first alert's fired time, or the run's start for a run started without an alert - and the plan's worst
    window against its rpo_target, in plan time. A planned failover syncs the VMs first: no data lost."""
    fired = next((t.get("fired_at") for t in summary.get("triggers") or [] if _time(t.get("fired_at"))), None)
    outage_start = fired or summary.get("started_at")
    start = _time(outage_start)
    planned = summary.get("mode") == "planned"
    target = summary.get("rpo_target_seconds")
    target_seconds = round(float(target) * scale, 3) if target is not None else None
    vms = []
    for plan in summary.get("recovery_plans") or []:
        for vm, at in sorted((plan.get("recovery_points") or {}).items()):
            point = _time(at)
            if point is None or start is None:
                continue
            window = 0.0 if planned else max(0.0, (start - point).total_seconds() * scale)
            vms.append({"vm": vm, "recovery_plan": plan.get("name"), "recovery_point_time": at,
                        "window_seconds": round(window, 3)})  # fmt: skip
    worst = max((v["window_seconds"] for v in vms), default=None)
    within = None if worst is None or target_seconds is None else worst <= target_seconds
    if not vms:
        note = "no recovery point reported: no VM failed over through ASR"
    elif planned:
        note = "no data loss (planned): ASR shut the VMs down and synchronised their last changes first"
    else:
        verdict = "within" if within else "OVER"
        of = f" of {duration(target_seconds)}" if target_seconds is not None else ""
        note = f"writes after each VM's recovery point are lost: worst {duration(worst or 0)}, {verdict} the target{of}"
    return {
        "outage_start": outage_start,
        "outage_start_source": "alert" if fired else "run_start",
        "planned": planned,
        "target_seconds": target_seconds,
        "vms": sorted(vms, key=lambda v: (-v["window_seconds"], v["vm"])),
        "worst_window_seconds": worst,
        "within": within,
        "note": note,
    }


def _provisioned(summary: dict[str, Any]) -> dict[str, Any] | None:
    """`recovery: provision`: each session host built (VM, session host, pool, size, state, region, error), the
    registration token's expiry (never the token) and what a drill's cleanup or a failback removed."""
    provisioned = summary.get("provisioned")
    if not provisioned:
        return None
    keys = ("vm", "session_host", "host_pool", "size", "state", "location", "error")
    return {
        "drill": bool(provisioned.get("drill")),
        "hosts": [{k: h.get(k) for k in keys} for h in provisioned.get("hosts") or []],
        "token_expires": provisioned.get("token_expires"),
        "removed": [
            {k: list(r.get(k) or []) for k in ("drained", "session_hosts_removed", "vms_deleted")}
            | {"host_pool": r.get("host_pool")}
            for r in provisioned.get("removed") or []
        ],
    }


def report_data(summary: dict[str, Any]) -> dict[str, Any]:
    """The report's facts as JSON (see the module docstring)."""
    scale = float(summary.get("time_scale") or 1.0)
    achieved = float(summary.get("rto_seconds") or 0.0)
    target = float(summary.get("rto_target_seconds") or 0.0)
    data_loss = []
    for dep in summary.get("dependencies") or []:
        details = dep.get("details") if isinstance(dep.get("details"), dict) else {}
        synced, window = details.get("last_sync_time"), details.get("data_loss_window_seconds")
        if synced:
            span = f", a window of {duration(float(window))}" if window is not None else ""
            data_loss.append(
                {
                    "dependency": dep.get("name"),
                    "kind": dep.get("kind"),
                    "last_sync_time": synced,
                    "window_seconds": window,
                    "note": f"writes to {dep.get('name')} after its last sync ({synced}{span}) may be lost",
                }
            )
        elif dep.get("kind") == "netapp_replication" and window is not None:
            data_loss.append(
                {
                    "dependency": dep.get("name"),
                    "kind": dep.get("kind"),
                    "last_sync_time": None,
                    "window_seconds": window,
                    "note": f"writes to {dep.get('name')} in up to one replication interval "
                    f"({details.get('replication_schedule')}, {duration(float(window))}) may be lost",
                }
            )
    verify = summary.get("verify") or {}
    sessions = summary.get("sessions") or {}
    return {
        "instance_id": summary.get("instance_id"),
        "plan": summary.get("plan"),
        "mode": summary.get("mode"),
        "status": summary.get("status"),
        "requested_by": summary.get("requested_by"),
        "requested_by_claim": summary.get("requested_by_claim"),  # unverified (a key-only start's body)
        "reason": summary.get("reason"),
        "started_at": summary.get("started_at"),
        "finished_at": summary.get("finished_at"),
        "time_scale": scale,
        "simulated": scale != 1,
        "rto": {
            "achieved_seconds": round(achieved * scale, 3),
            "target_seconds": round(target * scale, 3),
            # met only when the failover completed (failover.run.rto_verdict); summaries written before it carried
            # no verdict and are judged on time alone
            "met": summary.get("rto_met", achieved <= target if target else None),
            "note": summary.get("rto_note"),
            "run_seconds": achieved,
        },
        "data_loss": data_loss,
        "rpo": _rpo(summary, scale),
        "vms_failed_over": summary.get("vms_failed_over"),
        "in_flight": {"peak": summary.get("peak_vms_in_flight"), "cap": summary.get("batch_size")},
        "sessions": {
            "found": sessions.get("found"),
            "logged_off": sessions.get("logged_off"),
            "unreachable": sessions.get("unreachable", 0),
        },
        "triggers": [
            {k: t.get(k) for k in ("alert_rule", "title", "regions", "fired_at", "monitor_condition")}
            for t in summary.get("triggers") or []
        ],
        "timeline": _timeline(summary, scale),
        "approvals": [
            {k: a.get(k) for k in ("approver", "decision", "at", "comment")} for a in summary.get("approvals") or []
        ],
        "batches": list(summary.get("batches") or []),
        "recovery_plans": [
            {k: p.get(k) for k in ("name", "vms", "state", "action", "job", "commit", "errors")}
            | {"errors": list(p.get("errors") or [])}
            for p in summary.get("recovery_plans") or []
        ],
        "dns": [_dns(c) for c in summary.get("dns") or []],
        "dependencies": [_dependency(d) for d in summary.get("dependencies") or []],
        "waves": [dict(w) for w in summary.get("waves") or []],
        "preflight": summary.get("preflight"),
        "verify": {
            "healthy": verify.get("healthy"),
            "note": verify.get("note"),
            "checks": list(verify.get("checks") or []),
        },
        "operator": summary.get("operator") or {"skipped": [], "actions": [], "cancel": None},
        "provisioned": _provisioned(summary),
        "drill": summary.get("drill"),
        "cleanup": summary.get("cleanup"),
        "azure_local": _azure_local(summary),
        "events": {"published": summary.get("events_published", 0), "failed": summary.get("events_failed", 0)},
        "errors": [str(e) for e in summary.get("errors") or []],
        "warnings": [str(w) for w in summary.get("warnings") or []],
    }


def duration(seconds: float) -> str:
    """A plan-time duration for people: 45 s, 12 min, 2 h 05 min."""
    seconds = max(0.0, float(seconds))
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 90 * 60:
        return f"{seconds / 60:.1f} min"
    hours, minutes = divmod(round(seconds / 60), 60)
    return f"{hours} h {minutes:02d} min"
