"""The value types plan sections share: durations, region names, a resource reference, the frozen base model."""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field

_DURATION = re.compile(r"^\s*(?:(?P<h>\d+(?:\.\d+)?)h)?\s*(?:(?P<m>\d+(?:\.\d+)?)m)?\s*(?:(?P<s>\d+(?:\.\d+)?)s)?\s*$")
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

# What the service itself puts in every webhook call (activities.dependencies.webhook_invoke): a plan's `body`
# may not set them.
RESERVED_WEBHOOK_KEYS = ("instance_id", "plan", "step", "callback_url", "mode", "cleanup")


def _no_reserved_keys(body: dict[str, Any]) -> dict[str, Any]:
    clashes = sorted(set(body) & set(RESERVED_WEBHOOK_KEYS))
    if clashes:
        raise ValueError(f"may not set {', '.join(clashes)}: the service sends them with every call")
    return body


WebhookBody = Annotated[dict[str, Any], AfterValidator(_no_reserved_keys)]
Region = Annotated[str, BeforeValidator(lambda v: normalize_region(v) if isinstance(v, str) else v)]


def is_arm_id(value: str) -> bool:
    """Is `value` an ARM id (a subscription, a resource group or a resource; any case)? is_valid_resource_id
    takes an empty type segment (`.../providers/Microsoft.Compute//vm-1`): no ARM id has one."""
    from azure.mgmt.core.tools import is_valid_resource_id  # imported when a plan is validated (issue 22)

    return "//" not in value and bool(is_valid_resource_id(value))


def is_vnet_id(value: str) -> bool:
    """Is `value` a virtual network's ARM id (any case)?"""
    from azure.mgmt.core.tools import parse_resource_id

    if not is_arm_id(value):
        return False
    parts = parse_resource_id(value)
    return (
        "resource_group" in parts
        and "last_child_num" not in parts  # the network itself, not one of its subnets
        and str(parts.get("namespace", "")).lower() == "microsoft.network"
        and str(parts.get("type", "")).lower() == "virtualnetworks"
    )


def normalize_region(name: str) -> str:
    """ARM region name from either form: 'West Europe' and 'westeurope' both give 'westeurope'."""
    return re.sub(r"[\s_-]+", "", name.strip().lower())


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ResourceRef(_Model):
    resource_group: str = Field(min_length=1)
    name: str = Field(min_length=1)
    subscription_id: str | None = None
