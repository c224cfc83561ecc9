"""Azure Site Recovery (Microsoft.RecoveryServices 2025-08-01): recovery plans, replication protected items, jobs.

State (`SiteRecovery`: recovery plans with their A2A protected items, and the jobs that move them), routes
(`add_routes`: recovery plans list/get, plannedFailover / unplannedFailover (either direction: RecoveryToPrimary is a
failback) / failoverCommit / testFailover / testFailoverCleanup / reProtect (202 + Azure-AsyncOperation + Location +
Retry-After), operation status, operation results (the Location: the recovery plan once the job is done), jobs
get/list, replication protected items list by vault (paged by `skipToken`) / by protection container, get,
replication network mappings list), the demo seed (`seed_demo`, `seed_network_mappings`) and its part of
`GET /_sim/state` (`snapshot`).

A job takes simulated seconds (divided by the estate's `time_scale` once, when it starts) and ends on the first read
after it is due (`refresh_jobs`). A replication provider other than A2A plugs in as `SiteRecovery.hyperv`
(`HyperVSites`: Azure Local sites, `simulator.providers.azure_local`). Shapes follow the REST examples in
`tests/reference/rest-examples/asr`; request bodies are checked against the REST spec (`*_BODY` below).
"""

from __future__ import annotations

import math
import re
import uuid
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from aiohttp import web

from simulator.arm import (
    PRIMARY_REGION,
    RECOVERY_REGION,
    RG,
    BodyErrors,
    Cloud,
    Field,
    RouteTable,
    SimError,
    accepted,
    asr_error,
    check_body,
    error_response,
    iso,
    json_body,
    page_by_token,
    utcnow,
)
from simulator.providers.network import DEMO_NETRG, DEMO_PRIMARY_NETRG, DEMO_PRIMARY_VNET, DEMO_RECOVERY_VNET, vnet_id

_VAULT = RG + r"/microsoft\.recoveryservices/vaults/(?P<vault>[^/]+)"

_CONTAINER = _VAULT + r"/replicationfabrics/(?P<fabric>[^/]+)/replicationprotectioncontainers/(?P<container>[^/]+)"

# The A2A fabrics and protection containers ASR creates by default for a West → North Europe pair.
PRIMARY_FABRIC = "asr-a2a-default-westeurope"
PRIMARY_CONTAINER = "asr-a2a-default-westeurope-container"
RECOVERY_FABRIC = "asr-a2a-default-northeurope"
RECOVERY_CONTAINER = "asr-a2a-default-northeurope-container"
A2A_POLICY = "24-hour-retention-policy"
# A protected item's `testFailoverStateDescription` for each simulated `testFailoverState`.
TEST_FAILOVER_DESCRIPTIONS = {
    "None": "None",
    "TestFailoverInProgress": "Test failover in progress",
    "TestFailoverCompleted": "Test failover completed; cleanup pending",
    "TestFailoverFailed": "Test failover failed; cleanup pending",
    "MarkedForDeletion": "Cleaning up test environment",
}

HYPERV = "HyperVReplicaAzure"  # the replication provider of an Azure Local site (simulator.providers.azure_local)
DEMO_ASR_RG = "rg-dr-neu"
DEMO_VAULT = "rsv-dr-neu"


# ---- request bodies, as the REST specs define them (simulator.arm.check_body) --------------------------
# ASR: a missing or mistyped member is an InvalidRequestFormat, a value outside an enum InvalidParameterValue.
ASR_ERRORS = BodyErrors("InvalidRequestFormat", "InvalidRequestFormat", "InvalidParameterValue")
_DIRECTION = Field("string", required=True, enum=("PrimaryToRecovery", "RecoveryToPrimary"))
# `providerSpecificDetails[]` is polymorphic by instanceType; only the A2A input's members are checked here, the
# Hyper-V ones and the match with the plan's provider by `SiteRecovery.hyperv` (`simulator.providers.azure_local`).
_PROVIDER_INPUTS = Field(
    "array",
    items=Field(
        "object",
        variants={
            "A2A": {
                "recoveryPointType": Field(
                    "string",
                    required=True,
                    enum=("Latest", "LatestApplicationConsistent", "LatestCrashConsistent", "LatestProcessed"),
                ),
                "cloudServiceCreationOption": Field("string"),
                "multiVmSyncPointOption": Field(
                    "string", enum=("UseMultiVmSyncRecoveryPoint", "UsePerVmRecoveryPoint")
                ),
            },
            **{
                kind: {}
                for kind in (
                    "HyperVReplicaAzure",
                    "HyperVReplicaAzureFailback",
                    "InMage",
                    "InMageAzureV2",
                    "InMageRcm",
                    "InMageRcmFailback",
                )
            },
        },
    ),
)


def _asr_input(**members: Field) -> Field:
    return Field("object", members={"properties": Field("object", required=True, members=members)})


PLANNED_FAILOVER_BODY = _asr_input(failoverDirection=_DIRECTION, providerSpecificDetails=_PROVIDER_INPUTS)
UNPLANNED_FAILOVER_BODY = _asr_input(
    failoverDirection=_DIRECTION,
    sourceSiteOperations=Field("string", required=True, enum=("Required", "NotRequired")),
    providerSpecificDetails=_PROVIDER_INPUTS,
)
TEST_FAILOVER_BODY = _asr_input(
    failoverDirection=_DIRECTION,
    networkType=Field("string", required=True),  # free text in the spec; the estate checks the known values
    networkId=Field("string"),
    providerSpecificDetails=_PROVIDER_INPUTS,
)
TEST_FAILOVER_CLEANUP_BODY = _asr_input(comments=Field("string"))


@dataclass
class ProtectedItem:
    """An A2A replication protected item (one VM). Its name is the VM name.

    `protection_state` follows what ASR reports for an Azure-to-Azure item: `Protected`, then after a
    failover job `{Planned|Unplanned}FailoverCommitPendingStatesBegin` (active in the other region)
    or `{Planned|Unplanned}FailoverFailed` (still where it was), then `...FailoverCommitted`, then
    after reprotect `Protected` again, replicating from where it is active. A failback is a failover
    in the other direction (active on `Recovery` → `Primary`) and moves the item the same way.
    A test failover leaves the item where it is (replication goes on) and brings up a test VM:
    `test_failover_state` `TestFailoverInProgress` → `TestFailoverCompleted` (or `TestFailoverFailed`)
    → `MarkedForDeletion` while cleaned up → `None`.
    """

    vm_name: str
    vm_id: str
    protection_state: str = "Protected"
    active_location: str = "Primary"  # Primary | Recovery
    failover_kind: str | None = None  # Planned | Unplanned: the last failover's kind
    last_failover_at: datetime | None = None
    recovery_point_id: str | None = None  # the recovery point the VM was failed over to (a uuid)
    recovery_point_time: datetime | None = None  # when that recovery point was taken (`SiteRecovery.recovery_point`)
    replicating: bool = True  # replication runs from the active location (False after a failover until reprotect)
    test_failover_state: str = "None"
    test_failover_at: datetime | None = None  # its test VM is up since (a test failover succeeded), until cleanup
    last_test_failover_at: datetime | None = None
    test_network_id: str | None = None  # the isolated network of the current test failover
    size: str = "Standard_D4s_v5"  # recoveryAzureVMSize: the size it comes up with in the recovery region
    public_ip: bool = False  # its recovery NIC gets a public IP address
    capacity_reservation_group: str | None = None  # recoveryCapacityReservationGroupId: its reserved capacity
    recovery_zone: str = ""  # recoveryAvailabilityZone: the zone it comes up in ("": none, a regional VM)


@dataclass
class RecoveryPlan:
    """A recovery plan and where it stands. `state` is one of `PLAN_STATES`; `active_location` says where
    its VMs run (Primary, or Recovery after a failover until a failback), which tells e.g. a failover's
    `FailedOver` from a failback's."""

    resource_group: str
    vault: str
    name: str
    groups: list[tuple[str, list[ProtectedItem]]]  # (groupType, items)
    state: str = "Protected"
    active_location: str = "Primary"  # Primary | Recovery
    current_job: str | None = None
    current_scenario: str | None = None
    current_scenario_started: datetime | None = None
    failover_calls: int = 0  # planned/unplanned failover POSTs (failbacks included), accepted or not
    test_failover_calls: int = 0  # testFailover POSTs, accepted or not
    cleanup_calls: int = 0  # testFailoverCleanup POSTs, accepted or not
    reprotect_calls: int = 0  # reProtect POSTs, accepted or not
    last_failover_at: datetime | None = None
    last_planned_failover_at: datetime | None = None
    last_unplanned_failover_at: datetime | None = None
    last_test_failover_at: datetime | None = None
    test_network_id: str | None = None
    cleanup_comments: str | None = None  # of the last test failover cleanup
    before_test: str = "Protected"  # the state a test failover cleanup returns the plan to
    provider: str = "A2A"  # A2A, or HyperVReplicaAzure (an Azure Local site: providers.azure_local)

    @property
    def replication_direction(self) -> str | None:
        """The direction the plan replicates (and so may fail over or test-fail over) in; None when it
        does not replicate (failed over, committed, or a job that changes that is running)."""
        if self.state not in ("Protected", "Reprotected", *TEST_STATES):
            return None
        return "PrimaryToRecovery" if self.active_location == "Primary" else "RecoveryToPrimary"

    @property
    def vm_count(self) -> int:
        return sum(len(items) for _, items in self.groups)

    @property
    def items(self) -> list[ProtectedItem]:
        return [item for _, items in self.groups for item in items]


