"""Deterministic workflows, written once in the azure-functions-durable API and run on both hosts.

`ALL` maps orchestrator name → generator function; each module also exposes a `df.Blueprint`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from orchestrations import batch, failover, readiness

MODULES = (failover, batch, readiness)
ALL: dict[str, Callable[..., Any]] = {
    "failover_orchestrator": failover.failover_orchestrator,
    "batch_orchestrator": batch.batch_orchestrator,
    "readiness_orchestrator": readiness.readiness_orchestrator,
}
