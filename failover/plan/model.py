"""The plan: every section together, the checks across sections, and the activity payloads a plan names."""

from __future__ import annotations

from collections import OrderedDict
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field, field_validator, model_validator

from failover.contracts.asr import RecoveryPlanPatterns, ResolveRecoveryPlansInput
from failover.plan.approval import Approval
from failover.plan.asr import Asr, Group, ReplicationProvider
from failover.plan.avd import Avd, HostPoolRef, Standby
from failover.plan.backup import BackupTest
from failover.plan.dependencies import Dependency
from failover.plan.dns import Dns
from failover.plan.drill import Drill
from failover.plan.fields import Duration, Region, _Model
from failover.plan.network import Identity, NetworkReadiness
from failover.plan.triggers import Triggers
from failover.plan.verify import Verify

if TYPE_CHECKING:  # failover.contracts.network imports failover.plan (PreflightInput carries a Plan)
    from failover.contracts.network import IdentityStatusInput


class Plan(_Model):
    """A failover plan."""

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{0,62}$")
    description: str = ""
    subscription_id: str = Field(min_length=1)
    primary_region: Region
    recovery_region: Region
    rto_target: Duration = 3600.0
    # the data loss the plan accepts: readiness, the preview and the approval card compare each protected item's
    # current RPO (the age of its latest recovery point, ASR's replication details) against it
    rpo_target: Duration = 900.0
    # in an evacuation of its primary region (`failover evacuate`): tier 0 first (identity, shared data), and the
    # plans of the evacuation that must have failed over before this one starts
    tier: int = Field(default=1, ge=0, le=9)
    # a shortfall of the recovery region's quota for what the recovery plans will start: warn (on the card, the
    # run goes ahead) or block (the run is refused before anything is changed)
    capacity: Literal["warn", "block"] = "warn"
    after: list[str] = Field(default_factory=list)
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
    def trigger_subscriptions(self) -> frozenset[str]:
        """Subscriptions whose alerts may start this plan: `triggers.subscriptions`, else every one it names.
        Read for every plan on every alert: worked out once per plan object (a plan is frozen; a copy with
        changes is another object), as walking the plan's dump costs more than the rest of an alert's matching."""
        cached = _TRIGGER_SUBSCRIPTIONS.get(id(self))
        if cached is not None and cached[0] is self:
            return cached[1]
        found = _trigger_subscriptions(self)
        _TRIGGER_SUBSCRIPTIONS[id(self)] = (self, found)
        while len(_TRIGGER_SUBSCRIPTIONS) > 256:  # the plans a process has loaded; tests build many
            _TRIGGER_SUBSCRIPTIONS.popitem(last=False)
        return found

    @property
    def trigger_regions(self) -> list[str]:
        return self.triggers.regions or [self.primary_region]

    def group_of(self, recovery_plan: str) -> Group | None:
        """The first group whose names or patterns match this recovery plan."""
        return next((g for g in self.groups if g.matches(recovery_plan)), None)

    def provider_of_group(self, group: str) -> ReplicationProvider:
        """The replication provider of a group's recovery plans: the group's own, else the `asr` section's."""
        found = next((g for g in self.groups if g.name == group), None)
        return (found.replication_provider if found is not None else None) or self.asr.replication_provider


# id(plan) -> (the plan, its trigger subscriptions); holding the plan keeps its id from being reused
_TRIGGER_SUBSCRIPTIONS: OrderedDict[int, tuple[Plan, frozenset[str]]] = OrderedDict()


def _trigger_subscriptions(plan: Plan) -> frozenset[str]:
    if plan.triggers.subscriptions:
        return frozenset(s.strip().lower() for s in plan.triggers.subscriptions)
    found: set[str] = set()

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            for key, item in value.items():
                if key == "subscription_id" and isinstance(item, str) and item:
                    found.add(item.strip().lower())
                else:
                    walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    walk(plan.model_dump(exclude={"triggers"}))
    return frozenset(found)
