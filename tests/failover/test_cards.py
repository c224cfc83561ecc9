"""Teams cards validate against Microsoft's Adaptive Card 1.5 schema and use only Action.OpenUrl."""

from __future__ import annotations

import json
from typing import Any

import pytest
from jsonschema import Draft6Validator

from failover.cards import approval_card, approval_card_from_input, decision_card, reminder_message, teams_message
from local.cli import find_approval_link
from tests.conftest import REFERENCE

SCHEMA = json.loads((REFERENCE / "adaptive-card-1.5.schema.json").read_text())


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


# ---- readiness, required approvals, requester, reason, reminder --------------------------------
URLS = {
    "approve_url": "https://f.example/api/approvals/x?token=a",
    "reject_url": "https://f.example/api/approvals/x?token=r",
}
CARD_INPUT: dict[str, Any] = {
    "instance_id": "x",
    "plan": "demo",
    "mode": "planned",
    "trigger": None,
    "primary_region": "westeurope",
    "recovery_region": "northeurope",
    "vms": 120,
    "recovery_plans": 4,
    "batches": 2,
    "sessions": None,
    "expected_seconds": 1500,
    "expires_at": "2026-11-23T03:00:00Z",
    "approvers": ["alice@contoso.com", "bob@contoso.com"],
    "nonce": "n",
}
READINESS: dict[str, Any] = {
    "protected_items": 120,
    "healthy": 118,
    "failed_over": 0,
    "unhealthy": [
        {"name": "vm-app-0007", "health": "Critical", "errors": ["E1: replication is not progressing"]},
        {"name": "vm-sql-0005", "health": "Warning", "errors": []},
    ],
    "unhealthy_total": 2,
    "max_rpo_seconds": 95.0,
    "checked_at": "2026-11-23T02:00:00+00:00",
}


def texts(card: dict[str, Any]) -> list[str]:
    return [block["text"] for block in card["body"] if block["type"] == "TextBlock"]


def facts(card: dict[str, Any]) -> dict[str, str]:
    return {f["title"]: f["value"] for block in card["body"] if block["type"] == "FactSet" for f in block["facts"]}


def test_optional_inputs_absent_render_nothing(card: dict[str, Any]) -> None:
    assert [b["type"] for b in card["body"]] == ["TextBlock", "TextBlock", "FactSet"]
    assert "Requested by" not in facts(card) and "Approvals needed" not in facts(card)
    assert facts(card)["Approvers"] == "a@contoso.com, b@contoso.com"
    assert not [t for t in texts(card) if t.startswith(("Reason", "Replication"))]
    bare = approval_card_from_input({"plan": "demo"}, **URLS)  # the orchestration's dict, nearly empty
    validate(bare)
    assert facts(bare)["Approvers"] == "-" and [a["title"] for a in bare["actions"]] == ["Approve", "Reject"]


def test_readiness_required_requester_reason() -> None:
    card = approval_card_from_input(
        {
            **CARD_INPUT,
            "readiness": READINESS,
            "required": 2,
            "requested_by": "carol@contoso.com",
            "reason": "Quarterly DR rehearsal",
        },
        **URLS,
    )
    validate(card)
    lines = texts(card)
    headline = next(t for t in lines if t.startswith("Replication:"))
    assert headline == "Replication: 118/120 healthy, RPO lag max 95 s"
    assert "- vm-app-0007 (Critical): E1: replication is not progressing" in lines
    assert "- vm-sql-0005 (Warning)" in lines
    assert "Reason: Quarterly DR rehearsal" in lines
    assert facts(card)["Approvals needed"] == "2 of alice@contoso.com, bob@contoso.com"
    assert "Approvers" not in facts(card)
    assert facts(card)["Requested by"] == "carol@contoso.com"
    block = next(b for b in card["body"] if b.get("text") == headline)
    assert block["color"] == "attention"  # a Critical item


def test_readiness_lists_at_most_five_and_counts_the_rest() -> None:
    unhealthy = [{"name": f"vm-{i}", "health": "Warning", "errors": [f"e{i}"]} for i in range(7)]
    readiness = {
        **READINESS,
        "healthy": 30,
        "protected_items": 40,
        "failed_over": 3,
        "unhealthy": unhealthy,
        "unhealthy_total": 7,
        "max_rpo_seconds": 2100,
    }
    card = approval_card(**_base(), readiness=readiness)
    validate(card)
    lines = texts(card)
    assert "Replication: 30/37 healthy, 3 already failed over, RPO lag max 35 min" in lines
    assert [t for t in lines if t.startswith("- vm-")] == [f"- vm-{i} (Warning): e{i}" for i in range(5)]
    assert "… and 2 more unhealthy" in lines


