"""The readiness activity's contracts (failover/contracts/readiness.py)."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from failover import contracts
from failover.contracts.readiness import ReadinessInput, ReadinessResult
from failover.plan import load_plan
from local.stack import DEMO_PLAN


def test_plan_round_trips() -> None:
    """The whole plan travels in the input and comes back as the same plan."""
    payload = ReadinessInput(instance_id="readiness-demo", plan=load_plan(DEMO_PLAN))
    assert contracts.loads(contracts.dumps(payload)) == payload
    with pytest.raises(ValidationError, match="plan"):
        ReadinessInput.model_validate({"instance_id": "readiness-demo"})


def test_result_statuses() -> None:
    document = {
        "plan": "demo",
        "status": "warn",
        "checked_at": "2026-11-23T02:15:00Z",
        "checks": [{"name": "approvals", "status": "warn", "message": "only one approver listed"}],
    }
    result = ReadinessResult.model_validate(document)
    assert result.plain() == document
    assert contracts.loads(contracts.dumps(result)) == result
    with pytest.raises(ValidationError, match="status"):
        ReadinessResult.model_validate({**document, "status": "unknown"})
