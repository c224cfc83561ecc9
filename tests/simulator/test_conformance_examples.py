"""Shape conformance: every Microsoft REST example (`tests/reference/rest-examples/`) whose operation the
simulator serves is replayed against it, and the answer compared with the example's response.

A replay sends the example's method, path (its parameters, with the names of the seeded estate in place of
the example's), api-version, query parameters and body, then checks: the status is one the example lists;
on a 202 the example's LRO headers are there (`Azure-AsyncOperation` / `Location` pointing back at the
simulator with the example's URL skeleton, `Retry-After` in whole seconds), the operation status goes
InProgress → Succeeded and the `Location` gives the example's 200 body; the JSON shape follows the rule of
`tests/simulator/conformance.py`. Each case brings its own resource to the state the example shows first
(e.g. a recovery plan that was test-failed-over before its planned failover, as the example's plan was).
docs/simulator.md's conformance table lists every case; a test keeps the two in step.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest
from azure.mgmt.compute import models as compute
from azure.mgmt.desktopvirtualization import models as avd
from azure.mgmt.dns import models as dns
from azure.mgmt.recoveryservicessiterecovery import models as asr
from azure.mgmt.trafficmanager import models as tm

from activities.verify import heartbeat_query
from local.stack import ROOT
from simulator import Estate, EstateConfig, Simulator, hyperv, seed_demo_estate
from simulator.arm import PRIMARY_REGION, RECOVERY_REGION, iso, utcnow
from simulator.dependencies import DEMO_FAILOVER_GROUP
from simulator.estate import DEMO_ASR_RG, DEMO_VAULT, SUBSCRIPTION_ID, ProtectedItem, RecoveryPlan
from simulator.faults import ThrottleConfig
from simulator.network import DEMO_WORKSPACE_ID
from simulator.providers.capacity import recovery_vm_id
from simulator.providers.images import DEMO_MARKETPLACE, GalleryVersion
from tests.simulator.conformance import (
    LRO_HEADERS,
    Allow,
    call,
    example,
    example_files,
    finish_operations,
    header,
    rest_keys,
    shape_differences,
    skeleton,
)

ARM = "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers"
VAULT = ARM + "/Microsoft.RecoveryServices/vaults/{resourceName}"
PLAN = VAULT + "/replicationRecoveryPlans/{recoveryPlanName}"
HOST_POOL = ARM + "/Microsoft.DesktopVirtualization/hostPools/{hostPoolName}"
SESSION_HOST = HOST_POOL + "/sessionHosts/{sessionHostName}"
USER_SESSION = SESSION_HOST + "/userSessions/{userSessionId}"
RECORD_SET = ARM + "/Microsoft.Network/dnsZones/{zoneName}/{recordType}/{relativeRecordSetName}"
PROFILE = ARM + "/Microsoft.Network/trafficmanagerprofiles/{profileName}"
VM = ARM + "/Microsoft.Compute/virtualMachines/{vmName}"
SUBSCRIPTION = {"subscriptionId": SUBSCRIPTION_ID}
IMAGES_RG = "rg-images"
ASR_NAMES = {**SUBSCRIPTION, "resourceGroupName": DEMO_ASR_RG, "resourceName": DEMO_VAULT}
AVD_NAMES = {
    **SUBSCRIPTION,
    "resourceGroupName": "rg-avd-weu",
    "hostPoolName": "hp-weu-pooled",
    "sessionHostName": "sh-weu-001.contoso.local",
    "userSessionId": "1",
}
DNS_NAMES = {**SUBSCRIPTION, "resourceGroupName": "rg-dns-global", "zoneName": "contoso.com"}
TM_NAMES = {**SUBSCRIPTION, "resourceGroupName": "rg-dns-global", "profileName": "tm-contoso-app"}
VNET = (
    f"/subscriptions/{SUBSCRIPTION_ID}/resourceGroups/rg-network-neu/providers/Microsoft.Network/virtualNetworks/"
    "vnet-drill-neu"
)
A2A = [{"instanceType": "A2A", "recoveryPointType": "Latest"}]
# The requests the service sends for each recovery plan operation (`activities.asr`), to prepare a plan.
STEPS: dict[str, tuple[str, dict[str, Any] | None]] = {
    "testFailover": (
        "testFailover",
        {
            "properties": {
                "failoverDirection": "PrimaryToRecovery",
                "networkType": "VmNetworkAsInput",
                "networkId": VNET,
                "providerSpecificDetails": A2A,
            }
        },
    ),
    "testFailoverCleanup": ("testFailoverCleanup", {"properties": {"comments": "drill done"}}),
    "plannedFailover": (
        "plannedFailover",
        {"properties": {"failoverDirection": "PrimaryToRecovery", "providerSpecificDetails": A2A}},
    ),
    "failback": (
        "plannedFailover",
        {"properties": {"failoverDirection": "RecoveryToPrimary", "providerSpecificDetails": A2A}},
    ),
    "failoverCommit": ("failoverCommit", None),
    "reProtect": ("reProtect", None),
}
DRILL = ("testFailover", "testFailoverCleanup")
ROUND_TRIP = ("plannedFailover", "failoverCommit", "reProtect", "failback", "failoverCommit", "reProtect")

Prepare = Callable[[Simulator], dict[str, str]]


def _future_token(body: dict[str, Any]) -> dict[str, Any]:
    """A host pool PATCH body whose `registrationInfo.expirationTime` is a day from now."""
    info = {**body["properties"]["registrationInfo"], "expirationTime": iso(utcnow() + timedelta(days=1))}
    return {**body, "properties": {**body["properties"], "registrationInfo": info}}


@dataclass(frozen=True)
class Case:
    """One REST example, replayed."""

    example: str  # its path under rest-examples/
    method: str
    path: str  # the operation's path, with the example's parameter names
    names: dict[str, str]  # parameters: the seeded estate's names in place of the example's
    used_by: str  # the activity that calls the operation, or "" (the service does not)
    body: str | None = None  # the example parameter that is the request body
    query: tuple[str, ...] = ()  # example parameters sent in the query string
    prepare: Prepare | None = None  # bring the resource to the example's state; may name it
    allow: Allow = field(default_factory=Allow)
    override_body: Any = None  # a body the simulator can answer in place of the example's (Logs only)
    headers: dict[str, str] = field(default_factory=dict)
    api_version: bool = True  # data-plane Logs has none
    version_parameter: str = "api-version"  # the example parameter that holds the api-version

    @property
    def id(self) -> str:
        return self.example.removesuffix(".json")


HYPER_V = [{"instanceType": "HyperVReplicaAzure", "recoveryPointType": "Latest"}]
HYPER_V_FAILBACK = [
    {
        "instanceType": "HyperVReplicaAzureFailback",
        "dataSyncOption": "ForSynchronization",
        "recoveryVmCreationOption": "CreateVmIfNotFound",
    }
]
# The recovery plans whose example is a Hyper-V site's (HyperVReplicaAzure): its request body fits only such a plan.
HYPER_V_PLANS = ("rp-conf-test", "rp-conf-planned", "rp-conf-unplanned")


def _for_provider(plan: str, body: dict[str, Any] | None) -> dict[str, Any] | None:
    """A step's body for a Hyper-V plan: its provider entry HyperVReplicaAzure (HyperVReplicaAzureFailback back)."""
    if plan not in HYPER_V_PLANS or body is None or "providerSpecificDetails" not in body["properties"]:
        return body
    back = body["properties"]["failoverDirection"] == "RecoveryToPrimary"
    return {"properties": {**body["properties"], "providerSpecificDetails": HYPER_V_FAILBACK if back else HYPER_V}}


