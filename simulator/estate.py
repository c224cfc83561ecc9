"""The simulated estate: host pools, sessions, recovery plans, jobs, DNS, Event Grid and Teams sinks.

Pure state plus the rules Azure applies to it. The HTTPS layer (`simulator.server`) turns requests
into calls on `Estate` and its answers into Azure-shaped responses. Time is real wall-clock time
divided by nothing: simulated durations (ASR job times) are given in *simulated seconds* and divided
by `time_scale` once, when a job starts. The simulator imports nothing from the product.
"""

from __future__ import annotations

import ipaddress
import math
import re
import threading
import uuid
import zlib
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from simulator.faults import FaultConfig, FaultState, LatencyModel, ThrottleConfig
from simulator.outage import Outage, region_key

if TYPE_CHECKING:
    from simulator.dependencies import Dependencies, DependencyConfig
    from simulator.network import Network, NetworkConfig

SUBSCRIPTION_ID = "5d3c0f34-7a2b-4e53-9d0e-1f2a3b4c5d6e"
PRIMARY_REGION = "westeurope"
RECOVERY_REGION = "northeurope"


def utcnow() -> datetime:
    return datetime.now(UTC)


def iso(ts: datetime | None) -> str | None:
    if ts is None:
        return None
    return ts.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f") + "Z"


