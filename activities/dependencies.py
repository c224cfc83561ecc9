"""The runbook's other Azure steps: SQL failover groups, the FSLogix storage account, standby session host VMs,
and custom-action webhooks (e.g. an Azure Automation runbook that drives Hyper-V Replica on Azure Local).

A long operation is started by one activity, which sends the request and returns after Azure's first answer
(`polling=False`), and is watched by the orchestration with durable timers through the matching status activity.
Every start reads the current state first and converges: a failover group already primary on the recovery
server, a storage account already failed over, a VM already running are left alone. The start activities also
return `operation`, the URL Azure gave to watch the request (`Azure-AsyncOperation` or `Location`); passing it
back to the status activity lets it report a failed operation with Azure's error instead of waiting for a
timeout. Webhook URLs are secrets: they are never logged, returned or put in an error message.
"""

from __future__ import annotations

import logging
import re
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

import azure.durable_functions as df
import requests
from azure.core.exceptions import ResourceExistsError

from activities._arm import LroHeaders, operation_state, same_location, text
from activities._common import clients, log
from failover.callbacks import CallbackClaims, callback_url
from failover.contracts import StartAction
from failover.contracts.dependencies import (
    SqlFailoverStartInput,
    SqlFailoverStartResult,
    SqlFailoverStatusInput,
    SqlFailoverStatusResult,
    StorageFailoverStartInput,
    StorageFailoverStartResult,
    StorageFailoverStatusInput,
    StorageFailoverStatusResult,
    VmPower,
    VmsInput,
    VmsStartResult,
    VmState,
    VmStatesResult,
    WebhookInput,
    WebhookResult,
)
from failover.plan.fields import RESERVED_WEBHOOK_KEYS  # the plan refuses them in a body too
from failover.settings import WEBHOOK_PREFIX, current

VM_CONCURRENCY = 8


class RedactQuery(logging.Filter):
    """urllib3 logs every request line, query string included, at DEBUG: a webhook's token (or a callback's
    signature) would reach the logs of a host running at that level. Keep the path, drop the query."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(re.sub(r"\?\S*", "?<redacted>", a) if isinstance(a, str) else a for a in record.args)
        return True


_urllib3 = logging.getLogger("urllib3.connectionpool")
if not any(isinstance(f, RedactQuery) for f in _urllib3.filters):
    _urllib3.addFilter(RedactQuery())


def _names(payload: VmsInput) -> list[str]:
    return list(dict.fromkeys(payload.vms))  # once each, in the given order


def _last(resource_id: str | None) -> str:
    return (resource_id or "").rstrip("/").rsplit("/", 1)[-1]


# ---- Azure SQL failover groups ----------------------------------------------------------------
def _primary_of(group: Any, server: str) -> str | None:
    """The failover group's primary server, as `server` sees it."""
    if (group.replication_role or "").lower() == "primary":
        return server
    for partner in group.partner_servers or []:
        if (partner.replication_role or "").lower() == "primary":
            return _last(partner.id)
    return None


def sql_failover_start(payload: SqlFailoverStartInput) -> SqlFailoverStartResult:
    """Make `server` (the server in the recovery region) the primary of its failover group.

    Azure takes the failover request on the secondary server. Skipped when `server` is already primary;
    `allow_data_loss` uses forceFailoverAllowDataLoss (the primary region is down) instead of a friendly failover.
    A failover already running answers 409: action `attached`.
    """
    allow_data_loss = payload.allow_data_loss
    groups = clients().sql(payload.subscription_id).failover_groups
    rg, server, name = payload.resource_group, payload.server, payload.failover_group
    group = groups.get(rg, server, name)
    primary = _primary_of(group, server)
    if primary == server:
        return SqlFailoverStartResult(
            action="skipped",
            primary_before=server,
            operation=None,
            reason=f"{server} is already the primary of failover group {name}",
        )
    hook = LroHeaders()
    begin = groups.begin_force_failover_allow_data_loss if allow_data_loss else groups.begin_failover
    try:
        begin(rg, server, name, polling=False, raw_response_hook=hook)
        action: StartAction = "started"
    except ResourceExistsError:
        action = "attached"  # a failover of this group is already running
    log(payload, "sql.failover").info(
        "sql failover", failover_group=name, server=server, action=action, allow_data_loss=allow_data_loss
    )
    return SqlFailoverStartResult(
        action=action, primary_before=primary, operation=hook.operation() if action == "started" else None
    )