def drive(plan: str, *steps: str) -> Prepare:
    """Prepare: run `steps` on a recovery plan (each job finished before the next), then name the plan."""

    def prepare(sim: Simulator) -> dict[str, str]:
        base = PLAN.format(**ASR_NAMES, recoveryPlanName=plan)
        for step in steps:
            operation, body = STEPS[step]
            body = _for_provider(plan, body)
            answer = call(sim, "POST", f"{base}/{operation}", params={"api-version": "2025-08-01"}, json_body=body)
            assert answer.status_code == 202, (step, answer.text)
            finish_operations(sim)
        return {"recoveryPlanName": plan}

    return prepare


def a_finished_job(sim: Simulator) -> dict[str, str]:
    """Prepare ReplicationJobs_Get: a finished job (the example's job is Succeeded with its tasks)."""
    drive("rp-conf-jobs", *DRILL)(sim)
    with sim.estate.lock:
        job = next(j for j in sim.estate.jobs.values() if j.plan_name == "rp-conf-jobs" and j.state == "Succeeded")
    return {"jobName": job.name}


def sql_secondary(sim: Simulator) -> dict[str, str]:
    """Prepare the failover group examples: their group fails over automatically after a 120-minute grace period
    (`readWriteEndpoint`), and the request goes to the current secondary server."""
    deps = sim.estate.dependencies
    with sim.estate.lock:
        group = deps.failover_groups[DEMO_FAILOVER_GROUP]
        group.failover_policy, group.grace_period_minutes = "Automatic", 120
        secondary = group.partner(group.primary)
    return {
        **SUBSCRIPTION,
        "resourceGroupName": secondary.resource_group,
        "serverName": secondary.name,
        "failoverGroupName": DEMO_FAILOVER_GROUP,
    }


def running_vm(sim: Simulator) -> dict[str, str]:
    """Prepare VirtualMachine_Get_InstanceView: the example's VM runs (guest agent, extensions, ...)."""
    names = {**SUBSCRIPTION, "resourceGroupName": "rg-avd-neu", "vmName": "vm-avd-neu-1"}
    answer = call(sim, "POST", VM.format(**names) + "/start", params={"api-version": "2025-04-01"})
    assert answer.status_code == 202, answer.text
    finish_operations(sim)
    return names


def reserved_group(sim: Simulator) -> dict[str, str]:
    """Prepare the capacity reservation examples: a group with two reservations, each with two VMs allocated against
    it (the examples' `utilizationInfo` and `virtualMachinesAssociated` list VMs)."""
    reservations = sim.estate.capacity.reservations
    known = set(reservations.groups)
    group_id = sim.estate.capacity.reserve("rg-dr-neu", "crg-conf", "crg-conf-d4", "Standard_D4s_v5", 5)
    sim.estate.capacity.reserve("rg-dr-neu", "crg-conf", "crg-conf-e8", "Standard_E8s_v5", 5)
    if group_id.lower() not in known:  # the module's simulator is shared: once
        for reservation in ("crg-conf-d4", "crg-conf-e8"):
            for n in (1, 2):
                vm = recovery_vm_id(f"vm-conf-{reservation[-2:]}{n}", "failover")
                reservations.allocate((group_id.lower(), reservation), vm)
    return {
        **SUBSCRIPTION,
        "resourceGroupName": "rg-dr-neu",
        "capacityReservationGroupName": "crg-conf",
        "capacityReservationName": "crg-conf-d4",
    }


