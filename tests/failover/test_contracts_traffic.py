"""The Traffic Manager activities' contracts (failover/contracts/traffic.py)."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from failover import contracts
from failover.contracts.traffic import TmEndpointInput, TmEndpointResult, TmEndpointState, TmProfileInput

ENDPOINT = {"subscription_id": "s", "resource_group": "rg-dns", "profile": "tm-app", "endpoint": "weu"}


def test_missing_or_empty_ids_are_named() -> None:
    with pytest.raises(ValidationError, match="profile"):
        TmProfileInput(subscription_id="s", resource_group="rg-dns", profile="")
    with pytest.raises(ValidationError, match="endpoint_type"):
        TmEndpointInput.model_validate(ENDPOINT)


def test_endpoint_type_in_any_case_is_kept_in_arms_spelling() -> None:
    payload = TmEndpointInput.model_validate({**ENDPOINT, "endpoint_type": "ExternalEndpoints"})
    assert payload.endpoint_type == "externalEndpoints"
    with pytest.raises(ValidationError, match="endpoint_type must be one of"):
        TmEndpointInput.model_validate({**ENDPOINT, "endpoint_type": "cnameEndpoints"})


def test_round_trip_and_the_from_alias() -> None:
    payload = TmEndpointInput.model_validate(
        {**ENDPOINT, "endpoint_type": "externalEndpoints", "status": "Disabled", "unhealthy_targets": ["app-weu"]}
    )
    assert contracts.loads(contracts.dumps(payload)) == payload
    result = TmEndpointResult(
        record="tm-app/weu",
        from_=TmEndpointState(status="Enabled", priority=1),
        to=TmEndpointState(status="Disabled", priority=1),
        changed=True,
    )
    assert result.plain()["from"] == {"status": "Enabled", "priority": 1}
    assert contracts.loads(contracts.dumps(result)) == result
    assert TmEndpointResult.model_validate(result.plain()) == result