def sql_failover_status(payload: SqlFailoverStatusInput) -> SqlFailoverStatusResult:
    """Read the failover group from `server`. `done`: the failover is over, because `server` is primary, or
    because it failed (`failed` true, `error` Azure's reason: known only with `operation` from the start)."""
    client = clients().sql(payload.subscription_id)
    server = payload.server
    group = client.failover_groups.get(payload.resource_group, server, payload.failover_group)
    primary = _primary_of(group, server)
    succeeded = primary == server
    state, error = (None, None) if succeeded else operation_state(client, payload.operation)
    return SqlFailoverStatusResult(
        done=succeeded or state == "Failed",
        primary=primary,
        replication_state=text(group.replication_state),
        failed=state == "Failed",
        error=error,
    )


# ---- Storage account failover -----------------------------------------------------------------
def storage_failover_start(payload: StorageFailoverStartInput) -> StorageFailoverStartResult:
    """Fail a geo-redundant storage account over to its secondary region (customer-managed, unplanned: afterwards
    the account is locally redundant in the new primary region, as Azure does). `planned: true` asks for a planned
    failover instead (both regions must be up; the account stays geo-redundant).

    Skipped when the account has no secondary (already failed over, or not geo-redundant) or, with
    `recovery_location`, when its primary is already there. `last_sync_time` (read before the request) bounds the
    data loss: writes after it, e.g. FSLogix profile changes, may be lost; `data_loss_window_seconds` is that window
    when the request was made (the orchestration runs this step before session hosts in the recovery region take
    users, so no profile is opened on the old secondary before it is the primary).
    """
    planned = payload.planned
    accounts = clients().storage(payload.subscription_id).storage_accounts
    rg, name, target = payload.resource_group, payload.account, payload.recovery_location
    account = accounts.get_properties(rg, name, expand="geoReplicationStats")
    stats = account.geo_replication_stats
    synced = stats.last_sync_time if stats else None
    before: dict[str, Any] = {
        "primary_location_before": account.primary_location,
        "last_sync_time": synced.isoformat() if synced else None,
        # the data-loss window: writes in the last this many seconds may not be in the secondary
        "data_loss_window_seconds": round(max(0.0, (datetime.now(UTC) - synced).total_seconds()), 1)
        if synced
        else None,
    }
    if account.failover_in_progress:
        return StorageFailoverStartResult(
            **before, action="attached", reason="a failover of the account is already in progress"
        )
    if target and same_location(account.primary_location, target):
        return StorageFailoverStartResult(
            **before, action="skipped", reason=f"the primary location is already {target}"
        )
    if not account.secondary_location:
        if target:
            raise RuntimeError(
                f"storage account {name} has no secondary location to fail over to {target} "
                f"(SKU {text(account.sku.name) if account.sku else 'unknown'})"
            )
        return StorageFailoverStartResult(
            **before, action="skipped", reason="the account has no secondary location (already failed over)"
        )
    if target and not same_location(account.secondary_location, target):
        raise ValueError(f"storage account {name} replicates to {account.secondary_location}, not {target}")
    if stats is not None and stats.can_failover is False:
        raise RuntimeError(f"storage account {name}: Azure reports that the account cannot fail over now")
    hook = LroHeaders()
    try:
        # failover_type None sends no failoverType: Azure's customer-managed (unplanned) failover. The SDK's
        # default is "Planned", which needs both regions up.
        accounts.begin_failover(
            rg,
            name,
            failover_type="Planned" if planned else None,  # type: ignore[arg-type]
            polling=False,
            raw_response_hook=hook,
        )
        action: StartAction = "started"
    except ResourceExistsError:
        action = "attached"
    log(payload, "storage.failover").info(
        "storage failover",
        account=name,
        action=action,
        planned=planned,
        primary_location_before=account.primary_location,
        last_sync_time=before["last_sync_time"],
    )
    return StorageFailoverStartResult(
        **before, action=action, operation=hook.operation() if action == "started" else None
    )


