"""Contracts of the Azure Site Recovery activities (activities/asr.py)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from failover.contracts import ArmInput, Contract, Mode, NonEmpty, StartAction

Direction = Literal["PrimaryToRecovery", "RecoveryToPrimary"]
RecoveryPointType = Literal["Latest", "LatestProcessed", "LatestApplicationConsistent", "LatestCrashConsistent"]
ReplicationProvider = Literal["A2A", "HyperVReplicaAzure"]
DataSyncOption = Literal["ForSynchronization", "ForDownTime"]
VmCreationOption = Literal["CreateVmIfNotFound", "NoAction"]


class VaultInput(ArmInput):
    """A Recovery Services vault (`Plan.vault_ref()`): what every ASR activity acts in."""

    vault: NonEmpty


class RecoveryPlanInput(VaultInput):
    """One recovery plan of the vault: `asr_commit`'s input, and the base of the other plan operations."""

    recovery_plan: NonEmpty


# --- asr_resolve_recovery_plans ---------------------------------------------------------------------------


class RecoveryPlanPatterns(Contract):
    """A plan group's recovery plan names and fnmatch patterns (`*`, `?`, `[...]`), matched without case."""

    name: NonEmpty
    recovery_plans: list[NonEmpty]


class ResolveRecoveryPlansInput(VaultInput):
    """`asr_resolve_recovery_plans` (`Plan.resolve_request()`): each group's names and patterns, in order."""

    groups: list[RecoveryPlanPatterns]


class ResolvedRecoveryPlan(Contract):
    """A recovery plan of the vault matched by a group, with its VM (protected item) count."""

    name: str
    vms: int
    failed_over: bool
    # a test failover is running or awaits cleanup: a real failover of this plan is refused by ASR until then
    test_failover_pending: bool = False
    # why ASR would refuse a failover now, when it offers none for another reason (None: it offers one)
    failover_refused: str | None = None


class ResolvedGroup(Contract):
    name: str
    recovery_plans: list[ResolvedRecoveryPlan]


class UnmatchedPattern(Contract):
    """A name or pattern of a group that matched no recovery plan of the vault (not yet claimed by a group)."""

    group: str
    pattern: str


class ResolveRecoveryPlansResult(Contract):
    groups: list[ResolvedGroup]
    unmatched: list[UnmatchedPattern]


# --- jobs: failover, test failover, failback, commit, test cleanup, reprotect -----------------------------


class StartFailoverInput(RecoveryPlanInput):
    """`asr_start_failover`. None means ASR's default: recovery point `Latest`, source site operations
    `NotRequired` (unplanned), network type `VmNetworkAsInput` (test, which then needs `network_id`)."""

    mode: Mode
    recovery_point_type: RecoveryPointType | None = None
    source_site_operations: Literal["Required", "NotRequired"] | None = None
    network_id: str | None = None  # test: the isolated VNet's resource id
    network_type: Literal["VmNetworkAsInput", "NoNetworkAttachAsInput"] | None = None
    # the provider-specific input ASR gets: A2A (None) or HyperVReplicaAzure, whose failback (RecoveryToPrimary)
    # is a HyperVReplicaAzureFailback input with a data sync and an alternate location recovery option
    replication_provider: ReplicationProvider | None = None
    failback_data_sync: DataSyncOption | None = None  # None: ForSynchronization
    failback_vm_creation: VmCreationOption | None = None  # None: CreateVmIfNotFound


class TestCleanupInput(RecoveryPlanInput):
    """`asr_test_cleanup`; ASR keeps `comments` with the cleanup job."""

    __test__ = False  # not a pytest test class

    comments: str | None = None


class ReprotectInput(RecoveryPlanInput):
    """`asr_reprotect`; `direction`, when given, is the direction the plan must replicate in afterwards."""

    direction: Direction | None = None


