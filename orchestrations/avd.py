"""AVD steps of the runbook: drain the host pools, message users, the grace period, log off what is left;
and the drill's closing of the recovery host pool. Every wait has the control channel open: after a cancel
nothing new starts (no log-off after a cancel in the grace period; a log-off already running finishes, and
no batch starts after it)."""

from __future__ import annotations

from typing import Any

from failover.contracts.avd import HostPoolDrainInput, NewSessionsInput, SessionHostInput, SessionMessageInput
from failover.plan import HostPoolRef
from orchestrations.common import ARM_RETRY
from orchestrations.control import INTERRUPTED, operator_decision
from orchestrations.run_state import Run


def pool_ref(run: Run, pool: HostPoolRef) -> dict[str, Any]:
    """A host pool with the run's ids: the keyword arguments every AVD activity input starts with."""
    return {**run.ids, **run.plan.host_pool_ref(pool)}


def close_test_host_pool(run: Run):
    """Seed guidance: test-failed-over session hosts register with the recovery host pool and would take
    new connections. Close that pool's session hosts to new sessions for the drill; returns what changed so
    the drill reopens exactly those afterwards."""
    standby = run.plan.standby
    if standby is None:
        return None
    ref = pool_ref(run, standby.host_pool)
    run.begin("avd")
    closed = yield from run.call("avd_allow_new_sessions", NewSessionsInput(**ref, allow=False))
    run.end("avd")
    yield from run.events.publish(
        "HostPoolClosed", "avd", {"host_pool": standby.host_pool.name, "session_hosts": closed.changed_hosts}
    )
    return {"ref": ref, "changed_hosts": closed.changed_hosts}


def evacuate_avd(run: Run):
    """Drain every host pool, message users, wait the grace period, log off what is left. Sessions that would
    not log off wait for an operator (retry or skip `sign-out`, up to operator_wait). Returns False when the
    run must not fail over: users are still signed in and nobody decided."""
    context, plan = run.context, run.plan
    if not plan.avd.host_pools:
        return True
    run.begin("avd")
    run.publish_status("draining host pools")
    pools = []
    for pool in plan.avd.host_pools:
        if run.cancel:
            break
        ref = pool_ref(run, pool)
        drained = yield from run.call(
            "avd_drain_host_pool", HostPoolDrainInput(**ref, concurrency=plan.avd.logoff_concurrency)
        )
        run.sessions["found"] += drained.sessions
        hosts = drained.session_hosts
        if drained.unreachable and _in_outage(run):
            # Their region is down: AVD cannot route to them and their desktops are not running, so their
            # sessions are gone with them. Anywhere else an unreachable host's users wait for an operator.
            hosts = [h for h in hosts if h not in drained.unreachable]
            run.sessions["unreachable"] = run.sessions.get("unreachable", 0) + sum(drained.unreachable.values())
            names = ", ".join(sorted(drained.unreachable))
            run.warnings.append(
                f"{sum(drained.unreachable.values())} sessions on {len(drained.unreachable)} unreachable session "
                f"hosts of {drained.host_pool} ({names}) in {run.plan.primary_region}, which is down: counted as "
                "signed out, not messaged"
            )
        pools.append((ref, hosts))
    yield from run.events.publish("SessionsDrained", "avd", {"sessions": run.sessions["found"]})
    if run.cancel:
        return _cancelled(run, "host pools drained; users were not messaged nor logged off")

    run.publish_status("messaging users")
    hosts_found = [host for _, hosts in pools for host in hosts]
    if not hosts_found:  # nobody to message or log off
        run.end("avd")
        yield from run.events.publish("SessionsLoggedOff", "avd", dict(run.sessions))
        return True
    sent = yield from run.step(
        context.task_all(
            [
                context.call_activity_with_retry(
                    "avd_message_sessions",
                    ARM_RETRY,
                    SessionMessageInput(
                        **ref,
                        session_host=host,
                        title=plan.avd.message.title,
                        body=plan.avd.message.body,
                        concurrency=plan.avd.logoff_concurrency,
                    ),
                )
                for ref, hosts in pools
                for host in hosts
            ]
        )
    )
    for result in sent:  # an undelivered message is reported, not sent again: the session is logged off anyway
        run.messages["sent"] += result.messaged
        run.messages["failed"].extend(f.plain() for f in result.failed)
    if run.cancel:
        return _cancelled(run, "host pools drained and users messaged; sessions were not logged off")
    run.publish_status("grace period")
    grace = context.create_timer(run.at(plan.avd.grace_period))
    while (yield from run.wait_any([grace])) is INTERRUPTED:
        if run.cancel:
            grace.cancel()
            return _cancelled(
                run, "cancelled during the grace period: host pools stay drained, sessions were not logged off"
            )

    run.publish_status("logging off sessions")
    refs = {host: ref for ref, hosts in pools for host in hosts}
    failures = yield from _log_off(run, refs, sorted(refs))
    if failures and not run.cancel:  # one more pass on their hosts (a transient error): bounded, then a person
        failures = yield from _log_off(run, refs, sorted({f.session_host for f in failures}))
    decision = "done"
    while failures and not run.cancel:
        # Users still signed in: never a silent go. An operator retries the log-off or goes on knowingly.
        decision = yield from _sign_out_decision(run, failures)
        if decision != "retry":
            break
        run.publish_status("logging off sessions")
        failures = yield from _log_off(run, refs, sorted({f.session_host for f in failures}))
    for failure in failures:
        run.errors.append(
            f"session {failure.session_id} of {failure.user} on {failure.session_host} "
            f"was not logged off: {failure.error}"
        )
    if failures and decision == "timeout":
        run.errors.append(
            f"{len(failures)} sessions were still signed in and nobody retried or skipped the sign-out within "
            "operator_wait: nothing was failed over"
        )
    run.end("avd", "Succeeded" if not failures else "CompletedWithErrors")
    yield from run.events.publish("SessionsLoggedOff", "avd", dict(run.sessions))
    return not failures or decision == "skip"