def storage_failover_status(payload: StorageFailoverStatusInput) -> StorageFailoverStatusResult:
    """Read the account. `done`: the failover is over: no failover in progress and the primary moved (given
    `primary_location_before`), or it failed (`failed` true, `error` Azure's reason: known only with `operation`
    from the start). Pass both from the start's result: without them, `done` only means nothing is in progress."""
    client = clients().storage(payload.subscription_id)
    account = client.storage_accounts.get_properties(payload.resource_group, payload.account)
    in_progress = bool(account.failover_in_progress)
    state, error = operation_state(client, payload.operation)
    before = payload.primary_location_before
    moved = not before or not same_location(account.primary_location, before)
    done = state == "Failed" or (not in_progress and (state == "Succeeded" or moved))
    return StorageFailoverStatusResult(
        done=done,
        primary_location=account.primary_location,
        failover_in_progress=in_progress,
        sku=text(account.sku.name) if account.sku else None,
        failed=state == "Failed",
        error=error,
    )


# ---- Compute: standby VMs ---------------------------------------------------------------------
def _power_state(view: Any) -> tuple[str, str | None]:
    """(power state, provisioning error) from a VM instance view's statuses."""
    power, error = "unknown", None
    for status in view.statuses or []:
        code = status.code or ""
        if code.startswith("PowerState/"):
            power = code.split("/", 1)[1]
        elif code.startswith("ProvisioningState/failed"):
            error = status.message or status.display_status or code
    return power, error


def compute_start_vms(payload: VmsInput) -> VmsStartResult:
    """Start the named VMs (e.g. standby session hosts) without waiting. A running VM is left alone and one
    already starting is not started again; watch them with `compute_vm_states`."""
    names = _names(payload)
    vms = clients().compute(payload.subscription_id).virtual_machines
    rg = payload.resource_group

    def start(name: str) -> str:
        power, _ = _power_state(vms.instance_view(rg, name))
        if power in ("running", "starting"):
            return power
        vms.begin_start(rg, name, polling=False)
        return "started"

    with ThreadPoolExecutor(max_workers=min(VM_CONCURRENCY, len(names))) as pool:
        outcomes = dict(zip(names, pool.map(start, names), strict=True))
    result = VmsStartResult(
        started=[n for n in names if outcomes[n] == "started"],
        already_running=[n for n in names if outcomes[n] == "running"],
        starting=[n for n in names if outcomes[n] == "starting"],
    )
    log(payload, "compute.start").info("vms started", **{k: len(v) for k, v in result.plain().items()})
    return result


def compute_vm_states(payload: VmsInput) -> VmStatesResult:
    """Power state of the named VMs: `running`, and the others with their power state (and the provisioning
    error of a start that failed, e.g. AllocationFailed)."""
    names = _names(payload)
    vms = clients().compute(payload.subscription_id).virtual_machines
    rg = payload.resource_group
    with ThreadPoolExecutor(max_workers=min(VM_CONCURRENCY, len(names))) as pool:
        states = dict(zip(names, pool.map(lambda n: _power_state(vms.instance_view(rg, n)), names), strict=True))
    not_running = [
        VmState(name=name, power_state=power, error=error or None)
        for name, (power, error) in states.items()
        if power != "running"
    ]
    return VmStatesResult(running=[n for n in names if states[n][0] == "running"], not_running=not_running)


