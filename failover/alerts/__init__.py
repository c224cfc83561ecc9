"""Azure Monitor alert payloads → one `Alert` value.

Accepts the common alert schema (Service Health, Resource Health, metric alerts with static or dynamic
thresholds, log search alerts V1 and V2, activity-log alerts, and anything else carrying `essentials`)
and the legacy activity-log webhook schema (`Microsoft.Insights/activityLogs`). Event Grid deliveries
(Resource Health availability events) are parsed by `failover.events` into the same `Alert`.
The `Alert` value and its error are in `failover.alerts.model`, the payloads' pydantic models in
`failover.alerts.parsing` (made of the field types in `failover.alerts.fields`); every name is importable
from `failover.alerts`.

Traps handled (see docs/triggers.md):
- `impactedServices` is an escaped JSON string in real notifications but an array from the portal's
  test action;
- `signalType` is spelled `ActivityLog` or `Activity Log` (compared without spaces), and is null in
  cost alerts; `monitoringService` likewise (`Resource Health` / `ResourceHealth`);
- the rule id is `alertRuleID` in the schema table but `alertRuleId` in Microsoft's sample; it may be absent;
- regions arrive as display names (`West Europe`) and are kept as ARM names (`westeurope`);
- `incidentType` is `Informational` in payloads but `Information` in some docs; when absent it is
  read from `operationName` (`Microsoft.ServiceHealth/<type>/action`);
- activity-log alerts are stateless: a Service Health or Resource Health *resolution* arrives with
  `monitorCondition: Fired` and says so in `stage`, `status` or `currentHealthStatus: Available`;
- Resource Health reports user-initiated downtime (`cause: UserInitiated`) too;
- ARM ids come in any case (`resourcegroups`, `microsoft.compute`): compare case-insensitively.
"""

from failover.alerts.model import (
    COMMON_SCHEMA,
    LEGACY_ACTIVITY_LOG_SCHEMA,
    RESOLVED_STAGES,
    Alert,
    AlertError,
    Criterion,
    ImpactedService,
    arm_id_key,
)
from failover.alerts.parsing import (
    AVAILABILITY_STATES,
    INCIDENT_TYPES,
    availability_state,
    parse_impacted_services,
)
from failover.alerts.schemas import parse_alert

__all__ = [
    "AVAILABILITY_STATES",
    "COMMON_SCHEMA",
    "INCIDENT_TYPES",
    "LEGACY_ACTIVITY_LOG_SCHEMA",
    "RESOLVED_STAGES",
    "Alert",
    "AlertError",
    "Criterion",
    "ImpactedService",
    "arm_id_key",
    "availability_state",
    "parse_alert",
    "parse_impacted_services",
]