# The states of a recovery plan, as `GET /_sim/state` shows them:
#   InitialReplication             replication of its VMs is being enabled (no operation allowed yet)
#   Protected                      active on Primary, replicating Primary → Recovery (the start)
#   FailoverInProgress             a planned/unplanned failover job runs (either direction)
#   FailedOver                     failover done, commit pending (active_location says which side)
#   Committed                      failover committed; reprotect (ReverseReplicate) allowed
#   ReprotectInProgress            a reprotect job runs
#   Reprotected                    active on Recovery, replicating Recovery → Primary (failback allowed)
#   TestFailoverInProgress         a test failover job runs
#   TestFailedOver                 test failover done (or failed), cleanup pending
#   TestFailoverCleanupInProgress  a test failover cleanup job runs
TEST_STATES = ("TestFailoverInProgress", "TestFailedOver", "TestFailoverCleanupInProgress")
PLAN_STATES = (
    "InitialReplication",  # replication of its VMs is being enabled: nothing is allowed until it is protected
    "Protected",
    "FailoverInProgress",
    "FailedOver",
    "Committed",
    "ReprotectInProgress",
    "Reprotected",
    *TEST_STATES,
)
# The plan's `allowedOperations` in each state (ASR's names, as in the REST examples).
PLAN_ALLOWED_OPERATIONS: dict[str, list[str]] = {
    "InitialReplication": [],
    "Protected": ["PlannedFailover", "UnplannedFailover", "TestFailover"],
    "FailoverInProgress": [],
    "FailedOver": ["Commit", "ChangePit", "CancelFailover"],
    "Committed": ["ReverseReplicate"],
    "ReprotectInProgress": [],
    "Reprotected": ["PlannedFailover", "UnplannedFailover", "TestFailover"],
    "TestFailoverInProgress": [],
    "TestFailedOver": ["TestFailoverCleanup"],
    "TestFailoverCleanupInProgress": [],
}
DIRECTIONS = ("PrimaryToRecovery", "RecoveryToPrimary")
# Test failover network types (Az PowerShell's Start-AzRecoveryServicesAsrTestFailoverJob sends the first
# two; the SDK calls the field free text). VmNetworkAsInput and LogicalNetworkAsInput need a networkId.
NETWORK_TYPES = ("VmNetworkAsInput", "NoNetworkAttachAsInput", "LogicalNetworkAsInput")
_VNET_ID = re.compile(
    r"^/subscriptions/[^/]+/resourcegroups/[^/]+/providers/microsoft\.network/virtualnetworks/[^/]+$", re.IGNORECASE
)


@dataclass
class Job:
    name: str
    resource_group: str
    vault: str
    # PlannedFailover | UnplannedFailover | CommitFailover | TestFailover | TestFailoverCleanup | ReverseReplication
    scenario: str
    friendly_name: str
    plan_name: str
    started_at: datetime
    due_at: datetime
    fail_with: str | None = None
    state: str = "InProgress"
    ended_at: datetime | None = None
    errors: list[dict[str, Any]] = field(default_factory=list)
    from_state: str | None = None  # the plan's state when the job started (where a failed job leaves it)
    direction: str | None = None  # failovers and test failovers: PrimaryToRecovery | RecoveryToPrimary
    # a step that failed while the job went on (an unplanned failover that could not shut the source VMs down)
    warnings: list[dict[str, Any]] = field(default_factory=list)
    # failovers that succeeded: VM -> (recovery point uuid, its time), the job's `FailoverJobDetails`
    recovery_points: dict[str, tuple[str, datetime]] = field(default_factory=dict)


@dataclass
class NetworkMapping:
    name: str
    primary_network_id: str
    recovery_network_id: str
    primary_location: str
    recovery_location: str
    state: str = "Paired"


class AsrKnobs(Protocol):
    """The knobs of `simulator.EstateConfig` that ASR reads (simulated seconds)."""

    job_base_seconds: float
    job_seconds_per_vm: float
    commit_seconds: float
    cleanup_seconds: float
    reprotect_seconds: float
    reprotect_seconds_per_vm: float
    failing_plans: dict[str, str]
    failing_cleanups: dict[str, str]
    unhealthy_items: tuple[str, ...]
    warning_items: tuple[str, ...]
    rpo_seconds: dict[str, float]
    protected_items_page_size: int
    hanging_plans: tuple[str, ...]


class HyperVSites(Protocol):
    """A replication provider beside A2A that plugs into `SiteRecovery` (`simulator.providers.azure_local`)."""

    def check_provider_input(self, plan: RecoveryPlan, props: dict[str, Any], direction: str) -> None: ...
    def on_failover_started(self, plan: RecoveryPlan, job: Job, props: dict[str, Any]) -> None: ...
    def after_job(self, plan: RecoveryPlan, job: Job) -> None: ...
    def is_hyperv(self, item: ProtectedItem) -> bool: ...
    def item_id(self, vault_id: str, item: ProtectedItem) -> str: ...
    def is_site_container(self, rg: str, vault: str, fabric: str, container: str) -> bool: ...
    def plan_json(self, vault_id: str, plan: RecoveryPlan, body: dict[str, Any]) -> dict[str, Any]: ...
    def item_json(self, vault_id: str, item: ProtectedItem, body: dict[str, Any]) -> dict[str, Any]: ...


class CapacityHook(Protocol):
    """The recovery region's quotas and capacity (`simulator.providers.capacity.Capacity`)."""

    def job_finishing(self, plan: RecoveryPlan, job: Job) -> list[dict[str, Any]]: ...
    def job_finished(self, plan: RecoveryPlan, job: Job) -> None: ...


