"""The simulated estate: one object that composes the simulated resource providers and plays a regional outage.

Each provider keeps its own state in its module (`simulator.providers.*`); `simulator.network`,
`simulator.dependencies` and `simulator.sites` compose some of them under the names callers used before the split.
`Estate` creates them, wires the few that read another's state (Logs reads ASR, AVD and the VMs; a VM's session
host follows its power state; a restore creates a VM), shares one lock, the simulated clock and the region outages
with all of them (`simulator.arm.Cloud`), and assembles `GET /_sim/state` (`snapshot`). The HTTPS layer
(`simulator.server`) registers each provider's routes. Time is real wall-clock time: simulated durations (ASR job
times) are given in *simulated seconds* and divided by `time_scale` once, when a job starts. The simulator imports
nothing from the product.

The names other code imports from here (the providers' types and demo names, `SimError`, `utcnow`, ...) are kept as
they were before the providers moved out.
"""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from simulator.arm import (
    PRIMARY_REGION,
    RECOVERY_REGION,
    SUBSCRIPTION_ID,
    Regions,
    SimError,
    asr_error,
    iso,
    utcnow,
)
from simulator.dependencies import Dependencies, DependencyConfig
from simulator.faults import FaultConfig, FaultState, LatencyModel, ThrottleConfig
from simulator.network import Network, NetworkConfig
from simulator.outage import Outage, region_key
from simulator.providers.azure_local import AzureLocal
from simulator.providers.capacity import Capacity
from simulator.providers.desktop_virtualization import (
    DEMO_AVD_RG,
    DEMO_HOST_POOL,
    DesktopVirtualization,
    HostPool,
    SessionHost,
    UserSession,
)
from simulator.providers.dns import DEMO_DNS_RG, DEMO_ZONE, Dns, RecordSet
from simulator.providers.images import Images
from simulator.providers.recovery_services import (
    DEMO_ASR_RG,
    DEMO_VAULT,
    DIRECTIONS,
    NETWORK_TYPES,
    PLAN_ALLOWED_OPERATIONS,
    PLAN_STATES,
    TEST_STATES,
    Job,
    ProtectedItem,
    RecoveryPlan,
    SiteRecovery,
)
from simulator.providers.sinks import Sinks
from simulator.providers.vm_admission import VmAdmission
from simulator.sites import Sites

