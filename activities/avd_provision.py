"""Session hosts provisioned on demand in the recovery region (`recovery: provision`): build VMs from the host
pool's VM template, register them with the pool's registration token, and remove them again (drill cleanup,
failback).

`avd_provision_session_hosts` converges: each call moves every VM one step on (create it; once booted, install the
AVD agent with the token; once registered, report it) and returns where each is, so the orchestration calls it
again on a durable timer until all are Available. VM names are the plan's, deterministic: a repeated call finds
the VMs it created and never adds one. The registration token stays inside the activity (never in history)."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

import azure.durable_functions as df
from azure.core.exceptions import AzureError, HttpResponseError, ResourceNotFoundError

from activities._common import arm, clients, log
from failover.avd_template import VmTemplate, parse_template
from failover.contracts.avd import (
    ProvisionedHost,
    ProvisionInput,
    ProvisionResult,
    RemoveHostsInput,
    RemoveHostsResult,
)

AGENT_EXTENSION = "AddSessionHost"
# The AVD agent's installer, as the Azure portal deploys it on a new session host (DSC configuration AddSessionHost).
AGENT_MODULES_URL = (
    "https://wvdportalstorageblob.blob.core.windows.net/galleryartifacts/Configuration_1.0.02790.438.zip"
)
TOKEN_MIN_LIFE = timedelta(hours=1)  # a token closer to its expiry than this is replaced by a fresh one
TOKEN_LIFE = timedelta(hours=24)
ADMIN = "avdadmin"


REFUSED = (400, 404, 409)  # a VM PUT Azure refuses for what it asks (size, image, subnet, quota): not retried


def _short(name: str) -> str:
    return name.rsplit("/", 1)[-1]


def _registered(client: Any, rg: str, pool: str) -> dict[str, Any]:
    """VM name (lower case) -> the pool's session host on it (a session host is named by the VM's FQDN)."""
    return {_short(h.name or "").split(".", 1)[0].lower(): h for h in client.session_hosts.list(rg, pool)}


def _token(client: Any, rg: str, pool: str) -> tuple[str, datetime]:
    """The pool's registration token: the current one while it has an hour left, else a fresh one (PATCH
    registrationInfo Update, 24 hours)."""
    from azure.mgmt.desktopvirtualization.models import HostPoolPatch, RegistrationInfoPatch

    now = datetime.now(UTC)
    info = client.host_pools.retrieve_registration_token(rg, pool)
    if info.token and info.expiration_time and info.expiration_time - now > TOKEN_MIN_LIFE:
        return info.token, info.expiration_time
    patch = HostPoolPatch(
        registration_info=RegistrationInfoPatch(expiration_time=now + TOKEN_LIFE, registration_token_operation="Update")
    )
    updated = arm(client.host_pools.update, rg, pool, host_pool=patch, idempotent=False)
    fresh = updated.registration_info
    if fresh is None or not fresh.token or fresh.expiration_time is None:
        raise RuntimeError(f"host pool {pool}: no registration token in the answer to its update")
    return fresh.token, fresh.expiration_time


def _vm_body(payload: ProvisionInput, name: str, template: VmTemplate, run: str) -> dict[str, Any]:
    """The VM, from the template: its image and size, a NIC created with it on the plan's subnet; disk and NIC go
    with the VM when it is deleted. The local administrator's password is random and kept nowhere (use LAPS)."""
    os_disk: dict[str, Any] = {
        "createOption": "FromImage",
        "deleteOption": "Delete",
        "managedDisk": {"storageAccountType": template.os_disk_type},
    }
    if template.disk_size_gb:
        os_disk["diskSizeGB"] = template.disk_size_gb
    properties: dict[str, Any] = {
        "hardwareProfile": {"vmSize": payload.vm_size or template.size},
        "storageProfile": {"imageReference": dict(template.image), "osDisk": os_disk},
        "osProfile": {
            "computerName": name,
            "adminUsername": ADMIN,
            "adminPassword": secrets.token_urlsafe(24) + "!a1",
            "windowsConfiguration": {"provisionVMAgent": True, "enableAutomaticUpdates": True},
        },
        "networkProfile": {
            "networkApiVersion": "2020-11-01",
            "networkInterfaceConfigurations": [
                {
                    "name": f"{name}-nic",
                    "properties": {
                        "primary": True,
                        "deleteOption": "Delete",
                        "ipConfigurations": [
                            {"name": "ipconfig1", "properties": {"subnet": {"id": payload.subnet_id}}}
                        ],
                    },
                }
            ],
        },
        "licenseType": "Windows_Client",
    }
    if template.security_type == "TrustedLaunch":
        properties["securityProfile"] = {
            "securityType": "TrustedLaunch",
            "uefiSettings": {"secureBootEnabled": True, "vTpmEnabled": True},
        }
    tags = {"failover-run": run, "failover-host-pool": payload.host_pool}
    return {"location": payload.location, "tags": tags, "properties": properties}


