"""Failover plans: YAML files validated by pydantic, with errors that name the field and the line.

A plan names what to move and how: the regions, who approves, the AVD host pools to empty, the ASR
recovery plans in dependency groups (identity before data before apps), batch size and spacing,
and the DNS records to switch. See docs/plan-reference.md for every field.
"""

from __future__ import annotations

import fnmatch
import re
from datetime import UTC, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

import yaml
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, field_validator, model_validator

from failover.contracts import Mode
from failover.contracts.asr import RecoveryPlanPatterns, ResolveRecoveryPlansInput

if TYPE_CHECKING:  # failover.contracts.network imports this module (PreflightInput carries a Plan)
    from failover.contracts.network import IdentityStatusInput

_DURATION = re.compile(r"^\s*(?:(?P<h>\d+(?:\.\d+)?)h)?\s*(?:(?P<m>\d+(?:\.\d+)?)m)?\s*(?:(?P<s>\d+(?:\.\d+)?)s)?\s*$")
_VNET_ID = re.compile(
    r"^/subscriptions/[^/]+/resourceGroups/[^/]+/providers/Microsoft\.Network/virtualNetworks/[^/]+$", re.IGNORECASE
)
_ISO_DURATION = re.compile(r"^P(?:T(?:(?P<h>\d+(?:\.\d+)?)H)?(?:(?P<m>\d+(?:\.\d+)?)M)?(?:(?P<s>\d+(?:\.\d+)?)S)?)$")


def parse_duration(value: Any) -> float:
    """Seconds from `90`, `"90s"`, `"10m"`, `"1h30m"` or ISO 8601 `"PT10M"`."""
    if isinstance(value, bool):
        raise ValueError("a duration is a number of seconds or a string like '10m', '30s', 'PT10M'")
    if isinstance(value, int | float):
        seconds = float(value)
    elif isinstance(value, str) and value.strip():
        text = value.strip()
        match = _ISO_DURATION.match(text.upper()) if text.upper().startswith("P") else _DURATION.match(text)
        if not match or not any(match.groupdict().values()):
            raise ValueError(f"'{value}' is not a duration (use e.g. '10m', '30s', '1h', 'PT10M' or seconds)")
        parts = {k: float(v) if v else 0.0 for k, v in match.groupdict().items()}
        seconds = parts["h"] * 3600 + parts["m"] * 60 + parts["s"]
    else:
        raise ValueError("a duration is a number of seconds or a string like '10m', '30s', 'PT10M'")
    if seconds < 0:
        raise ValueError("a duration cannot be negative")
    return seconds


Duration = Annotated[float, BeforeValidator(parse_duration)]
Region = Annotated[str, BeforeValidator(lambda v: normalize_region(v) if isinstance(v, str) else v)]


def normalize_region(name: str) -> str:
    """ARM region name from either form: 'West Europe' and 'westeurope' both give 'westeurope'."""
    return re.sub(r"[\s_-]+", "", name.strip().lower())


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Triggers(_Model):
    """Which alerts start this plan (failover/policy.py, docs/triggers.md).

    Service Health notices match by region (default: the plan's primary region) and, if `services`
    is not empty, by impacted service; only incidents start a run unless an `include_*` flag opts in.
    Metric, log and Resource Health alerts match by `alert_rule_ids` or by a target resource inside one
    of `resource_scopes` (ARM ids, compared case-insensitively, path-prefix aware).
    """

    regions: list[Region] = Field(default_factory=list)
    services: list[str] = Field(default_factory=list)
    alert_rule_ids: list[str] = Field(default_factory=list)
    resource_scopes: list[str] = Field(default_factory=list)
    include_maintenance: bool = False  # Service Health Maintenance and Informational notices
    include_action_required: bool = False  # Service Health ActionRequired notices
    include_security: bool = False  # Service Health Security advisories

    @field_validator("alert_rule_ids", "resource_scopes")
    @classmethod
    def _arm_ids(cls, values: list[str]) -> list[str]:
        cleaned = [v.strip().rstrip("/") for v in values]
        wrong = [v for v in cleaned if not v.lower().startswith("/subscriptions/") or "//" in v]
        if wrong:
            raise ValueError(f"'{wrong[0]}' is not an ARM id (expected '/subscriptions/<id>/...')")
        return cleaned