class SiteRecovery:
    """The recovery plans and jobs of one estate. Every method takes the estate's lock.

    `source_down(direction)` says whether ASR's source site is down now (the estate's outage, `simulator.outage`).
    """

    def __init__(
        self,
        cloud: Cloud,
        config: AsrKnobs,
        source_down: Callable[..., bool],
        replication_stopped_at: Callable[[datetime], datetime | None] = lambda at: None,
    ) -> None:
        self.cloud = cloud
        self.config = config
        self.source_down = source_down
        # when the primary region's outage stopped replication, if it is down at the given moment
        self.replication_stopped_at = replication_stopped_at
        self.recovery_plans: dict[tuple[str, str, str], RecoveryPlan] = {}
        self.jobs: dict[tuple[str, str, str], Job] = {}
        self.hyperv: HyperVSites | None = None  # Azure Local sites, once they plug in
        self.capacity: CapacityHook | None = None  # quotas and capacity of the region VMs come up in
        self.network_mappings: dict[tuple[str, str], list[NetworkMapping]] = {}  # (vault rg, vault) -> mappings

    @property
    def lock(self) -> Any:
        return self.cloud.lock

    def recovery_plan(self, rg: str, vault: str, name: str) -> RecoveryPlan:
        plan = self.recovery_plans.get((rg.lower(), vault.lower(), name.lower()))
        if plan is None:
            raise SimError(
                404,
                "ReplicationRecoveryPlanNotFound",
                f"Recovery plan '{name}' was not found in vault '{vault}'.",
            )
        return plan

    def plans_in_vault(self, rg: str, vault: str) -> list[RecoveryPlan]:
        return sorted(
            (p for (r, v, _), p in self.recovery_plans.items() if r == rg.lower() and v == vault.lower()),
            key=lambda p: p.name,
        )

    def protected_items(self, rg: str, vault: str) -> list[tuple[RecoveryPlan, ProtectedItem]]:
        """The vault's protected items, each with the recovery plan it belongs to (plans by name)."""
        return [(plan, item) for plan in self.plans_in_vault(rg, vault) for _, items in plan.groups for item in items]

    def protected_item(self, rg: str, vault: str, name: str) -> tuple[RecoveryPlan, ProtectedItem]:
        for plan, item in self.protected_items(rg, vault):
            if item.vm_name.lower() == name.lower():
                return plan, item
        raise SimError(
            404,
            "ReplicationProtectedItemNotFound",
            f"Replication protected item '{name}' was not found in vault '{vault}'.",
        )

    def item_rpo_seconds(self, item: ProtectedItem) -> int | None:
        """The item's current RPO; None once it failed over (replication stopped until reprotect)."""
        if not item.replicating:
            return None
        override = self.config.rpo_seconds.get(item.vm_name)
        if override is not None:
            return int(override)
        base = 30 + zlib.crc32(item.vm_name.encode()) % 91  # 30..120 s, the same for a VM every run
        if item.vm_name in self.config.unhealthy_items:
            return base + 1800
        if item.vm_name in self.config.warning_items:
            return base * 10
        return base

    def latest_recovery_point(self, item: ProtectedItem, at: datetime) -> datetime:
        """The time of the item's latest recovery point at `at`: its RPO before then, or, once the primary region's
        outage stopped replication, its RPO before the outage began (nothing newer reached the recovery region)."""
        stopped = self.replication_stopped_at(at)
        rpo = self.item_rpo_seconds(item) if item.replicating else None
        return min(at, stopped or at) - self.cloud.scaled(float(rpo or 0))

    def item_health(self, item: ProtectedItem) -> tuple[str, list[dict[str, str]]]:
        """(replicationHealth, health errors as {level, code, message, causes, action})."""
        if not item.replicating:
            return "None", []  # failed over: nothing replicates until reprotect
        if item.vm_name in self.config.unhealthy_items:
            return "Critical", [
                {
                    "level": "Error",
                    "code": "SimReplicationNotProgressing",
                    "message": f"Site Recovery replication is not progressing for virtual machine '{item.vm_name}'.",
                    "causes": "The VM cannot reach the cache storage account or the Site Recovery service endpoints.",
                    "action": "Check the VM's outbound connectivity to the Site Recovery endpoints.",
                }
            ]
        if item.vm_name in self.config.warning_items:
            return "Warning", [
                {
                    "level": "Warning",
                    "code": "SimRpoHigh",
                    "message": f"The RPO of virtual machine '{item.vm_name}' is higher than usual.",
                    "causes": "High data change rate on the source disks.",
                    "action": "Check the churn of the VM's disks against the limits of the target disk type.",
                }
            ]
        return "Normal", []

    # ---- ASR jobs: failover, commit, test failover, cleanup, reprotect ---------------------------
    def _running_job(self, plan: RecoveryPlan) -> Job | None:
        job = self.jobs.get((plan.resource_group.lower(), plan.vault.lower(), plan.current_job or ""))
        return job if job is not None and job.state == "InProgress" else None

    def _refuse_if_busy(self, plan: RecoveryPlan) -> None:
        running = self._running_job(plan)
        if running is not None:
            raise asr_error(
                409,
                "RecoveryPlanOperationInProgress",
                f"A {running.friendly_name.lower()} job of recovery plan '{plan.name}' is already in progress "
                f"(job {running.name}).",
                "Another operation on the recovery plan has not finished.",
                "Wait for the job to finish, then retry.",
            )

    def _new_job(
        self,
        plan: RecoveryPlan,
        scenario: str,
        friendly_name: str,
        simulated_seconds: float,
        fail_with: str | None = None,
        direction: str | None = None,
    ) -> Job:
        """A job of the plan that takes `simulated_seconds`; it becomes the plan's current scenario."""
        now = utcnow()
        job = Job(
            name=str(uuid.uuid4()),
            resource_group=plan.resource_group.lower(),
            vault=plan.vault.lower(),
            scenario=scenario,
            friendly_name=friendly_name,
            plan_name=plan.name,
            started_at=now,
            due_at=now + self.cloud.scaled(simulated_seconds),
            fail_with=fail_with,
            from_state=plan.state,
            direction=direction,
        )
        self.jobs[(job.resource_group, job.vault, job.name)] = job
        plan.current_job = job.name
        plan.current_scenario = scenario
        plan.current_scenario_started = now
        return job

    def _failover_seconds(self, plan: RecoveryPlan) -> float:
        return self.config.job_base_seconds + self.config.job_seconds_per_vm * plan.vm_count

    @staticmethod
    def _properties(body: dict[str, Any]) -> dict[str, Any]:
        props = body.get("properties")
        if not isinstance(props, dict):
            raise SimError(400, "InvalidRequestFormat", "The request body must carry 'properties'.")
        return props

    @staticmethod
    def _direction(props: dict[str, Any]) -> str:
        direction = props.get("failoverDirection")
        if direction not in DIRECTIONS:
            raise SimError(
                400,
                "InvalidParameterValue",
                f"properties.failoverDirection '{direction}' is not one of PrimaryToRecovery, RecoveryToPrimary.",
            )
        return str(direction)

    @staticmethod
    def _allowed(plan: RecoveryPlan) -> str:
        return ", ".join(PLAN_ALLOWED_OPERATIONS[plan.state]) or "none"

    # ---- provider-specific inputs and effects (Azure Local / Hyper-V sites: `hyperv`) --------------------------
    def _check_provider_input(self, plan: RecoveryPlan, body: dict[str, Any], direction: str) -> None:
        """400 when the body's providerSpecificDetails do not fit the plan's replication provider."""
        if self.hyperv is not None:
            self.hyperv.check_provider_input(plan, self._properties(body), direction)

    def _provider_failover_started(self, plan: RecoveryPlan, job: Job, body: dict[str, Any]) -> None:
        if plan.provider == HYPERV and self.hyperv is not None:
            self.hyperv.on_failover_started(plan, job, self._properties(body))

    def _provider_job_finished(self, plan: RecoveryPlan, job: Job) -> None:
        if plan.provider == HYPERV and self.hyperv is not None:
            self.hyperv.after_job(plan, job)

    def start_failover(self, rg: str, vault: str, name: str, scenario: str, body: dict[str, Any]) -> Job:
        """Start a planned or unplanned failover job: PrimaryToRecovery from `Protected`, RecoveryToPrimary
        (a failback) from `Reprotected`. ASR refuses anything else, and a second job, with 409."""
        with self.lock:
            self.refresh_jobs()
            plan = self.recovery_plan(rg, vault, name)
            direction = self._direction(self._properties(body))
            self._check_provider_input(plan, body, direction)
            plan.failover_calls += 1
            self._refuse_if_busy(plan)
            if plan.state == "InitialReplication":
                raise asr_error(
                    409,
                    "RecoveryPlanNotProtected",
                    f"The protected items of recovery plan '{name}' are not protected yet (initial replication); "
                    "a failover is not allowed (allowed operations: none).",
                    "Replication of the recovery plan's virtual machines is still being enabled.",
                    "Wait for the initial replication to finish, then retry.",
                )
            if plan.state == "TestFailedOver":
                raise asr_error(
                    409,
                    "RecoveryPlanTestFailoverCleanupPending",
                    f"A test failover of recovery plan '{name}' awaits cleanup; a failover is not allowed "
                    f"(allowed operations: {self._allowed(plan)}).",
                    "A test failover of the recovery plan was not cleaned up.",
                    "Clean up the test failover (testFailoverCleanup), then retry.",
                )
            if plan.state in ("FailedOver", "Committed"):
                raise asr_error(
                    409,
                    "RecoveryPlanAlreadyFailedOver",
                    f"Recovery plan '{name}' is already failed over; the operation is not allowed.",
                    "The recovery plan's failover was already done.",
                    "Commit the failover, or reprotect a committed one.",
                )
            if direction != plan.replication_direction:
                if direction == "PrimaryToRecovery":
                    raise asr_error(
                        409,
                        "RecoveryPlanAlreadyFailedOver",
                        f"Recovery plan '{name}' is active in the recovery region and replicates RecoveryToPrimary; "
                        "a PrimaryToRecovery failover is not allowed.",
                        "The recovery plan was failed over, committed and reprotected.",
                        "Fail back with failoverDirection RecoveryToPrimary.",
                    )
                raise asr_error(
                    409,
                    "RecoveryPlanNotReprotected",
                    f"Recovery plan '{name}' does not replicate from the recovery region; a RecoveryToPrimary "
                    f"failover is not allowed (allowed operations: {self._allowed(plan)}).",
                    "A failback needs a committed failover of the recovery plan followed by reprotect.",
                    "Fail over, commit and reprotect the recovery plan, then retry.",
                )
            fail_with, warning = self.config.failing_plans.get(plan.name), None
            if fail_with is None and self.source_down(direction):
                fail_with, warning = self._source_site_failure(plan, scenario, direction, body)
            job = self._new_job(
                plan,
                scenario,
                f"{'Planned' if scenario == 'PlannedFailover' else 'Unplanned'} failover",
                self._failover_seconds(plan),
                fail_with=fail_with,
                direction=direction,
            )
            if warning:
                job.warnings.append(
                    {
                        "serviceErrorDetails": {
                            "code": "SourceSiteUnreachable",
                            "message": warning,
                            "possibleCauses": f"The primary region {PRIMARY_REGION} is down.",
                            "recommendedAction": "Make sure the source virtual machines stay off when the region "
                            "comes back, then reprotect.",
                        },
                        "creationTime": iso(job.started_at),
                    }
                )
            plan.state = "FailoverInProgress"
            plan.last_failover_at = job.started_at
            if scenario == "PlannedFailover":
                plan.last_planned_failover_at = job.started_at
            else:
                plan.last_unplanned_failover_at = job.started_at
            self._provider_failover_started(plan, job, body)
            return job

    @staticmethod
    def _source_site_failure(
        plan: RecoveryPlan, scenario: str, direction: str, body: dict[str, Any]
    ) -> tuple[str | None, str | None]:
        """What a failover does while the primary region is down (docs/simulator.md, "The outage"): (the job's
        error, a warning of a step that failed while the job went on). A failback into the region fails; a
        planned failover cannot shut the source VMs down and synchronise their last changes, so it fails; an
        unplanned failover asked to shut them down (`sourceSiteOperations: Required`) goes on without it."""
        if direction == "RecoveryToPrimary":
            return (
                f"The failback of recovery plan '{plan.name}' could not reach the primary region "
                f"{PRIMARY_REGION}: it is down.",
                None,
            )
        if scenario == "PlannedFailover":
            return (
                f"The planned failover of recovery plan '{plan.name}' could not shut down the virtual machines and "
                f"synchronise their latest changes at the primary region {PRIMARY_REGION}: it cannot be reached. "
                "Run an unplanned failover.",
                None,
            )
        if (body.get("properties") or {}).get("sourceSiteOperations") == "Required":
            return None, (
                f"Shutting down the virtual machines of recovery plan '{plan.name}' at the primary region "
                f"{PRIMARY_REGION} failed: it cannot be reached. The failover went on without it."
            )
        return None, None

    def commit(self, rg: str, vault: str, name: str) -> Job:
        with self.lock:
            self.refresh_jobs()
            plan = self.recovery_plan(rg, vault, name)
            self._refuse_if_busy(plan)
            if plan.state != "FailedOver":
                raise SimError(409, "OperationNotAllowed", f"Recovery plan '{name}' is not failed over.")
            return self._new_job(plan, "CommitFailover", "Commit", self.config.commit_seconds)

    def start_test_failover(self, rg: str, vault: str, name: str, body: dict[str, Any]) -> Job:
        """Start a test failover job into an isolated network. Allowed when the plan replicates, in the
        direction it replicates; the plan then awaits cleanup (`TestFailedOver`), even when the job failed."""
        with self.lock:
            self.refresh_jobs()
            plan = self.recovery_plan(rg, vault, name)
            props = self._properties(body)
            direction = self._direction(props)
            self._check_provider_input(plan, body, direction)
            network_type = props.get("networkType")
            if network_type not in NETWORK_TYPES:
                raise SimError(
                    400,
                    "InvalidParameterValue",
                    f"properties.networkType '{network_type}' is not one of {', '.join(NETWORK_TYPES)}."
                    if network_type
                    else "properties.networkType is required.",
                )
            network_id = props.get("networkId")
            if network_type != "NoNetworkAttachAsInput":
                if not isinstance(network_id, str) or not network_id:
                    raise SimError(
                        400,
                        "InvalidParameterValue",
                        f"properties.networkId is required when networkType is {network_type}.",
                    )
                if network_type == "VmNetworkAsInput" and not _VNET_ID.match(network_id):
                    raise SimError(
                        400,
                        "InvalidParameterValue",
                        f"properties.networkId '{network_id}' is not the resource id of a virtual network "
                        "(/subscriptions/{s}/resourceGroups/{rg}/providers/Microsoft.Network/virtualNetworks/{name}).",
                    )
            else:
                network_id = None
            plan.test_failover_calls += 1
            self._refuse_if_busy(plan)
            if plan.state == "TestFailedOver":
                raise asr_error(
                    409,
                    "RecoveryPlanTestFailoverCleanupPending",
                    f"A test failover of recovery plan '{name}' awaits cleanup; a new test failover is not allowed "
                    f"(allowed operations: {self._allowed(plan)}).",
                    "The previous test failover of the recovery plan was not cleaned up.",
                    "Clean up the test failover (testFailoverCleanup), then retry.",
                )
            if plan.replication_direction is None:
                raise asr_error(
                    409,
                    "RecoveryPlanNotProtected",
                    f"Recovery plan '{name}' does not replicate; a test failover is not allowed "
                    f"(allowed operations: {self._allowed(plan)}).",
                    "The recovery plan was failed over and is not reprotected yet.",
                    "Commit the failover and reprotect the recovery plan, then retry.",
                )
            if direction != plan.replication_direction:
                raise asr_error(
                    409,
                    "InvalidFailoverDirection",
                    f"Recovery plan '{name}' replicates {plan.replication_direction}; a {direction} test failover "
                    "is not allowed.",
                    "The failover direction is not the direction the recovery plan replicates in.",
                    f"Use failoverDirection {plan.replication_direction}.",
                )
            job = self._new_job(
                plan,
                "TestFailover",
                "Test failover",
                self._failover_seconds(plan),
                fail_with=self.config.failing_plans.get(plan.name),
                direction=direction,
            )
            plan.before_test = plan.state
            plan.state = "TestFailoverInProgress"
            plan.last_test_failover_at = job.started_at
            plan.test_network_id = network_id
            for item in plan.items:
                item.test_failover_state = "TestFailoverInProgress"
                item.test_network_id = network_id
            return job

    def start_test_failover_cleanup(self, rg: str, vault: str, name: str, body: dict[str, Any]) -> Job:
        """Start the cleanup of a plan's test failover (its test VMs are deleted). 409 when none awaits it."""
        with self.lock:
            self.refresh_jobs()
            plan = self.recovery_plan(rg, vault, name)
            comments = self._properties(body).get("comments")
            if comments is not None and not isinstance(comments, str):
                raise SimError(400, "InvalidParameterValue", "properties.comments must be a string.")
            plan.cleanup_calls += 1
            self._refuse_if_busy(plan)
            if plan.state != "TestFailedOver":
                raise asr_error(
                    409,
                    "RecoveryPlanNoTestFailoverToCleanUp",
                    f"Recovery plan '{name}' has no test failover awaiting cleanup; test failover cleanup is not "
                    f"allowed (allowed operations: {self._allowed(plan)}).",
                    "No test failover of the recovery plan was done, or it was cleaned up already.",
                    "None: there is nothing to clean up.",
                )
            job = self._new_job(
                plan,
                "TestFailoverCleanup",
                "Cleanup test failover",
                self.config.cleanup_seconds,
                fail_with=self.config.failing_cleanups.get(plan.name),
            )
            plan.state = "TestFailoverCleanupInProgress"
            plan.cleanup_comments = comments
            for item in plan.items:
                item.test_failover_state = "MarkedForDeletion"
            return job

    def start_reprotect(self, rg: str, vault: str, name: str) -> Job:
        """Start reprotect (reverse replication) of a committed failover: the plan then replicates from where
        it is active (Recovery → Primary after a failover, Primary → Recovery after a failback)."""
        with self.lock:
            self.refresh_jobs()
            plan = self.recovery_plan(rg, vault, name)
            plan.reprotect_calls += 1
            self._refuse_if_busy(plan)
            if plan.state == "FailedOver":
                raise asr_error(
                    409,
                    "RecoveryPlanFailoverNotCommitted",
                    f"The failover of recovery plan '{name}' is not committed; reprotect is not allowed "
                    f"(allowed operations: {self._allowed(plan)}).",
                    "Reprotect needs a committed failover.",
                    "Commit the failover (failoverCommit), then retry.",
                )
            if plan.state != "Committed":
                raise asr_error(
                    409,
                    "RecoveryPlanAlreadyProtected",
                    f"Recovery plan '{name}' is already protected (it replicates {plan.replication_direction}); "
                    f"reprotect is not allowed (allowed operations: {self._allowed(plan)}).",
                    "Reprotect reverses the replication of a committed failover; this recovery plan replicates.",
                    "None: the recovery plan is protected.",
                )
            seconds = self.config.reprotect_seconds + self.config.reprotect_seconds_per_vm * plan.vm_count
            fail_with = None
            if plan.active_location == "Recovery" and self.source_down():  # it would replicate into the region
                fail_with = (
                    f"Reprotect of recovery plan '{name}' could not reach the primary region {PRIMARY_REGION} to "
                    "replicate into: it is down."
                )
            job = self._new_job(plan, "ReverseReplication", "Reprotect", seconds, fail_with=fail_with)
            plan.state = "ReprotectInProgress"
            return job

    def job(self, rg: str, vault: str, name: str) -> Job:
        with self.lock:
            self.refresh_jobs()
            job = self.jobs.get((rg.lower(), vault.lower(), name.lower()))
            if job is None:
                raise SimError(404, "ReplicationJobNotFound", f"Job '{name}' was not found in vault '{vault}'.")
            return job

    def finish_running_jobs(self) -> None:
        """Make every running ASR job due now, so it ends on the next read (tests skip simulated waiting)."""
        with self.lock:
            due = utcnow() - timedelta(seconds=1)
            for job in self.jobs.values():
                if job.state == "InProgress":
                    job.due_at = due

    def refresh_jobs(self) -> None:
        """Finish every job whose simulated time is up and move its plan on."""
        now = utcnow()
        with self.lock:
            for job in self.jobs.values():
                if job.state != "InProgress" or now < job.due_at or job.plan_name in self.config.hanging_plans:
                    continue
                job.ended_at = job.due_at
                plan = self.recovery_plans[(job.resource_group, job.vault, job.plan_name.lower())]
                refused = [] if job.fail_with or self.capacity is None else self.capacity.job_finishing(plan, job)
                if refused:  # VMs the recovery region's quota or capacity cannot hold: one error each
                    job.state, job.errors = "Failed", refused
                elif job.fail_with:
                    job.state = "Failed"
                    job.errors = [
                        {
                            "serviceErrorDetails": {
                                "code": "70038",
                                "message": job.fail_with,
                                "possibleCauses": job.fail_with,
                                "recommendedAction": "Retry the operation.",
                            },
                            "creationTime": iso(job.due_at),
                            "taskId": str(uuid.uuid5(uuid.NAMESPACE_URL, job.name)),
                        }
                    ]
                else:
                    job.state = "Succeeded"
                self._finish(plan, job)
                self._provider_job_finished(plan, job)
                if self.capacity is not None:
                    self.capacity.job_finished(plan, job)

    def _finish(self, plan: RecoveryPlan, job: Job) -> None:
        """A finished job moves its plan and the plan's protected items on, as ASR reports them for A2A."""
        ok = job.state == "Succeeded"
        if job.scenario in ("PlannedFailover", "UnplannedFailover"):
            kind = "Planned" if job.scenario == "PlannedFailover" else "Unplanned"
            target = "Primary" if job.direction == "RecoveryToPrimary" else "Recovery"
            if ok:
                plan.state, plan.active_location = "FailedOver", target
            else:
                plan.state = job.from_state or "Protected"
            for item in plan.items:
                item.failover_kind = kind
                if ok:
                    item.protection_state = f"{kind}FailoverCommitPendingStatesBegin"
                    item.active_location = target
                    # a planned failover shuts the source VM down and syncs its last changes first: no data lost;
                    # an unplanned one brings the VM up from its latest recovery point when the job started
                    item.recovery_point_time = (
                        job.started_at if kind == "Planned" else self.latest_recovery_point(item, job.started_at)
                    )
                    item.replicating = False
                    item.last_failover_at = job.due_at
                    item.recovery_point_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{job.name}/{item.vm_name}"))
                    job.recovery_points[item.vm_name] = (item.recovery_point_id, item.recovery_point_time)
                else:
                    item.protection_state = f"{kind}FailoverFailed"
        elif job.scenario == "CommitFailover":
            if ok:
                plan.state = "Committed"
                for item in plan.items:
                    if item.protection_state.endswith("CommitPendingStatesBegin"):
                        item.protection_state = f"{item.failover_kind or 'Unplanned'}FailoverCommitted"
        elif job.scenario == "TestFailover":
            plan.state = "TestFailedOver"  # a failed test failover is cleaned up too
            for item in plan.items:
                item.test_failover_state = "TestFailoverCompleted" if ok else "TestFailoverFailed"
                if ok:
                    item.test_failover_at = item.last_test_failover_at = job.due_at
        elif job.scenario == "TestFailoverCleanup":
            if ok:
                plan.state, plan.test_network_id = plan.before_test, None
                for item in plan.items:
                    item.test_failover_state, item.test_failover_at, item.test_network_id = "None", None, None
            else:
                plan.state = "TestFailedOver"
                for item in plan.items:
                    up = item.test_failover_at is not None  # the test VMs stay up
                    item.test_failover_state = "TestFailoverCompleted" if up else "TestFailoverFailed"
        elif job.scenario == "ReverseReplication":
            if ok:
                plan.state = "Protected" if plan.active_location == "Primary" else "Reprotected"
                for item in plan.items:
                    item.protection_state, item.replicating = "Protected", True
            else:
                plan.state = job.from_state or "Committed"

    # ---- the demo estate and inspection ---------------------------------------------------------------------
    def seed_demo(self, vms: int) -> None:
        """An ASR vault in North Europe with identity, data and app recovery plans: `vms` spread as 4 domain
        controllers (rp-identity), about 14% SQL servers (rp-data-NN, at most 30 VMs a plan) and the rest app
        servers (rp-apps-NN, at most 40 VMs a plan)."""
        identity = 4
        data = max(1, round(vms * 0.14))
        apps = vms - identity - data
        layout: list[tuple[str, list[int], str]] = [
            ("rp-identity", [identity], "dc"),
            ("rp-data", _split(data, 30), "sql"),
            ("rp-apps", _split(apps, 40), "app"),
        ]
        vm_number = 0
        for prefix, sizes, role in layout:
            for plan_index, size in enumerate(sizes):
                name = prefix if prefix == "rp-identity" else f"{prefix}-{plan_index + 1:02d}"
                items = []
                for _ in range(size):
                    vm_number += 1
                    vm_name = f"vm-{role}-{vm_number:04d}"
                    items.append(ProtectedItem(vm_name, str(uuid.uuid5(uuid.NAMESPACE_DNS, vm_name))))
                groups: list[tuple[str, list[ProtectedItem]]] = [
                    ("Shutdown", []),
                    ("Failover", []),
                    ("Boot", items),
                ]
                self.recovery_plans[(DEMO_ASR_RG, DEMO_VAULT, name)] = RecoveryPlan(
                    DEMO_ASR_RG, DEMO_VAULT, name, groups
                )

    def seed_plans(self, rg: str, vault: str, prefix: str, vms: int, per_plan: int = 40) -> list[str]:
        """`vms` protected VMs (`vm-{prefix}-NNNNN`) in recovery plans `{prefix}-NN` of at most `per_plan` VMs
        each (near-equal), in the vault `rg`/`vault` (a vault is its recovery plans: any name will do). Returns the
        plans' names."""
        names = []
        for index, size in enumerate(_split(vms, per_plan)):
            name = f"{prefix}-{index + 1:02d}"
            first = sum(_split(vms, per_plan)[:index])
            items = [
                ProtectedItem(vm, str(uuid.uuid5(uuid.NAMESPACE_DNS, vm)))
                for vm in (f"vm-{prefix}-{first + n + 1:05d}" for n in range(size))
            ]
            key = (rg.lower(), vault.lower(), name.lower())
            self.recovery_plans[key] = RecoveryPlan(
                rg.lower(), vault.lower(), name, [("Shutdown", []), ("Failover", []), ("Boot", items)]
            )
            names.append(name)
        return names

    def seed_network_mappings(
        self, subscription_id: str, primary: str = PRIMARY_REGION, recovery: str = RECOVERY_REGION
    ) -> None:
        """The demo vault's network mapping from the primary VNet to the recovery VNet (their names:
        `simulator.providers.network`)."""
        sub = subscription_id
        with self.lock:
            self.network_mappings[(DEMO_ASR_RG, DEMO_VAULT)] = [
                NetworkMapping(
                    "weu-to-neu",
                    vnet_id(sub, DEMO_PRIMARY_NETRG, DEMO_PRIMARY_VNET),
                    vnet_id(sub, DEMO_NETRG, DEMO_RECOVERY_VNET),
                    primary,
                    recovery,
                )
            ]

    def snapshot(self) -> dict[str, Any]:
        """Its part of `GET /_sim/state`."""
        with self.lock:
            self.refresh_jobs()
            return {
                "recovery_plans": [
                    {
                        "name": plan.name,
                        "vms": plan.vm_count,
                        "state": plan.state,
                        "active_location": plan.active_location,
                        "failover_calls": plan.failover_calls,
                        "test_failover_calls": plan.test_failover_calls,
                        "cleanup_calls": plan.cleanup_calls,
                        "reprotect_calls": plan.reprotect_calls,
                        "last_failover_at": iso(plan.last_failover_at),
                        "last_test_failover_at": iso(plan.last_test_failover_at),
                        "test_network_id": plan.test_network_id,
                    }
                    for plan in self.recovery_plans.values()
                ],
                "jobs": [
                    {
                        "name": job.name,
                        "plan": job.plan_name,
                        "scenario": job.scenario,
                        "state": job.state,
                        "started_at": iso(job.started_at),
                        "ended_at": iso(job.ended_at),
                    }
                    for job in self.jobs.values()
                ],
            }


