"""Deterministic workflows, written once in the azure-functions-durable API and run on both hosts.

`ALL` maps orchestrator name → generator function; each module also exposes a `df.Blueprint`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from orchestrations import backup_test, batch, failover, readiness

MODULES = (failover, batch, readiness, backup_test)
ALL: dict[str, Callable[..., Any]] = {
    "failover_orchestrator": failover.failover_orchestrator,
    "batch_orchestrator": batch.batch_orchestrator,
    "readiness_orchestrator": readiness.readiness_orchestrator,
    "backup_test_orchestrator": backup_test.backup_test_orchestrator,
}
