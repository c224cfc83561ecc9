"""Readiness: can this plan fail over right now? Read-only checks, each pass / warn / fail with a message.

- replication: health and RPO lag of every protected item of the plan's recovery plans
- recovery plans: every name and pattern resolves in the vault; none larger than batch_size
- dns: every record set the plan switches exists; every Traffic Manager endpoint exists
- permissions: each of the reads above succeeded (a 403 is reported as a failed read, by resource)
- approvals: the Teams webhook and the signing key are configured; enough approvers are listed
- standby: the standby session hosts exist (and their power state); warns for one off more than 90 days (its AVD
  registration is at risk, per Microsoft's AVD operations guidance)
- capacity: what the recovery plans will start fits the recovery region's quotas (vCPUs per VM family, regional
  vCPUs, VM count, public IPs); a shortfall warns, or fails under the plan's `capacity: block`
- network: the recovery VNet is in the recovery region; each gateway to on-premises is connected (plan `network`)
- network_mappings: the vault maps the primary networks to the recovery VNet in ASR (plan `network`)
- identity: the domain controllers are available in or from the recovery region (plan `identity`)
- provision: the session hosts of `recovery: provision` can be built in the recovery region: the host pool's
  vmTemplate parses, its image, the subnet and the VM size are there (`activities.avd_checks`)

`readiness_check` is a durable activity (the scheduled readiness orchestration calls it) and the function
`GET /api/plans/{name}/readiness` runs in a worker thread.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import azure.durable_functions as df

from activities._common import clients, log
from failover.batching import BatchPlanningError
from failover.capacity import describe as describe_capacity
from failover.capacity import describe_reservations
from failover.contracts.asr import ReplicationHealthInput
from failover.contracts.dependencies import VmsInput
from failover.contracts.readiness import ReadinessInput, ReadinessResult
from failover.contracts.traffic import TmProfileInput
from failover.plan import Plan
from failover.run import isoformat
from failover.settings import current

# A session host's AVD registration is at risk once its VM has been off this long. Microsoft, Well-Architected
# Framework, "Operations considerations for Azure Virtual Desktop workloads", VM token expirations
# (https://learn.microsoft.com/azure/well-architected/azure-virtual-desktop/operations#vm-token-expirations):
# "VMs that have been turned off for more than 90 days experience registration problems." (and: "an automated
# solution might turn on each VM for 20 minutes every 90 days").
STANDBY_MAX_OFF = timedelta(days=90)
OFF_STATES = ("deallocated", "stopped")


def _check(name: str, status: str, message: str) -> dict[str, str]:
    return {"name": name, "status": status, "message": message}


def _read(name: str, action: Callable[[], dict[str, str]]) -> dict[str, str]:
    """One check; an Azure error becomes a failed check that names what could not be read."""
    try:
        return action()
    except BatchPlanningError as err:
        return _check(name, "fail", str(err))
    except Exception as err:
        return _failure(name, err)


def _failure(name: str, err: Exception) -> dict[str, str]:
    status = getattr(err, "status_code", None)
    what = "permission denied" if status == 403 else f"{type(err).__name__}"
    return _check(name, "fail", f"read failed ({what}): {str(err).splitlines()[0][:200] if str(err) else ''}")


def check_plan(plan: Plan) -> dict[str, Any]:
    from activities.asr import asr_replication_health, asr_resolve_recovery_plans
    from activities.traffic import tm_get_profile
    from failover.batching import groups_from_resolved

    vault = {"plan": plan.name, **plan.vault_ref()}
    names: list[str] = []
    leftovers: list[str] = []  # recovery plans with a test failover running or awaiting cleanup

    def recovery_plans() -> dict[str, str]:
        resolved = asr_resolve_recovery_plans(plan.resolve_request())
        groups = groups_from_resolved(resolved, plan.asr.vault)
        leftovers.extend(p.name for g in resolved.groups for p in g.recovery_plans if p.test_failover_pending)
        for _, refs in groups:
            names.extend(r.name for r in refs)
        too_big = [f"{r.name} ({r.vms} VMs)" for _, refs in groups for r in refs if r.vms > plan.batch_size]
        if too_big:
            return _check("recovery_plans", "fail", f"larger than batch_size {plan.batch_size}: {', '.join(too_big)}")
        vms = sum(r.vms for _, refs in groups for r in refs)
        return _check("recovery_plans", "pass", f"{len(names)} recovery plans, {vms} VMs, all in the vault")

    def test_failovers() -> dict[str, str]:
        if not names:
            return _check("test_failovers", "fail", "no recovery plans to check")
        if leftovers:
            return _check(
                "test_failovers",
                "warn",
                f"a test failover is running or awaits cleanup: {', '.join(leftovers)} (a failover run cleans it "
                "up first; a drill reuses it)",
            )
        return _check("test_failovers", "pass", "no test failover awaits cleanup")

    def replication() -> dict[str, str]:
        if not names:
            return _check("replication", "fail", "no recovery plans to check")
        health = asr_replication_health(
            ReplicationHealthInput(**vault, recovery_plans=names, direction="PrimaryToRecovery")
        )
        lag = health.max_rpo_seconds
        text = f"{health.healthy}/{health.protected_items} protected items healthy" + (
            f", RPO lag max {lag:.0f} s (rpo_target {plan.rpo_target:.0f} s)" if lag is not None else ""
        )
        if health.unhealthy_total:
            worst = ", ".join(f"{u.name} ({u.health})" for u in health.unhealthy[:5])
            return _check("replication", "fail", f"{text}; unhealthy: {worst}")
        if lag is not None and lag > plan.rpo_target:
            return _check("replication", "warn", f"{text}; over the plan's rpo_target: more data would be lost")
        return _check("replication", "pass", text)

    def dns() -> dict[str, str]:
        missing = []
        for record in plan.dns.records:
            sets = clients().dns(record.subscription_id or plan.subscription_id).record_sets
            try:
                sets.get(record.resource_group, record.zone, record.name, record.type)
            except Exception as err:
                if getattr(err, "status_code", None) != 404:
                    raise
                missing.append(record.label)
        for endpoint in plan.dns.traffic_manager:
            profile = tm_get_profile(
                TmProfileInput(
                    plan=plan.name,
                    subscription_id=endpoint.subscription_id or plan.subscription_id,
                    resource_group=endpoint.resource_group,
                    profile=endpoint.profile,
                )
            )
            if endpoint.endpoint not in {e.name for e in profile.endpoints}:
                missing.append(endpoint.label)
        if missing:
            return _check("dns", "fail", f"missing: {', '.join(missing)}")
        count = len(plan.dns.records) + len(plan.dns.traffic_manager)
        return _check("dns", "pass", f"{count} DNS records and Traffic Manager endpoints present")

    def standby() -> dict[str, str]:
        if plan.standby is None:
            return _check("standby", "pass", "no standby session hosts in this plan")
        from activities.dependencies import compute_vm_power

        vms, pool = plan.standby.vms, plan.standby.host_pool.name
        powers = compute_vm_power(
            VmsInput(
                subscription_id=vms.subscription_id or plan.subscription_id,
                resource_group=vms.resource_group,
                vms=vms.names,
            )
        )
        running = sum(1 for p in powers if p.power_state == "running")
        now = datetime.now(UTC)
        stale = [
            (p.name, (now - p.since).days)
            for p in powers
            if p.power_state in OFF_STATES and p.since is not None and now - p.since > STANDBY_MAX_OFF
        ]
        text = f"{len(vms.names)} standby VMs ready ({running} running, rest deallocated)"
        if stale:
            hosts = ", ".join(f"{name} (off {days} days)" for name, days in stale)
            return _check(
                "standby",
                "warn",
                f"{text}; host pool {pool}: {hosts}: off longer than {STANDBY_MAX_OFF.days} days, its AVD "
                'registration may have expired (Microsoft: "VMs that have been turned off for more than 90 days '
                'experience registration problems"): start it for 20 minutes, and regularly',
            )
        return _check("standby", "pass", text)

    def approvals() -> dict[str, str]:
        settings = current()
        missing = [
            name
            for name, value in (
                ("FAILOVER_TEAMS_WEBHOOK_URL", settings.teams_webhook_url),
                ("FAILOVER_APPROVAL_SIGNING_KEY", settings.approval_signing_key),
            )
            if not value
        ]
        if missing:
            return _check("approvals", "fail", f"not configured: {', '.join(missing)}")
        required = max([plan.approval.required] + [o.required or 0 for o in plan.approval.modes.values()])
        if plan.approval.required and len(plan.approval.approvers) < 2:
            return _check("approvals", "warn", "only one approver listed: nobody can stand in")
        return _check(
            "approvals", "pass", f"{len(plan.approval.approvers)} approvers, up to {required} needed; webhook set"
        )

    def recovery_capacity() -> dict[str, str]:
        from activities.planning import read_capacity

        if not names:
            return _check("capacity", "fail", "no recovery plans to check")
        result = read_capacity(plan, names)
        region, short = plan.recovery_region, describe_capacity(result)
        beyond = describe_reservations(result)
        beyond = f"; {beyond}" if beyond else ""
        if short:
            refuses = "a run is refused" if plan.capacity == "block" else "a run goes ahead, VMs that do not fit fail"
            status = "fail" if plan.capacity == "block" else "warn"
            policy = f"capacity policy {plan.capacity}: {refuses}"
            return _check("capacity", status, f"short in {region}: {short} ({policy}){beyond}")
        fits = ", ".join(f"{r['name']} {r['needed']} of {r['available']} left" for r in result["rows"][:4])
        reserved = f" ({result['reserved']} on capacity reservations)" if result.get("reserved") else ""
        status = "warn" if beyond else "pass"
        return _check("capacity", status, f"{result['vms']} VMs fit in {region}{reserved}: {fits}{beyond}")

    def network_and_identity() -> list[dict[str, str]]:
        from activities.avd_checks import provision_check
        from activities.network import identity_check, network_checks

        out: list[dict[str, str]] = []
        for name, run in (("network", network_checks), ("identity", identity_check), ("provision", provision_check)):
            try:
                out.extend({k: c[k] for k in ("name", "status", "message")} for c in run(plan))
            except Exception as err:
                out.append(_failure(name, err))
        return out

    checks = [
        _read("recovery_plans", recovery_plans),
        _read("test_failovers", test_failovers),
        _read("replication", replication),
        _read("dns", dns),
        _read("standby", standby),
        _read("capacity", recovery_capacity),
        _read("approvals", approvals),
        *network_and_identity(),
    ]
    reads = [c for c in checks if c["message"].startswith("read failed")]
    checks.append(
        _check(
            "permissions",
            "fail" if reads else "pass",
            "could not read: " + ", ".join(c["name"] for c in reads) if reads else "every resource could be read",
        )
    )
    status = (
        "fail"
        if any(c["status"] == "fail" for c in checks)
        else ("warn" if any(c["status"] == "warn" for c in checks) else "pass")
    )
    return {"plan": plan.name, "status": status, "checked_at": isoformat(datetime.now(UTC)), "checks": checks}


def readiness_check(payload: ReadinessInput) -> ReadinessResult:
    """Durable activity: the plan → the readiness document (`check_plan`'s, as a contract)."""
    plan = payload.plan
    result = ReadinessResult.model_validate(check_plan(plan))
    log({"instance_id": payload.instance_id, "plan": plan.name}, "readiness").info(
        "readiness checked", status=result.status
    )
    return result


ACTIVITIES = [readiness_check]

bp = df.Blueprint()
for _activity in ACTIVITIES:
    bp.activity_trigger(input_name="payload")(_activity)