def managed_image(sim: Simulator) -> dict[str, str]:
    """Prepare Image_Get: a managed image in the recovery region (the demo template's image is a marketplace one)."""
    sim.estate.images.add_managed_image(IMAGES_RG, "img-conf-win11", RECOVERY_REGION)
    return {**SUBSCRIPTION, "resourceGroupName": IMAGES_RG, "imageName": "img-conf-win11"}


def gallery_version(sim: Simulator) -> dict[str, str]:
    """Prepare the gallery image version examples: a version replicated to two regions, as the examples' is."""
    version = GalleryVersion(
        IMAGES_RG, "gal_conf", "win11-avd", "1.0.0", PRIMARY_REGION, ["West Europe", "North Europe"]
    )
    sim.estate.images.add_gallery_version(version)
    return {
        **SUBSCRIPTION,
        "resourceGroupName": IMAGES_RG,
        "galleryName": "gal_conf",
        "galleryImageName": "win11-avd",
        "galleryImageVersionName": "1.0.0",
    }


def extra(model: type, prefix: str = "") -> tuple[type, str]:
    return (model, prefix)


CRG = ARM + "/Microsoft.Compute/capacityReservationGroups/{capacityReservationGroupName}"
IMAGE_VERSIONS = ARM + "/Microsoft.Compute/galleries/{galleryName}/images/{galleryImageName}/versions"
NO_DATA_DISKS = "a session host image is its OS disk: no data disks"
NO_VIOLATIONS = "the version is not reported for a policy violation (the example's is)"
# What Azure returns beyond the example: the resource `type`, and `publishingProfile.excludeFromLatest`, which the
# provisioning check reads (a definition's latest version is one not excluded).
IMAGE_VERSION_EXTRA = {
    "": extra(compute.GalleryImageVersion),
    ".properties.publishingProfile": extra(compute.GalleryImageVersionPublishingProfile),
}
MARKETPLACE_VERSIONS = (
    "/subscriptions/{subscriptionId}/providers/Microsoft.Compute/locations/{location}/publishers/{publisherName}"
    "/artifacttypes/vmimage/offers/{offer}/skus/{skus}/versions"
)
REGIONAL = "a regional group and reservation (no availability zone)"
SCHEDULE = "a targeted on-demand reservation has no schedule (scheduleProfile is a Block or Future reservation's)"
CRG_EMPTY = {
    "$.zones": REGIONAL,
    "$.properties.sharingProfile.subscriptionIds": "not shared with other subscriptions",
    "$.properties.instanceView.sharedSubscriptionIds": "not shared with other subscriptions",
}
CRG_LIST = Allow(
    extra={
        "$.value[]": extra(compute.CapacityReservationGroup),
        "$.value[].properties": extra(compute.CapacityReservationGroupProperties),
    }
)
PLAN_PROPERTIES = Allow(extra={"$.properties": extra(asr.RecoveryPlanProperties)})
ITEM_NULLABLE = {
    "protectableItemId": "an A2A item has no protectable item (null, as a public Site Recovery walkthrough shows)",
    "recoveryServicesProviderId": "an A2A item has no on-premises Recovery Services provider",
}
# The vault lists the Hyper-V site's items too (HyperVReplicaAzureReplicationDetails), with the simulator's own key for
# the Azure Local cluster their host belongs to (ASR has none: simulator.hyperv).
HYPER_V_ITEM_KEYS = (
    tuple(sorted(rest_keys(asr.HyperVReplicaAzureReplicationDetails) | {hyperv.CLUSTER_KEY})),
    "the vault's Hyper-V site items, and simulator.hyperv's cluster key",
)
PAGER = "the SDK's pager reads `nextLink` (azure-mgmt-recoveryservicessiterecovery 2.0.0 has no list model)"
POOLED_HOST = {"$.properties.assignedUser": "a pooled host pool assigns no user (personal pools do)"}

