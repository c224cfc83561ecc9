"""Contracts of the Traffic Manager activities (activities/traffic.py)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, StrictInt, StrictStr, field_validator

from failover.contracts import ArmInput, Contract, NonEmpty

# Input spelling (any case) -> the ARM path segment / short type, as in the endpoint's `type`.
ENDPOINT_TYPES = {
    "azureendpoints": "azureEndpoints",
    "externalendpoints": "externalEndpoints",
    "nestedendpoints": "nestedEndpoints",
}
EndpointType = Literal["azureEndpoints", "externalEndpoints", "nestedEndpoints"]
EndpointStatus = Literal["Enabled", "Disabled"]


class TmProfileInput(ArmInput):
    """`tm_get_profile`: one Traffic Manager profile."""

    profile: NonEmpty


class TmEndpointInput(TmProfileInput):
    """`tm_set_endpoint`: one endpoint's status and/or priority (omitted: left as is), under the safety rule;
    `unhealthy_targets` are targets known to be down."""

    endpoint: NonEmpty
    endpoint_type: EndpointType  # any case on input (`ExternalEndpoints`), kept in ARM's spelling
    status: EndpointStatus | None = None
    priority: StrictInt | None = Field(default=None, ge=1, le=1000)
    unhealthy_targets: list[StrictStr] = Field(default_factory=list)

    @field_validator("endpoint_type", mode="before")
    @classmethod
    def _any_case(cls, value: Any) -> Any:
        if not isinstance(value, str) or value.lower() not in ENDPOINT_TYPES:
            raise ValueError(
                f"endpoint_type must be one of azureEndpoints, externalEndpoints, nestedEndpoints; got {value!r}"
            )
        return ENDPOINT_TYPES[value.lower()]


class TmEndpoint(Contract):
    """An endpoint as Traffic Manager reports it (`type` the short type, `target` its FQDN or resource id)."""

    name: str
    type: str
    status: str | None = None
    priority: int | None = None
    weight: int | None = None
    target: str | None = None
    monitor_status: str | None = None


class TmProfileResult(Contract):
    profile: str
    routing_method: str | None = None
    endpoints: list[TmEndpoint]


class TmEndpointState(Contract):
    status: str | None = None
    priority: int | None = None


class TmEndpointResult(Contract):
    """An endpoint's status and priority before and after; `changed` False when it already was as asked.
    `record` is `{profile}/{endpoint}`: a failback finds what to put back by it in the run's `dns`."""

    record: str
    # `from` on the wire; `from_` in Python (validation/serialization aliases keep `from_=` the keyword type
    # checkers see, where a plain `alias` would make it `from`).
    from_: TmEndpointState = Field(validation_alias="from", serialization_alias="from")
    to: TmEndpointState
    changed: bool