def _agent_body(payload: ProvisionInput, token: str) -> dict[str, Any]:
    return {
        "location": payload.location,
        "properties": {
            "publisher": "Microsoft.PowerShell",
            "type": "DSC",
            "typeHandlerVersion": "2.83",
            "autoUpgradeMinorVersion": True,
            "settings": {
                "modulesUrl": AGENT_MODULES_URL,
                "configurationFunction": "Configuration.ps1\\AddSessionHost",
                "properties": {
                    "hostPoolName": payload.host_pool,
                    "registrationInfoTokenCredential": {
                        "UserName": "PLACEHOLDER DO NOT USE",
                        "Password": "PrivateSettingsRef:RegistrationInfoToken",
                    },
                    "aadJoin": False,
                },
            },
            "protectedSettings": {"Items": {"RegistrationInfoToken": token}},
        },
    }


def _why(err: Exception) -> str:
    return str(err.message if isinstance(err, HttpResponseError) and err.message else err)[:300]


def _extension_error(ext: Any) -> str:
    statuses = ((ext.get("properties") or {}).get("instanceView") or {}).get("statuses") or []
    return next((str(s.get("message")) for s in statuses if s.get("message")), "the AVD agent did not register")


def avd_provision_session_hosts(payload: ProvisionInput) -> ProvisionResult:
    """One step on for every VM of the pool's `names` (see the module docstring); refuses a personal host pool."""
    from azure.mgmt.compute.models import VirtualMachine, VirtualMachineExtension

    avd = clients().desktop_virtualization(payload.subscription_id)
    vms = clients().compute(payload.vm_subscription_id).virtual_machines
    extensions = clients().compute(payload.vm_subscription_id).virtual_machine_extensions
    rg, pool, vm_rg = payload.resource_group, payload.host_pool, payload.vm_resource_group
    host_pool = avd.host_pools.get(rg, pool)
    if str(host_pool.host_pool_type or "").lower() != "pooled":
        raise ValueError(
            f"host pool {pool} is {host_pool.host_pool_type}: recovery: provision builds session hosts for pooled "
            "host pools only (a personal desktop is its user's VM: protect it with Site Recovery)"
        )
    template = parse_template(host_pool.vm_template, pool)
    size = payload.vm_size or template.size
    registered = _registered(avd, rg, pool)
    token: tuple[str, datetime] | None = None
    hosts: list[ProvisionedHost] = []
    for name in payload.names:
        host = registered.get(name.lower())
        if host is not None:
            short = _short(host.name or "")
            if host.allow_new_session and not payload.allow_new_session:  # a drill's host takes no users
                from azure.mgmt.desktopvirtualization.models import SessionHostPatch

                patch = SessionHostPatch(allow_new_session=False)
                arm(avd.session_hosts.update, rg, pool, short, session_host=patch, idempotent=True)
            state = "available" if str(host.status) == "Available" else "unavailable"
            hosts.append(ProvisionedHost(vm=name, state=state, session_host=short, size=size))
            continue
        try:
            vm = vms.get(vm_rg, name)
        except ResourceNotFoundError:
            body = VirtualMachine(_vm_body(payload, name, template, payload.instance_id or ""))
            try:
                vms.begin_create_or_update(vm_rg, name, body, polling=False)
            except HttpResponseError as err:
                if err.status_code not in REFUSED:
                    raise  # throttled or Azure's own error: the activity's retry policy tries again
                # Azure refuses the VM as the template defines it (SkuNotAvailable, an image or subnet not in the
                # region, ...): the same call would be refused again, so the host is failed with Azure's reason
                hosts.append(ProvisionedHost(vm=name, state="failed", size=size, error=_why(err)))
                continue
            hosts.append(ProvisionedHost(vm=name, state="creating", size=size))
            continue
        provisioning = str((vm.get("properties") or {}).get("provisioningState") or "")
        if provisioning.lower() == "failed":
            hosts.append(ProvisionedHost(vm=name, state="failed", size=size, error="the VM's provisioning failed"))
            continue
        if provisioning.lower() != "succeeded":
            hosts.append(ProvisionedHost(vm=name, state="creating", size=size))
            continue
        try:
            ext = extensions.get(vm_rg, name, AGENT_EXTENSION, expand="instanceView")
            ext_state = str((ext.get("properties") or {}).get("provisioningState") or "")
        except ResourceNotFoundError:
            ext, ext_state = None, ""
        if ext is not None and ext_state.lower() == "failed" and name not in payload.reregister:
            hosts.append(ProvisionedHost(vm=name, state="failed", size=size, error=_extension_error(ext)))
            continue
        if ext is None or ext_state.lower() == "failed":
            token = token or _token(avd, rg, pool)
            try:
                agent = VirtualMachineExtension(_agent_body(payload, token[0]))
                extensions.begin_create_or_update(vm_rg, name, AGENT_EXTENSION, agent, polling=False)
            except AzureError as err:  # e.g. 409 while the VM is still busy: tried again on the next call
                hosts.append(ProvisionedHost(vm=name, state="creating", size=size, error=_why(err)))
                continue
        hosts.append(ProvisionedHost(vm=name, state="registering", size=size))
    expires = token[1].isoformat() if token else None
    log(payload, "avd.provision").info(
        "session hosts provisioning",
        host_pool=pool,
        **{state: sum(1 for h in hosts if h.state == state) for state in ("creating", "registering", "available")},
    )
    return ProvisionResult(host_pool=pool, hosts=hosts, token_expires=expires)