def _split(total: int, max_size: int) -> list[int]:
    """Split `total` into the fewest near-equal parts of at most `max_size`."""
    if total <= 0:
        return []
    parts = math.ceil(total / max_size)
    base, extra = divmod(total, parts)
    return [base + (1 if i < extra else 0) for i in range(parts)]


# ---- HTTPS routes ---------------------------------------------------------------------------------------------
class Routes:
    """The handlers, over one estate's `SiteRecovery`; LRO headers point back at `table.base_url`."""

    def __init__(self, table: RouteTable, asr: SiteRecovery) -> None:
        self.table = table
        self.asr = asr

    def _vault_id(self, m: dict[str, str]) -> str:
        return (
            f"/Subscriptions/{m['sub']}/resourceGroups/{m['rg']}/providers/"
            f"Microsoft.RecoveryServices/vaults/{m['vault']}"
        )

    def _plan_json(self, vault_id: str, plan: RecoveryPlan) -> dict[str, Any]:
        job = self.asr.jobs.get((plan.resource_group.lower(), plan.vault.lower(), plan.current_job or ""))
        running = job is not None and job.state == "InProgress"
        props: dict[str, Any] = {
            "friendlyName": plan.name,
            # no operation is allowed while a job of the plan runs (a commit too: the plan stays FailedOver)
            "allowedOperations": [] if running else list(PLAN_ALLOWED_OPERATIONS[plan.state]),
            "failoverDeploymentModel": "ResourceManager",
            "primaryFabricFriendlyName": "West Europe",
            "primaryFabricId": f"{vault_id}/replicationFabrics/{PRIMARY_FABRIC}",
            "recoveryFabricFriendlyName": "North Europe",
            "recoveryFabricId": f"{vault_id}/replicationFabrics/{RECOVERY_FABRIC}",
            "replicationProviders": ["A2A"],
            "groups": [
                {
                    "groupType": group_type,
                    "replicationProtectedItems": [
                        {"id": self._item_id(vault_id, item), "virtualMachineId": item.vm_id} for item in items
                    ],
                    "startGroupActions": [],
                    "endGroupActions": [],
                }
                for group_type, items in plan.groups
            ],
        }
        if job is not None:
            props["currentScenario"] = {
                "scenarioName": plan.current_scenario,
                "jobId": f"{vault_id}/replicationJobs/{job.name}",
                "startTime": iso(plan.current_scenario_started),
            }
            status = {"InProgress": "InProgress", "Succeeded": "Succeeded"}.get(job.state, "Failed")
            description = {"Succeeded": "Completed"}.get(job.state, job.state)
            if job.scenario == "TestFailover" and job.state == "Succeeded" and plan.state == "TestFailedOver":
                # as ReplicationRecoveryPlans_TestFailover shows: the test VMs wait for the cleanup
                status, description = "Suspended", "WaitingForStopTestFailover"
            props["currentScenarioStatus"] = status
            props["currentScenarioStatusDescription"] = description
        for key, at in (
            ("lastPlannedFailoverTime", plan.last_planned_failover_at),
            ("lastUnplannedFailoverTime", plan.last_unplanned_failover_at),
            ("lastTestFailoverTime", plan.last_test_failover_at),
        ):
            if at:
                props[key] = iso(at)
        body = {
            "id": f"{vault_id}/replicationRecoveryPlans/{plan.name}",
            "name": plan.name,
            "type": "Microsoft.RecoveryServices/vaults/replicationRecoveryPlans",
            "properties": props,
        }
        if plan.provider == HYPERV and self.asr.hyperv is not None:  # an Azure Local site's plan: its site, then Azure
            return self.asr.hyperv.plan_json(vault_id, plan, body)
        return body

    def _job_json(self, vault_id: str, job: Job) -> dict[str, Any]:
        """A recovery plan job in the shape of `ReplicationJobs_Get`: two tasks (the prerequisites check, then the
        operation itself, which carries the job's state and errors)."""
        description = {"Succeeded": "Completed"}.get(job.state, job.state)
        check_done = job.started_at + min(self.asr.cloud.scaled(5), (job.due_at - job.started_at) / 10)
        tasks: list[dict[str, Any]] = [
            {
                "name": "PreflightCheckTask",
                "friendlyName": f"Prerequisites check for {job.friendly_name.lower()}",
                "state": "Succeeded",
                "stateDescription": "Completed",
                "startTime": iso(job.started_at),
                "endTime": iso(check_done),
                "errors": [],
            },
            *(
                {
                    "name": "ShutdownPrimaryVirtualMachinesTask",
                    "friendlyName": "Shut down the virtual machines at the primary site",
                    "state": "Failed",
                    "stateDescription": "Failed",
                    "startTime": iso(job.started_at),
                    "endTime": iso(check_done),
                    "errors": job.warnings,
                }
                for _ in job.warnings[:1]
            ),
            {
                "name": f"{job.scenario}Task",
                "friendlyName": f"{job.friendly_name} of recovery plan {job.plan_name}",
                "state": job.state,
                "stateDescription": description,
                "startTime": iso(check_done),
                "endTime": iso(job.ended_at),
                "errors": job.errors,
            },
        ]
        return {
            "id": f"{vault_id}/replicationJobs/{job.name}",
            "name": job.name,
            "type": "Microsoft.RecoveryServices/vaults/replicationJobs",
            "properties": {
                "activityId": job.name,
                "scenarioName": job.scenario,
                "friendlyName": job.friendly_name,
                "state": job.state,
                "stateDescription": description,
                "startTime": iso(job.started_at),
                "endTime": iso(job.ended_at),
                "targetObjectId": job.plan_name,
                "targetObjectName": job.plan_name,
                "targetInstanceType": "RecoveryPlan",
                "allowedActions": ["Cancel"] if job.state == "InProgress" else [],
                "errors": job.errors,
                "tasks": [
                    {
                        **task,
                        "allowedActions": [],
                        "customDetails": {"instanceType": "VirtualMachineTaskDetails"},
                        "taskId": str(uuid.uuid5(uuid.NAMESPACE_URL, f"{job.name}/{task['name']}")),
                        "taskType": "TaskDetails",
                    }
                    for task in tasks
                ],
                "customDetails": self._job_details(vault_id, job),
            },
        }

    def _job_details(self, vault_id: str, job: Job) -> dict[str, Any]:
        """The job's `customDetails`: `FailoverJobDetails` for a failover (each VM's `protectedItemDetails`, with the
        recovery point it came up from once it failed over: `recoveryPointId`, `recoveryPointTime`), else
        `AsrJobDetails`."""
        details: dict[str, Any] = {
            "instanceType": "AsrJobDetails",
            "affectedObjectDetails": {
                "PrimaryFabricProviderId": "Azure",
                "PrimaryFabricName": PRIMARY_FABRIC,
                "RecoveryFabricProviderId": "Azure",
                "RecoveryFabricName": RECOVERY_FABRIC,
                "RecoveryPlanName": job.plan_name,
            },
        }
        if job.scenario not in ("PlannedFailover", "UnplannedFailover"):
            return details
        plan = self.asr.recovery_plans.get((job.resource_group, job.vault, job.plan_name.lower()))
        items = []
        for item in plan.items if plan is not None else []:
            point = job.recovery_points.get(item.vm_name)
            item_id = self._item_id(vault_id, item)
            items.append(
                {
                    "name": item_id.rsplit("/", 1)[-1],
                    "friendlyName": item.vm_name,
                    "testVmName": None,
                    "testVmFriendlyName": None,
                    "networkConnectionStatus": None,
                    "networkFriendlyName": None,
                    "subnet": None,
                    "recoveryPointId": f"{item_id}/recoveryPoints/{point[0]}" if point else None,
                    "recoveryPointTime": iso(point[1]) if point else None,
                }
            )
        return {**details, "instanceType": "FailoverJobDetails", "protectedItemDetails": items}

    def _item_id(self, vault_id: str, item: ProtectedItem) -> str:
        azure_local = self.asr.hyperv
        if azure_local is not None and azure_local.is_hyperv(item):
            return azure_local.item_id(vault_id, item)
        return (
            f"{vault_id}/replicationFabrics/{PRIMARY_FABRIC}/replicationProtectionContainers/{PRIMARY_CONTAINER}"
            f"/replicationProtectedItems/{item.vm_name}"
        )

    def _item_json(self, vault_id: str, plan: RecoveryPlan, item: ProtectedItem) -> dict[str, Any]:
        """An A2A replication protected item in ASR's shape (ReplicationProtectedItems_Get, 2025-08-01).

        A running job of the item's recovery plan (failover or commit) shows as the item's
        `currentScenario`; with none, ASR's placeholder (`None`, job `None`, 1753-01-01) is returned.
        """
        sub = vault_id.split("/")[2]
        item_id = self._item_id(vault_id, item)
        health, errors = self.asr.item_health(item)
        state = item.protection_state
        job = self.asr.jobs.get((plan.resource_group.lower(), plan.vault.lower(), plan.current_job or ""))
        running = job is not None and job.state == "InProgress"
        test_vm = item.test_failover_at is not None
        if running:
            allowed: list[str] = []
        elif item.test_failover_state in ("TestFailoverCompleted", "TestFailoverFailed"):
            allowed = ["TestFailoverCleanup", "DisableProtection"]
        elif state.endswith("CommitPendingStatesBegin"):
            allowed = ["Commit", "ChangePit", "DisableProtection"]
        elif state.endswith("Committed"):
            allowed = ["ReverseReplicate", "DisableProtection"]
        elif state.endswith("FailoverFailed"):
            allowed = ["UnplannedFailover", "DisableProtection", "TestFailover"]
        else:
            allowed = ["PlannedFailover", "UnplannedFailover", "DisableProtection", "TestFailover"]
        if running and job is not None:
            scenario = {
                "scenarioName": job.scenario,
                "jobId": f"{vault_id}/replicationJobs/{job.name}",
                "startTime": iso(job.started_at),
            }
        else:
            scenario = {
                "scenarioName": "None",
                "jobId": f"{vault_id}/replicationJobs/None",
                "startTime": "1753-01-01T01:01:01Z",
            }
        description = next(
            text
            for suffix, text in (
                ("Protected", "Protected"),
                ("FailoverFailed", "Failover failed"),
                ("CommitPendingStatesBegin", "Failover commit pending"),
                ("Committed", "Failover committed"),
                ("", state),
            )
            if state.endswith(suffix)
        )
        now = utcnow()
        vm_arm_id = (
            f"/subscriptions/{sub}/resourceGroups/rg-workloads-weu/providers/Microsoft.Compute/virtualMachines/"
            f"{item.vm_name}"
        )
        rpo = self.asr.item_rpo_seconds(item)
        details: dict[str, Any] = {
            "instanceType": "A2A",
            "fabricObjectId": vm_arm_id,
            "primaryFabricLocation": "westeurope",
            "recoveryFabricLocation": "northeurope",
            "osType": "Windows",
            "recoveryAzureVMName": item.vm_name,
            "recoveryAzureVMSize": item.size,
            "vmNics": [
                {
                    "nicId": f"/subscriptions/{sub}/resourceGroups/rg-workloads-weu/providers/Microsoft.Network/"
                    f"networkInterfaces/{item.vm_name}-nic",
                    "ipConfigs": [
                        {
                            "isPrimary": True,
                            "recoverySubnetName": "default",
                            "recoveryIPAddressType": "Dynamic",
                            "recoveryPublicIPAddressId": f"/subscriptions/{sub}/resourceGroups/rg-workloads-neu/"
                            f"providers/Microsoft.Network/publicIPAddresses/{item.vm_name}-pip"
                            if item.public_ip
                            else None,
                        }
                    ],
                }
            ],
            "recoveryAzureResourceGroupId": f"/subscriptions/{sub}/resourceGroups/rg-workloads-neu",
            "recoveryCapacityReservationGroupId": item.capacity_reservation_group,
            "recoveryAvailabilityZone": item.recovery_zone or None,
            "selectedRecoveryAzureNetworkId": f"/subscriptions/{sub}/resourceGroups/rg-network-neu/providers/"
            "Microsoft.Network/virtualNetworks/vnet-neu",
            "selectedTfoAzureNetworkId": item.test_network_id,
            "tfoAzureVMName": f"{item.vm_name}-test" if test_vm else None,
            "monitoringPercentageCompletion": None,
            "monitoringJobType": None,
            "lastHeartbeat": iso(now),
            "agentVersion": "9.62.7096.1",
            "isReplicationAgentUpdateRequired": False,
            "vmProtectionState": state,
            "vmProtectionStateDescription": description,
            "lifecycleId": str(uuid.uuid5(uuid.NAMESPACE_URL, item_id.lower())),
            "rpoInSeconds": rpo,
            "lastRpoCalculatedTime": iso(now if rpo is not None else item.last_failover_at),
        }
        props: dict[str, Any] = {
            "friendlyName": item.vm_name,
            "protectedItemType": "",  # as ASR reports a non-Hyper-V item (a public InMageRcm walkthrough)
            "protectableItemId": None,
            "recoveryServicesProviderId": None,
            "primaryFabricFriendlyName": "West Europe",
            "primaryFabricProvider": "Azure",
            "recoveryFabricFriendlyName": "North Europe",
            "recoveryFabricId": f"{vault_id}/replicationFabrics/{RECOVERY_FABRIC}",
            "primaryProtectionContainerFriendlyName": PRIMARY_CONTAINER,
            "recoveryProtectionContainerFriendlyName": RECOVERY_CONTAINER,
            "protectionState": state,
            "protectionStateDescription": description,
            "activeLocation": item.active_location,
            "testFailoverState": item.test_failover_state,
            "testFailoverStateDescription": TEST_FAILOVER_DESCRIPTIONS.get(
                item.test_failover_state, item.test_failover_state
            ),
            "allowedOperations": allowed,
            "replicationHealth": health,
            "failoverHealth": "Normal",
            "healthErrors": [
                {
                    "innerHealthErrors": [],
                    "errorSource": "ReplicationUnit",
                    "errorType": error["code"],
                    "errorLevel": error["level"],
                    "errorCategory": "Replication",
                    "errorCode": error["code"],
                    "summaryMessage": error["message"],
                    "errorMessage": error["message"],
                    "possibleCauses": error["causes"],
                    "recommendedAction": error["action"],
                    "creationTimeUtc": iso(now),
                    "recoveryProviderErrorMessage": None,
                    "entityId": item.vm_id,
                    "errorId": str(uuid.uuid5(uuid.NAMESPACE_URL, f"{item_id.lower()}/{error['code']}")),
                    "customerResolvability": "Allowed",
                }
                for error in errors
            ],
            "policyId": f"{vault_id}/replicationPolicies/{A2A_POLICY}",
            "policyFriendlyName": A2A_POLICY,
            "lastSuccessfulFailoverTime": iso(item.last_failover_at),
            "lastSuccessfulTestFailoverTime": iso(item.last_test_failover_at),
            "currentScenario": scenario,
            "failoverRecoveryPointId": f"{item_id}/recoveryPoints/{item.recovery_point_id}"
            if item.recovery_point_id
            else None,
            "providerSpecificDetails": details,
            "recoveryContainerId": f"{vault_id}/replicationFabrics/{RECOVERY_FABRIC}"
            f"/replicationProtectionContainers/{RECOVERY_CONTAINER}",
        }
        body = {
            "id": item_id,
            "name": item.vm_name,
            "type": "Microsoft.RecoveryServices/vaults/replicationFabrics/replicationProtectionContainers/"
            "replicationProtectedItems",
            "properties": props,
        }
        if plan.provider == HYPERV and self.asr.hyperv is not None:  # a VM of an Azure Local site, replicated to Azure
            return self.asr.hyperv.item_json(vault_id, item, body)
        return body

    async def items_list(self, request: web.Request, m: dict[str, str]) -> web.Response:
        # `$filter` (e.g. by source fabric) is not simulated: every item of the vault is listed.
        with self.asr.lock:
            self.asr.refresh_jobs()
            vault_id = self._vault_id(m)
            items = self.asr.protected_items(m["rg"], m["vault"])
            size = self.asr.config.protected_items_page_size
            return page_by_token(request, items, size, lambda item: self._item_json(vault_id, *item))

    def _check_container(self, m: dict[str, str]) -> None:
        azure_local = self.asr.hyperv
        if azure_local is not None and azure_local.is_site_container(m["rg"], m["vault"], m["fabric"], m["container"]):
            return  # an Azure Local site's Hyper-V site fabric and its protection container
        if m["fabric"].lower() != PRIMARY_FABRIC:
            raise SimError(404, "FabricNotFound", f"Fabric '{m['fabric']}' was not found in vault '{m['vault']}'.")
        if m["container"].lower() != PRIMARY_CONTAINER:
            raise SimError(
                404,
                "ProtectionContainerNotFound",
                f"Protection container '{m['container']}' was not found in fabric '{m['fabric']}'.",
            )

    async def items_by_container(self, request: web.Request, m: dict[str, str]) -> web.Response:
        self._check_container(m)
        with self.asr.lock:
            self.asr.refresh_jobs()
            vault_id = self._vault_id(m)
            items = self.asr.protected_items(m["rg"], m["vault"])
            size = self.asr.config.protected_items_page_size
            return page_by_token(request, items, size, lambda item: self._item_json(vault_id, *item))

    async def item_get(self, request: web.Request, m: dict[str, str]) -> web.Response:
        self._check_container(m)
        with self.asr.lock:
            self.asr.refresh_jobs()
            plan, item = self.asr.protected_item(m["rg"], m["vault"], m["item"])
            return web.json_response(self._item_json(self._vault_id(m), plan, item))

    async def plans_list(self, request: web.Request, m: dict[str, str]) -> web.Response:
        with self.asr.lock:
            self.asr.refresh_jobs()
            plans = self.asr.plans_in_vault(m["rg"], m["vault"])
            return web.json_response({"value": [self._plan_json(self._vault_id(m), p) for p in plans]})

    async def plan_get(self, request: web.Request, m: dict[str, str]) -> web.Response:
        with self.asr.lock:
            self.asr.refresh_jobs()
            plan = self.asr.recovery_plan(m["rg"], m["vault"], m["rp"])
            return web.json_response(self._plan_json(self._vault_id(m), plan))

    def _accepted(self, m: dict[str, str], job: Job) -> web.Response:
        base = f"{self.table.base_url}{self._vault_id(m)}"
        version = "2025-08-01"
        return accepted(
            async_operation=f"{base}/replicationOperationStatus/{job.name}?api-version={version}",
            location=f"{base}/replicationOperationResults/{job.name}?api-version={version}",
            retry_after=30,
        )

    async def plan_failover(self, request: web.Request, m: dict[str, str]) -> web.Response:
        planned = m["op"].lower() == "plannedfailover"
        schema = PLANNED_FAILOVER_BODY if planned else UNPLANNED_FAILOVER_BODY
        body = check_body(await json_body(request), schema, ASR_ERRORS)
        scenario = "PlannedFailover" if planned else "UnplannedFailover"
        job = self.asr.start_failover(m["rg"], m["vault"], m["rp"], scenario, body)
        return self._accepted(m, job)

    async def plan_commit(self, request: web.Request, m: dict[str, str]) -> web.Response:
        await json_body(request)  # the SDK sends none; a body, if any, must still be JSON
        job = self.asr.commit(m["rg"], m["vault"], m["rp"])
        return self._accepted(m, job)

    async def plan_test_failover(self, request: web.Request, m: dict[str, str]) -> web.Response:
        body = check_body(await json_body(request), TEST_FAILOVER_BODY, ASR_ERRORS)
        job = self.asr.start_test_failover(m["rg"], m["vault"], m["rp"], body)
        return self._accepted(m, job)

    async def plan_test_failover_cleanup(self, request: web.Request, m: dict[str, str]) -> web.Response:
        body = check_body(await json_body(request), TEST_FAILOVER_CLEANUP_BODY, ASR_ERRORS)
        job = self.asr.start_test_failover_cleanup(m["rg"], m["vault"], m["rp"], body)
        return self._accepted(m, job)

    async def plan_reprotect(self, request: web.Request, m: dict[str, str]) -> web.Response:
        await json_body(request)  # the SDK sends none; a body, if any, must still be JSON
        job = self.asr.start_reprotect(m["rg"], m["vault"], m["rp"])
        return self._accepted(m, job)

    @staticmethod
    def _job_error(job: Job) -> dict[str, str]:
        """A failed job's first error as ARM's `{code, message}`."""
        details = (job.errors[0] if job.errors else {}).get("serviceErrorDetails") or {}
        return {"code": details.get("code") or "OperationFailed", "message": details.get("message") or job.state}

    async def operation_status(self, request: web.Request, m: dict[str, str]) -> web.Response:
        """ARM's asynchronous operation status (`Azure-AsyncOperation`): InProgress, then Succeeded or Failed
        with `error`."""
        job = self.asr.job(m["rg"], m["vault"], m["job"])
        with self.asr.lock:
            body: dict[str, Any] = {
                "id": f"{self._vault_id(m)}/replicationOperationStatus/{job.name}",
                "name": job.name,
                "status": job.state,
                "startTime": iso(job.started_at),
                "endTime": iso(job.ended_at),
            }
            if job.state == "Failed":
                body["error"] = self._job_error(job)
        return web.json_response(body)

    async def operation_result(self, request: web.Request, m: dict[str, str]) -> web.Response:
        """The 202's `Location`: 202 (same headers) while the job runs, then the recovery plan it acted on (the
        200 body of the operation's REST example), or the job's error."""
        job = self.asr.job(m["rg"], m["vault"], m["job"])
        with self.asr.lock:
            if job.state == "InProgress":
                return self._accepted(m, job)
            if job.state == "Failed":
                error = self._job_error(job)
                return error_response(400, error["code"], error["message"])
            plan = self.asr.recovery_plan(m["rg"], m["vault"], job.plan_name)
            return web.json_response(self._plan_json(self._vault_id(m), plan))

    async def jobs_list(self, request: web.Request, m: dict[str, str]) -> web.Response:
        with self.asr.lock:
            self.asr.refresh_jobs()
            jobs = [
                self._job_json(self._vault_id(m), j)
                for j in self.asr.jobs.values()
                if j.resource_group == m["rg"].lower() and j.vault == m["vault"].lower()
            ]
        return web.json_response({"value": jobs})

    async def job_get(self, request: web.Request, m: dict[str, str]) -> web.Response:
        job = self.asr.job(m["rg"], m["vault"], m["job"])
        with self.asr.lock:
            return web.json_response(self._job_json(self._vault_id(m), job))

    async def network_mappings(self, request: web.Request, m: dict[str, str]) -> web.Response:
        vault_id = (
            f"/Subscriptions/{m['sub']}/resourceGroups/{m['rg']}/providers/Microsoft.RecoveryServices/vaults/"
            f"{m['vault']}"
        )
        with self.asr.lock:
            mappings = self.asr.network_mappings.get((m["rg"].lower(), m["vault"].lower()), [])
            value = []
            for mapping in mappings:
                primary_net = mapping.primary_network_id.rsplit("/", 1)[-1]
                fabric = f"asr-a2a-default-{mapping.primary_location}"
                value.append(
                    {
                        "id": f"{vault_id}/replicationFabrics/{fabric}/replicationNetworks/{primary_net}/"
                        f"replicationNetworkMappings/{mapping.name}",
                        "name": mapping.name,
                        "type": "Microsoft.RecoveryServices/vaults/replicationFabrics/replicationNetworks/"
                        "replicationNetworkMappings",
                        "properties": {
                            "state": mapping.state,
                            "primaryNetworkFriendlyName": primary_net,
                            "primaryNetworkId": mapping.primary_network_id,
                            "primaryFabricFriendlyName": mapping.primary_location,
                            "recoveryNetworkFriendlyName": mapping.recovery_network_id.rsplit("/", 1)[-1],
                            "recoveryNetworkId": mapping.recovery_network_id,
                            "recoveryFabricArmId": f"{vault_id}/replicationFabrics/asr-a2a-default-"
                            f"{mapping.recovery_location}",
                            "recoveryFabricFriendlyName": mapping.recovery_location,
                            "fabricSpecificSettings": {
                                "instanceType": "AzureToAzure",
                                "primaryFabricLocation": mapping.primary_location,
                                "recoveryFabricLocation": mapping.recovery_location,
                            },
                        },
                    }
                )
            return web.json_response({"value": value})


