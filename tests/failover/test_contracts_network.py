"""Contracts of the network and identity activities (failover.contracts.network)."""

from __future__ import annotations

import pytest
import yaml
from pydantic import ValidationError

from failover import contracts
from failover.contracts.network import (
    IdentityStatusInput,
    IdentityStatusResult,
    PreflightInput,
    PreflightResult,
    UnavailableDomainController,
)
from failover.plan import Plan
from local.stack import DEMO_PLAN
from tests.sites_plan import NETWORK_AND_IDENTITY


def demo() -> Plan:
    return Plan.model_validate({**yaml.safe_load(DEMO_PLAN.read_text()), **NETWORK_AND_IDENTITY})


def test_identity_request_is_the_activity_input() -> None:
    request = demo().identity_request("run-1")
    assert isinstance(request, IdentityStatusInput)
    assert request.instance_id == "run-1" and request.plan == demo().name
    assert [(d.name, d.location) for d in request.domain_controllers] == [("dc-onprem-01", "on_premises")]
    assert [(g.subscription_id, g.name) for g in request.gateways] == [(demo().subscription_id, "vgw-neu")]


def test_missing_or_empty_fields_are_named() -> None:
    with pytest.raises(ValidationError, match="domain_controllers"):
        IdentityStatusInput(workspace_id="w", domain_controllers=[])
    with pytest.raises(ValidationError, match="workspace_id"):
        IdentityStatusInput(workspace_id="", domain_controllers=[{"name": "dc-1"}])  # type: ignore[list-item]
    with pytest.raises(ValidationError, match="location"):
        IdentityStatusInput(workspace_id="w", domain_controllers=[{"name": "dc-1", "location": "moon"}])  # type: ignore[list-item]
    with pytest.raises(ValidationError, match="plan"):
        PreflightInput(instance_id="run-1")  # type: ignore[call-arg]


def test_round_trip() -> None:
    """The preflight input carries the whole plan and comes back as the same plan."""
    plan = demo()
    preflight = PreflightInput(instance_id="run-1", plan=plan)
    back = contracts.loads(contracts.dumps(preflight))
    assert back == preflight and back.plan == plan
    for model in (
        demo().identity_request(),
        IdentityStatusResult(
            available=["dc-neu-01"],
            unavailable=[
                UnavailableDomainController(name="dc-onprem-01", location="on_premises", reason="no Heartbeat")
            ],
            gateways_connected=False,
            checked_at="2026-01-01T00:00:00+00:00",
        ),
        PreflightResult(status="warn", checks=[{"name": "identity", "status": "warn", "message": "1/2"}]),  # type: ignore[list-item]
    ):
        assert contracts.loads(contracts.dumps(model)) == model
