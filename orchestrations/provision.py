"""Session hosts provisioned on demand (`recovery: provision`, docs/runbook.md "Session hosts provisioned on
demand"): after the failover of what they need (where standby hosts start), build each marked pool's VMs in the
recovery region and wait until every one is registered and Available; a drill closes them to new sessions and
removes them at its cleanup; a failback drains and deletes them. Deterministic: the activities converge
(`activities.avd_provision`), the waits are durable timers with the control channel open."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from failover.contracts.avd import ProvisionInput, ProvisionResult, RemoveHostsInput
from failover.plan import AvdHostPool
from failover.plan.avd import PROVISION_POLL_SECONDS
from orchestrations.control import operator_decision

PROVISION = "provision"  # the step an operator retries or skips when session hosts do not come up
POLL_SECONDS = PROVISION_POLL_SECONDS  # plan seconds between two looks at the VMs and the host pool (the preview's)


def _vm_ref(run: Any, pool: AvdHostPool) -> dict[str, str]:
    assert pool.provision is not None
    return {
        "vm_subscription_id": pool.provision.subscription_id or run.plan.subscription_id,
        "vm_resource_group": pool.provision.resource_group,
    }


def _provision_input(run: Any, pool: AvdHostPool, drill: bool, reregister: list[str]) -> ProvisionInput:
    assert pool.provision is not None
    return ProvisionInput(
        **run.ids,
        **run.plan.host_pool_ref(pool),
        **_vm_ref(run, pool),
        location=run.plan.recovery_region,
        subnet_id=pool.provision.subnet_id,
        names=pool.provision.names(),
        vm_size=pool.provision.vm_size,
        allow_new_session=not drill,
        reregister=reregister,
    )


def provision_session_hosts(run: Any, drill: bool = False):
    """Build and register the session hosts of every `recovery: provision` pool; wait (durable timers) until all
    are Available, up to the pools' `provision.timeout`. Hosts that fail or are late wait for an operator: retry
    (failed registrations are tried again with a fresh token, the deadline starts over) or skip (the run goes on
    without them). Sets run.provisioned (the report's "Session hosts provisioned"). Returns True when all are up."""
    pools = run.plan.avd.provisioned
    if not pools or run.cancel:
        return True
    run.begin(PROVISION)
    run.publish_status("provisioning session hosts")
    timeout = max(p.provision.timeout for p in pools)
    deadline = run.at(timeout)
    reregister: dict[str, list[str]] = {}
    results: dict[str, ProvisionResult] = {}
    ok, error = False, None
    token_expires: str | None = None  # of the registration token the VMs were given (never the token)
    while True:
        try:
            for pool in pools:
                payload = _provision_input(run, pool, drill, reregister.get(pool.name, []))
                results[pool.name] = yield from run.call("avd_provision_session_hosts", payload)
                token_expires = results[pool.name].token_expires or token_expires
        except Exception as err:  # e.g. a personal host pool, a pool without a VM template
            error = f"session hosts not provisioned: {err}"
            break
        reregister = {}
        waiting = [(name, h) for name, r in results.items() for h in r.hosts if h.state != "available"]
        if not waiting:
            ok = True
            break
        if run.cancel:
            break
        if all(h.state == "failed" for _, h in waiting) or run.now() >= deadline:
            data = {"step": PROVISION, "session_hosts": [f"{name}/{h.vm}: {h.state}" for name, h in waiting]}
            decision = yield from operator_decision(run, PROVISION, "avd", data)
            if decision != "retry":
                break
            reregister = {name: [h.vm for n, h in waiting if n == name and h.state == "failed"] for name in results}
            deadline = run.at(timeout)
            continue
        yield from run.sleep_until(min(deadline, run.now() + timedelta(seconds=run.seconds(POLL_SECONDS))))
    run.provisioned = {
        "drill": drill,
        "hosts": [
            {"host_pool": name, "location": run.plan.recovery_region, **h.plain()}
            for name, r in results.items()
            for h in r.hosts
        ],
        "token_expires": token_expires,
        "removed": [],
    }
    if error:
        run.errors.append(error)
    late = [h for h in run.provisioned["hosts"] if h["state"] != "available"]
    if late and not error:
        skipped = any(s["name"] == PROVISION for s in run.skipped)
        run.errors.append(
            f"{len(late)} provisioned session hosts are not Available "
            f"({', '.join(h['vm'] + ': ' + (h.get('error') or h['state']) for h in late)})"
            + (": skipped by an operator" if skipped else "")
        )
    run.end(PROVISION, "Succeeded" if ok else "Cancelled" if run.cancel else "Failed")
    yield from run.events.publish("SessionHostsProvisioned", "avd", {"ok": ok, **run.provisioned})
    return ok


def remove_provisioned(run: Any, why: str):
    """Drain, unregister and delete every provisioned session host (their names are the plan's, so this also
    finds VMs whose provisioning did not finish). Never raises: what is left is reported."""
    pools = run.plan.avd.provisioned
    if not pools:
        return
    run.begin("remove session hosts")
    removed: list[dict[str, Any]] = []
    ok = True
    for pool in pools:
        assert pool.provision is not None
        try:
            payload = RemoveHostsInput(
                **run.ids, **run.plan.host_pool_ref(pool), **_vm_ref(run, pool), names=pool.provision.names()
            )
            result = yield from run.call("avd_remove_session_hosts", payload)
            removed.append(result.plain())
        except Exception as err:
            ok = False
            run.errors.append(f"{why}: provisioned session hosts of {pool.name} not removed: {err}")
    if run.provisioned is None:
        run.provisioned = {"drill": False, "hosts": [], "token_expires": None, "removed": []}
    run.provisioned["removed"] = removed
    run.end("remove session hosts", "Succeeded" if ok else "Failed")
    yield from run.events.publish("SessionHostsRemoved", "avd", {"ok": ok, "why": why, "removed": removed})
