"""AVD steps of the runbook: drain the host pools, message users, the grace period, log off what is left;
and the drill's closing of the recovery host pool. Every wait has the control channel open: after a cancel
nothing new starts (no log-off after a cancel in the grace period; a log-off already running finishes, and
no batch starts after it)."""

from __future__ import annotations

from typing import Any

from failover.contracts.avd import HostPoolDrainInput, NewSessionsInput, SessionHostInput, SessionMessageInput
from failover.plan import HostPoolRef
from orchestrations.common import ARM_RETRY
from orchestrations.control import INTERRUPTED
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
    """Drain every host pool, message users, wait the grace period, log off what is left."""
    context, plan = run.context, run.plan
    if not plan.avd.host_pools:
        return
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
        pools.append((ref, drained.session_hosts))
    yield from run.events.publish("SessionsDrained", "avd", {"sessions": run.sessions["found"]})
    if run.cancel:
        return _cancelled(run, "host pools drained; users were not messaged nor logged off")

    run.publish_status("messaging users")
    hosts_found = [host for _, hosts in pools for host in hosts]
    if not hosts_found:  # nobody to message or log off
        run.end("avd")
        yield from run.events.publish("SessionsLoggedOff", "avd", dict(run.sessions))
        return
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
    results = yield from run.step(
        context.task_all(
            [
                context.call_activity_with_retry(
                    "avd_log_off_sessions",
                    ARM_RETRY,
                    SessionHostInput(**ref, session_host=host, concurrency=plan.avd.logoff_concurrency),
                )
                for ref, hosts in pools
                for host in hosts
            ]
        )
    )
    for result in results:
        run.sessions["logged_off"] += result.logged_off
        for failure in result.failed:
            run.errors.append(
                f"session {failure.session_id} of {failure.user} on {failure.session_host} "
                f"was not logged off: {failure.error}"
            )
    run.end("avd", "Succeeded" if run.sessions["logged_off"] >= run.sessions["found"] else "CompletedWithErrors")
    yield from run.events.publish("SessionsLoggedOff", "avd", dict(run.sessions))


def _cancelled(run: Run, what: str) -> None:
    """A cancel accepted during the AVD step: what was done is said; nothing further starts."""
    run.errors.append(what if what.startswith("cancelled") else f"cancelled: {what}")
    run.end("avd", "Cancelled")