class SimError(Exception):
    """An Azure-style error answer: HTTP status plus the ARM error envelope's code and message.

    `extra` adds keys to the envelope's `error` object: ASR's errors carry `possibleCauses` and
    `recommendedAction` next to `code` and `message`.
    """

    def __init__(self, status: int, code: str, message: str, extra: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.extra = dict(extra or {})


def asr_error(status: int, code: str, message: str, causes: str, action: str) -> SimError:
    """An ASR-style error: the ARM envelope plus `possibleCauses` and `recommendedAction`."""
    return SimError(status, code, message, {"possibleCauses": causes, "recommendedAction": action})


@dataclass
class UserSession:
    session_id: str
    session_host: str
    user_principal_name: str
    state: str  # Active | Disconnected | ...
    created_at: datetime
    messages: list[dict[str, str]] = field(default_factory=list)


@dataclass
class SessionHost:
    name: str
    allow_new_session: bool = True
    status: str = "Available"
    sessions: dict[str, UserSession] = field(default_factory=dict)
    drained_at: datetime | None = None
    unreachable: bool = False  # its region is down (`Estate.region_down`): messages and log-offs fail


@dataclass
class HostPool:
    resource_group: str
    name: str
    location: str
    session_hosts: dict[str, SessionHost] = field(default_factory=dict)


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
    replicating: bool = True  # replication runs from the active location (False after a failover until reprotect)
    test_failover_state: str = "None"
    test_failover_at: datetime | None = None  # its test VM is up since (a test failover succeeded), until cleanup
    last_test_failover_at: datetime | None = None
    test_network_id: str | None = None  # the isolated network of the current test failover


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
    provider: str = "A2A"  # replication provider: A2A, or HyperVReplicaAzure (an Azure Local site: simulator.hyperv)

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


@dataclass
class RecordSet:
    resource_group: str
    zone: str
    record_type: str  # A | CNAME
    name: str
    ttl: int
    values: list[str]
    etag: str = field(default_factory=lambda: str(uuid.uuid4()))
    metadata: dict[str, str] = field(default_factory=dict)
    history: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class EstateConfig:
    """Knobs of the simulated world, in simulated seconds unless said otherwise."""

    time_scale: float = 1.0
    job_base_seconds: float = 180.0  # an ASR recovery plan failover job: base time ...
    job_seconds_per_vm: float = 2.0  # ... plus this per VM
    commit_seconds: float = 30.0
    # A test failover job takes as long as a failover; these are the other recovery plan jobs.
    cleanup_seconds: float = 60.0  # a test failover cleanup job
    reprotect_seconds: float = 300.0  # a reprotect job: base time ...
    reprotect_seconds_per_vm: float = 2.0  # ... plus this per VM
    # recovery plan name -> error text: its failover jobs (planned, unplanned, failback and test
    # failover alike) end Failed with that error. A failed test failover still needs a cleanup.
    failing_plans: dict[str, str] = field(default_factory=dict)
    # recovery plan name -> error text: its test failover cleanup jobs end Failed with that error (the
    # test VMs stay up, the plan stays TestFailedOver and the cleanup may be run again).
    failing_cleanups: dict[str, str] = field(default_factory=dict)
    # Replication health of protected items (VM names): `unhealthy_items` report replicationHealth
    # Critical (replication not progressing), `warning_items` Warning (RPO higher than usual), each
    # with one health error. `rpo_seconds` overrides a VM's RPO; by default it is 30-120 s, fixed per
    # VM name (Warning items x10, Critical items +1800 s).
    unhealthy_items: tuple[str, ...] = ()
    warning_items: tuple[str, ...] = ()
    rpo_seconds: dict[str, float] = field(default_factory=dict)
    protected_items_page_size: int = 100  # items per page of the vault-wide list (then nextLink)
    eventgrid_key: str = "sim-eventgrid-key"
    # Recovery plan names whose jobs of any kind never finish (stay InProgress): a hung ASR job.
    hanging_plans: tuple[str, ...] = ()
    # ARM throttling (on by default, Azure's bucket sizes), latency per route, injected faults: simulator.faults
    throttle: ThrottleConfig = field(default_factory=ThrottleConfig)
    latency: LatencyModel = field(default_factory=LatencyModel)
    faults: FaultConfig = field(default_factory=FaultConfig)
    network: NetworkConfig | None = None  # Traffic Manager and Logs knobs (simulator.network); None: defaults
    dependencies: DependencyConfig | None = None  # SQL, storage, VM and webhook knobs (simulator.dependencies)


class Estate:
    """Everything the simulated Azure keeps. All methods are thread-safe."""

    def __init__(self, config: EstateConfig | None = None, subscription_id: str = SUBSCRIPTION_ID) -> None:
        self.config = config or EstateConfig()
        self.subscription_id = subscription_id
        self.host_pools: dict[tuple[str, str], HostPool] = {}
        self.recovery_plans: dict[tuple[str, str, str], RecoveryPlan] = {}
        self.jobs: dict[tuple[str, str, str], Job] = {}
        self.record_sets: dict[tuple[str, str, str, str], RecordSet] = {}
        self.logged_off: list[dict[str, Any]] = []  # {session host, id, user, at}
        self.events: list[dict[str, Any]] = []
        self.teams_messages: list[dict[str, Any]] = []
        self.requests: Counter[str] = Counter()
        self.created_at = utcnow()  # when the simulated resources were "created" (ARM systemData)
        self.lock = threading.RLock()
        self.outage: Outage | None = None  # the regional outage the simulator plays (`set_outage`)
        self.faults = FaultState(self.config.time_scale, self.config.throttle, self.config.faults, self.config.latency)
        from simulator.network import Network  # here: simulator.network builds on this module

        self.network: Network = Network(self)  # Traffic Manager profiles, Logs workspaces
        from simulator.dependencies import Dependencies

        self.dependencies: Dependencies = Dependencies(self)  # SQL failover groups, storage, VMs, webhooks

    # ---- time -----------------------------------------------------------------------------
    def scaled(self, simulated_seconds: float) -> timedelta:
        return timedelta(seconds=simulated_seconds / self.config.time_scale)

    # ---- AVD ------------------------------------------------------------------------------
    def host_pool(self, rg: str, name: str) -> HostPool:
        pool = self.host_pools.get((rg.lower(), name.lower()))
        if pool is None:
            # the code and message of HostPool_Get's error example
            raise SimError(404, "hostPoolDoesNotExist", "Host Pool Does Not Exist")
        return pool

    def session_host(self, rg: str, pool: str, name: str) -> SessionHost:
        host_pool = self.host_pool(rg, pool)
        for host in host_pool.session_hosts.values():
            if host.name.lower() == name.lower():
                return host
        raise SimError(404, "ResourceNotFound", f"SessionHost '{name}' was not found in host pool '{pool}'.")

    def update_session_host(self, rg: str, pool: str, name: str, patch: dict[str, Any]) -> SessionHost:
        with self.lock:
            host = self.session_host(rg, pool, name)
            props = patch.get("properties") or {}
            if "allowNewSession" in props:
                value = props["allowNewSession"]
                if not isinstance(value, bool):
                    raise SimError(400, "InvalidRequestFormat", "properties.allowNewSession must be a boolean.")
                if not value and host.allow_new_session:
                    host.drained_at = utcnow()
                host.allow_new_session = value
            return host

    def user_session(self, rg: str, pool: str, host: str, session_id: str) -> UserSession:
        session_host = self.session_host(rg, pool, host)
        session = session_host.sessions.get(session_id)
        if session is None:
            raise SimError(404, "ResourceNotFound", f"UserSession '{session_id}' was not found on '{host}'.")
        return session

    # ---- a regional outage (simulator.outage) -------------------------------------------------
    def set_outage(self, outage: Outage | None) -> None:
        """Play `outage` from now on (it begins `after_seconds` later), or end the one playing (None): the
        region comes back at once. Replaces an outage already set."""
        with self.lock:
            if self.outage is not None:
                self._apply_outage(self.outage, down=False)
            self.outage = outage
            if outage is not None:
                outage.begin(utcnow(), self.config.time_scale)
            self.tick()

    def tick(self) -> None:
        """Bring the outage's effects up to date (run before every request the simulator answers)."""
        outage = self.outage
        if outage is None:
            return
        with self.lock:
            down = outage.down(utcnow())
            if down != outage.applied_down:
                self._apply_outage(outage, down)

    def _apply_outage(self, outage: Outage, down: bool) -> None:
        region = outage.key
        if "data" in outage.services:
            (self.dependencies.region_down if down else self.dependencies.region_up)(region)
        if "avd" in outage.services:
            if down:
                for (rg, pool_name), pool in self.host_pools.items():
                    if region_key(pool.location) != region:
                        continue
                    names = outage.hosts_of(list(pool.session_hosts))
                    for key, host in pool.session_hosts.items():
                        if key in names and not host.unreachable:
                            outage.hosts_down[(rg, pool_name, key)] = host.status
                            host.status, host.unreachable = "Unavailable", True
            else:
                for (rg, pool_name, key), status in outage.hosts_down.items():
                    back = self.host_pools.get((rg, pool_name))
                    came_back = back.session_hosts.get(key) if back else None
                    if came_back is not None:
                        came_back.status, came_back.unreachable = status, False
                outage.hosts_down.clear()
        outage.applied_down = down

    def source_down(self, direction: str = "PrimaryToRecovery") -> bool:
        """Whether ASR's source site (the primary region for PrimaryToRecovery; for a failback, the primary it
        returns to) is down: the outage takes `asr` down there now."""
        outage = self.outage
        return (
            outage is not None
            and outage.key == region_key(PRIMARY_REGION)
            and outage.affects("asr", utcnow())
            and direction in DIRECTIONS
        )

    def region_down(self, region: str) -> None:
        """The region is down from now on, all of it (`Outage(region)`): its SQL and storage primaries are
        unreachable (`Dependencies.region_down`), the session hosts of host pools there are `Unavailable` (AVD:
        "turned off or has failed critical health checks", so the service cannot route to them) - AVD still lists
        their sessions; a message or a log-off of one fails (500 `SessionHostNotReachable`, the simulator's own
        code: the agent cannot be reached) - and ASR's operations that need the source site fail."""
        self.set_outage(Outage(region))

    def region_up(self, region: str) -> None:
        """The region is back: the outage playing there ends."""
        with self.lock:
            if self.outage is not None and self.outage.key == region_key(region):
                self.set_outage(None)

    def _reachable_host(self, rg: str, pool: str, host: str) -> None:
        session_host = self.session_host(rg, pool, host)
        if session_host.unreachable:
            raise SimError(
                500,
                "SessionHostNotReachable",
                f"Session host '{session_host.name}' could not be reached: its region is down.",
            )

    def send_message(self, rg: str, pool: str, host: str, session_id: str, body: dict[str, Any]) -> None:
        with self.lock:
            self._reachable_host(rg, pool, host)
            session = self.user_session(rg, pool, host, session_id)
            session.messages.append(
                {"title": str(body.get("messageTitle", "")), "body": str(body.get("messageBody", ""))}
            )

    def log_off(self, rg: str, pool: str, host: str, session_id: str) -> bool:
        """Delete (log off) a session. Returns False when it was already gone (ARM answers 204)."""
        with self.lock:
            self._reachable_host(rg, pool, host)
            session_host = self.session_host(rg, pool, host)
            session = session_host.sessions.pop(session_id, None)
            if session is None:
                return False
            self.logged_off.append(
                {
                    "host_pool": pool,
                    "session_host": session_host.name,
                    "session_id": session_id,
                    "user": session.user_principal_name,
                    "at": utcnow(),
                }
            )
            return True

    def sessions_remaining(self) -> int:
        with self.lock:
            return sum(len(h.sessions) for p in self.host_pools.values() for h in p.session_hosts.values())

    # ---- ASR ------------------------------------------------------------------------------
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
            due_at=now + self.scaled(simulated_seconds),
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

    # ---- provider-specific inputs and effects (simulator.hyperv: Azure Local / Hyper-V sites) ------------------
    def _check_provider_input(self, plan: RecoveryPlan, body: dict[str, Any], direction: str) -> None:
        """400 when the body's providerSpecificDetails do not fit the plan's replication provider."""
        from simulator import hyperv  # here: simulator.hyperv builds on this module

        hyperv.AzureLocal.check_provider_input(plan, self._properties(body), direction)

    def _provider_failover_started(self, plan: RecoveryPlan, job: Job, body: dict[str, Any]) -> None:
        if plan.provider == "HyperVReplicaAzure":
            from simulator import hyperv

            hyperv.of(self).on_failover_started(plan, job, self._properties(body))

    def _provider_job_finished(self, plan: RecoveryPlan, job: Job) -> None:
        if plan.provider == "HyperVReplicaAzure":
            from simulator import hyperv

            hyperv.of(self).after_job(plan, job)

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
                if job.fail_with:
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
                    item.replicating = False
                    item.last_failover_at = job.due_at
                    item.recovery_point_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{job.name}/{item.vm_name}"))
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

    # ---- DNS ------------------------------------------------------------------------------
    def record_set(self, rg: str, zone: str, record_type: str, name: str) -> RecordSet:
        record = self.record_sets.get((rg.lower(), zone.lower(), record_type.upper(), name.lower()))
        if record is None:
            raise SimError(
                404, "NotFound", f"The resource record '{name}' of type {record_type} does not exist in '{zone}'."
            )
        return record

    def put_record_set(
        self, rg: str, zone: str, record_type: str, name: str, body: dict[str, Any], if_match: str | None
    ) -> tuple[RecordSet, bool]:
        with self.lock:
            key = (rg.lower(), zone.lower(), record_type.upper(), name.lower())
            existing = self.record_sets.get(key)
            if if_match and if_match != "*" and (existing is None or existing.etag != if_match):
                raise SimError(
                    412,
                    "PreconditionFailed",
                    f"The condition '{if_match}' in the If-Match header was not satisfied by '{name}'.",
                )
            props = body.get("properties")
            if not isinstance(props, dict):
                raise SimError(400, "BadRequest", "The request body must carry 'properties'.")
            ttl = props.get("TTL", 3600)
            if record_type.upper() == "CNAME":
                cname = (props.get("CNAMERecord") or {}).get("cname")
                if not cname:
                    raise SimError(400, "BadRequest", "properties.CNAMERecord.cname is required.")
                values = [cname]
            elif record_type.upper() == "A":
                values = [r.get("ipv4Address") for r in props.get("ARecords") or []]
                if not values or not all(values):
                    raise SimError(400, "BadRequest", "properties.ARecords[].ipv4Address is required.")
                for value in values:
                    try:
                        ipaddress.IPv4Address(value)
                    except ValueError as err:
                        raise SimError(400, "BadRequest", f"'{value}' is not a valid IPv4 address.") from err
            else:
                raise SimError(400, "BadRequest", f"Record type {record_type} is not simulated.")
            created = existing is None
            record = existing or RecordSet(rg.lower(), zone.lower(), record_type.upper(), name.lower(), ttl, [])
            record.history.append({"from": list(record.values), "to": values, "at": utcnow()})
            record.values = values
            record.ttl = int(ttl)
            record.metadata = {str(k): str(v) for k, v in (props.get("metadata") or {}).items()}
            record.etag = str(uuid.uuid4())
            self.record_sets[key] = record
            return record, created

    # ---- sinks ----------------------------------------------------------------------------
    def add_events(self, events: list[dict[str, Any]]) -> None:
        with self.lock:
            self.events.extend(events)

    def add_teams_message(self, workflow: str, message: dict[str, Any]) -> None:
        with self.lock:
            self.teams_messages.append({"workflow": workflow, "received_at": iso(utcnow()), "message": message})

    # ---- inspection -----------------------------------------------------------------------
    def snapshot(self) -> dict[str, Any]:
        """A JSON summary for `GET /_sim/state` and for tests."""
        with self.lock:
            self.refresh_jobs()
            return {
                "outage": self.outage.describe() if self.outage is not None else None,
                "sessions_remaining": self.sessions_remaining(),
                "logged_off": [dict(entry, at=iso(entry["at"])) for entry in self.logged_off],
                "session_hosts": [
                    {
                        "host_pool": pool.name,
                        "name": host.name,
                        "allow_new_session": host.allow_new_session,
                        "drained_at": iso(host.drained_at),
                        "sessions": len(host.sessions),
                    }
                    for pool in self.host_pools.values()
                    for host in pool.session_hosts.values()
                ],
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
                "record_sets": [
                    {
                        "zone": r.zone,
                        "type": r.record_type,
                        "name": r.name,
                        "values": r.values,
                        "ttl": r.ttl,
                        "history": [dict(h, at=iso(h["at"])) for h in r.history],
                    }
                    for r in self.record_sets.values()
                ],
                "requests": dict(self.requests),
                "faults": self.faults.snapshot(),
            }


# ---- the seeded demo estate ------------------------------------------------------------------
DEMO_AVD_RG = "rg-avd-weu"
DEMO_HOST_POOL = "hp-weu-pooled"
DEMO_ASR_RG = "rg-dr-neu"
DEMO_VAULT = "rsv-dr-neu"
DEMO_DNS_RG = "rg-dns-global"
DEMO_ZONE = "contoso.com"


def _split(total: int, max_size: int) -> list[int]:
    """Split `total` into the fewest near-equal parts of at most `max_size`."""
    if total <= 0:
        return []
    parts = math.ceil(total / max_size)
    base, extra = divmod(total, parts)
    return [base + (1 if i < extra else 0) for i in range(parts)]


def seed_demo_estate(estate: Estate, vms: int = 260, sessions: int = 220) -> Estate:
    """The estate `plans/demo.yaml` describes: one AVD host pool in West Europe, an ASR vault in
    North Europe with identity, data and app recovery plans, and a DNS zone.

    `vms` are spread as 4 domain controllers (rp-identity), about 14% SQL servers (rp-data-NN, at
    most 30 VMs a plan) and the rest app servers (rp-apps-NN, at most 40 VMs a plan).
    """
    if vms < 6:
        raise ValueError("the demo estate needs at least 6 VMs (identity, data and apps groups)")
    if sessions < 0:
        raise ValueError("sessions must be >= 0")
    with estate.lock:
        now = utcnow()
        pool = HostPool(DEMO_AVD_RG, DEMO_HOST_POOL, PRIMARY_REGION)
        host_count = max(2, math.ceil(sessions / 12))
        for index in range(host_count):
            name = f"sh-weu-{index + 1:03d}.contoso.local"
            pool.session_hosts[name] = SessionHost(name=name)
        hosts = list(pool.session_hosts.values())
        for index in range(sessions):
            host = hosts[index % host_count]
            session_id = str(len(host.sessions) + 1)
            host.sessions[session_id] = UserSession(
                session_id=session_id,
                session_host=host.name,
                user_principal_name=f"user{index + 1:05d}@contoso.com",
                state="Disconnected" if index % 5 == 4 else "Active",
                created_at=now - timedelta(minutes=30 + index % 90),
            )
        estate.host_pools[(DEMO_AVD_RG, DEMO_HOST_POOL)] = pool

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
                estate.recovery_plans[(DEMO_ASR_RG, DEMO_VAULT, name)] = RecoveryPlan(
                    DEMO_ASR_RG, DEMO_VAULT, name, groups
                )

        for record in (
            RecordSet(DEMO_DNS_RG, DEMO_ZONE, "CNAME", "app", 60, ["app-weu.contoso.com"]),
            RecordSet(DEMO_DNS_RG, DEMO_ZONE, "A", "portal", 60, ["20.50.10.10"]),
        ):
            estate.record_sets[(record.resource_group, record.zone, record.record_type, record.name)] = record
        estate.network.seed_demo()  # Traffic Manager profile tm-contoso-app, the Log Analytics workspace
        estate.dependencies.seed_demo()  # fg-contoso, stcontosofslogix, hp-neu-pooled standby VMs, webhook
        from simulator import sites  # here: simulator.sites builds on this module

        sites.seed_demo(estate)  # recovery VNet and gateway, ASR network mappings, NetApp volume, Backup item
    return estate
