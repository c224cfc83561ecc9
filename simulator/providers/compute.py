"""Azure Compute (Microsoft.Compute 2025-04-01): virtual machines (the standby AVD session hosts), their start and
deallocate.

State (`Compute`: VMs, their power operations on the toolkit's `OperationBook`; a VM that serves a session host
makes it Available while it runs, through the AVD provider), routes (`add_routes`: VM get with
`$expand=instanceView`, instance view, start and deallocate, delete, the operation status), the demo seed
(`seed_demo`: the standby host pool hp-neu-pooled in the recovery region, its session hosts on deallocated VMs)
and its part of `GET /_sim/dependencies` (`snapshot`). Shapes follow Microsoft's REST examples
`VirtualMachine_Get_InstanceView` and `VirtualMachine_Start`; start and deallocate answer 202 with
`Azure-AsyncOperation`, `Location` and `Retry-After`; a VM delete (`VirtualMachines_Delete`: the restored VMs of
a restore test) answers 200, or 204 when there is no such VM.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any, Protocol

from aiohttp import web

from simulator.arm import (
    RECOVERY_REGION,
    RG,
    Cloud,
    Operation,
    OperationBook,
    OperationRoutes,
    RouteTable,
    SimError,
    iso,
    json_body,
    locations,
    utcnow,
)
from simulator.providers.desktop_virtualization import DesktopVirtualization, HostPool, SessionHost

_VM = RG + r"/microsoft\.compute/virtualmachines/(?P<vm>[^/]+)"

API_VERSION = "2025-04-01"
RETRY_AFTER_SECONDS = 10  # simulated

# ---- the demo estate (names) -----------------------------------------------------------------------
DEMO_STANDBY_RG = "rg-avd-neu"
DEMO_STANDBY_HOST_POOL = "hp-neu-pooled"
DEMO_STANDBY_VMS = tuple(f"vm-avd-neu-{i}" for i in range(4))
DEMO_SESSION_HOST_DOMAIN = "contoso.local"


class ComputeKnobs(Protocol):
    """The knobs Compute reads, in simulated seconds (`simulator.dependencies.DependencyConfig`)."""

    vm_start_seconds: float
    vm_deallocate_seconds: float
    failing: dict[str, str]  # VM name -> error text: its next start or deallocate ends Failed


@dataclass
class VirtualMachine:
    resource_group: str
    name: str
    location: str
    size: str = "Standard_D8s_v5"
    power_state: str = "deallocated"  # running | starting | deallocating | deallocated | stopped
    vm_id: str = ""
    operation: Operation | None = None
    provisioning_error: dict[str, str] | None = None  # the last failed operation, as an instance view status
    start_calls: int = 0
    session_host: tuple[str, str, str] | None = None  # (resource group, host pool, session host) it serves


class Compute(OperationBook):
    """The VMs of one estate. Every method takes the estate's lock."""

    def __init__(self, cloud: Cloud, config: ComputeKnobs, avd: DesktopVirtualization) -> None:
        super().__init__(cloud)
        self.config = config
        self.avd = avd  # a standby VM's session host follows its power state
        self.vms: dict[tuple[str, str], VirtualMachine] = {}
        self.deleted_vms: list[str] = []
        # The books whose operations create VMs here (Backup's restores): brought up to date before a VM is deleted.
        self.sources: list[OperationBook] = []

    # ---- operations (simulator.arm.OperationBook: start, refresh, look up) ----------------
    def _finish(self, op: Operation) -> None:
        failure = op.fail_with
        if failure:
            op.status = "Failed"
            op.error = {"code": "OperationFailed", "message": failure}
        else:
            op.status = "Succeeded"
        vm: VirtualMachine = op.target
        vm.operation = None
        if op.status == "Succeeded":
            vm.power_state = "running" if op.kind == "vm.start" else "deallocated"
            vm.provisioning_error = None
        else:
            vm.power_state = "deallocated" if op.kind == "vm.start" else "running"
            code = "AllocationFailed" if op.kind == "vm.start" else "OperationFailed"
            vm.provisioning_error = {"code": code, "message": failure or ""}
        self._sync_session_host(vm)

    def _sync_session_host(self, vm: VirtualMachine) -> None:
        """A session host is Available while its VM runs, Unavailable otherwise (as AVD's agent reports)."""
        if vm.session_host is None:
            return
        rg, pool, name = vm.session_host
        try:
            host = self.avd.session_host(rg, pool, name)
        except SimError:
            return
        host.status = "Available" if vm.power_state == "running" else "Unavailable"

    # ---- Compute --------------------------------------------------------------------------
    def vm(self, rg: str, name: str) -> VirtualMachine:
        with self.lock:
            self.refresh()
            vm = self.vms.get((rg.lower(), name.lower()))
            if vm is None:
                raise SimError(
                    404,
                    "ResourceNotFound",
                    f"The Resource 'Microsoft.Compute/virtualMachines/{name}' under resource group '{rg}' "
                    "was not found.",
                )
            return vm

    def vm_power(self, rg: str, name: str, start: bool) -> Operation:
        """Start or deallocate. A VM already there (or on its way) gets an operation that is already done
        (or the running one), as Azure accepts a repeated start."""
        with self.lock:
            vm = self.vm(rg, name)
            if start:
                vm.start_calls += 1
            kind = "vm.start" if start else "vm.deallocate"
            if vm.operation is not None:
                if vm.operation.kind == kind:
                    return vm.operation
                raise SimError(
                    409,
                    "OperationNotAllowed",
                    f"Operation '{kind.split('.')[1]}' is not allowed on VM '{vm.name}' since another operation "
                    "is in progress.",
                )
            done = vm.power_state == ("running" if start else "deallocated")
            seconds = 0.0 if done else (self.config.vm_start_seconds if start else self.config.vm_deallocate_seconds)
            op = self._start(kind, "microsoft.compute", vm.location, vm, seconds, self.config.failing.get(vm.name))
            if done:
                op.fail_with = None
                op.status = "Succeeded"
                op.ended_at = op.started_at
                return op
            vm.operation = op
            vm.power_state = "starting" if start else "deallocating"
            return op

    def delete_vm(self, rg: str, name: str) -> bool:
        """Delete a VM (only restored VMs and the standby VMs are simulated). False when there is none."""
        with self.lock:
            for book in self.sources:
                book.refresh()
            vm = self.vms.pop((rg.lower(), name.lower()), None)
            if vm is not None:
                self.deleted_vms.append(name)
            return vm is not None

    # ---- the demo estate ------------------------------------------------------------------
    def seed_demo(self, recovery: str = RECOVERY_REGION) -> None:
        """The standby AVD host pool in the recovery region: session hosts on deallocated VMs, closed to new
        sessions."""
        with self.lock:
            pool = self.avd.host_pools.get((DEMO_STANDBY_RG, DEMO_STANDBY_HOST_POOL))
            if pool is None:
                pool = self.avd.host_pools[(DEMO_STANDBY_RG, DEMO_STANDBY_HOST_POOL)] = HostPool(
                    DEMO_STANDBY_RG, DEMO_STANDBY_HOST_POOL, recovery
                )
            for vm_name in DEMO_STANDBY_VMS:
                host_name = f"{vm_name}.{DEMO_SESSION_HOST_DOMAIN}"
                pool.session_hosts[host_name] = SessionHost(
                    name=host_name, allow_new_session=False, status="Unavailable"
                )
                self.vms[(DEMO_STANDBY_RG, vm_name)] = VirtualMachine(
                    DEMO_STANDBY_RG,
                    vm_name,
                    recovery,
                    vm_id=str(uuid.uuid5(uuid.NAMESPACE_DNS, vm_name)),
                    session_host=(DEMO_STANDBY_RG, DEMO_STANDBY_HOST_POOL, host_name),
                )

    # ---- inspection -----------------------------------------------------------------------
    def snapshot(self) -> dict[str, Any]:
        with self.lock:
            self.refresh()
            return {
                "virtual_machines": [
                    {"name": v.name, "power_state": v.power_state, "start_calls": v.start_calls}
                    for v in self.vms.values()
                ],
            }


