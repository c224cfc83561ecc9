"""Teams cards validate against Microsoft's Adaptive Card 1.5 schema and use only Action.OpenUrl."""

from __future__ import annotations

import json
from typing import Any

import pytest
from jsonschema import Draft6Validator

from failover.cards import approval_card, decision_card, teams_message
from tests.conftest import SHARED

SCHEMA = json.loads((SHARED / "adaptive-card-1.5.schema.json").read_text())


def validate(card: dict[str, Any]) -> None:
    errors = sorted(Draft6Validator(SCHEMA).iter_errors(card), key=lambda e: list(e.path))
    assert not errors, [f"{list(e.path)}: {e.message}" for e in errors]


@pytest.fixture
def card() -> dict[str, Any]:
    return approval_card(
        plan="demo",
        mode="unplanned",
        trigger={"title": "West Europe degraded", "regions": ["westeurope"], "tracking_id": "7KQ9-LZ8"},
        primary_region="westeurope",
        recovery_region="northeurope",
        vms=260,
        recovery_plans=9,
        batches=5,
        sessions=None,
        expected_seconds=3300,
        expires_at="2026-11-23T03:00:00Z",
        approvers=["a@contoso.com", "b@contoso.com"],
        approve_url="https://f.example/api/approvals/x?token=a",
        reject_url="https://f.example/api/approvals/x?token=r",
    )


def test_approval_card_is_valid(card: dict[str, Any]) -> None:
    validate(card)
    assert [a["type"] for a in card["actions"]] == ["Action.OpenUrl", "Action.OpenUrl"]
    assert [a["title"] for a in card["actions"]] == ["Approve", "Reject"]


def test_decision_card_is_valid() -> None:
    validate(
        decision_card(
            plan="demo",
            outcome="approved",
            decisions=[
                {"approver": "a@contoso.com", "decision": "approve", "at": "2026-11-23T02:30:00Z", "comment": "go"}
            ],
        )
    )


def test_message_envelope(card: dict[str, Any]) -> None:
    message = teams_message(card)
    assert message["type"] == "message"
    assert message["attachments"][0]["contentType"] == "application/vnd.microsoft.card.adaptive"
