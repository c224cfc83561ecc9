"""Azure Virtual Desktop activities: drain a host pool, message its users, log off their sessions.

Granularity keeps durable history small: one activity per host pool (drain) and one per session
host (message, log off), never one per session. Each reads current state first, so a retry converges.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import azure.durable_functions as df
from azure.core.exceptions import AzureError, HttpResponseError, ResourceNotFoundError

from activities._common import arm, clients, log
from failover.contracts.avd import (
    HostPoolDrainInput,
    HostPoolDrainResult,
    HostPoolInput,
    NewSessionsInput,
    NewSessionsResult,
    SessionCountResult,
    SessionFailure,
    SessionHostInput,
    SessionLogoffResult,
    SessionMessageInput,
    SessionMessageResult,
)

MESSAGE_STATES = {"active", "disconnected"}
# Session host statuses with which AVD cannot route to the host (Microsoft.DesktopVirtualization `Status`:
# Unavailable "is either turned off or has failed critical health checks"; Shutdown "stopped or deallocated").
UNREACHABLE_STATUSES = {"Unavailable", "Shutdown", "NoHeartbeat", "Disconnected"}


def _short(name: str) -> str:
    """Session host and session resources are named `pool/host[/id]`; the path wants the last part."""
    return name.rsplit("/", 1)[-1]


def avd_count_sessions(payload: HostPoolInput) -> SessionCountResult:
    """Count a host pool's user sessions (one read; nothing changes): what approving will sign out."""
    client = clients().desktop_virtualization(payload.subscription_id)
    sessions = sum(1 for _ in client.user_sessions.list_by_host_pool(payload.resource_group, payload.host_pool))
    return SessionCountResult(host_pool=payload.host_pool, sessions=sessions)


def avd_drain_host_pool(payload: HostPoolDrainInput) -> HostPoolDrainResult:
    """Put every session host of a host pool in drain mode (allowNewSession=false), `concurrency` at a time;
    count sessions."""
    from azure.mgmt.desktopvirtualization.models import SessionHostPatch

    client = clients().desktop_virtualization(payload.subscription_id)
    rg, pool = payload.resource_group, payload.host_pool
    hosts = list(client.session_hosts.list(rg, pool))
    open_hosts = [_short(h.name or "") for h in hosts if h.allow_new_session is not False]

    def drain(host: str) -> None:
        arm(
            client.session_hosts.update,
            rg,
            pool,
            host,
            session_host=SessionHostPatch(allow_new_session=False),
            idempotent=True,  # setting allowNewSession=false twice changes nothing
        )

    # `concurrency` PATCHes at a time: one after another, 250 session hosts took 22 s of ARM round trips.
    if open_hosts:
        with ThreadPoolExecutor(max_workers=min(len(open_hosts), payload.concurrency)) as pool_executor:
            list(pool_executor.map(drain, open_hosts))
    drained = len(open_hosts)
    sessions = sum(1 for _ in client.user_sessions.list_by_host_pool(rg, pool))
    unreachable = {
        _short(h.name or ""): sum(1 for _ in client.user_sessions.list(rg, pool, _short(h.name or "")))
        for h in hosts
        if str(h.status or "") in UNREACHABLE_STATUSES
    }
    log(payload, "avd.drain").info(
        "host pool drained", host_pool=pool, drained=drained, sessions=sessions, unreachable=len(unreachable)
    )
    return HostPoolDrainResult(
        host_pool=pool,
        session_hosts=[_short(h.name or "") for h in hosts],
        drained=drained,
        sessions=sessions,
        unreachable=unreachable,
    )


def avd_message_sessions(payload: SessionMessageInput) -> SessionMessageResult:
    """Send the plan's message to every active or disconnected session on one session host."""
    from azure.mgmt.desktopvirtualization.models import SendMessage

    client = clients().desktop_virtualization(payload.subscription_id)
    rg, pool, host = payload.resource_group, payload.host_pool, payload.session_host
    message = SendMessage(message_title=payload.title, message_body=payload.body)
    targets = [
        (_short(s.name or ""), s.user_principal_name or "")
        for s in client.user_sessions.list(rg, pool, host)
        if str(s.session_state or "").lower() in MESSAGE_STATES
    ]

    def send(target: tuple[str, str]) -> SessionFailure | bool:
        """True: delivered; False: the user signed out meanwhile; a failure: not delivered."""
        session_id, user = target
        try:
            # Not idempotent (a user would read it twice): retried only when refused (429) or never sent.
            arm(client.user_sessions.send_message, rg, pool, host, session_id, send_message=message, idempotent=False)
        except ResourceNotFoundError:
            return False  # the user signed out meanwhile
        except AzureError as err:  # reported, not retried: the activity's retry would message everyone again
            return SessionFailure(session_host=host, session_id=session_id, user=user, error=_why(err))
        return True

    with ThreadPoolExecutor(max_workers=payload.concurrency) as pool_executor:
        outcomes = list(pool_executor.map(send, targets))
    messaged = sum(1 for o in outcomes if o is True)
    failed = [o for o in outcomes if isinstance(o, SessionFailure)]
    if failed:
        log(payload, "avd.message").warning("messages not delivered", session_host=host, failed=len(failed))
    return SessionMessageResult(session_host=host, messaged=messaged, failed=failed)


