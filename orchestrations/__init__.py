"""Deterministic workflows, written once in the azure-functions-durable API and run on both hosts.

`ALL` maps orchestrator name → generator function; `ENTITIES` maps entity name → its pure operation
(`failover.claims.apply`); each module also exposes a `df.Blueprint`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from failover import claims
from orchestrations import backup_test, batch, claim, evacuation, failover, readiness

MODULES = (failover, batch, readiness, backup_test, claim, evacuation)
ALL: dict[str, Callable[..., Any]] = {
    "failover_orchestrator": failover.failover_orchestrator,
    "batch_orchestrator": batch.batch_orchestrator,
    "readiness_orchestrator": readiness.readiness_orchestrator,
    "backup_test_orchestrator": backup_test.backup_test_orchestrator,
    "evacuation_orchestrator": evacuation.evacuation_orchestrator,
}
ENTITIES: dict[str, Callable[[dict[str, Any] | None, str, Any], tuple[dict[str, Any], Any]]] = {
    claims.ENTITY: claims.apply,
}