def add_routes(table: RouteTable, asr: SiteRecovery) -> None:
    """Register the ASR routes."""
    r = Routes(table, asr)
    add = table.add
    add("GET", _VAULT + r"/replicationrecoveryplans$", "asr.recoveryplans.list", r.plans_list)
    add("GET", _VAULT + r"/replicationrecoveryplans/(?P<rp>[^/]+)$", "asr.recoveryplans.get", r.plan_get)
    add(
        "POST",
        _VAULT + r"/replicationrecoveryplans/(?P<rp>[^/]+)/(?P<op>plannedfailover|unplannedfailover)$",
        "asr.recoveryplans.failover",
        r.plan_failover,
    )
    for operation, name, handler in (
        ("failovercommit", "commit", r.plan_commit),
        ("testfailover", "test_failover", r.plan_test_failover),
        ("testfailovercleanup", "test_failover_cleanup", r.plan_test_failover_cleanup),
        ("reprotect", "reprotect", r.plan_reprotect),
    ):
        route = _VAULT + rf"/replicationrecoveryplans/(?P<rp>[^/]+)/{operation}$"
        add("POST", route, f"asr.recoveryplans.{name}", handler)
    add(
        "GET",
        _VAULT + r"/replicationoperationstatus/(?P<job>[^/]+)$",
        "asr.operationstatus.get",
        r.operation_status,
    )
    add(
        "GET",
        _VAULT + r"/replicationoperationresults/(?P<job>[^/]+)$",
        "asr.operationresults.get",
        r.operation_result,
    )
    add("GET", _VAULT + r"/replicationjobs$", "asr.jobs.list", r.jobs_list)
    add("GET", _VAULT + r"/replicationjobs/(?P<job>[^/]+)$", "asr.jobs.get", r.job_get)
    add("GET", _VAULT + r"/replicationprotecteditems$", "asr.protecteditems.list", r.items_list)
    add(
        "GET",
        _CONTAINER + r"/replicationprotecteditems$",
        "asr.protecteditems.list_by_container",
        r.items_by_container,
    )
    add("GET", _CONTAINER + r"/replicationprotecteditems/(?P<item>[^/]+)$", "asr.protecteditems.get", r.item_get)
    add("GET", _VAULT + r"/replicationnetworkmappings$", "asr.networkmappings.list", r.network_mappings)