CASES: list[Case] = [
    # ---- Azure Site Recovery 2025-08-01
    Case(
        "asr/ReplicationRecoveryPlans_List.json",
        "GET",
        VAULT + "/replicationRecoveryPlans",
        ASR_NAMES,
        "asr_resolve_recovery_plans",
        allow=Allow(extra={"$.value[].properties": extra(asr.RecoveryPlanProperties)}),
    ),
    Case(
        "asr/ReplicationRecoveryPlans_Get.json",
        "GET",
        PLAN,
        {**ASR_NAMES, "recoveryPlanName": "rp-identity"},
        "asr_start_failover (and every ASR activity)",
    ),
    Case(
        "asr/ReplicationRecoveryPlans_TestFailover.json",
        "POST",
        PLAN + "/testFailover",
        {**ASR_NAMES, "recoveryPlanName": "rp-conf-test"},
        "asr_start_failover (mode test)",
        body="input",
        allow=PLAN_PROPERTIES,
    ),
    Case(
        "asr/ReplicationRecoveryPlans_TestFailoverCleanup.json",
        "POST",
        PLAN + "/testFailoverCleanup",
        ASR_NAMES,
        "asr_test_cleanup",
        body="input",
        prepare=drive("rp-conf-cleanup", *ROUND_TRIP, "testFailover"),
        allow=PLAN_PROPERTIES,
    ),
    Case(
        "asr/ReplicationRecoveryPlans_PlannedFailover.json",
        "POST",
        PLAN + "/plannedFailover",
        ASR_NAMES,
        "asr_start_failover (mode planned, failback)",
        body="input",
        prepare=drive("rp-conf-planned", *DRILL),
        allow=PLAN_PROPERTIES,
    ),
    Case(
        "asr/ReplicationRecoveryPlans_FailoverCommit.json",
        "POST",
        PLAN + "/failoverCommit",
        ASR_NAMES,
        "asr_commit",
        prepare=drive("rp-conf-commit", *DRILL, "plannedFailover"),
        allow=PLAN_PROPERTIES,
    ),
    Case(
        "asr/ReplicationRecoveryPlans_Reprotect.json",
        "POST",
        PLAN + "/reProtect",
        ASR_NAMES,
        "asr_reprotect",
        prepare=drive("rp-conf-reprotect", *DRILL, "plannedFailover", "failoverCommit"),
        allow=PLAN_PROPERTIES,
    ),
    Case(
        "asr/ReplicationRecoveryPlans_UnplannedFailover.json",
        "POST",
        PLAN + "/unplannedFailover",
        ASR_NAMES,
        "asr_start_failover (mode unplanned)",
        body="input",
        prepare=drive("rp-conf-unplanned", *DRILL, *ROUND_TRIP),
        allow=PLAN_PROPERTIES,
    ),
    Case(
        "asr/ReplicationJobs_Get.json",
        "GET",
        VAULT + "/replicationJobs/{jobName}",
        ASR_NAMES,
        "asr_get_job",
        prepare=a_finished_job,
        allow=Allow(extra={"$": extra(asr.Job)}, maps=("$.properties.customDetails.affectedObjectDetails",)),
    ),
    Case(
        "asr/ReplicationJobs_List.json",
        "GET",
        VAULT + "/replicationJobs",
        ASR_NAMES,
        "",
        prepare=drive("rp-conf-list-jobs", *DRILL),
        allow=Allow(extra={"$.value[]": extra(asr.Job), "$.value[].properties": extra(asr.JobProperties)}),
    ),
    Case(
        "asr/ReplicationProtectedItems_List.json",
        "GET",
        VAULT + "/replicationProtectedItems",
        ASR_NAMES,
        "asr_replication_health, asr_recovery_plan_vms",
        allow=Allow(
            named={"$": (("nextLink",), PAGER), "$.value[].properties.providerSpecificDetails": HYPER_V_ITEM_KEYS},
            extra={
                "$.value[].properties": extra(asr.ReplicationProtectedItemProperties),
                "$.value[].properties.providerSpecificDetails": extra(asr.A2AReplicationDetails),
            },
            nullable={f"$.value[].properties.{k}": why for k, why in ITEM_NULLABLE.items()},
        ),
    ),
    Case(
        "asr/ReplicationProtectedItems_Get.json",
        "GET",
        VAULT
        + "/replicationFabrics/{fabricName}/replicationProtectionContainers/{protectionContainerName}"
        + "/replicationProtectedItems/{replicatedProtectedItemName}",
        {
            **ASR_NAMES,
            "fabricName": "asr-a2a-default-westeurope",
            "protectionContainerName": "asr-a2a-default-westeurope-container",
            "replicatedProtectedItemName": "vm-dc-0001",
        },
        "asr_start_failover (where a plan's VMs are active)",
        allow=Allow(
            extra={
                "$.properties": extra(asr.ReplicationProtectedItemProperties),
                "$.properties.providerSpecificDetails": extra(asr.A2AReplicationDetails),
            },
            nullable={f"$.properties.{k}": why for k, why in ITEM_NULLABLE.items()},
        ),
    ),
    # ---- Azure Virtual Desktop
    Case(
        "avd/HostPool_Get.json",
        "GET",
        HOST_POOL,
        AVD_NAMES,
        "",
        allow=Allow(
            nullable={
                "$.properties.registrationInfo.token": "the simulator issues no registration tokens",
                **{
                    f"$.properties.{k}": "no AD FS single sign-on configured"
                    for k in ("ssoadfsAuthority", "ssoClientId", "ssoClientSecretKeyVaultPath", "ssoSecretType")
                },
            },
            maps=("$.tags",),
        ),
    ),
    Case(
        "avd/HostPool_Update.json",
        "PATCH",
        HOST_POOL,
        AVD_NAMES,
        "avd_provision_session_hosts (a fresh registration token)",
        # the example's request with its expirationTime in the future: Azure refuses a token that expires before it
        # is issued, and so does the simulator
        override_body=_future_token(example("avd/HostPool_Update.json")["parameters"]["hostPool"]),
        allow=Allow(
            extra={"$.properties": extra(avd.HostPool, "properties")},
            nullable={
                f"$.properties.{k}": "no AD FS single sign-on configured"
                for k in ("ssoadfsAuthority", "ssoClientId", "ssoClientSecretKeyVaultPath", "ssoSecretType")
            },
            maps=("$.tags",),
        ),
    ),
    Case(
        "avd/SessionHost_List.json",
        "GET",
        HOST_POOL + "/sessionHosts",
        AVD_NAMES,
        "avd_drain_host_pool, avd_allow_new_sessions",
        query=("pageSize", "isDescending", "initialSkip"),
        allow=Allow(
            extra={"$": extra(avd.SessionHostList)},
            nullable={"$.value[].properties.assignedUser": POOLED_HOST["$.properties.assignedUser"]},
        ),
    ),
    Case("avd/SessionHost_Get.json", "GET", SESSION_HOST, AVD_NAMES, "", allow=Allow(nullable=POOLED_HOST)),
    Case(
        "avd/SessionHost_Update.json",
        "PATCH",
        SESSION_HOST,
        AVD_NAMES,
        "avd_drain_host_pool, avd_allow_new_sessions",
        body="sessionHost",
        query=("force",),
        allow=Allow(nullable=POOLED_HOST),
    ),
    Case(
        "avd/UserSession_ListByHostPool.json",
        "GET",
        HOST_POOL + "/userSessions",
        AVD_NAMES,
        "avd_drain_host_pool",
        query=("$filter", "pageSize", "isDescending", "initialSkip"),
        allow=Allow(extra={"$": extra(avd.UserSessionList)}),
    ),
    Case(
        "avd/UserSession_List.json",
        "GET",
        SESSION_HOST + "/userSessions",
        AVD_NAMES,
        "avd_message_sessions, avd_log_off_sessions",
        query=("pageSize", "isDescending", "initialSkip"),
        allow=Allow(extra={"$": extra(avd.UserSessionList)}),
    ),
    Case("avd/UserSession_Get.json", "GET", USER_SESSION, AVD_NAMES, ""),
    Case(
        "avd/UserSession_SendMessage_Post.json",
        "POST",
        USER_SESSION + "/sendMessage",
        AVD_NAMES,
        "avd_message_sessions",
        body="sendMessage",
    ),
    Case(
        "avd/UserSession_Disconnect_Post.json",
        "POST",
        USER_SESSION + "/disconnect",
        {**AVD_NAMES, "sessionHostName": "sh-weu-002.contoso.local"},
        "",
    ),
    Case(
        "avd/UserSession_Delete.json",
        "DELETE",
        USER_SESSION,
        {**AVD_NAMES, "sessionHostName": "sh-weu-003.contoso.local"},
        "avd_log_off_sessions",
        query=("force",),
    ),
    # ---- Azure DNS 2018-05-01
    Case(
        "dns/GetARecordset.json",
        "GET",
        RECORD_SET,
        {**DNS_NAMES, "relativeRecordSetName": "portal"},
        "dns_switch_record, dns_restore_record",
        allow=Allow(extra={"$.properties": extra(dns.RecordSet, "properties")}, maps=("$.properties.metadata",)),
    ),
    Case(
        "dns/GetCNAMERecordset.json",
        "GET",
        RECORD_SET,
        {**DNS_NAMES, "relativeRecordSetName": "app"},
        "dns_switch_record, dns_restore_record",
        allow=Allow(extra={"$.properties": extra(dns.RecordSet, "properties")}, maps=("$.properties.metadata",)),
    ),
    Case(
        "dns/CreateOrUpdateARecordset.json",
        "PUT",
        RECORD_SET,
        {**DNS_NAMES, "relativeRecordSetName": "portal"},
        "dns_switch_record, dns_restore_record",
        body="parameters",
        allow=Allow(extra={"$.properties": extra(dns.RecordSet, "properties")}, maps=("$.properties.metadata",)),
    ),
    Case(
        "dns/CreateOrUpdateCNAMERecordset.json",
        "PUT",
        RECORD_SET,
        {**DNS_NAMES, "relativeRecordSetName": "conformance"},
        "dns_switch_record, dns_restore_record",
        body="parameters",
        allow=Allow(extra={"$.properties": extra(dns.RecordSet, "properties")}, maps=("$.properties.metadata",)),
    ),
    # ---- Traffic Manager (examples 2022-04-01)
    Case(
        "trafficmanager/Profile-GET-WithEndpoints.json",
        "GET",
        PROFILE,
        TM_NAMES,
        "tm_get_profile, tm_set_endpoint",
        allow=Allow(extra={"$.properties": extra(tm.ProfileProperties)}, maps=("$.tags",)),
    ),
    Case(
        "trafficmanager/Endpoint-PATCH-External-Target.json",
        "PATCH",
        PROFILE + "/{endpointType}/{endpointName}",
        {**TM_NAMES, "endpointName": "neu"},
        "tm_set_endpoint",
        body="parameters",
    ),
    # ---- SQL 2023-08-01, Storage 2025-06-01, Compute 2025-04-01
    Case(
        "sql/FailoverGroupFailover.json",
        "POST",
        ARM + "/Microsoft.Sql/servers/{serverName}/failoverGroups/{failoverGroupName}/failover",
        {},
        "sql_failover_start",
        prepare=sql_secondary,
    ),
    Case(
        "sql/FailoverGroupForceFailoverAllowDataLoss.json",
        "POST",
        ARM + "/Microsoft.Sql/servers/{serverName}/failoverGroups/{failoverGroupName}/forceFailoverAllowDataLoss",
        {},
        "sql_failover_start (allow_data_loss)",
        prepare=sql_secondary,
    ),
    Case(
        "storage/StorageAccountFailover.json",
        "POST",
        ARM + "/Microsoft.Storage/storageAccounts/{accountName}/failover",
        {**SUBSCRIPTION, "resourceGroupName": "rg-avd-weu", "accountName": "stcontosofslogix"},
        "storage_failover_start",
    ),
    Case(
        "compute/Usage_List_MinimumSet_Gen.json",
        "GET",
        "/subscriptions/{subscriptionId}/providers/Microsoft.Compute/locations/{location}/usages",
        {**SUBSCRIPTION, "location": "northeurope"},
        "capacity_check",
        allow=Allow(extra={"$.value[].name": extra(compute.UsageName)}),
    ),
    Case(
        "compute/ListAvailableResourceSkusForARegion.json",
        "GET",
        "/subscriptions/{subscriptionId}/providers/Microsoft.Compute/skus",
        SUBSCRIPTION,
        "capacity_check, provision_check",
        query=("$filter",),
        allow=Allow(extra={"$.value[]": extra(compute.ResourceSku)}),  # `restrictions` (the example has none)
    ),
    Case(
        "network/UsageList.json",
        "GET",
        "/subscriptions/{subscriptionId}/providers/Microsoft.Network/locations/{location}/usages",
        {**SUBSCRIPTION, "location": "northeurope"},
        "capacity_check",
    ),
    Case(
        "compute/CapacityReservationGroup_Get.json",
        "GET",
        CRG,
        {},
        "capacity_check",
        query=("$expand",),
        prepare=reserved_group,
        allow=Allow(
            extra={
                "$": extra(compute.CapacityReservationGroup),
                "$.properties": extra(compute.CapacityReservationGroupProperties),
            },
            empty=CRG_EMPTY,
            maps=("$.tags",),
        ),
    ),
    Case(
        "compute/CapacityReservationGroup_ListBySubscription.json",
        "GET",
        "/subscriptions/{subscriptionId}/providers/Microsoft.Compute/capacityReservationGroups",
        SUBSCRIPTION,
        "(not used)",
        query=("$expand",),
        prepare=reserved_group,
        allow=CRG_LIST,
    ),
    Case(
        "compute/CapacityReservationGroup_ListByResourceGroup.json",
        "GET",
        ARM + "/Microsoft.Compute/capacityReservationGroups",
        {},
        "(not used)",
        query=("$expand",),
        prepare=reserved_group,
        allow=CRG_LIST,
    ),
    Case(
        "compute/CapacityReservation_Get.json",
        "GET",
        CRG + "/capacityReservations/{capacityReservationName}",
        {},
        "(not used)",
        query=("$expand",),
        prepare=reserved_group,
        allow=Allow(
            extra={"$": extra(compute.CapacityReservation)},
            nullable={"$.properties.scheduleProfile": SCHEDULE},
            empty={"$.zones": REGIONAL},
            maps=("$.tags",),
        ),
    ),
    Case(
        "compute/CapacityReservation_ListByReservationGroup.json",
        "GET",
        CRG + "/capacityReservations",
        {},
        "capacity_check",
        query=("$expand",),
        prepare=reserved_group,
        allow=Allow(
            extra={"$.value[].properties": extra(compute.CapacityReservationProperties)},
            nullable={"$.value[].properties.scheduleProfile": SCHEDULE},
            empty={"$.value[].zones": REGIONAL},
            maps=("$.value[].tags",),
        ),
    ),
    Case(
        "compute/VirtualMachine_Start_MaximumSet_Gen.json",
        "POST",
        VM + "/start",
        {**SUBSCRIPTION, "resourceGroupName": "rg-avd-neu", "vmName": "vm-avd-neu-0"},
        "compute_start_vms",
    ),
    Case(
        "compute/VirtualMachine_Get_InstanceView.json",
        "GET",
        VM + "/instanceView",
        {},
        "compute_start_vms, compute_vm_states",
        prepare=running_vm,
    ),
    # ---- VM images: Compute 2025-04-01, Azure Compute Gallery 2025-03-03
    Case(
        "compute/VirtualMachineImage_List_MinimumSet_Gen.json",
        "GET",
        MARKETPLACE_VERSIONS,
        {
            **SUBSCRIPTION,
            "location": RECOVERY_REGION,
            **dict(zip(("publisherName", "offer", "skus"), DEMO_MARKETPLACE, strict=True)),
        },
        "provision_check (a marketplace image)",
    ),
    Case(
        "compute/GalleryImageVersion_Get.json",
        "GET",
        IMAGE_VERSIONS + "/{galleryImageVersionName}",
        {},
        "provision_check (a gallery image version)",
        prepare=gallery_version,
        version_parameter="version",  # the example names its api-version parameter so, as stored upstream
        allow=Allow(
            extra={f"${k}": v for k, v in IMAGE_VERSION_EXTRA.items()},
            empty={
                "$.properties.storageProfile.dataDiskImages": NO_DATA_DISKS,
                "$.properties.safetyProfile.policyViolations": NO_VIOLATIONS,
            },
        ),
    ),
    Case(
        "compute/GalleryImageVersion_ListByGalleryImage.json",
        "GET",
        IMAGE_VERSIONS,
        {},
        "provision_check (a gallery image definition: its latest version)",
        prepare=gallery_version,
        allow=Allow(
            extra={f"$.value[]{k}": v for k, v in IMAGE_VERSION_EXTRA.items()},
            nullable={"$.nextLink": "one page holds the definition's versions (the SDK's pager stops at null)"},
            empty={
                "$.value[].properties.storageProfile.dataDiskImages": NO_DATA_DISKS,
                "$.value[].properties.safetyProfile.policyViolations": NO_VIOLATIONS,
            },
        ),
    ),
    Case(
        "compute/Image_Get.json",
        "GET",
        ARM + "/Microsoft.Compute/images/{imageName}",
        {},
        "provision_check (a managed image)",
        prepare=managed_image,
        allow=Allow(
            # `hyperVGeneration`: a session host image is Gen2 (the example's image does not say)
            extra={"$.properties": extra(compute.ImageProperties)},
            # an image captured from a generalized VM: its OS disk's source is a managed disk (the example shows
            # all three sources at once)
            nullable={
                "$.properties.storageProfile.osDisk.blobUri": "captured from a managed disk, not a VHD blob",
                "$.properties.storageProfile.osDisk.snapshot": "captured from a managed disk, not a snapshot",
            },
            empty={"$.properties.storageProfile.dataDisks": NO_DATA_DISKS},
        ),
    ),
    # ---- data planes: Logs query API v1, Event Grid 2018-01-01
    Case(
        "loganalytics/oms-post-example.json",
        "POST",
        "/v1/workspaces/{workspaceId}/query",
        {"workspaceId": DEMO_WORKSPACE_ID},
        "logs_heartbeat, logs_avd_agent_health",
        api_version=False,
        # the simulator cannot run KQL: the service's own heartbeat query, over the example's timespan
        override_body={"query": heartbeat_query(["dc-onprem-01", "vm-dc-0001"], 15), "timespan": "PT12H"},
    ),
    Case(
        "eventgrid/PublishEventsToEventGridTopicAsCloudEvents.json",
        "POST",
        "/eventgrid/api/events",
        {},
        "publish_event",
        body="events",
        headers={"aeg-sas-key": "sim-eventgrid-key", "Content-Type": "application/cloudevents-batch+json"},
    ),
]
# Examples whose operation neither the service nor the simulator uses, and why.
NOT_REPLAYED = {
    "eventgrid/PublishEventsToEventGridTopic.json": "Event Grid schema: the service publishes CloudEvents only",
    "loganalytics/la-get-example.json": "GET query: azure-monitor-query POSTs its queries (oms-post-example)",
}


