"""Activities: one module per Azure service; each activity takes one typed input model and returns one typed
result model (`failover.contracts.<service>`), serialised the same on both hosts.

Each module registers its functions on its own `df.Blueprint` for Azure Functions; the local host
registers the same functions on durabletask. `ALL` maps activity name → function for both.

An activity imports the SDK models it sends, and `failover.clients` the SDK of each client, when first used:
importing an SDK's models imports its whole package (client and operations), so a worker's cold start
and the CLI import none of them (docs/performance.md, "Start-up: imports").
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from activities import (
    asr,
    avd,
    avd_provision,
    backup,
    capacity,
    dependencies,
    dns,
    netapp,
    network,
    notify,
    readiness,
    traffic,
    verify,
)
from failover.contracts import Contract

MODULES = (
    avd,
    avd_provision,
    asr,
    dns,
    notify,
    traffic,
    verify,
    dependencies,
    readiness,
    network,
    netapp,
    backup,
    capacity,
)
ALL: dict[str, Callable[[Any], Contract]] = {fn.__name__: fn for module in MODULES for fn in module.ACTIVITIES}