def avd_remove_session_hosts(payload: RemoveHostsInput) -> RemoveHostsResult:
    """Drain, unregister and delete the provisioned VMs `names` (their disk and NIC go with them)."""
    from azure.mgmt.desktopvirtualization.models import SessionHostPatch

    avd = clients().desktop_virtualization(payload.subscription_id)
    vms = clients().compute(payload.vm_subscription_id).virtual_machines
    rg, pool = payload.resource_group, payload.host_pool
    registered = _registered(avd, rg, pool)
    drained: list[str] = []
    removed: list[str] = []
    deleted: list[str] = []
    for name in payload.names:
        host = registered.get(name.lower())
        if host is not None:
            short = _short(host.name or "")
            if host.allow_new_session is not False:
                patch = SessionHostPatch(allow_new_session=False)
                arm(avd.session_hosts.update, rg, pool, short, session_host=patch, idempotent=True)
                drained.append(short)
            arm(avd.session_hosts.delete, rg, pool, short, force=True, idempotent=True)
            removed.append(short)
        try:
            vms.get(payload.vm_resource_group, name)
        except ResourceNotFoundError:
            continue
        vms.begin_delete(payload.vm_resource_group, name, polling=False)
        deleted.append(name)
    log(payload, "avd.remove").info(
        "provisioned session hosts removed", host_pool=pool, session_hosts=len(removed), vms=len(deleted)
    )
    return RemoveHostsResult(host_pool=pool, drained=drained, session_hosts_removed=removed, vms_deleted=deleted)


ACTIVITIES = [avd_provision_session_hosts, avd_remove_session_hosts]

bp = df.Blueprint()
for _activity in ACTIVITIES:
    bp.activity_trigger(input_name="payload")(_activity)