def conformance_estate() -> Estate:
    """The demo estate (time as Azure's: jobs are finished by the tests), without throttling (the 429 test has its
    own), plus one two-VM recovery plan per ASR case so that each starts where its example does."""
    estate = seed_demo_estate(Estate(EstateConfig(time_scale=1, throttle=ThrottleConfig(enabled=False))), 20, 30)
    plans = [
        "rp-conf-test",
        "rp-conf-cleanup",
        "rp-conf-planned",
        "rp-conf-commit",
        "rp-conf-reprotect",
        "rp-conf-unplanned",
        "rp-conf-jobs",
        "rp-conf-list-jobs",
    ]
    azure_local = hyperv.of(estate)
    azure_local.add_site(DEMO_ASR_RG, DEMO_VAULT, hyperv.SITE, hyperv.CLUSTERS)
    with estate.lock:
        for index, name in enumerate(plans):
            if name in HYPER_V_PLANS:  # as the examples: a Hyper-V site's plan
                vms = [f"vm-conf-{index}{n}" for n in (1, 2)]
                azure_local.add_plan(DEMO_ASR_RG, DEMO_VAULT, name, "azl-weu-01", vms)
                continue
            items = [
                ProtectedItem(f"vm-conf-{index}{n}", f"00000000-0000-0000-0000-0000000000{index}{n}") for n in (1, 2)
            ]
            groups: list[tuple[str, list[ProtectedItem]]] = [("Shutdown", []), ("Failover", []), ("Boot", items)]
            estate.recovery_plans[(DEMO_ASR_RG, DEMO_VAULT, name)] = RecoveryPlan(DEMO_ASR_RG, DEMO_VAULT, name, groups)
    return estate


