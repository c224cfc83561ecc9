"""Azure Local VMs a failback brought back from Azure: which came back on another cluster, and how long Azure Arc
still reconnects the others by itself. Pure: the failback orchestration calls it with two reads of the VMs'
placement (`asr_vm_placement`, before and after the failback) and the report shows what it returns.

Microsoft's VM resiliency guidance for Azure Local ("Virtual machine resiliency for Azure Local", Use Azure Site
Recovery to replicate Azure Local VMs to Azure, Failback): a VM failed back on an alternate cluster comes up as an
unmanaged VM - its services run, but it cannot be managed from Azure until it is registered on the new cluster and
reconnected to its Azure resource (new resource group optionally, custom location, storage path, logical network).
A VM failed back on the same cluster needs neither, "as long as it's within Azure Arc's 45-day reconnection window".
Azure Arc-enabled servers overview, Agent status: a machine disconnected for 45 days may become Expired and then
cannot be managed through Azure Arc until an administrator disconnects and reconnects it. The window is counted
from the VM's failover to Azure (its on-premises copy stopped then), which is when its Arc agent stopped reporting.
"""

from __future__ import annotations

from datetime import datetime

from failover.contracts.asr import RestoredVm, VmPlacement
from failover.run import parse_iso

ARC_RECONNECT_DAYS = 45.0  # Azure Arc: disconnected this long, a machine may be Expired


def _at(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        return parse_iso(text)
    except ValueError:
        return None


def _days_left(failed_over_at: str | None, failed_back_at: str | None, time_scale: float) -> float | None:
    """Days left of the 45-day window at the failback, in plan time (run seconds times `time_scale`)."""
    start, end = _at(failed_over_at), _at(failed_back_at)
    if start is None or end is None:
        return None
    elapsed_days = max(0.0, (end - start).total_seconds()) * time_scale / 86400
    return round(ARC_RECONNECT_DAYS - elapsed_days, 2)


def _action(vm: VmPlacement, original: str | None, in_place: bool | None, days_left: float | None) -> str:
    if in_place is False:
        return (
            f"came back on cluster {vm.cluster}, not on {original}: it runs as an unmanaged VM; register it on "
            f"{vm.cluster} and reconnect it to its Azure resource (custom location, storage path, logical network)"
        )
    if in_place is None:
        return (
            f"came back on host {vm.host or 'unknown'}, cluster unknown: if that is not its original cluster, register "
            "it there and reconnect it to its Azure resource"
        )
    if days_left is None:
        return f"restored in place on {vm.cluster}: Azure Arc reconnects it if it was disconnected less than 45 days"
    if days_left <= 0:
        return (
            f"restored in place on {vm.cluster}, but its Azure Arc connection was down for more than 45 days: it may "
            "be Expired; an administrator must disconnect and reconnect it to Azure Arc"
        )
    return f"restored in place on {vm.cluster}: Azure Arc reconnects it by itself ({days_left:.1f} of 45 days left)"


def restored_vms(
    before: list[VmPlacement], after: list[VmPlacement], failed_back_at: str, time_scale: float = 1.0
) -> list[RestoredVm]:
    """The VMs active in Azure before the failback (`before`) and on premises after it (`after`), each with where
    it came back and what the operator must do. `failed_back_at` stands in for an item that reports no failover
    time after the failback."""
    original = {(v.recovery_plan, v.name): v for v in before}
    restored = []
    for vm in after:
        prior = original.get((vm.recovery_plan, vm.name))
        if vm.active_location != "Primary" or prior is None or prior.active_location != "Recovery":
            continue  # not failed back by this run (still in Azure, or on premises already)
        in_place = None if vm.cluster is None or prior.cluster is None else vm.cluster == prior.cluster
        back_at = vm.last_failover_at or failed_back_at
        days_left = _days_left(prior.last_failover_at, back_at, time_scale) if in_place else None
        restored.append(
            RestoredVm(
                name=vm.name,
                recovery_plan=vm.recovery_plan,
                original_cluster=prior.cluster,
                cluster=vm.cluster,
                host=vm.host,
                in_place=in_place,
                failed_over_at=prior.last_failover_at,
                failed_back_at=back_at,
                arc_days_left=days_left,
                action=_action(vm, prior.cluster, in_place, days_left),
            )
        )
    return restored
