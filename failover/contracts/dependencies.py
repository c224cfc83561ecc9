"""Contracts of the runbook's other Azure steps (activities/dependencies.py): SQL failover groups, the FSLogix
storage account, standby session host VMs and custom-action webhooks.

A start activity answers `action`: started (with `operation`, the URL Azure gave to watch the request), attached
(a failover already running) or skipped (nothing to do, `reason`); its status activity takes that `operation` back.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import Field

from failover.contracts import ActivityInput, ArmInput, Contract, Mode, NonEmpty, StartAction

# A true/false switch of an input: strict, so "yes" or 1 is refused rather than read as true.
Switch = Annotated[bool, Field(strict=True)]


# ---- Azure SQL failover groups ----------------------------------------------------------------
class SqlFailoverGroupInput(ArmInput):
    """A failover group, as `server` (the server in the recovery region) sees it."""

    server: NonEmpty
    failover_group: NonEmpty


class SqlFailoverStartInput(SqlFailoverGroupInput):
    """`sql_failover_start`: make `server` the primary; `allow_data_loss` forces it (the primary region is down)."""

    allow_data_loss: Switch = False


class SqlFailoverStatusInput(SqlFailoverGroupInput):
    """`sql_failover_status`; `operation` is the start's status URL (`SqlFailoverStartResult.operation`), if any."""

    operation: str | None = None


class SqlFailoverStartResult(Contract):
    """What was done, the primary server before it, and the URL to watch a started failover."""

    action: StartAction
    primary_before: str | None = None
    operation: str | None = None
    reason: str | None = None  # why it was skipped


class SqlFailoverStatusResult(Contract):
    """`done` once `server` is primary or the failover failed (`failed`, `error`: Azure's reason)."""

    done: bool
    primary: str | None = None
    replication_state: str | None = None
    failed: bool = False
    error: str | None = None


# ---- Storage account failover -----------------------------------------------------------------
class StorageAccountInput(ArmInput):
    """A geo-redundant storage account (e.g. the FSLogix profile containers' Azure Files)."""

    account: NonEmpty


class StorageFailoverStartInput(StorageAccountInput):
    """`storage_failover_start`: unplanned (customer-managed) failover unless `planned`; with
    `recovery_location`, skipped when the primary is already there and refused when the account replicates
    elsewhere."""

    planned: Switch = False
    recovery_location: str | None = None


class StorageFailoverStatusInput(StorageAccountInput):
    """`storage_failover_status`; pass `operation` and `primary_location_before` from the start's result."""

    operation: str | None = None
    primary_location_before: str | None = None


class StorageFailoverStartResult(Contract):
    """What was done, the primary location before it and the data-loss window: writes after `last_sync_time`
    (`data_loss_window_seconds` before the request) may be lost."""

    action: StartAction
    primary_location_before: str | None = None
    last_sync_time: str | None = None  # ISO 8601
    data_loss_window_seconds: float | None = None
    operation: str | None = None
    reason: str | None = None  # why it was skipped or attached


class StorageFailoverStatusResult(Contract):
    """`done` once no failover is in progress and the primary moved, or the failover failed."""

    done: bool
    primary_location: str | None = None
    failover_in_progress: bool = False
    sku: str | None = None
    failed: bool = False
    error: str | None = None


# ---- Compute: standby VMs ---------------------------------------------------------------------
class VmsInput(ArmInput):
    """`compute_start_vms` and `compute_vm_states`: VMs of one resource group, by name (each once is enough)."""

    vms: Annotated[list[NonEmpty], Field(min_length=1)]


class VmsStartResult(Contract):
    """The VMs started now, those already running, and those already starting."""

    started: list[str]
    already_running: list[str]
    starting: list[str]


class VmState(Contract):
    """A VM that is not running: its power state, and the provisioning error of a start that failed."""

    name: str
    power_state: str
    error: str | None = None


class VmStatesResult(Contract):
    """The running VMs, and the others with their state."""

    running: list[str]
    not_running: list[VmState]


class VmPower(Contract):
    """`compute_vm_power`: a VM's power state and since when (its instance view's provisioning status `time`: the
    last start or deallocate; None when Azure gives none, e.g. while an operation runs)."""

    name: str
    power_state: str
    since: datetime | None = None


# ---- Custom-action webhooks -------------------------------------------------------------------
class WebhookInput(ActivityInput):
    """`webhook_invoke`: POST to the webhook `settings.webhooks[webhook]` for this run's `step`; the receiver
    calls back on a URL signed for (instance_id, step, nonce, expires_at): one run, one step, one use, until the
    step's deadline (failover.callbacks)."""

    instance_id: NonEmpty
    plan: NonEmpty
    step: NonEmpty
    webhook: NonEmpty
    # Free-form: the receiver's own parameters (e.g. an Automation runbook's), posted as they are.
    body: dict[str, Any] = Field(default_factory=dict)
    # The call's nonce and the step's deadline (epoch seconds). Defaults keep histories of runs started before
    # callbacks were single use replayable; such a run's callback URL is refused and its step times out.
    nonce: str = ""
    expires_at: int = Field(default=0, ge=0)
    mode: Mode | None = None  # the run's mode, sent to the receiver (None: a history started before)
    cleanup: bool = False  # a drill's cleanup call of a custom action that ran in the drill


class WebhookResult(Contract):
    """The webhook's HTTP status, and the job ids Azure Automation answers with."""

    status: int
    job_ids: list[str] | None = None