OnTimeout = Literal["abort", "proceed", "escalate"]


class ApprovalOverride(_Model):
    """Per-mode overrides of the approval policy (e.g. two approvers for an unplanned failover)."""

    required: int | None = Field(default=None, ge=0, le=10)
    timeout: Duration | None = None
    on_timeout: OnTimeout | None = None
    allow_requester: bool | None = None


class Approval(_Model):
    """Who must approve a run before anything changes, and what an unanswered gate decides.

    `on_timeout`: `abort` (the run ends Rejected), `proceed` (the run goes on), or `escalate`
    (a reminder goes to the escalation webhook, the gate is extended once by `escalation_extension`,
    then aborts). `modes` overrides `required`, `timeout`, `on_timeout`, `allow_requester` per mode.
    """

    required: int = Field(default=1, ge=0, le=10)
    approvers: list[str] = Field(default_factory=list)
    timeout: Duration = 1800.0
    on_timeout: OnTimeout = "abort"
    escalation_extension: Duration | None = None  # default: the gate's timeout again
    allow_requester: bool = False  # may the person who requested a run approve it?
    cancel_on_resolved: bool = True  # a Resolved alert for the incident cancels a run still awaiting approval
    modes: dict[Mode, ApprovalOverride] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _enough_approvers(self) -> Approval:
        distinct = len({a.lower() for a in self.approvers})
        for label, required in [("approval.required", self.required)] + [
            (f"approval.modes.{mode}.required", o.required) for mode, o in self.modes.items() if o.required is not None
        ]:
            if required > distinct:
                raise ValueError(f"{label} is {required} but only {distinct} distinct approvers are listed")
        return self

    def for_mode(self, mode: str) -> Approval:
        """The effective policy of one mode: the plan's values with that mode's overrides applied."""
        override = self.modes.get(mode)  # type: ignore[call-overload]
        if override is None:
            return self.model_copy(update={"modes": {}})
        changes = {k: v for k, v in override.model_dump().items() if v is not None}
        return self.model_copy(update={**changes, "modes": {}})


class HostPoolRef(_Model):
    resource_group: str = Field(min_length=1)
    name: str = Field(min_length=1)
    subscription_id: str | None = None


class UserMessage(_Model):
    title: str = "Planned maintenance: please save your work"
    body: str = (
        "Your desktop is moving to our recovery region. Save your work and sign out; "
        "you will be signed out automatically in a few minutes."
    )


class Avd(_Model):
    host_pools: list[HostPoolRef] = Field(default_factory=list)
    message: UserMessage = Field(default_factory=UserMessage)
    grace_period: Duration = 300.0
    logoff_concurrency: int = Field(default=8, ge=1, le=64)


class Asr(_Model):
    resource_group: str = Field(min_length=1)
    vault: str = Field(min_length=1)
    subscription_id: str | None = None
    mode: Literal["planned", "unplanned"] = "unplanned"
    recovery_point_type: Literal[
        "Latest", "LatestProcessed", "LatestApplicationConsistent", "LatestCrashConsistent"
    ] = "Latest"
    source_site_operations: Literal["Required", "NotRequired"] = "NotRequired"
    job_poll_interval: Duration = 15.0  # first job read; then doubling up to job_poll_max
    job_poll_max: Duration = 60.0
    job_timeout: Duration = 3600.0  # per batch: a job still running then is reported TimedOut
    expected_job_duration: Duration = 900.0  # for the approval card's estimate and previews
    commit: bool = True  # commit each recovery plan after its failover succeeded
    expected_seconds_per_vm: Duration = 0.0  # preview: a job's estimate grows by this per VM
    expected_commit_duration: Duration = 60.0  # preview