class RecoveryPlanJob(Contract):
    """What an operation on a recovery plan did: started or attached to `job`, or skipped (with `reason`;
    `job` then names the job that did it, or None)."""

    recovery_plan: str
    job: str | None = None
    action: StartAction
    reason: str | None = None
    # when the job started, as ASR reports it (the plan's currentScenario.startTime; a failover started or attached
    # to): the batch reads the job when it is expected to end from then, not from when the activity returned
    started_at: str | None = None


# --- asr_get_job -------------------------------------------------------------------------------------------


class AsrJobInput(VaultInput):
    """`asr_get_job`: an ASR job by name; `recovery_plan` is only echoed back."""

    job: NonEmpty
    recovery_plan: str | None = None


class AsrJobResult(Contract):
    """An ASR job's state (`terminal` once Succeeded, Failed, Cancelled or Suspended), times (ISO 8601) and
    ASR's own error texts; `warnings`, those of tasks that failed in a job that did not."""

    job: str
    recovery_plan: str | None = None
    state: str | None = None
    terminal: bool
    started_at: str | None = None
    ended_at: str | None = None
    errors: list[str] = Field(default_factory=list)
    # the errors of the job's tasks that failed while the job went on (e.g. an unplanned failover that could
    # not shut the source VMs down because the primary region is down)
    warnings: list[str] = Field(default_factory=list)
    # a failover job: VM -> the time (ISO 8601) of the recovery point it came up from, from the job's
    # `FailoverJobDetails.protectedItemDetails[].recoveryPointTime` (the data-loss table of the report)
    recovery_points: dict[str, str] = Field(default_factory=dict)


# --- asr_replication_health ----------------------------------------------------------------------------------


class ReplicationHealthInput(VaultInput):
    """`asr_replication_health`: the vault's protected items, or only those of `recovery_plans` when given."""

    recovery_plans: list[NonEmpty] | None = None
    direction: Direction = "PrimaryToRecovery"


class UnhealthyItem(Contract):
    """A protected item not ready: its health (`Missing` when a plan lists it but the vault does not)."""

    name: str | None = None
    health: str
    errors: list[str] = Field(default_factory=list)


class ReplicationHealthResult(Contract):
    """Replication readiness for the approval card (see `asr_replication_health`); `unhealthy` lists at most
    50, worst first, `unhealthy_total` counts them all."""

    protected_items: int
    healthy: int
    failed_over: int
    unhealthy: list[UnhealthyItem] = Field(default_factory=list)
    unhealthy_total: int
    max_rpo_seconds: float | None = None
    direction: Direction
    checked_at: str


# --- asr_vm_placement: where the VMs of Azure Local (HyperVReplicaAzure) recovery plans run ----------------------


class VmPlacementInput(VaultInput):
    """`asr_vm_placement`: the protected items of these recovery plans."""

    recovery_plans: list[NonEmpty]


class VmPlacement(Contract):
    """One protected VM: where it is active, the Hyper-V host it is registered on (the item's
    `recoveryServicesProviderId`), that host's Azure Local cluster when the item names it, and its last failover."""

    name: str
    recovery_plan: str
    active_location: str | None = None
    host: str | None = None
    cluster: str | None = None
    last_failover_at: str | None = None  # ISO 8601: the item's lastSuccessfulFailoverTime


class VmPlacementResult(Contract):
    vms: list[VmPlacement] = Field(default_factory=list)


class RestoredVm(Contract):
    """A VM an Azure Local (HyperVReplicaAzure) failback brought back on premises, as the run report lists it.

    `in_place` False: restored on another cluster than it ran on - it comes up unmanaged and must be registered on
    that cluster and reconnected to its Azure resource. True: Azure Arc reconnects it by itself within the 45-day
    window that started when it failed over to Azure (`arc_days_left`, in plan time). None: the cluster is unknown.
    """

    name: str
    recovery_plan: str
    original_cluster: str | None = None
    cluster: str | None = None
    host: str | None = None
    in_place: bool | None = None
    failed_over_at: str | None = None  # when it failed over to Azure: its Arc connection is down since then
    failed_back_at: str | None = None
    arc_days_left: float | None = None
    action: str