def test_all_healthy_and_unknown_rpo_are_good() -> None:
    card = approval_card(**_base(), readiness={"protected_items": 10, "healthy": 10, "max_rpo_seconds": None})
    validate(card)
    block = next(b for b in card["body"] if b.get("text", "").startswith("Replication"))
    assert block["text"] == "Replication: 10/10 healthy, RPO lag unknown" and block["color"] == "good"


@pytest.mark.parametrize(
    "readiness",
    [
        "not a dict",
        {},
        {"protected_items": "many", "healthy": None, "unhealthy": [None, {"health": "Critical"}, "x"]},
        {"protected_items": 0, "healthy": 0},
        {"error": "ASR answered 503"},
    ],
)
def test_malformed_readiness_does_not_break_the_card(readiness: Any) -> None:
    card = approval_card(**_base(), readiness=readiness, required="two", requested_by="", reason=None)  # type: ignore[arg-type]
    validate(card)
    if isinstance(readiness, dict) and readiness.get("error"):
        assert "Replication: not checked (ASR answered 503)" in texts(card)
    if readiness in ({"protected_items": 0, "healthy": 0},):
        assert "Replication: no protected items found" in texts(card)


def test_reminder_message() -> None:
    message = reminder_message(
        {**CARD_INPUT, "required": 2, "readiness": READINESS, "reason": "drill"},
        "2026-11-23T04:00:00Z",
        **URLS,
    )
    assert message["type"] == "message"
    attachment = message["attachments"][0]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    card = attachment["content"]
    validate(card)
    assert texts(card)[0] == "Approval still pending for plan 'demo'; the gate was extended until 2026-11-23T04:00:00Z"
    assert facts(card)["Approvals needed"] == "2 of alice@contoso.com, bob@contoso.com"
    assert "Replication: 118/120 healthy, RPO lag max 95 s" in texts(card)
    assert [(a["type"], a["title"], a["url"]) for a in card["actions"]] == [
        ("Action.OpenUrl", "Approve", URLS["approve_url"]),
        ("Action.OpenUrl", "Reject", URLS["reject_url"]),
    ]
    # the link finder the CLI and tests use finds the reminder's Approve link like the card's
    assert find_approval_link([{"message": message}], "x") == URLS["approve_url"]


def test_reminder_takes_links_from_the_input_and_renders_without_them() -> None:
    from_input = reminder_message({**CARD_INPUT, **URLS}, "soon")
    validate(from_input["attachments"][0]["content"])
    assert [a["title"] for a in from_input["attachments"][0]["content"]["actions"]] == ["Approve", "Reject"]
    bare = reminder_message({"plan": "demo"}, "2026-11-23T04:00:00Z")["attachments"][0]["content"]
    validate(bare)
    assert "actions" not in bare and facts(bare) == {
        "Plan": "demo",
        "Approvers": "-",
        "Gate extended until": "2026-11-23T04:00:00Z",
    }


def _base() -> dict[str, Any]:
    return {
        "plan": "demo",
        "mode": "unplanned",
        "trigger": None,
        "primary_region": "westeurope",
        "recovery_region": "northeurope",
        "vms": 40,
        "recovery_plans": 2,
        "batches": 1,
        "sessions": 12,
        "expected_seconds": 900,
        "expires_at": "2026-11-23T03:00:00Z",
        "approvers": ["a@contoso.com"],
        **URLS,
    }


def test_rpo_lag_against_the_plan_s_target() -> None:
    """The card says whether the worst RPO lag is within the plan's rpo_target, and warns when it is over."""
    within = approval_card_from_input({**CARD_INPUT, "readiness": {**READINESS, "rpo_target_seconds": 900}}, **URLS)
    assert "Replication: 118/120 healthy, RPO lag max 95 s (within the RPO target of 15 min)" in texts(within)
    healthy = {**READINESS, "unhealthy": [], "unhealthy_total": 0, "healthy": 120}
    over = approval_card_from_input(
        {**CARD_INPUT, "readiness": {**healthy, "max_rpo_seconds": 1800, "rpo_target_seconds": 900}}, **URLS
    )
    validate(over)
    block = next(b for b in over["body"] if str(b.get("text", "")).startswith("Replication:"))
    assert "RPO lag max 30 min (OVER the RPO target of 15 min)" in block["text"] and block["color"] == "warning"