class GroupAction(_Model):
    """A custom-action wave: call a webhook (e.g. an Automation runbook on a hybrid worker that fails a larger
    Azure Local site over with Hyper-V Replica) and wait for its completion callback or the timeout."""

    webhook: str = Field(min_length=1, description="settings name: FAILOVER_WEBHOOK_<NAME> holds the URL")
    body: dict[str, Any] = Field(default_factory=dict)
    timeout: Duration = 3600.0
    expected_duration: Duration = 1800.0  # preview: how long the action usually takes


class Group(_Model):
    """A wave: every recovery plan of a group (or its custom action) finishes before the next group starts.

    A group holds either ASR `recovery_plans` (names or glob patterns) or one custom `action`, so one plan can
    sequence ASR recovery plans (e.g. remote sites) and Hyper-V Replica runbooks (larger locations) in one order.
    """

    name: str = Field(min_length=1)
    recovery_plans: list[str] = Field(default_factory=list)
    action: GroupAction | None = None
    on_failure: Literal["stop", "continue"] = "stop"

    @model_validator(mode="after")
    def _plans_or_action(self) -> Group:
        if self.action is None and not self.recovery_plans:
            raise ValueError(f"group '{self.name}': list recovery_plans, or give a custom action")
        if self.action is not None and self.recovery_plans:
            raise ValueError(f"group '{self.name}': a group has recovery_plans or an action, not both")
        if self.action is not None and not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]{0,62}", self.name):
            raise ValueError(f"group '{self.name}': an action group's name is its callback step: use A-Z a-z 0-9 . _ -")
        return self

    @property
    def is_action(self) -> bool:
        return self.action is not None

    def matches(self, recovery_plan: str) -> bool:
        return any(fnmatch.fnmatchcase(recovery_plan.lower(), p.lower()) for p in self.recovery_plans)


class DnsRecord(_Model):
    resource_group: str = Field(min_length=1)
    zone: str = Field(min_length=1)
    name: str = Field(min_length=1)
    type: Literal["A", "CNAME"] = "CNAME"
    target: str = Field(min_length=1, description="The value in the recovery region (CNAME target or IPv4).")
    ttl: int = Field(default=60, ge=1, le=86400)
    subscription_id: str | None = None

    @model_validator(mode="after")
    def _ipv4_for_a(self) -> DnsRecord:
        if self.type == "A" and not re.fullmatch(r"(\d{1,3}\.){3}\d{1,3}", self.target):
            raise ValueError(f"target '{self.target}' is not an IPv4 address (record type A)")
        return self

    @property
    def label(self) -> str:
        return f"{self.name}.{self.zone} {self.type}"


class TrafficManagerEndpoint(_Model):
    """A Traffic Manager endpoint to change after failover (e.g. disable the primary's, promote the recovery's)."""

    resource_group: str = Field(min_length=1)
    profile: str = Field(min_length=1)
    endpoint: str = Field(min_length=1)
    endpoint_type: Literal["azureEndpoints", "externalEndpoints", "nestedEndpoints"] = "externalEndpoints"
    status: Literal["Enabled", "Disabled"] | None = None
    priority: int | None = Field(default=None, ge=1, le=1000)
    subscription_id: str | None = None

    @model_validator(mode="after")
    def _changes_something(self) -> TrafficManagerEndpoint:
        if self.status is None and self.priority is None:
            raise ValueError("set status and/or priority")
        return self

    @property
    def label(self) -> str:
        return f"{self.profile}/{self.endpoint}"


class Dns(_Model):
    records: list[DnsRecord] = Field(default_factory=list)
    traffic_manager: list[TrafficManagerEndpoint] = Field(default_factory=list)


