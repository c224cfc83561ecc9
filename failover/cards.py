"""Teams messages: the approval Adaptive Card and the follow-up note. Pure builders, schema-tested.

Posted through a Teams Workflows webhook as `{"type": "message", "attachments": [{contentType:
application/vnd.microsoft.card.adaptive, content: card}]}`. Webhook cards cannot call back, so the
buttons are `Action.OpenUrl` links to the service's own confirm page (a GET never decides).
"""

from __future__ import annotations

from typing import Any

CARD_CONTENT_TYPE = "application/vnd.microsoft.card.adaptive"


def teams_message(card: dict[str, Any]) -> dict[str, Any]:
    return {"type": "message", "attachments": [{"contentType": CARD_CONTENT_TYPE, "contentUrl": None, "content": card}]}


def _duration(seconds: float) -> str:
    minutes = round(seconds / 60)
    return f"{minutes // 60} h {minutes % 60:02d} min" if minutes >= 60 else f"{minutes} min"


def approval_card(
    *,
    plan: str,
    mode: str,
    trigger: dict[str, Any] | None,
    primary_region: str,
    recovery_region: str,
    vms: int,
    recovery_plans: int,
    batches: int,
    sessions: int | None,
    expected_seconds: float,
    expires_at: str,
    approvers: list[str],
    approve_url: str,
    reject_url: str,
) -> dict[str, Any]:
    """The card an approver sees: what moves, why, how long it should take, and two links."""
    trigger = trigger or {}
    facts = [
        {"title": "Plan", "value": plan},
        {"title": "Mode", "value": mode},
        {"title": "From → to", "value": f"{primary_region} → {recovery_region}"},
        {"title": "Trigger", "value": str(trigger.get("title") or "requested by API")},
        {"title": "Regions", "value": ", ".join(trigger.get("regions") or []) or "-"},
        {"title": "Tracking id", "value": str(trigger.get("tracking_id") or "-")},
        {"title": "Scope", "value": f"{vms} VMs in {recovery_plans} recovery plans, {batches} batches"},
        {"title": "User sessions", "value": "counted after approval" if sessions is None else str(sessions)},
        {"title": "Expected duration", "value": _duration(expected_seconds)},
        {"title": "Link expires", "value": expires_at},
        {"title": "Approvers", "value": ", ".join(approvers) or "-"},
    ]
    return {
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": "1.5",
        "body": [
            {
                "type": "TextBlock",
                "text": f"Approval needed: fail over '{plan}' to {recovery_region}",
                "weight": "Bolder",
                "size": "Medium",
                "wrap": True,
            },
            {
                "type": "TextBlock",
                "text": "Users will be signed out of Azure Virtual Desktop and VMs failed over by Azure Site Recovery.",
                "wrap": True,
                "isSubtle": True,
            },
            {"type": "FactSet", "facts": facts},
        ],
        "actions": [
            {"type": "Action.OpenUrl", "title": "Approve", "url": approve_url, "style": "positive"},
            {"type": "Action.OpenUrl", "title": "Reject", "url": reject_url, "style": "destructive"},
        ],
    }


def decision_card(*, plan: str, outcome: str, decisions: list[dict[str, Any]], note: str = "") -> dict[str, Any]:
    """The follow-up after the gate closes: who decided what, when (or that it timed out)."""
    lines = [
        {
            "type": "TextBlock",
            "text": f"{d.get('approver') or 'timeout'}: {d['decision']} at {d['at']}"
            + (f" — {d['comment']}" if d.get("comment") else ""),
            "wrap": True,
        }
        for d in decisions
    ]
    return {
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": "1.5",
        "body": [
            {"type": "TextBlock", "text": f"Failover '{plan}': {outcome}", "weight": "Bolder", "wrap": True},
            *lines,
            *([{"type": "TextBlock", "text": note, "wrap": True, "isSubtle": True}] if note else []),
        ],
    }
