"""Shared plumbing for activities: the client factory for the configured settings, and logging."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import structlog

from failover.clients import ClientFactory, factory_for
from failover.contracts import ActivityInput
from failover.retry import call_arm
from failover.settings import current

T = TypeVar("T")


def clients() -> ClientFactory:
    return factory_for(current())


def arm(fn: Callable[..., T], *args: Any, idempotent: bool, **kwargs: Any) -> T:
    """An SDK call with the retries the SDK does not make (`failover.retry.call_arm`), in simulated time."""
    return call_arm(fn, *args, idempotent=idempotent, time_scale=current().time_scale, **kwargs)


def log(payload: ActivityInput | dict[str, Any], step: str) -> Any:
    """The activity's logger, bound to its run, plan and step."""
    if isinstance(payload, dict):
        instance_id, plan = payload.get("instance_id"), payload.get("plan")
    else:
        instance_id, plan = payload.instance_id, payload.plan
    return structlog.get_logger("failover.activity").bind(instance_id=instance_id, plan=plan, step=step)