# ---- HTTPS routes ----------------------------------------------------------------------------
class Routes(OperationRoutes):
    """The handlers, over one estate's `Compute`; LRO headers point back at `table.base_url`."""

    retry_after_seconds = RETRY_AFTER_SECONDS

    def __init__(self, table: RouteTable, compute: Compute) -> None:
        super().__init__(table, compute)
        self.compute = compute

    def _op_urls(self, sub: str, op: Operation) -> dict[str, str]:
        base = f"{self.table.base_url}/subscriptions/{sub}/providers/Microsoft.Compute/locations/{op.location}"
        return {
            "Azure-AsyncOperation": f"{base}/operations/{op.id}?api-version={API_VERSION}",
            "Location": f"{base}/operations/{op.id}?monitor=true&api-version={API_VERSION}",
        }

    def _vm_id(self, sub: str, vm: VirtualMachine) -> str:
        rg_id = f"/subscriptions/{sub}/resourceGroups/{vm.resource_group}"
        return f"{rg_id}/providers/Microsoft.Compute/virtualMachines/{vm.name}"

    def _instance_view(self, vm: VirtualMachine) -> dict[str, Any]:
        now = iso(utcnow())
        provisioning: dict[str, Any]
        if vm.operation is not None:
            provisioning = {"code": "ProvisioningState/updating", "level": "Info", "displayStatus": "Updating"}
        elif vm.provisioning_error:
            provisioning = {
                "code": f"ProvisioningState/failed/{vm.provisioning_error['code']}",
                "level": "Error",
                "displayStatus": "Provisioning failed",
                "message": vm.provisioning_error["message"],
                "time": now,
            }
        else:
            provisioning = {
                "code": "ProvisioningState/succeeded",
                "level": "Info",
                "displayStatus": "Provisioning succeeded",
                "time": now,
            }
        power = {
            "code": f"PowerState/{vm.power_state}",
            "level": "Info",
            "displayStatus": f"VM {vm.power_state}",
        }
        disk_status = {
            "code": "ProvisioningState/succeeded",
            "level": "Info",
            "displayStatus": "Provisioning succeeded",
            "time": now,
        }
        view: dict[str, Any] = {
            "platformUpdateDomain": 0,
            "platformFaultDomain": 0,
            "disks": [{"name": f"{vm.name}-osdisk", "statuses": [disk_status]}],
            "hyperVGeneration": "V2",
            "isVMInStandbyPool": False,
            "statuses": [provisioning, power],
        }
        if vm.power_state == "running":  # a deallocated VM reports no guest, agent or extension state
            ready = {
                "code": "ProvisioningState/succeeded",
                "level": "Info",
                "displayStatus": "Ready",
                "message": "GuestAgent is running and accepting new configurations.",
                "time": now,
            }
            view.update(
                {
                    "computerName": vm.name,
                    "osName": "Windows 11 Enterprise multi-session",
                    "osVersion": "10.0.22631.4460",
                    "vmAgent": {
                        "vmAgentVersion": "2.7.41491.1149",
                        "statuses": [ready],
                        "extensionHandlers": [
                            {
                                "type": "Microsoft.PowerShell.DSC",
                                "typeHandlerVersion": "2.83.5.0",
                                "status": {
                                    "code": "ProvisioningState/succeeded",
                                    "level": "Info",
                                    "displayStatus": "Ready",
                                },
                            }
                        ],
                    },
                    "bootDiagnostics": {
                        "consoleScreenshotBlobUri": f"https://stdiagneu.blob.core.windows.net/bootdiagnostics/{vm.name}.screenshot.bmp",
                        "serialConsoleLogBlobUri": f"https://stdiagneu.blob.core.windows.net/bootdiagnostics/{vm.name}.serialconsole.log",
                    },
                    "extensions": [
                        {
                            "name": "Microsoft.PowerShell.DSC",
                            "type": "Microsoft.PowerShell.DSC",
                            "typeHandlerVersion": "2.83.5.0",
                            "statuses": [
                                {
                                    "code": "ProvisioningState/succeeded",
                                    "level": "Info",
                                    "displayStatus": "Provisioning succeeded",
                                    "message": "AVD agent registered to host pool",
                                }
                            ],
                        }
                    ],
                    "patchStatus": _patch_status(),
                }
            )
        return view

    def _vm_json(self, sub: str, vm: VirtualMachine, expand: str) -> dict[str, Any]:
        vm_id = self._vm_id(sub, vm)
        rg_id = vm_id.split("/providers/")[0]
        props: dict[str, Any] = {
            "vmId": vm.vm_id,
            "hardwareProfile": {"vmSize": vm.size},
            "storageProfile": {
                "imageReference": {
                    "publisher": "MicrosoftWindowsDesktop",
                    "offer": "office-365",
                    "sku": "win11-23h2-avd-m365",
                    "version": "latest",
                },
                "osDisk": {
                    "osType": "Windows",
                    "name": f"{vm.name}-osdisk",
                    "createOption": "FromImage",
                    "caching": "ReadWrite",
                    "managedDisk": {
                        "storageAccountType": "Premium_LRS",
                        "id": f"{rg_id}/providers/Microsoft.Compute/disks/{vm.name}-osdisk",
                    },
                    "diskSizeGB": 128,
                },
                "dataDisks": [],
            },
            "osProfile": {
                "computerName": vm.name,
                "adminUsername": "avdadmin",
                "windowsConfiguration": {"provisionVMAgent": True, "enableAutomaticUpdates": True},
                "secrets": [],
            },
            "networkProfile": {
                "networkInterfaces": [{"id": f"{rg_id}/providers/Microsoft.Network/networkInterfaces/{vm.name}-nic"}]
            },
            "provisioningState": "Updating" if vm.operation is not None else "Succeeded",
        }
        if expand.lower() == "instanceview":
            props["instanceView"] = self._instance_view(vm)
        return {
            "name": vm.name,
            "id": vm_id,
            "type": "Microsoft.Compute/virtualMachines",
            "location": vm.location,
            "properties": props,
        }

    async def vm_get(self, request: web.Request, m: dict[str, str]) -> web.Response:
        expand = request.query.get("$expand", "")
        with self.compute.lock:
            vm = self.compute.vm(m["rg"], m["vm"])
            return web.json_response(self._vm_json(m["sub"], vm, expand))

    async def vm_instance_view(self, request: web.Request, m: dict[str, str]) -> web.Response:
        with self.compute.lock:
            vm = self.compute.vm(m["rg"], m["vm"])
            return web.json_response(self._instance_view(vm))

    async def vm_power(self, request: web.Request, m: dict[str, str]) -> web.Response:
        await json_body(request)  # the operation takes no body; one, if sent, must still be JSON
        op = self.compute.vm_power(m["rg"], m["vm"], start=m["op"].lower() == "start")
        return self._accepted(m["sub"], op)

    async def vm_delete(self, request: web.Request, m: dict[str, str]) -> web.Response:
        existed = self.compute.delete_vm(m["rg"], m["vm"])
        return web.Response(status=200 if existed else 204)