__all__ = [
    "DEMO_ASR_RG",
    "DEMO_AVD_RG",
    "DEMO_DNS_RG",
    "DEMO_HOST_POOL",
    "DEMO_VAULT",
    "DEMO_ZONE",
    "DIRECTIONS",
    "NETWORK_TYPES",
    "PLAN_ALLOWED_OPERATIONS",
    "PLAN_STATES",
    "PRIMARY_REGION",
    "RECOVERY_REGION",
    "SUBSCRIPTION_ID",
    "TEST_STATES",
    "Estate",
    "EstateConfig",
    "HostPool",
    "Job",
    "ProtectedItem",
    "RecordSet",
    "RecoveryPlan",
    "SessionHost",
    "SimError",
    "UserSession",
    "asr_error",
    "iso",
    "seed_demo_estate",
    "seed_recovery_plans",
    "utcnow",
]


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
    """Everything the simulated Azure keeps: the providers' state, wired together. All methods are thread-safe."""

    def __init__(self, config: EstateConfig | None = None, subscription_id: str = SUBSCRIPTION_ID) -> None:
        self.config = config or EstateConfig()
        self.subscription_id = subscription_id
        self.requests: Counter[str] = Counter()
        # the wire log, when a caller sets it to a list (`failover bench --evacuation --wire-log`): one entry per
        # request answered, (start, end) in time.time() seconds, route name, method, path, status
        self.wire: list[tuple[float, float, str, str, str, int]] | None = None
        self.created_at = utcnow()  # when the simulated resources were "created" (ARM systemData)
        self.lock = threading.RLock()
        self.regions = Regions(self.lock)  # the regions whose data planes are down (simulator.arm.Cloud)
        self.outage: Outage | None = None  # the regional outage the simulator plays (`set_outage`)
        self.faults = FaultState(self.config.time_scale, self.config.throttle, self.config.faults, self.config.latency)
        # the providers (each module's docstring says what it simulates)
        self.avd = DesktopVirtualization(self, subscription_id, self.created_at)
        self.site_recovery = SiteRecovery(self, self.config, self.source_down, self.replication_stopped_at)
        self.azure_local = AzureLocal(self, self.site_recovery)  # plugs into site_recovery (HyperVReplicaAzure)
        self.dns = Dns(self)
        self.sinks = Sinks(self, self.config)  # Event Grid topic, Teams webhooks
        self.dependencies = Dependencies(self, self.config.dependencies, self.avd)  # SQL, storage, VMs, webhooks
        self.network = Network(self, self.config, self.site_recovery, self.avd, self.dependencies)  # TM, Logs
        # VNets, gateways, NetApp, Backup; restored VMs are Compute's, network mappings ASR's
        self.sites = Sites(self, subscription_id, self.dependencies.compute, self.site_recovery)
        # quotas and capacity of the recovery region: Compute's VMs count, ASR's failover jobs bring VMs up against it
        self.capacity = Capacity(self.lock, lambda: list(self.dependencies.compute.vms.values()))
        self.site_recovery.capacity = self.capacity
        self.images = Images(self.lock)  # marketplace, gallery and managed images (`recovery: provision`)
        # a VM is created only with a size, image and subnet the region has (as Azure refuses them)
        self.dependencies.compute.admission = VmAdmission(
            subscription_id, self.capacity, self.images, self.sites.networking
        )

    # ---- the simulated clock (simulator.arm.Cloud) ------------------------------------------------------------
    @property
    def time_scale(self) -> float:
        return self.config.time_scale

    def scaled(self, simulated_seconds: float) -> timedelta:
        return timedelta(seconds=simulated_seconds / self.config.time_scale)

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
            (self.regions.down if down else self.regions.up)(region)
        if "avd" in outage.services:
            self.avd.apply_outage(outage, down)
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

    def replication_stopped_at(self, at: datetime) -> datetime | None:
        """When the outage stopped ASR's replication from the primary region, if it is down for ASR at `at`: the
        latest recovery point of a protected item is from before then."""
        outage = self.outage
        if outage is None or outage.key != region_key(PRIMARY_REGION) or "asr" not in outage.services:
            return None
        return outage.down_since(at)

    def region_down(self, region: str) -> None:
        """The region is down from now on, all of it (`Outage(region)`): its SQL and storage primaries are
        unreachable (`self.regions`), the session hosts of host pools there are `Unavailable` (AVD:
        "turned off or has failed critical health checks", so the service cannot route to them) - AVD still lists
        their sessions; a message or a log-off of one fails (500 `SessionHostNotReachable`, the simulator's own
        code: the agent cannot be reached) - and ASR's operations that need the source site fail."""
        self.set_outage(Outage(region))

    def region_up(self, region: str) -> None:
        """The region is back: the outage playing there ends."""
        with self.lock:
            if self.outage is not None and self.outage.key == region_key(region):
                self.set_outage(None)

    # ---- recovery capacity (simulator.providers.capacity) ------------------------------------------------------
    def set_vm_size(self, size: str, *vms: str) -> None:
        """The size these protected VMs come up with in the recovery region (`recoveryAzureVMSize`)."""
        with self.lock:
            for _, item in self._items(vms):
                item.size = size

    def set_public_ip(self, *vms: str) -> None:
        """These protected VMs get a public IP address on their recovery NIC."""
        with self.lock:
            for _, item in self._items(vms):
                item.public_ip = True

    def set_capacity_reservation_group(self, group_id: str | None, *vms: str) -> None:
        """These protected VMs come up in this capacity reservation group (`recoveryCapacityReservationGroupId`, as
        `estate.capacity.reserve` returns it; None: none)."""
        with self.lock:
            for _, item in self._items(vms):
                item.capacity_reservation_group = group_id

    def set_recovery_zone(self, zone: str, *vms: str) -> None:
        """These protected VMs come up in this availability zone of the recovery region (`recoveryAvailabilityZone`;
        "": none)."""
        with self.lock:
            for _, item in self._items(vms):
                item.recovery_zone = zone

    def _items(self, vms: tuple[str, ...]) -> list[tuple[RecoveryPlan, ProtectedItem]]:
        wanted = {vm.lower() for vm in vms}
        found = [(p, i) for p in self.recovery_plans.values() for i in p.items if i.vm_name.lower() in wanted]
        if len(found) != len(wanted):
            raise KeyError(f"not protected VMs: {sorted(wanted - {i.vm_name.lower() for _, i in found})}")
        return found

    # ---- inspection -------------------------------------------------------------------------------------------
    def snapshot(self) -> dict[str, Any]:
        """A JSON summary for `GET /_sim/state` and for tests."""
        with self.lock:
            self.site_recovery.refresh_jobs()
            return {
                "outage": self.outage.describe() if self.outage is not None else None,
                **self.avd.snapshot(),
                **self.site_recovery.snapshot(),
                **self.dns.snapshot(),
                "requests": dict(self.requests),
                "faults": self.faults.snapshot(),
            }

    # ---- the providers' state and operations, under the names callers use ------------------------------------
    @property
    def host_pools(self) -> dict[tuple[str, str], HostPool]:
        return self.avd.host_pools

    @property
    def logged_off(self) -> list[dict[str, Any]]:
        return self.avd.logged_off

    @property
    def recovery_plans(self) -> dict[tuple[str, str, str], RecoveryPlan]:
        return self.site_recovery.recovery_plans

    @property
    def jobs(self) -> dict[tuple[str, str, str], Job]:
        return self.site_recovery.jobs

    @property
    def record_sets(self) -> dict[tuple[str, str, str, str], RecordSet]:
        return self.dns.record_sets

    @property
    def events(self) -> list[dict[str, Any]]:
        return self.sinks.events

    @property
    def teams_messages(self) -> list[dict[str, Any]]:
        return self.sinks.teams_messages

    def host_pool(self, rg: str, name: str) -> HostPool:
        return self.avd.host_pool(rg, name)

    def session_host(self, rg: str, pool: str, name: str) -> SessionHost:
        return self.avd.session_host(rg, pool, name)

    def update_session_host(self, rg: str, pool: str, name: str, patch: dict[str, Any]) -> SessionHost:
        return self.avd.update_session_host(rg, pool, name, patch)

    def sessions_remaining(self) -> int:
        return self.avd.sessions_remaining()

    def recovery_plan(self, rg: str, vault: str, name: str) -> RecoveryPlan:
        return self.site_recovery.recovery_plan(rg, vault, name)

    def protected_items(self, rg: str, vault: str) -> list[tuple[RecoveryPlan, ProtectedItem]]:
        return self.site_recovery.protected_items(rg, vault)

    def item_rpo_seconds(self, item: ProtectedItem) -> int | None:
        return self.site_recovery.item_rpo_seconds(item)

    def start_failover(self, rg: str, vault: str, name: str, scenario: str, body: dict[str, Any]) -> Job:
        return self.site_recovery.start_failover(rg, vault, name, scenario, body)

    def start_test_failover(self, rg: str, vault: str, name: str, body: dict[str, Any]) -> Job:
        return self.site_recovery.start_test_failover(rg, vault, name, body)

    def refresh_jobs(self) -> None:
        self.site_recovery.refresh_jobs()

    def finish_running_jobs(self) -> None:
        """Make every running ASR job due now, so it ends on the next read (tests skip simulated waiting)."""
        self.site_recovery.finish_running_jobs()


