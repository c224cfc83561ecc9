"""On-demand capacity reservations (Microsoft.Compute `capacityReservationGroups` and their `capacityReservations`,
2026-04-01 as azure-mgmt-compute 39.0.0 sends it; shapes of Microsoft's 2025-04-01 examples
`CapacityReservationGroup_Get`, `CapacityReservationGroup_ListBySubscription`, `..._ListByResourceGroup`,
`CapacityReservation_Get`, `CapacityReservation_ListByReservationGroup` in `tests/reference/rest-examples/compute/`).

State (`Reservations`): groups (region, reservations: VM size and reserved count) and, per reservation, the VMs
allocated against it. A reservation holds its vCPU quota from its creation, used or not ("Your deployment fails if
you don't have an adequate subscription quota", learn.microsoft.com/azure/virtual-machines/capacity-reservation-
overview): `Capacity.usage` counts each reservation's vCPUs, and a VM that comes up in one of its slots adds no
vCPUs of its own. A VM beyond the reserved count is allowed (overallocation,
learn.microsoft.com/azure/virtual-machines/capacity-reservation-overallocate) but "will require unused quota and
extra capacity fulfillment": it is placed as a VM without a reservation.

ASR (`Capacity.job_finishing`) places a protected VM whose `recoveryCapacityReservationGroupId` names a group here in
a free slot of its recovery size (`take`), never with AllocationFailed (the capacity is reserved); the slot is freed
when the VM goes (`release`: a test failover's cleanup, a failover's failback commit).
"""

from __future__ import annotations

import uuid
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from aiohttp import web

from simulator.arm import RG, SUBSCRIPTION_ID, RouteTable, SimError, iso, utcnow

GROUPS = "/providers/microsoft.compute/capacityreservationgroups"
GROUP_TYPE = "Microsoft.Compute/capacityReservationGroups"
RESERVATION_TYPE = "Microsoft.Compute/capacityReservations"
SUCCEEDED = {"code": "ProvisioningState/succeeded", "level": "Info", "displayStatus": "Provisioning succeeded"}


@dataclass
class Reservation:
    name: str
    size: str  # sku.name: the one VM size it reserves
    capacity: int  # sku.capacity: instances reserved
    zone: str = ""  # its availability zone ("": a regional reservation, for VMs deployed to no zone)
    created: datetime = field(default_factory=utcnow)
    reservation_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    allocated: list[str] = field(default_factory=list)  # ids of the VMs allocated against it


@dataclass
class ReservationGroup:
    subscription: str
    resource_group: str
    name: str
    region: str
    reservations: dict[str, Reservation] = field(default_factory=dict)  # lower-cased name ->

    @property
    def id(self) -> str:
        return (
            f"/subscriptions/{self.subscription}/resourceGroups/{self.resource_group}/providers/Microsoft.Compute/"
            f"capacityReservationGroups/{self.name}"
        )


Slot = tuple[str, str]  # (group id, reservation name), lower-cased