def _patch_status() -> dict[str, Any]:
    stamp = iso(utcnow())
    return {
        "availablePatchSummary": {
            "status": "Succeeded",
            "assessmentActivityId": str(uuid.uuid4()),
            "rebootPending": False,
            "criticalAndSecurityPatchCount": 0,
            "otherPatchCount": 0,
            "startTime": stamp,
            "lastModifiedTime": stamp,
            "error": None,
        },
        "lastPatchInstallationSummary": {
            "status": "Succeeded",
            "installationActivityId": str(uuid.uuid4()),
            "maintenanceWindowExceeded": False,
            "notSelectedPatchCount": 0,
            "excludedPatchCount": 0,
            "pendingPatchCount": 0,
            "installedPatchCount": 0,
            "failedPatchCount": 0,
            "startTime": stamp,
            "lastModifiedTime": stamp,
            "error": None,
        },
        "configurationStatuses": [
            {
                "code": "PatchModeConfigurationState/Ready",
                "level": "Info",
                "displayStatus": "Status_PatchModeConfigurationState_Ready",
                "time": stamp,
            }
        ],
    }


def add_routes(table: RouteTable, compute: Compute) -> None:
    """Register the VM and operation routes."""
    r = Routes(table, compute)
    add = table.add
    add("GET", _VM + r"$", "compute.vms.get", r.vm_get)
    add("GET", _VM + r"/instanceview$", "compute.vms.instance_view", r.vm_instance_view)
    add("POST", _VM + r"/(?P<op>start|deallocate)$", "compute.vms.power", r.vm_power)
    add("DELETE", _VM + r"$", "compute.vms.delete", r.vm_delete)
    add("GET", locations("compute") + r"/operations/(?P<op>[^/]+)$", "compute.operations.get", r.operation_status)
