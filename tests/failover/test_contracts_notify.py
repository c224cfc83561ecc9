"""The notification activities' contracts (failover/contracts/notify.py)."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from failover import contracts
from failover.contracts.notify import (
    ApprovalCardInput,
    ApprovalDecision,
    PublishEventInput,
    TeamsDecisionInput,
    TeamsReminderResult,
)

CARD: dict[str, Any] = {
    "instance_id": "failover-demo",
    "plan": "demo",
    "nonce": "n-1",
    "expires_at": "2026-11-23T02:45:00Z",
    "mode": "unplanned",
    "trigger": {"title": "West Europe", "regions": ["westeurope"]},
    "primary_region": "westeurope",
    "recovery_region": "northeurope",
    "vms": 120,
    "recovery_plans": 6,
    "batches": 2,
    "expected_seconds": 1800.0,
    "approvers": ["a@contoso.com", "b@contoso.com"],
    "required": 2,
    "readiness": {"protected_items": 120, "healthy": 118, "max_rpo_seconds": 95.0},
}


def test_missing_or_empty_ids_are_named() -> None:
    with pytest.raises(ValidationError, match="subject"):
        PublishEventInput(id="e-1", type="Contoso.Failover.Started", source="/failover/demo", subject="")
    with pytest.raises(ValidationError, match="nonce"):
        ApprovalCardInput.model_validate({k: v for k, v in CARD.items() if k != "nonce"})
    with pytest.raises(ValidationError, match="instance_id"):
        ApprovalCardInput.model_validate({**CARD, "instance_id": None})
    with pytest.raises(ValidationError, match="outcome"):
        TeamsDecisionInput(plan="demo", outcome="")


def test_secrets_have_no_field() -> None:
    """The webhook URL and the signing key never travel in an input (the activity reads its settings)."""
    with pytest.raises(ValidationError, match="approve_url"):
        ApprovalCardInput.model_validate({**CARD, "approve_url": "https://example.invalid/?sig=x"})


@pytest.mark.parametrize(
    "model",
    [
        PublishEventInput(
            instance_id="failover-demo",
            plan="demo",
            id="failover-demo:1",
            type="Contoso.Failover.Started",
            source="/failover/plans/demo/runs/failover-demo",
            subject="run",
            time="2026-11-23T02:15:00Z",
            data={"plan": "demo", "records": [{"record": "app", "from": "a", "to": "b"}]},
        ),
        ApprovalCardInput.model_validate(CARD),
        TeamsDecisionInput(
            plan="demo",
            outcome="rejected by b@contoso.com; nothing was changed",
            decisions=[ApprovalDecision(approver="b@contoso.com", decision="reject", at="2026-11-23T02:20:00Z")],
        ),
        TeamsReminderResult(posted=True, escalation_webhook=False),
    ],
)
def test_round_trip(model: contracts.Contract) -> None:
    assert contracts.loads(contracts.dumps(model)) == model


def test_reminder_keeps_the_card_with_a_new_deadline() -> None:
    card = ApprovalCardInput.model_validate(CARD)
    reminder = card.model_copy(update={"expires_at": "2026-11-23T03:15:00Z"})
    assert contracts.loads(contracts.dumps(reminder)).plain() == {**card.plain(), "expires_at": "2026-11-23T03:15:00Z"}