class Reservations:
    """The capacity reservation groups of the estate (`Capacity.reservations`)."""

    def __init__(self, lock: AbstractContextManager[Any]) -> None:
        self.lock = lock
        self.groups: dict[str, ReservationGroup] = {}  # lower-cased group id ->

    # ---- settings (tests, the demo) ------------------------------------------------------------------------
    def add(
        self, resource_group: str, group: str, reservation: str, size: str, capacity: int, region: str, zone: str = ""
    ) -> str:
        """Reserve `capacity` VMs of `size` in `region`, in availability zone `zone` ("": regional) (a reservation of
        that name is resized). Returns the group's id, as a protected item's `recoveryCapacityReservationGroupId`
        names it."""
        with self.lock:
            made = ReservationGroup(SUBSCRIPTION_ID, resource_group, group, region.lower())
            found = self.groups.setdefault(made.id.lower(), made)
            existing = found.reservations.get(reservation.lower())
            if existing is not None:
                existing.size, existing.capacity = size, capacity
            else:
                found.reservations[reservation.lower()] = Reservation(reservation, size, capacity, zone)
            return found.id

    # ---- ASR's placement (Capacity) ------------------------------------------------------------------------
    def held(self, region: str) -> list[tuple[str, int]]:
        """(size, reserved count) of each reservation in the region: its vCPUs count against quota."""
        with self.lock:
            return [
                (r.size, r.capacity)
                for g in self.groups.values()
                if g.region == region
                for r in g.reservations.values()
            ]

    def take(
        self, group_id: str | None, size: str, region: str, pending: dict[Slot, int], zone: str = ""
    ) -> Slot | None:
        """A free slot of `size` in the group (in `region`) for a VM deployed to availability zone `zone` ("": none),
        counting the slots `pending` already took; None when the group is not there or its reservations of that size
        in that zone are full. A zonal reservation serves only VMs of its zone, a regional one only VMs of no zone
        (the `zones` of CapacityReservation: "If not provided, the reservation supports only non-zonal deployments.
        If provided, enforces VM/VMSS using this capacity reservation to be in same zone")."""
        group = self.groups.get((group_id or "").lower())
        if group is None or group.region != region:
            return None
        for key, reservation in group.reservations.items():
            slot = (group.id.lower(), key)
            free = reservation.capacity - len(reservation.allocated) - pending.get(slot, 0)
            if reservation.size.lower() == size.lower() and reservation.zone == (zone or "") and free > 0:
                pending[slot] = pending.get(slot, 0) + 1
                return slot
        return None

    def allocate(self, slot: Slot, vm_id: str) -> None:
        with self.lock:
            self.groups[slot[0]].reservations[slot[1]].allocated.append(vm_id)

    def release(self, slots: dict[str, Slot]) -> None:
        """VM id -> its slot: the VMs are gone."""
        with self.lock:
            for vm_id, (group, reservation) in slots.items():
                found = self.groups.get(group)
                held = found.reservations.get(reservation) if found else None
                if held is not None and vm_id in held.allocated:
                    held.allocated.remove(vm_id)

    def snapshot(self) -> dict[str, Any]:
        with self.lock:
            return {
                f"{g.resource_group}/{g.name}/{r.name}": {
                    "size": r.size,
                    "reserved": r.capacity,
                    "allocated": len(r.allocated),
                    **({"zone": r.zone} if r.zone else {}),
                }
                for g in self.groups.values()
                for r in g.reservations.values()
            }

    # ---- JSON ---------------------------------------------------------------------------------------------
    def group(self, sub: str, rg: str, name: str) -> ReservationGroup:
        found = self.groups.get(ReservationGroup(sub, rg, name, "").id.lower())
        if found is None:
            raise SimError(
                404,
                "ResourceNotFound",
                f"The Resource 'Microsoft.Compute/capacityReservationGroups/{name}' under resource group '{rg}' was "
                "not found.",
            )
        return found

    @staticmethod
    def _utilization(reservation: Reservation) -> dict[str, Any]:
        return {
            "currentCapacity": reservation.capacity,
            "virtualMachinesAllocated": [{"id": i} for i in reservation.allocated],
        }

    def group_json(self, group: ReservationGroup, instance_view: bool) -> dict[str, Any]:
        reservations = list(group.reservations.values())
        properties: dict[str, Any] = {
            "capacityReservations": [{"id": f"{group.id}/capacityReservations/{r.name}"} for r in reservations],
            "virtualMachinesAssociated": [{"id": i} for r in reservations for i in r.allocated],
            "sharingProfile": {"subscriptionIds": []},
            "reservationType": "Targeted",
        }
        if instance_view:
            properties["instanceView"] = {
                "capacityReservations": [
                    {"name": r.name, "utilizationInfo": self._utilization(r), "statuses": [SUCCEEDED]}
                    for r in reservations
                ],
                "sharedSubscriptionIds": [],
            }
        return {
            "name": group.name,
            "id": group.id,
            "type": GROUP_TYPE,
            "location": group.region,
            "tags": {},
            "zones": sorted({r.zone for r in reservations if r.zone}),  # the zones its reservations may use
            "properties": properties,
        }

    def reservation_json(
        self, group: ReservationGroup, reservation: Reservation, instance_view: bool
    ) -> dict[str, Any]:
        properties: dict[str, Any] = {
            "platformFaultDomainCount": 1,
            "reservationId": reservation.reservation_id,
            "provisioningTime": iso(reservation.created),
            "virtualMachinesAssociated": [{"id": i} for i in reservation.allocated],
            "provisioningState": "Succeeded",
            "scheduleProfile": None,
            "timeCreated": iso(reservation.created),
        }
        if instance_view:
            properties["instanceView"] = {"utilizationInfo": self._utilization(reservation), "statuses": [SUCCEEDED]}
        return {
            "name": reservation.name,
            "id": f"{group.id}/capacityReservations/{reservation.name}",
            "type": RESERVATION_TYPE,
            "location": group.region,
            "tags": {},
            "sku": {"name": reservation.size, "capacity": reservation.capacity},
            "zones": [reservation.zone] if reservation.zone else [],
            "properties": properties,
        }