@pytest.fixture(scope="module")
def sim() -> Iterator[Simulator]:
    with Simulator(conformance_estate()) as running:
        yield running


def _query_value(value: Any) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


def replay(sim: Simulator, case: Case) -> tuple[dict[str, Any], Any]:
    """Send the case's request; return the example and the answer to compare (the final one of an LRO)."""
    spec = example(case.example)
    params = spec["parameters"]
    names = {**params, **case.names, **(case.prepare(sim) if case.prepare else {})}
    path = case.path.format(**names)
    query = {k: _query_value(params[k]) for k in case.query}
    if case.api_version:
        query["api-version"] = params[case.version_parameter]
    body = case.override_body if case.override_body is not None else params.get(case.body) if case.body else None
    answer = call(sim, case.method, path, params=query, json_body=body, headers=case.headers)
    listed = sorted(s for s in spec["responses"] if s != "default")
    assert str(answer.status_code) in listed, f"{answer.status_code} not among {listed}: {answer.text}"
    return spec, answer


def check_lro(sim: Simulator, spec: dict[str, Any], accepted: Any) -> Any:
    """A 202: the example's LRO headers, an operation status InProgress → Succeeded, then the final answer."""
    documented = {k.lower(): str(v) for k, v in (spec["responses"]["202"].get("headers") or {}).items()}
    for name in LRO_HEADERS:
        if name.lower() not in documented:
            continue
        ours = header(accepted, name)
        assert ours, f"the example's 202 has {name}, ours does not: {dict(accepted.headers)}"
        if name == "Retry-After":
            assert ours.isdigit(), f"Retry-After {ours!r} is not whole seconds"
            continue
        assert ours.startswith(sim.url + "/"), f"{name} {ours} does not point back at the simulator"
        if "/subscriptions/" in documented[name.lower()].lower():  # a real ARM URL, not a placeholder
            assert skeleton(ours) == skeleton(documented[name.lower()]), (ours, documented[name.lower()])
    status_url, location = header(accepted, "Azure-AsyncOperation"), header(accepted, "Location")
    assert status_url or location, "a 202 without Azure-AsyncOperation or Location cannot be followed"
    if status_url:
        running = call(sim, "GET", status_url)
        assert running.status_code == 200 and running.json()["status"] == "InProgress", running.text
    finish_operations(sim)
    if status_url:
        done = call(sim, "GET", status_url).json()
        assert done["status"] == "Succeeded" and done["startTime"] and done["endTime"], done
    assert location, "the simulator gives every LRO a Location for its final result"
    final = call(sim, "GET", location)
    assert final.status_code == 200, final.text
    return final


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_conformance_example_replayed(sim: Simulator, case: Case) -> None:
    spec, answer = replay(sim, case)
    status = str(answer.status_code)
    if status == "202":
        answer, status = check_lro(sim, spec, answer), "200"
    documented = spec["responses"].get(status, {})
    if "body" in documented:
        assert answer.headers.get("Content-Type", "").startswith("application/json"), answer.headers
        differences = shape_differences(documented["body"], answer.json(), case.allow)
        assert differences == [], "\n".join(differences)
    elif documented == {}:
        assert answer.content == b"", f"the example answers {status} without a body; ours has {answer.text!r}"