# ---- the seeded demo estate ------------------------------------------------------------------
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
        estate.avd.seed_demo(sessions)  # host pool hp-weu-pooled and its sessions
        estate.site_recovery.seed_demo(vms)  # vault rsv-dr-neu: rp-identity, rp-data-NN, rp-apps-NN
        estate.dns.seed_demo()  # zone contoso.com
        estate.network.seed_demo()  # Traffic Manager profile tm-contoso-app, the Log Analytics workspace
        estate.dependencies.seed_demo()  # fg-contoso, stcontosofslogix, hp-neu-pooled standby VMs, webhook
        estate.sites.seed_demo()  # recovery VNet and gateway, ASR network mappings, NetApp volume, Backup item
        estate.images.seed_demo()  # the demo host pool template's marketplace image, in both regions
    return estate


def seed_recovery_plans(
    estate: Estate, vault: str, prefix: str, vms: int, per_plan: int = 40, resource_group: str = DEMO_ASR_RG
) -> list[str]:
    """Add `vms` protected VMs to the estate in recovery plans `{prefix}-NN` of at most `per_plan` VMs each, in the
    vault `resource_group`/`vault` (besides the demo vault, or instead of it): an estate of N plans x M VMs in
    several vaults for evacuations (tests/e2e/test_evacuation_eta.py, `failover bench --evacuation`). Returns the
    recovery plans' names."""
    if vms < 1 or per_plan < 1:
        raise ValueError("vms and per_plan must be >= 1")
    with estate.lock:
        return estate.site_recovery.seed_plans(resource_group, vault, prefix, vms, per_plan)