def compute_vm_power(payload: VmsInput) -> list[VmPower]:
    """Each named VM's power state and since when (readiness: how long a standby session host has been off).
    Azure dates the instance view's `ProvisioningState/...` status with the time the VM's last operation (start,
    deallocate) ended; its `PowerState/...` status carries no time (VirtualMachine_Get_InstanceView)."""
    names = _names(payload)
    vms = clients().compute(payload.subscription_id).virtual_machines
    rg = payload.resource_group

    def read(name: str) -> VmPower:
        view = vms.instance_view(rg, name)
        power, _ = _power_state(view)
        times = [s.time for s in view.statuses or [] if (s.code or "").startswith("ProvisioningState/") and s.time]
        return VmPower(name=name, power_state=power, since=max(times) if times else None)

    with ThreadPoolExecutor(max_workers=min(VM_CONCURRENCY, len(names))) as pool:
        return list(pool.map(read, names))


# ---- Custom-action webhooks -------------------------------------------------------------------
def webhook_key(name: str) -> str:
    """A webhook's key in `Settings.webhooks`: `hyperv-replica` and `HYPERV_REPLICA` are `hyperv_replica`."""
    return name.strip().lower().replace("-", "_")


def webhook_invoke(payload: WebhookInput) -> WebhookResult:
    """POST `{"instance_id", "plan", "step", "callback_url", **body}` to the webhook `settings.webhooks[webhook]`.

    The receiver (e.g. an Azure Automation runbook) reports completion by POSTing to `callback_url`, a URL signed
    for this run, step and call, valid once until the step's deadline. A receiver should treat a repeated
    (instance_id, step) as the same request: a retry of this activity posts again. Non-2xx raises with the status
    only; the URL is a secret and never leaves here.
    """
    settings = current()
    name = payload.webhook
    key = webhook_key(name)
    url = settings.webhooks.get(key)
    if not url:
        raise ValueError(f"webhook '{name}' is not configured: set {WEBHOOK_PREFIX}{key.upper()}")
    extra = payload.body
    clashes = sorted(set(extra) & set(RESERVED_WEBHOOK_KEYS))
    if clashes:
        raise ValueError(f"activity input body may not set {', '.join(clashes)}")
    instance_id, step = payload.instance_id, payload.step
    body = {
        "instance_id": instance_id,
        "plan": payload.plan,
        "step": step,
        # what the run is doing: planned | unplanned | test | failback (a receiver driving Hyper-V Replica picks
        # its planned, unplanned, test or reverse failover from it); `cleanup`: remove the drill's test VMs
        "mode": payload.mode,
        "cleanup": payload.cleanup,
        "callback_url": callback_url(
            settings.public_base_url,
            settings.approval_signing_key,
            CallbackClaims(instance_id, step, payload.nonce, payload.expires_at),
        ),
        **extra,
    }
    try:
        response = requests.post(url, json=body, timeout=30, verify=clients().https_verify())
    except requests.RequestException as err:
        # The exception text names the URL (and its token): report the kind of failure only.
        raise RuntimeError(f"webhook '{name}' could not be reached ({type(err).__name__})") from None
    if not 200 <= response.status_code < 300:
        raise RuntimeError(f"webhook '{name}' answered HTTP {response.status_code}")
    try:
        answer = response.json()
    except ValueError:
        answer = None
    job_ids = None
    if isinstance(answer, dict) and isinstance(answer.get("JobIds"), list):  # Azure Automation's answer
        job_ids = [str(j) for j in answer["JobIds"]]
    log(payload, "webhook").info("webhook invoked", webhook=name, status=response.status_code)
    return WebhookResult(status=response.status_code, job_ids=job_ids)


ACTIVITIES = [
    sql_failover_start,
    sql_failover_status,
    storage_failover_start,
    storage_failover_status,
    compute_start_vms,
    compute_vm_states,
    webhook_invoke,
]

bp = df.Blueprint()
for _activity in ACTIVITIES:
    bp.activity_trigger(input_name="payload")(_activity)