def test_conformance_every_example_is_replayed_or_excused() -> None:
    replayed = [case.example for case in CASES]
    assert len(replayed) == len(set(replayed))
    assert sorted(replayed + list(NOT_REPLAYED)) == example_files()


def test_conformance_allowances_name_keys_the_models_define() -> None:
    """An allowance is only as good as its model: each names a model that defines members at that level, and
    every nullable path is a key of the example (not a typo that would excuse nothing)."""
    for case in CASES:
        for path, (model, prefix) in case.allow.extra.items():
            assert Allow(extra={path: (model, prefix)}).extra_keys(path), (case.id, path)
        body = next((r["body"] for s, r in sorted(example(case.example)["responses"].items()) if "body" in r), None)
        for path in (*case.allow.nullable, *case.allow.maps):
            node: Any = body
            for part in path.removeprefix("$.").split("."):
                node = node[0] if isinstance(node, list) else node
                key = part.removesuffix("[]")
                assert isinstance(node, dict) and key in node, (case.id, path)
                node = node[key]


def test_conformance_table_in_the_docs_lists_every_example() -> None:
    table = (ROOT / "docs" / "simulator.md").read_text()
    for case in CASES:
        row = next((line for line in table.splitlines() if f"`{case.id}`" in line), None)
        assert row is not None and "| pass |" in row, f"docs/simulator.md has no passing row for {case.id}"
    for name in NOT_REPLAYED:
        assert f"`{name.removesuffix('.json')}`" in table, name


