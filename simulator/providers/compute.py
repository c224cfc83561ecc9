"""Azure Compute (Microsoft.Compute 2025-04-01): virtual machines (the standby AVD session hosts), their start and
deallocate.

State (`Compute`: VMs, their power operations on the toolkit's `OperationBook`; a VM that serves a session host
makes it Available while it runs, through the AVD provider), routes (`add_routes`: VM get with
`$expand=instanceView`, instance view, start and deallocate, delete, the operation status), the demo seed
(`seed_demo`: the standby host pool hp-neu-pooled in the recovery region, its session hosts on deallocated VMs)
and its part of `GET /_sim/dependencies` (`snapshot`). A VM PUT (`VirtualMachines_CreateOrUpdate`, NIC created
with it through `networkInterfaceConfigurations`) boots for `vm_create_seconds`; the AVD agent's extension PUT
(`VirtualMachineExtensions_CreateOrUpdate`, `Microsoft.PowerShell` `DSC` with the registration token in
`protectedSettings.Items.RegistrationInfoToken`) registers the session host with the pool whose current token it
is after `session_host_register_seconds`, or fails (wrong or expired token: the host never registers).
The instance view's `ProvisioningState/...` status is dated (`time`) when the VM's power state last changed, as
Azure's is; `powered_off_since` sets a VM deallocated since a given time (a standby host kept off for months).
Shapes follow Microsoft's REST examples
`VirtualMachine_Get_InstanceView` and `VirtualMachine_Start`; start and deallocate answer 202 with
`Azure-AsyncOperation`, `Location` and `Retry-After`; a VM delete (`VirtualMachines_Delete`: the restored VMs of
a restore test) answers 200, or 204 when there is no such VM.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from aiohttp import web

from simulator.arm import (
    RECOVERY_REGION,
    RG,
    BodyErrors,
    Cloud,
    Field,
    Operation,
    OperationBook,
    OperationRoutes,
    RouteTable,
    SimError,
    check_body,
    iso,
    json_body,
    locations,
    utcnow,
)
from simulator.providers.desktop_virtualization import DesktopVirtualization, HostPool, SessionHost

_VM = RG + r"/microsoft\.compute/virtualmachines/(?P<vm>[^/]+)"
_EXT = _VM + r"/extensions/(?P<ext>[^/]+)"
COMPUTE_ERRORS = BodyErrors("InvalidParameter", "InvalidParameter", "InvalidParameter")
VM_BODY = Field(
    "object",
    members={
        "location": Field("string", required=True),
        "properties": Field(
            "object",
            required=True,
            members={
                "hardwareProfile": Field("object", required=True, members={"vmSize": Field("string", required=True)}),
                "storageProfile": Field("object", required=True, members={"imageReference": Field("object")}),
                "osProfile": Field("object", members={"computerName": Field("string")}),
                "networkProfile": Field("object", required=True),
            },
        ),
    },
)
EXTENSION_BODY = Field(
    "object",
    members={
        "location": Field("string"),
        "properties": Field(
            "object",
            required=True,
            members={
                "publisher": Field("string", required=True),
                "type": Field("string", required=True),
                "typeHandlerVersion": Field("string"),
                "settings": Field("object"),
                "protectedSettings": Field("object"),
            },
        ),
    },
)
AVD_AGENT_EXTENSION = ("microsoft.powershell", "dsc")  # the AVD agent's installer (the portal's AddSessionHost)

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
    vm_create_seconds: float
    session_host_register_seconds: float
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
    created: bool = False  # created through the API (a provisioned session host), not seeded
    image: dict[str, Any] | None = None
    subnet_id: str | None = None
    extensions: dict[str, Extension] = field(default_factory=dict)
    # when its power state last changed (the last start, deallocate or creation ended): the instance view's
    # `ProvisioningState/...` status carries it as `time`, as Azure's does (VirtualMachine_Get_InstanceView)
    state_changed_at: datetime = field(default_factory=utcnow)


@dataclass
class Extension:
    name: str
    publisher: str
    type: str
    token: str | None  # protectedSettings.Items.RegistrationInfoToken (never returned on a read)
    state: str = "Creating"  # Creating | Succeeded | Failed
    message: str = ""


class Compute(OperationBook):
    """The VMs of one estate. Every method takes the estate's lock."""

    def __init__(self, cloud: Cloud, config: ComputeKnobs, avd: DesktopVirtualization) -> None:
        super().__init__(cloud)
        self.config = config
        self.avd = avd  # a standby VM's session host follows its power state
        self.vms: dict[tuple[str, str], VirtualMachine] = {}
        self.deleted_vms: list[str] = []
        avd.sources.append(self)  # a VM's boot registers its session host: AVD reads bring it up to date
        # The books whose operations create VMs here (Backup's restores): brought up to date before a VM is deleted.
        self.sources: list[OperationBook] = []
        # What Azure refuses when a VM is created (size, image, subnet: `simulator.providers.vm_admission`)
        self.admission: Callable[[str, str, dict[str, Any]], None] | None = None

    # ---- operations (simulator.arm.OperationBook: start, refresh, look up) ----------------
    def _finish(self, op: Operation) -> None:
        failure = op.fail_with
        if failure:
            op.status = "Failed"
            op.error = {"code": "OperationFailed", "message": failure}
        else:
            op.status = "Succeeded"
        if op.kind == "vm.extension":
            self._finish_extension(op)
            return
        vm: VirtualMachine = op.target
        vm.operation = None
        vm.state_changed_at = op.ended_at or utcnow()
        if op.status == "Succeeded":
            vm.power_state = "running" if op.kind in ("vm.start", "vm.create") else "deallocated"
            vm.provisioning_error = None
        else:
            vm.power_state = "deallocated" if op.kind in ("vm.start", "vm.create") else "running"
            code = "AllocationFailed" if op.kind in ("vm.start", "vm.create") else "OperationFailed"
            vm.provisioning_error = {"code": code, "message": failure or ""}
        self._sync_session_host(vm)

    def _finish_extension(self, op: Operation) -> None:
        """The AVD agent's installer ran on the booted VM: it registers with its token, or fails."""
        vm, ext = op.target
        vm.operation = None
        if op.status == "Succeeded" and (ext.publisher.lower(), ext.type.lower()) == AVD_AGENT_EXTENSION:
            host_name = f"{vm.name}.{DEMO_SESSION_HOST_DOMAIN}"
            where = (vm.resource_group, vm.name)
            pool = self.avd.register(ext.token, host_name, where, vm.location, at=op.ended_at)
            if pool is None:
                op.status = "Failed"
                op.error = {
                    "code": "VMExtensionProvisioningError",
                    "message": "VM has reported a failure when processing extension 'DSC': the session host could not "
                    "register to the host pool: the registration token is invalid or has expired.",
                }
            else:
                vm.session_host = (pool.resource_group, pool.name, host_name)
        ext.state = op.status
        ext.message = (op.error or {}).get("message", "")

    def create_vm(self, rg: str, name: str, body: dict[str, Any]) -> tuple[VirtualMachine, Operation | None]:
        """PUT a VM. A new one boots (an operation of `vm_create_seconds`, then running); an existing one is left as
        it is (a repeated PUT of the same VM changes nothing here). Returns the VM and its creation, if new."""
        with self.lock:
            self.refresh()
            key = (rg.lower(), name.lower())
            existing = self.vms.get(key)
            if existing is not None:
                return existing, None
            if self.admission is not None:
                self.admission(rg, name, body)
            props = body["properties"]
            nics = (props.get("networkProfile") or {}).get("networkInterfaceConfigurations") or []
            subnet = None
            for nic in nics:
                for ipc in (nic.get("properties") or {}).get("ipConfigurations") or []:
                    subnet = ((ipc.get("properties") or {}).get("subnet") or {}).get("id") or subnet
            vm = VirtualMachine(
                rg,
                name,
                str(body["location"]),
                size=props["hardwareProfile"]["vmSize"],
                power_state="starting",
                vm_id=str(uuid.uuid4()),
                created=True,
                image=dict(props["storageProfile"].get("imageReference") or {}),
                subnet_id=subnet,
            )
            op = self._start(
                "vm.create", "microsoft.compute", vm.location, vm, self.config.vm_create_seconds,
                self.config.failing.get(name),
            )  # fmt: skip
            vm.operation = op
            self.vms[key] = vm
            return vm, op

    def put_extension(self, rg: str, vm_name: str, name: str, body: dict[str, Any]) -> tuple[Extension, Operation]:
        """PUT a VM extension: runs for `session_host_register_seconds` on a VM that has finished booting (409
        while another operation runs on it, as Azure answers)."""
        with self.lock:
            vm = self.vm(rg, vm_name)
            if vm.operation is not None:
                raise SimError(
                    409,
                    "OperationNotAllowed",
                    f"Operation 'extension' is not allowed on VM '{vm.name}' since another operation is in progress.",
                )
            props = body["properties"]
            items = (
                ((props.get("protectedSettings") or {}).get("Items") or {}) if props.get("protectedSettings") else {}
            )
            ext = Extension(name, props["publisher"], props["type"], items.get("RegistrationInfoToken"))
            vm.extensions[name.lower()] = ext
            op = self._start(
                "vm.extension", "microsoft.compute", vm.location, (vm, ext),
                self.config.session_host_register_seconds, None,
            )  # fmt: skip
            vm.operation = op
            return ext, op

    def extension(self, rg: str, vm_name: str, name: str) -> Extension:
        with self.lock:
            vm = self.vm(rg, vm_name)
            ext = vm.extensions.get(name.lower())
            if ext is None:
                raise SimError(
                    404, "NotFound", f"The entity was not found in this Azure location (extension '{name}')."
                )
            return ext

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

    def powered_off_since(self, rg: str, name: str, when: datetime) -> VirtualMachine:
        """Set a VM deallocated since `when` (a test's standby host kept off for 100 days)."""
        with self.lock:
            vm = self.vm(rg, name)
            if vm.operation is not None:
                raise SimError(409, "OperationNotAllowed", f"VM '{name}' has an operation in progress.")
            vm.power_state, vm.state_changed_at = "deallocated", when
            self._sync_session_host(vm)
            return vm

    def delete_vm(self, rg: str, name: str) -> bool:
        """Delete a VM (only restored VMs and the standby VMs are simulated). False when there is none."""
        with self.lock:
            for book in self.sources:
                book.refresh()
            vm = self.vms.pop((rg.lower(), name.lower()), None)
            if vm is not None:
                self.deleted_vms.append(name)
                vm.power_state = "deleted"
                self._sync_session_host(vm)  # a session host left registered stops reporting
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
                    | (
                        {
                            "resource_group": v.resource_group,
                            "location": v.location,
                            "size": v.size,
                            "created": True,
                            "subnet_id": v.subnet_id,
                            "extensions": {e.name: e.state for e in v.extensions.values()},
                        }
                        if v.created
                        else {}
                    )
                    for v in self.vms.values()
                ],
                "deleted_vms": list(self.deleted_vms),
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
        changed = iso(vm.state_changed_at)  # the last power change, as Azure dates the provisioning status
        provisioning: dict[str, Any]
        if vm.operation is not None:
            provisioning = {"code": "ProvisioningState/updating", "level": "Info", "displayStatus": "Updating"}
        elif vm.provisioning_error:
            provisioning = {
                "code": f"ProvisioningState/failed/{vm.provisioning_error['code']}",
                "level": "Error",
                "displayStatus": "Provisioning failed",
                "message": vm.provisioning_error["message"],
                "time": changed,
            }
        else:
            provisioning = {
                "code": "ProvisioningState/succeeded",
                "level": "Info",
                "displayStatus": "Provisioning succeeded",
                "time": changed,
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
                "imageReference": vm.image
                or {
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
            "provisioningState": _provisioning_state(vm),
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

    async def vm_create(self, request: web.Request, m: dict[str, str]) -> web.Response:
        body = check_body(await json_body(request), VM_BODY, COMPUTE_ERRORS)
        vm, op = self.compute.create_vm(m["rg"], m["vm"], body)
        with self.compute.lock:
            answer = web.json_response(self._vm_json(m["sub"], vm, ""), status=201 if op else 200)
            if op is not None:
                answer.headers.update(self._op_urls(m["sub"], op))
            return answer

    def _ext_json(self, m: dict[str, str], ext: Extension) -> dict[str, Any]:
        return {
            "name": ext.name,
            "id": f"/subscriptions/{m['sub']}/resourceGroups/{m['rg']}/providers/Microsoft.Compute/virtualMachines/"
            f"{m['vm']}/extensions/{ext.name}",
            "type": "Microsoft.Compute/virtualMachines/extensions",
            "properties": {
                "publisher": ext.publisher,
                "type": ext.type,
                "typeHandlerVersion": "2.83",
                "autoUpgradeMinorVersion": True,
                "provisioningState": ext.state,
                "instanceView": {
                    "name": ext.name,
                    "statuses": [{"code": f"ProvisioningState/{ext.state.lower()}", "level":
                                  "Error" if ext.state == "Failed" else "Info", "message": ext.message}],
                },
            },
        }  # fmt: skip

    async def extension_put(self, request: web.Request, m: dict[str, str]) -> web.Response:
        body = check_body(await json_body(request), EXTENSION_BODY, COMPUTE_ERRORS)
        ext, op = self.compute.put_extension(m["rg"], m["vm"], m["ext"], body)
        with self.compute.lock:
            answer = web.json_response(self._ext_json(m, ext), status=201)
            answer.headers.update(self._op_urls(m["sub"], op))
            return answer

    async def extension_get(self, request: web.Request, m: dict[str, str]) -> web.Response:
        with self.compute.lock:
            self.compute.refresh()
            return web.json_response(self._ext_json(m, self.compute.extension(m["rg"], m["vm"], m["ext"])))

    async def vm_delete(self, request: web.Request, m: dict[str, str]) -> web.Response:
        existed = self.compute.delete_vm(m["rg"], m["vm"])
        return web.Response(status=200 if existed else 204)


def _provisioning_state(vm: VirtualMachine) -> str:
    if vm.operation is not None:
        return "Creating" if vm.operation.kind == "vm.create" else "Updating"
    if vm.created and vm.provisioning_error and vm.power_state != "running":
        return "Failed"
    return "Succeeded"


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
    add("PUT", _VM + r"$", "compute.vms.create_or_update", r.vm_create)
    add("PUT", _EXT + r"$", "compute.extensions.create_or_update", r.extension_put)
    add("GET", _EXT + r"$", "compute.extensions.get", r.extension_get)
    add("GET", locations("compute") + r"/operations/(?P<op>[^/]+)$", "compute.operations.get", r.operation_status)