# ---- HTTPS routes ----------------------------------------------------------------------------
class Routes:
    def __init__(self, reservations: Reservations) -> None:
        self.reservations = reservations

    @staticmethod
    def _instance_view(request: web.Request) -> bool:
        return request.query.get("$expand", "").lower() == "instanceview"

    async def list_groups(self, request: web.Request, m: dict[str, str]) -> web.Response:
        """CapacityReservationGroups_ListBySubscription / _ListByResourceGroup (`$expand=virtualMachines/$ref`
        accepted: the associated VMs are always listed)."""
        r = self.reservations
        with r.lock:
            groups = [
                g
                for g in r.groups.values()
                if g.subscription.lower() == m["sub"].lower()
                and ("rg" not in m or g.resource_group.lower() == m["rg"].lower())
            ]
            return web.json_response({"value": [r.group_json(g, False) for g in groups]})

    async def get_group(self, request: web.Request, m: dict[str, str]) -> web.Response:
        """CapacityReservationGroups_Get (`$expand=instanceView`: each reservation's utilizationInfo)."""
        r = self.reservations
        with r.lock:
            group = r.group(m["sub"], m["rg"], m["group"])
            return web.json_response(r.group_json(group, self._instance_view(request)))

    async def list_reservations(self, request: web.Request, m: dict[str, str]) -> web.Response:
        """CapacityReservations_ListByCapacityReservationGroup."""
        r = self.reservations
        with r.lock:
            group = r.group(m["sub"], m["rg"], m["group"])
            return web.json_response(
                {"value": [r.reservation_json(group, x, False) for x in group.reservations.values()]}
            )

    async def get_reservation(self, request: web.Request, m: dict[str, str]) -> web.Response:
        """CapacityReservations_Get (`$expand=instanceView`)."""
        r = self.reservations
        with r.lock:
            group = r.group(m["sub"], m["rg"], m["group"])
            found = group.reservations.get(m["name"].lower())
            if found is None:
                raise SimError(
                    404,
                    "ResourceNotFound",
                    f"The Resource 'Microsoft.Compute/capacityReservationGroups/{group.name}/capacityReservations/"
                    f"{m['name']}' under resource group '{m['rg']}' was not found.",
                )
            return web.json_response(r.reservation_json(group, found, self._instance_view(request)))


def add_routes(table: RouteTable, reservations: Reservations) -> None:
    """Register the capacity reservation group and capacity reservation reads."""
    r = Routes(reservations)
    group = RG + r"/microsoft\.compute/capacityreservationgroups/(?P<group>[^/]+)"
    table.add(
        "GET", r"/subscriptions/(?P<sub>[^/]+)" + GROUPS + "$", "compute.capacityreservationgroups.list", r.list_groups
    )
    table.add(
        "GET",
        RG + r"/microsoft\.compute/capacityreservationgroups$",
        "compute.capacityreservationgroups.list",
        r.list_groups,
    )
    table.add("GET", group + "$", "compute.capacityreservationgroups.get", r.get_group)
    table.add("GET", group + "/capacityreservations$", "compute.capacityreservations.list", r.list_reservations)
    table.add(
        "GET", group + r"/capacityreservations/(?P<name>[^/]+)$", "compute.capacityreservations.get", r.get_reservation
    )