def test_conformance_shape_rule_finds_differences() -> None:
    """The comparison itself: what it must report (so a replay that passes means something)."""
    expected = {"a": "x", "b": {"c": 1}, "d": [{"e": True}], "n": None, "m": {"k": "v"}}
    assert shape_differences(expected, {**expected, "n": 5}) == []
    assert shape_differences(expected, {**expected, "a": 1}) == ["$.a: number where the example has string"]
    assert shape_differences(expected, {**expected, "b": {}}) == ["$.b.c: missing"]
    assert shape_differences(expected, {**expected, "d": []}) == ["$.d: empty where the example has items"]
    assert shape_differences(expected, {**expected, "d": [{"e": "yes"}]}) == [
        "$.d[].e: string where the example has boolean"
    ]
    assert shape_differences(expected, {**expected, "a": None}) == ["$.a: null where the example has string"]
    assert shape_differences(expected, {**expected, "z": 1}) == ["$.z: not in the example"]
    assert shape_differences(expected, {**expected, "m": {}}) == ["$.m.k: missing"]
    assert shape_differences(expected, {**expected, "m": {}}, Allow(maps=("$.m",))) == []
    assert shape_differences(expected, {**expected, "a": None}, Allow(nullable={"$.a": "why"})) == []
    allowed = Allow(extra={"$": extra(asr.Job)})
    assert shape_differences(expected, {**expected, "type": "t"}, allowed) == []
    assert shape_differences(expected, {**expected, "typo": "t"}, allowed) == ["$.typo: not in the example"]