def _in_outage(run: Run) -> bool:
    """The run fails over because its primary region is down: unplanned, and the incident that started it
    names the plan's primary region as impacted."""
    if run.mode != "unplanned" or not run.triggers:
        return False

    def key(region: Any) -> str:
        return str(region).replace(" ", "").lower()

    return key(run.plan.primary_region) in {key(r) for r in run.triggers[0].get("regions") or []}


SIGN_OUT = "sign-out"  # what an operator retries or skips while users are still signed in (docs/runbook.md)


def _log_off(run: Run, refs: dict[str, dict[str, Any]], hosts: list[str]):
    """Log off every session left on `hosts`; returns the sessions that would not go."""
    context, plan = run.context, run.plan
    results = yield from run.step(
        context.task_all(
            [
                context.call_activity_with_retry(
                    "avd_log_off_sessions",
                    ARM_RETRY,
                    SessionHostInput(**refs[host], session_host=host, concurrency=plan.avd.logoff_concurrency),
                )
                for host in hosts
            ]
        )
    )
    run.sessions["logged_off"] += sum(r.logged_off for r in results)
    return [f for r in results for f in r.failed]


def _sign_out_decision(run: Run, failures: list[Any]):
    """Wait for an operator's retry or skip of the sign-out (`SIGN_OUT`, `operator_decision`)."""
    hosts = sorted({f.session_host for f in failures})
    data = {"step": SIGN_OUT, "sessions": len(failures), "session_hosts": hosts}
    decision = yield from operator_decision(run, SIGN_OUT, "avd", data)
    if decision == "skip":
        by = next(s.get("by") for s in run.skipped if s["name"] == SIGN_OUT)
        run.plan_errors[SIGN_OUT] = (
            f"{len(failures)} sessions were still signed in on {', '.join(hosts)}: {by} skipped the sign-out "
            "and the failover went on"
        )
    return decision


def _cancelled(run: Run, what: str) -> bool:
    """A cancel accepted during the AVD step: what was done is said; nothing further starts."""
    run.errors.append(what if what.startswith("cancelled") else f"cancelled: {what}")
    run.end("avd", "Cancelled")
    return False
