"""Contracts of the Azure NetApp Files activities (activities/netapp.py)."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from failover.contracts import ArmInput, Contract, NonEmpty, StartAction


class NetAppVolumeInput(ArmInput):
    """A volume of a capacity pool of a NetApp account: the destination of a cross-region replication."""

    account: NonEmpty
    pool: NonEmpty
    volume: NonEmpty


class NetAppBreakInput(NetAppVolumeInput):
    """`netapp_break_start`; `force` breaks even when a transfer is in progress."""

    force: Annotated[bool, Field(strict=True)] = False


class NetAppBreakStatusInput(NetAppVolumeInput):
    """`netapp_break_status`; `operation` is the break's status URL (`NetAppBreakResult.operation`), if any."""

    operation: str | None = None


class NetAppBreakResult(Contract):
    """The replication before the break and what was done: started (with the operation's status URL), attached
    to a break already running, or skipped (already broken, `reason`). `data_loss_window_seconds` is the
    replication schedule's interval (None for an unknown schedule)."""

    mirror_state_before: str | None = None
    relationship_status: str | None = None
    replication_schedule: str | None = None
    data_loss_window_seconds: int | None = None
    remote_volume_region: str | None = None
    operation: str | None = None
    action: StartAction
    reason: str | None = None


class NetAppBreakStatusResult(Contract):
    """`done` once the mirror state is Broken (the volume is writable) or Azure's operation failed."""

    done: bool
    mirror_state: str | None = None
    relationship_status: str | None = None
    failed: bool
    error: str | None = None