class _Dependency(_Model):
    name: str = Field(min_length=1, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$")
    before_group: str | None = None  # run before this ASR group starts (default: before the first group)
    resource_group: str = ""
    subscription_id: str | None = None
    timeout: Duration = 1800.0


class SqlFailoverGroup(_Dependency):
    """Fail over an Azure SQL failover group ("if one of the apps is dependent on the SQL backend...")."""

    kind: Literal["sql_failover_group"]
    resource_group: str = Field(min_length=1)
    server: str = Field(min_length=1, description="the server in the recovery region (the secondary)")
    failover_group: str = Field(min_length=1)
    allow_data_loss: bool = False


class StorageAccountFailover(_Dependency):
    """Fail over a geo-redundant storage account (FSLogix profile containers on Azure Files)."""

    kind: Literal["storage_account"]
    resource_group: str = Field(min_length=1)
    account: str = Field(min_length=1)


class WebhookAction(_Dependency):
    """A custom action: call a webhook (e.g. an Automation runbook on a hybrid worker driving Hyper-V
    Replica on Azure Local) and wait for its completion callback or the timeout."""

    kind: Literal["webhook"]
    webhook: str = Field(min_length=1, description="settings name: FAILOVER_WEBHOOK_<NAME> holds the URL")
    body: dict[str, Any] = Field(default_factory=dict)


class NetAppReplication(_Dependency):
    """Break Azure NetApp Files cross-region replication so the destination volume, in the recovery region, becomes
    writable (FSLogix profile containers on Azure NetApp Files). Name the destination volume."""

    kind: Literal["netapp_replication"]
    resource_group: str = Field(min_length=1)
    account: str = Field(min_length=1, description="the NetApp account of the destination volume")
    pool: str = Field(min_length=1)
    volume: str = Field(min_length=1, description="the destination (data protection) volume")
    force: bool = False  # forceBreakReplication: break even while a transfer is running


Dependency = Annotated[
    SqlFailoverGroup | StorageAccountFailover | NetAppReplication | WebhookAction, Field(discriminator="kind")
]


class VmSet(_Model):
    resource_group: str = Field(min_length=1)
    names: list[str] = Field(min_length=1)
    subscription_id: str | None = None


class Standby(_Model):
    """Start deallocated session hosts in the recovery region and let them take new sessions."""

    vms: VmSet
    host_pool: HostPoolRef


Day = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
_DAYS: tuple[Day, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class MaintenanceWindow(_Model):
    """When drills may run: days of the week and a UTC time range (end may pass midnight)."""

    days: list[Day] = Field(default_factory=lambda: list(_DAYS))
    start: str = Field(pattern=r"^([01]\d|2[0-3]):[0-5]\d$")
    end: str = Field(pattern=r"^([01]\d|2[0-3]):[0-5]\d$")

    def contains(self, when: Any) -> bool:
        """`when`: an aware datetime. A window 22:00-04:00 on `sat` covers Saturday 22:00 to Sunday 04:00."""
        utc = when.astimezone(UTC)
        start = int(self.start[:2]) * 60 + int(self.start[3:])
        end = int(self.end[:2]) * 60 + int(self.end[3:])
        minute = utc.hour * 60 + utc.minute
        today = _DAYS[utc.weekday()]
        yesterday = _DAYS[(utc - timedelta(days=1)).weekday()]
        if start < end:
            return today in self.days and start <= minute < end
        return (today in self.days and minute >= start) or (yesterday in self.days and minute < end)


class Drill(_Model):
    """Test failover drills: the isolated network, when drills may run, and the monthly schedule."""

    network_id: str = Field(min_length=1, description="ARM id of the isolated virtual network for test VMs")
    networks: dict[str, str] = Field(default_factory=dict, description="recovery plan -> its own isolated network")
    windows: list[MaintenanceWindow] = Field(default_factory=list)  # empty: any time
    scheduled: bool = True  # include this plan in the monthly drill timer
    cleanup_comment: str = "Drill finished: test failover cleanup by the failover service"
    # A real failover asked for while a drill runs: cancel the drill (cleaned up), then fail over; or refuse.
    on_failover: Literal["cancel_drill", "refuse"] = "cancel_drill"

    def network_for(self, recovery_plan: str) -> str:
        return self.networks.get(recovery_plan, self.network_id)

    def allowed_at(self, when: Any) -> bool:
        return not self.windows or any(w.contains(when) for w in self.windows)


class Verify(_Model):
    """Health after failover, from Azure Monitor Logs: Heartbeat of the failed-over VMs and domain
    controllers, AVD agent health of the recovery host pool; polled until healthy or the deadline."""

    workspace_id: str = Field(min_length=1)
    domain_controllers: list[str] = Field(default_factory=list)
    host_pool: HostPoolRef | None = None
    heartbeat_minutes: int = Field(default=15, ge=1, le=1440)
    poll_interval: Duration = 60.0
    timeout: Duration = 900.0
    required_for_dns: bool = True  # an unhealthy verify leaves DNS and Traffic Manager untouched


class ResourceRef(_Model):
    resource_group: str = Field(min_length=1)
    name: str = Field(min_length=1)
    subscription_id: str | None = None


class NetworkReadiness(_Model):
    """The recovery region's network, checked by readiness and before a failover is proposed: the recovery VNet
    exists in the recovery region, each gateway (VPN or ExpressRoute) is provisioned with a Connected connection
    to on-premises, and the vault has ASR network mappings to the recovery VNet."""

    recovery_vnet: ResourceRef
    gateways: list[ResourceRef] = Field(default_factory=list)
    asr_network_mappings: bool = True  # the vault must map a primary network to recovery_vnet
    primary_networks: list[str] = Field(default_factory=list)  # ARM ids: each must be mapped to recovery_vnet

    @field_validator("primary_networks")
    @classmethod
    def _vnet_ids(cls, values: list[str]) -> list[str]:
        wrong = [v for v in values if not _VNET_ID.match(v.strip())]
        if wrong:
            raise ValueError(f"'{wrong[0]}' is not a virtual network's ARM id")
        return [v.strip() for v in values]


def _dc(value: Any) -> Any:
    return {"name": value} if isinstance(value, str) else value


class DomainController(_Model):
    name: str = Field(min_length=1, description="the computer name its Heartbeat reports")
    location: Literal["recovery", "on_premises"] = "recovery"


class Identity(_Model):
    """Domain controllers that must be available in or from the recovery region: a DC in the recovery region
    counts when it sends a Heartbeat; an on-premises DC when it sends a Heartbeat and a gateway of
    `network.gateways` is connected (the recovery VNet reaches it)."""

    domain_controllers: list[Annotated[DomainController, BeforeValidator(_dc)]] = Field(min_length=1)
    workspace_id: str | None = None  # default: verify.workspace_id
    heartbeat_minutes: int = Field(default=15, ge=1, le=1440)


class BackupTest(_Model):
    """A restore test (Azure Backup): restore a VM from its latest recovery point into an isolated network,
    check its Heartbeat, delete it, and report the restore time against `target`. Never touches the source VM."""

    vault: ResourceRef  # the Recovery Services vault that backs the VM up
    vm: ResourceRef  # the protected (production) VM
    network_id: str = Field(description="ARM id of the isolated virtual network for the restored VM")
    subnet: str = "default"
    staging_storage_account: str = Field(min_length=1, description="ARM id of the restore's staging storage account")
    target_resource_group: str = Field(min_length=1, description="where the restored VM is created (and deleted)")
    workspace_id: str | None = None  # default: verify.workspace_id
    target: Duration = 14400.0  # restore time objective
    timeout: Duration = 14400.0
    heartbeat_minutes: int = Field(default=15, ge=1, le=1440)
    scheduled: bool = True

    @field_validator("network_id")
    @classmethod
    def _network(cls, value: str) -> str:
        if not _VNET_ID.match(value.strip()):
            raise ValueError(f"'{value}' is not a virtual network's ARM id")
        return value.strip()


class Plan(_Model):
    """A failover plan."""

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{0,62}$")
    description: str = ""
    subscription_id: str = Field(min_length=1)
    primary_region: Region
    recovery_region: Region
    rto_target: Duration = 3600.0
    triggers: Triggers = Field(default_factory=Triggers)
    approval: Approval = Field(default_factory=Approval)
    avd: Avd = Field(default_factory=Avd)
    asr: Asr
    batch_size: int = Field(default=100, ge=1, le=100)
    batch_interval: Duration = 600.0
    operator_wait: Duration = 1800.0  # how long a stopped group waits for an operator's retry or skip
    groups: list[Group] = Field(min_length=1)
    dns: Dns = Field(default_factory=Dns)
    dependencies: list[Dependency] = Field(default_factory=list)
    standby: Standby | None = None
    verify: Verify | None = None
    drill: Drill | None = None
    network: NetworkReadiness | None = None
    identity: Identity | None = None
    backup_tests: list[BackupTest] = Field(default_factory=list)

    @field_validator("groups")
    @classmethod
    def _unique_groups(cls, groups: list[Group]) -> list[Group]:
        names = [g.name for g in groups]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"group names must be unique; repeated: {', '.join(duplicates)}")
        return groups

    @model_validator(mode="after")
    def _regions_differ(self) -> Plan:
        if self.primary_region == self.recovery_region:
            raise ValueError("primary_region and recovery_region must differ")
        return self

    @model_validator(mode="after")
    def _dependencies_name_groups(self) -> Plan:
        groups = {g.name for g in self.groups}
        names = [d.name for d in self.dependencies]
        if len(set(names)) != len(names):
            raise ValueError("dependencies: names must be unique")
        for dep in self.dependencies:
            if dep.before_group is not None and dep.before_group not in groups:
                raise ValueError(f"dependencies: '{dep.name}' names before_group '{dep.before_group}', not a group")
        steps = set(names) & {g.name for g in self.groups if g.is_action}
        if steps:
            raise ValueError(f"an action group and a dependency share the step name '{sorted(steps)[0]}'")
        if all(g.is_action for g in self.groups):
            raise ValueError("groups: at least one group must list ASR recovery_plans")
        return self

    @model_validator(mode="after")
    def _identity_reachable(self) -> Plan:
        if self.identity is not None:
            if not (self.identity.workspace_id or self.verify):
                raise ValueError("identity: set identity.workspace_id (or a verify section with workspace_id)")
            on_premises = [d.name for d in self.identity.domain_controllers if d.location == "on_premises"]
            if on_premises and not (self.network and self.network.gateways):
                raise ValueError(
                    f"identity: on-premises domain controller {on_premises[0]} is reached through the recovery "
                    "VNet's gateway: list it in network.gateways"
                )
        for test in self.backup_tests:
            if not (test.workspace_id or self.verify):
                raise ValueError("backup_tests: set workspace_id (or a verify section with workspace_id)")
        return self

    @property
    def asr_groups(self) -> list[Group]:
        return [g for g in self.groups if not g.is_action]

    @property
    def identity_workspace(self) -> str | None:
        if self.identity is None:
            return None
        return self.identity.workspace_id or (self.verify.workspace_id if self.verify else None)

    def identity_request(self, instance_id: str | None = None) -> IdentityStatusInput | None:
        """`identity_status`' input for the identity section (None without one)."""
        from failover.contracts.network import DomainControllerRef, GatewayRef, IdentityStatusInput

        if self.identity is None:
            return None
        gateways = [
            GatewayRef(subscription_id=g.subscription_id or self.subscription_id, resource_group=g.resource_group,
                       name=g.name)
            for g in (self.network.gateways if self.network else [])
        ]  # fmt: skip
        return IdentityStatusInput(
            instance_id=instance_id,
            plan=self.name,
            workspace_id=self.identity_workspace or "",
            minutes=self.identity.heartbeat_minutes,
            domain_controllers=[DomainControllerRef(name=d.name, location=d.location)
                                for d in self.identity.domain_controllers],
            gateways=gateways,
        )  # fmt: skip

    def vault_ref(self) -> dict[str, str]:
        """The Recovery Services vault, as every ASR activity's payload names it."""
        return {
            "subscription_id": self.asr.subscription_id or self.subscription_id,
            "resource_group": self.asr.resource_group,
            "vault": self.asr.vault,
        }

    def host_pool_ref(self, pool: HostPoolRef) -> dict[str, str]:
        """A host pool, as the AVD activities' payloads name it."""
        return {
            "subscription_id": pool.subscription_id or self.subscription_id,
            "resource_group": pool.resource_group,
            "host_pool": pool.name,
        }

    def resolve_request(self, instance_id: str | None = None) -> ResolveRecoveryPlansInput:
        """`asr_resolve_recovery_plans`' input: the vault and each group's names and patterns."""
        groups = [RecoveryPlanPatterns(name=g.name, recovery_plans=g.recovery_plans) for g in self.asr_groups]
        return ResolveRecoveryPlansInput(instance_id=instance_id, plan=self.name, **self.vault_ref(), groups=groups)

    @property
    def trigger_regions(self) -> list[str]:
        return self.triggers.regions or [self.primary_region]

    def group_of(self, recovery_plan: str) -> Group | None:
        """The first group whose names or patterns match this recovery plan."""
        return next((g for g in self.groups if g.matches(recovery_plan)), None)


class PlanError(ValueError):
    """A plan file failed validation. `errors` are `file:line: field: message` lines."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__("\n".join(errors))
        self.errors = errors


def _line_of(root: yaml.Node | None, loc: tuple[int | str, ...]) -> int | None:
    """Walk the composed YAML node tree along a pydantic error location; 1-based line."""
    node = root
    line = node.start_mark.line + 1 if node is not None else None
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            found = next(((k, v) for k, v in node.value if isinstance(k, yaml.ScalarNode) and k.value == part), None)
            if found is None:
                break
            key, node = found
            line = key.start_mark.line + 1
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            break
    return line


def parse_plan(text: str, source: str = "<plan>") -> Plan:
    """Validate plan YAML text. Raises PlanError naming the file, line and field of each problem."""
    try:
        root = yaml.compose(text)
        data = yaml.safe_load(text)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        line = f"{mark.line + 1}" if mark is not None else "?"
        raise PlanError([f"{source}:{line}: not valid YAML: {getattr(err, 'problem', err)}"]) from err
    if not isinstance(data, dict):
        raise PlanError([f"{source}:1: a plan must be a YAML mapping"])
    try:
        return Plan.model_validate(data)
    except ValidationError as err:
        lines = []
        for error in err.errors():
            loc = tuple(error["loc"])
            field = ".".join(str(p) for p in loc) or "(plan)"
            number = _line_of(root, loc)
            message = error["msg"].removeprefix("Value error, ")
            lines.append(f"{source}:{number or '?'}: {field}: {message}")
        raise PlanError(lines) from err


def load_plan(path: str | Path) -> Plan:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as err:
        raise PlanError([f"{path}: cannot read plan: {err.strerror}"]) from err
    return parse_plan(text, str(path))


def load_plans(directory: str | Path) -> dict[str, Plan]:
    """Every `*.yaml` / `*.yml` plan in a folder, by plan name. One bad file fails the whole load."""
    plans: dict[str, Plan] = {}
    errors: list[str] = []
    for path in sorted(Path(directory).glob("*.y*ml")):
        try:
            plan = load_plan(path)
        except PlanError as err:
            errors.extend(err.errors)
            continue
        if plan.name in plans:
            errors.append(f"{path}:1: name: plan name '{plan.name}' is used by another file")
        plans[plan.name] = plan
    if errors:
        raise PlanError(errors)
    return plans