def _why(err: AzureError) -> str:
    return str(err.message if isinstance(err, HttpResponseError) and err.message else err)


def avd_log_off_sessions(payload: SessionHostInput) -> SessionLogoffResult:
    """Log off (force delete) every session left on one session host, `concurrency` at a time.

    Sessions that will not go are reported by session id and user, not hidden: the orchestration
    lists them in the run's errors. A session already gone (404 / 204) counts as logged off.
    """
    client = clients().desktop_virtualization(payload.subscription_id)
    rg, pool, host = payload.resource_group, payload.host_pool, payload.session_host
    sessions = [(_short(s.name or ""), s.user_principal_name or "") for s in client.user_sessions.list(rg, pool, host)]

    def log_off(session: tuple[str, str]) -> SessionFailure | None:
        session_id, user = session
        try:
            # Idempotent: a session already gone answers 204 (or 404), so a lost answer may be asked again.
            arm(client.user_sessions.delete, rg, pool, host, session_id, force=True, idempotent=True)
        except ResourceNotFoundError:
            return None
        except AzureError as err:
            return SessionFailure(session_host=host, session_id=session_id, user=user, error=_why(err))
        return None

    with ThreadPoolExecutor(max_workers=payload.concurrency) as pool_executor:
        failures = [f for f in pool_executor.map(log_off, sessions) if f]
    logged_off = len(sessions) - len(failures)
    log(payload, "avd.logoff").info(
        "sessions logged off", session_host=host, logged_off=logged_off, failed=len(failures)
    )
    return SessionLogoffResult(session_host=host, logged_off=logged_off, failed=failures)


def _matches(host_name: str, wanted: str) -> bool:
    """A session host `vm-avd-neu-0.contoso.local` is named by that FQDN or by its VM name `vm-avd-neu-0`."""
    host, wanted = host_name.lower(), wanted.lower()
    return host == wanted or host.split(".", 1)[0] == wanted


def avd_allow_new_sessions(payload: NewSessionsInput) -> NewSessionsResult:
    """Open (allow=true, the default) or close a host pool's session hosts to new sessions; all of them, or
    only `session_hosts` (FQDNs or VM names). Hosts already so are left alone; an unknown name raises."""
    from azure.mgmt.desktopvirtualization.models import SessionHostPatch

    allow, wanted = payload.allow, payload.session_hosts
    client = clients().desktop_virtualization(payload.subscription_id)
    rg, pool = payload.resource_group, payload.host_pool
    current = {_short(h.name or ""): h.allow_new_session for h in client.session_hosts.list(rg, pool)}
    hosts = list(current)
    if wanted is not None:
        unknown = [n for n in wanted if not any(_matches(h, n) for h in hosts)]
        if unknown:
            raise ValueError(f"host pool {pool} has no session host {', '.join(unknown)}")
        hosts = [h for h in hosts if any(_matches(h, n) for n in wanted)]
    changed: list[str] = []
    for host in hosts:
        if current[host] is not allow:
            arm(
                client.session_hosts.update,
                rg,
                pool,
                host,
                session_host=SessionHostPatch(allow_new_session=allow),
                idempotent=True,
            )
            changed.append(host)
    log(payload, "avd.allow").info(
        "session hosts opened" if allow else "session hosts closed",
        host_pool=pool,
        session_hosts=len(hosts),
        changed=len(changed),
    )
    return NewSessionsResult(host_pool=pool, session_hosts=len(hosts), changed=len(changed), changed_hosts=changed)


ACTIVITIES = [
    avd_count_sessions,
    avd_drain_host_pool,
    avd_message_sessions,
    avd_log_off_sessions,
    avd_allow_new_sessions,
]

bp = df.Blueprint()
for _activity in ACTIVITIES:
    bp.activity_trigger(input_name="payload")(_activity)
