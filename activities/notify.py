"""Notification activities: CloudEvents to Event Grid, cards to a Teams Workflows webhook.

Neither secret (webhook URL, signing key) leaves this module: not in inputs, outputs or logs.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import quote

import azure.durable_functions as df
import requests
from azure.core.messaging import CloudEvent

from activities._common import clients, log
from failover import approval, cards
from failover.contracts.notify import (
    ApprovalCardInput,
    PublishEventInput,
    PublishEventResult,
    TeamsDecisionInput,
    TeamsPostResult,
    TeamsReminderResult,
)
from failover.run import parse_iso
from failover.settings import current


def publish_event(payload: PublishEventInput) -> PublishEventResult:
    """Publish one CloudEvent. The id is chosen by the orchestration, so a retry repeats the same event."""
    event = CloudEvent(
        source=payload.source,
        type=payload.type,
        subject=payload.subject,
        data=payload.data,
        id=payload.id,
        time=parse_iso(payload.time) if payload.time else None,
    )
    clients().event_grid().send([event])
    return PublishEventResult(published=1, id=payload.id)


def _post_to_teams(message: dict[str, Any], url: str | None = None) -> None:
    url = url or current().teams_webhook_url
    if not url:
        raise RuntimeError("FAILOVER_TEAMS_WEBHOOK_URL is not configured")
    response = requests.post(url, json=message, timeout=15, verify=clients().https_verify())
    if response.status_code >= 300:
        # The URL carries a signature: name the status, never the URL.
        raise RuntimeError(f"Teams webhook answered HTTP {response.status_code}")


def _link(
    instance_id: str, decision: approval.Decision, expires_at: datetime, nonce: str, exclude: list[str] | None = None
) -> str:
    settings = current()
    token = approval.sign(
        settings.approval_signing_key,
        approval.TokenClaims(instance_id, decision, int(expires_at.timestamp()), nonce, tuple(exclude or ())),
    )
    return f"{settings.public_base_url}/api/approvals/{quote(instance_id)}?token={token}"


def _approve_without(payload: ApprovalCardInput, expires: datetime) -> str | None:
    """The "approve without" link: approve, leaving out the recovery plans that cannot fail over as they are."""
    if not payload.excludable:
        return None
    names = [e["recovery_plan"] for e in payload.excludable]
    return _link(payload.instance_id, "approve", expires, payload.nonce, names)


def teams_post_approval_card(payload: ApprovalCardInput) -> TeamsPostResult:
    """Sign the approve/reject links for this run and post the approval card."""
    expires = parse_iso(payload.expires_at)
    card = cards.approval_card_from_input(
        payload.plain(),
        approve_url=_link(payload.instance_id, "approve", expires, payload.nonce),
        reject_url=_link(payload.instance_id, "reject", expires, payload.nonce),
        approve_without_url=_approve_without(payload, expires),
    )
    _post_to_teams(cards.teams_message(card))
    log(payload, "teams.approval").info("approval card posted")
    return TeamsPostResult(posted=True)


def teams_post_reminder(payload: ApprovalCardInput) -> TeamsReminderResult:
    """Escalation: the gate had no quorum in time and was extended once. Post a reminder with fresh links
    (valid until the new deadline) to the escalation webhook, or to the approvers' channel without one."""
    expires = parse_iso(payload.expires_at)
    message = cards.reminder_message(
        payload.plain(),
        payload.expires_at,
        approve_url=_link(payload.instance_id, "approve", expires, payload.nonce),
        reject_url=_link(payload.instance_id, "reject", expires, payload.nonce),
        approve_without_url=_approve_without(payload, expires),
    )
    escalation = current().escalation_webhook_url
    _post_to_teams(message, escalation)
    log(payload, "teams.reminder").info("approval reminder posted", escalation_webhook=bool(escalation))
    return TeamsReminderResult(posted=True, escalation_webhook=bool(escalation))


def teams_post_decision(payload: TeamsDecisionInput) -> TeamsPostResult:
    """Post the follow-up saying who decided what, when."""
    card = cards.decision_card(
        plan=payload.plan,
        outcome=payload.outcome,
        decisions=[d.plain() for d in payload.decisions],
        note=payload.note,
    )
    _post_to_teams(cards.teams_message(card))
    return TeamsPostResult(posted=True)


ACTIVITIES = [publish_event, teams_post_approval_card, teams_post_reminder, teams_post_decision]

bp = df.Blueprint()
for _activity in ACTIVITIES:
    bp.activity_trigger(input_name="payload")(_activity)
