"""Failover plans: YAML files validated by pydantic, with errors that name the field and the line.

A plan names what to move and how: the regions, who approves, the AVD host pools to empty, the ASR
recovery plans in dependency groups (identity before data before apps), batch size and spacing,
and the DNS records to switch. See docs/plan-reference.md for every field.

One module per section of a plan (`triggers`, `approval`, `avd`, `asr`, `dns`, `dependencies`, `drill`,
`verify`, `network`, `backup`), the `Plan` itself in `model`, and reading plan files in `loading`; every
name is importable from `failover.plan`.
"""

from failover.plan.approval import Approval, ApprovalOverride, OnTimeout
from failover.plan.asr import Asr, Group, GroupAction, ReplicationProvider
from failover.plan.avd import Avd, AvdHostPool, HostPoolRef, Provision, Standby, UserMessage, VmSet
from failover.plan.backup import BackupTest
from failover.plan.dependencies import (
    Dependency,
    NetAppReplication,
    SqlFailoverGroup,
    StorageAccountFailover,
    WebhookAction,
)
from failover.plan.dns import Dns, DnsRecord, TrafficManagerEndpoint
from failover.plan.drill import Day, Drill, MaintenanceWindow
from failover.plan.fields import Duration, Region, ResourceRef, normalize_region, parse_duration
from failover.plan.loading import PlanError, load_plan, load_plans, parse_plan
from failover.plan.model import Plan
from failover.plan.network import DomainController, Identity, NetworkReadiness
from failover.plan.triggers import Triggers
from failover.plan.verify import Verify

__all__ = [
    "Approval",
    "ApprovalOverride",
    "Asr",
    "Avd",
    "AvdHostPool",
    "BackupTest",
    "Day",
    "Dependency",
    "Dns",
    "DnsRecord",
    "DomainController",
    "Drill",
    "Duration",
    "Group",
    "GroupAction",
    "HostPoolRef",
    "Identity",
    "MaintenanceWindow",
    "NetAppReplication",
    "NetworkReadiness",
    "OnTimeout",
    "Plan",
    "PlanError",
    "Provision",
    "Region",
    "ReplicationProvider",
    "ResourceRef",
    "SqlFailoverGroup",
    "Standby",
    "StorageAccountFailover",
    "TrafficManagerEndpoint",
    "Triggers",
    "UserMessage",
    "Verify",
    "VmSet",
    "WebhookAction",
    "load_plan",
    "load_plans",
    "normalize_region",
    "parse_duration",
    "parse_plan",
]
