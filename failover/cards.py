"""Teams messages: the approval Adaptive Card, its reminder and the follow-up note. Pure builders, schema-tested.

Posted through a Teams Workflows webhook as `{"type": "message", "attachments": [{contentType:
application/vnd.microsoft.card.adaptive, content: card}]}`. Webhook cards cannot call back, so the
buttons are `Action.OpenUrl` links to the service's own confirm page (a GET never decides).

Optional card inputs (`readiness`, `required`, `requested_by`, `reason`) render only when present; a
missing or malformed one renders nothing rather than failing the post.
"""

from __future__ import annotations

from typing import Any

from failover.card_capacity import capacity_blocks
from failover.card_capacity import number as _number

CARD_CONTENT_TYPE = "application/vnd.microsoft.card.adaptive"


def teams_message(card: dict[str, Any]) -> dict[str, Any]:
    return {"type": "message", "attachments": [{"contentType": CARD_CONTENT_TYPE, "contentUrl": None, "content": card}]}


UNHEALTHY_SHOWN = 5


def _duration(seconds: float) -> str:
    minutes = round(seconds / 60)
    return f"{minutes // 60} h {minutes % 60:02d} min" if minutes >= 60 else f"{minutes} min"


def _lag(seconds: float) -> str:
    return f"{round(seconds)} s" if seconds < 120 else _duration(seconds)


def _requester(requested_by: Any, claim: Any) -> str:
    """Who started the run; a key-only start's claimed name is shown as what it is: not verified."""
    return f"{requested_by} (says {claim}: not verified)" if claim else str(requested_by)


def _approvers_fact(approvers: list[str], required: Any) -> dict[str, str]:
    names = ", ".join(approvers) or "-"
    count = _number(required)
    if count is None or count < 1:
        return {"title": "Approvers", "value": names}
    return {"title": "Approvals needed", "value": f"{int(count)} of {names}"}


def _readiness(readiness: Any) -> list[dict[str, Any]]:
    """The readiness lines: `Replication: 118/120 healthy, RPO lag max 95 s`, then up to five unhealthy items."""
    if not isinstance(readiness, dict) or not readiness:
        return []
    if readiness.get("error"):
        text, color = f"Replication: not checked ({readiness['error']})", "warning"
        return [{"type": "TextBlock", "text": text, "wrap": True, "color": color, "separator": True}]
    total = int(_number(readiness.get("protected_items")) or 0)
    healthy = int(_number(readiness.get("healthy")) or 0)
    failed_over = int(_number(readiness.get("failed_over")) or 0)
    unhealthy = [u for u in readiness.get("unhealthy") or [] if isinstance(u, dict) and u.get("name")]
    unhealthy_total = max(
        int(_number(readiness.get("unhealthy_total")) or 0), len(unhealthy), total - failed_over - healthy
    )
    if total <= 0:
        text = "Replication: no protected items found"
    else:
        text = f"Replication: {healthy}/{total - failed_over} healthy"
        if failed_over:
            text += f", {failed_over} already failed over"
        rpo = _number(readiness.get("max_rpo_seconds"))
        text += f", RPO lag max {_lag(rpo)}" if rpo is not None else ", RPO lag unknown"
        target = _number(readiness.get("rpo_target_seconds"))
        if target is not None:
            over = rpo is not None and rpo > target
            text += f" ({'OVER' if over else 'within'} the RPO target of {_lag(target)})"
    worst = {str(u.get("health", "")).lower() for u in unhealthy}
    over_target = (_number(readiness.get("max_rpo_seconds")) or 0) > (
        _number(readiness.get("rpo_target_seconds")) or float("inf")
    )
    color = (
        "attention"
        if worst & {"critical", "missing", "unknown"}
        else "warning"
        if unhealthy_total or over_target
        else "good"
    )
    if total <= 0:
        color = "warning"  # nothing replicates: nothing would fail over
    blocks: list[dict[str, Any]] = [
        {"type": "TextBlock", "text": text, "wrap": True, "weight": "Bolder", "color": color, "separator": True}
    ]
    for entry in unhealthy[:UNHEALTHY_SHOWN]:
        errors = [str(e) for e in entry.get("errors") or [] if e]
        line = f"- {entry['name']} ({entry.get('health') or 'unknown'})" + (f": {errors[0]}" if errors else "")
        blocks.append({"type": "TextBlock", "text": line, "wrap": True, "spacing": "Small"})
    more = unhealthy_total - min(len(unhealthy), UNHEALTHY_SHOWN)
    if more > 0:
        blocks.append({"type": "TextBlock", "text": f"… and {more} more unhealthy", "wrap": True, "isSubtle": True})
    if readiness.get("checked_at"):
        blocks.append(
            {"type": "TextBlock", "text": f"Checked at {readiness['checked_at']}", "isSubtle": True, "size": "Small"}
        )
    return blocks


def _buttons(
    approve_url: str | None, reject_url: str | None, approve_without: tuple[str, list[str]] | None = None
) -> list[dict[str, Any]]:
    """Approve, (approve without the recovery plans that cannot fail over,) reject: Teams shows each as a button
    opening the confirm page of its signed link."""
    actions = []
    if approve_url:
        actions.append({"type": "Action.OpenUrl", "title": "Approve", "url": approve_url, "style": "positive"})
    if approve_without:
        url, names = approve_without
        title = f"Approve without {', '.join(names)}"
        actions.append({"type": "Action.OpenUrl", "title": title[:80], "url": url})
    if reject_url:
        actions.append({"type": "Action.OpenUrl", "title": "Reject", "url": reject_url, "style": "destructive"})
    return actions


def _card(body: list[dict[str, Any]], actions: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    card: dict[str, Any] = {
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": "1.5",
        "body": body,
    }
    if actions:
        card["actions"] = actions
    return card


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
    readiness: dict[str, Any] | None = None,
    required: int | None = None,
    requested_by: str | None = None,
    reason: str | None = None,
    requested_by_claim: str | None = None,
    host_pools: list[dict[str, Any]] | None = None,
    data_loss: list[dict[str, str]] | None = None,
    excludable: list[dict[str, str]] | None = None,
    approve_without_url: str | None = None,
    capacity: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The card an approver sees: what moves, why, how ready it is, how long it should take, and its links.

    `excludable` lists the recovery plans that cannot fail over as they are (`recovery_plan`, `why`, what
    `approving` does about it); with `approve_without_url` the card offers a third choice, approving without
    them (they are not failed over), besides approving (which deals with them first) and rejecting.

    `readiness` is `asr_replication_health`'s output; `required` the number of distinct approvals needed;
    `requested_by` who started a planned failover or drill through the API (`requested_by_claim`: the name a
    key-only start gave, shown as not verified); `reason` their stated reason;
    `host_pools` the sessions each host pool holds now (what approving signs out); `data_loss` each
    dependency's data-loss window; `capacity` the recovery region's quotas against what the plans start.
    """
    trigger = trigger if isinstance(trigger, dict) else {}
    facts = [
        {"title": "Plan", "value": plan},
        {"title": "Mode", "value": mode},
        {"title": "From → to", "value": f"{primary_region} → {recovery_region}"},
        {"title": "Trigger", "value": str(trigger.get("title") or "requested by API")},
        *([{"title": "Requested by", "value": _requester(requested_by, requested_by_claim)}] if requested_by else []),
        {"title": "Regions", "value": ", ".join(trigger.get("regions") or []) or "-"},
        {"title": "Tracking id", "value": str(trigger.get("tracking_id") or "-")},
        {"title": "Scope", "value": f"{vms} VMs in {recovery_plans} recovery plans, {batches} batches"},
        {"title": "User sessions", "value": _sessions(mode, sessions, host_pools or [])},
        *({"title": f"Data loss: {d.get('dependency')}", "value": str(d.get("bound"))} for d in data_loss or []),
        {"title": "Expected duration", "value": _duration(expected_seconds)},
        {"title": "Link expires", "value": expires_at},
        _approvers_fact(approvers, required),
    ]
    return _card(
        [
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
            *([{"type": "TextBlock", "text": f"Reason: {reason}", "wrap": True}] if reason else []),
            {"type": "FactSet", "facts": facts},
            *_excludable(excludable or []),
            *_readiness(readiness),
            *capacity_blocks(capacity, recovery_region),
        ],
        _buttons(
            approve_url,
            reject_url,
            (approve_without_url, [e["recovery_plan"] for e in excludable or []]) if approve_without_url else None,
        ),
    )


def _excludable(excludable: list[dict[str, str]]) -> list[dict[str, Any]]:
    """The recovery plans that cannot fail over as they are, and the three choices about them."""
    if not excludable:
        return []
    lines = [f"- **{e['recovery_plan']}**: {e.get('why', '')}. Approve: {e.get('approving', '')}." for e in excludable]
    return [
        {
            "type": "TextBlock",
            "text": "Recovery plans that cannot fail over as they are:\n" + "\n".join(lines),
            "wrap": True,
            "color": "Warning",
        },
        {
            "type": "TextBlock",
            "text": "Approve to deal with them first, approve without them to leave them out of the failover, "
            "or reject to abort.",
            "wrap": True,
            "isSubtle": True,
        },
    ]


def _sessions(mode: str, sessions: int | None, host_pools: list[dict[str, Any]]) -> str:
    """What approving does to users, counted before the decision."""
    if mode == "test":
        return "none signed out (a drill)"
    if sessions is None and not host_pools:
        return "no host pool in the plan" if mode in ("planned", "unplanned") else "-"
    pools = ", ".join(
        f"{p.get('host_pool')}: {p['sessions']}" if "sessions" in p else f"{p.get('host_pool')}: not counted"
        for p in host_pools
    )
    total = "not counted" if sessions is None else f"{sessions} signed out after approval"
    return f"{total} ({pools})" if pools else total


def approval_card_from_input(
    card_input: dict[str, Any], *, approve_url: str, reject_url: str, approve_without_url: str | None = None
) -> dict[str, Any]:
    """`approval_card` from the orchestration's card input dict (see `_approval_gate`), with signed links."""
    return approval_card(
        plan=str(card_input.get("plan", "")),
        mode=str(card_input.get("mode") or "unplanned"),
        trigger=card_input.get("trigger"),
        primary_region=str(card_input.get("primary_region") or ""),
        recovery_region=str(card_input.get("recovery_region") or ""),
        vms=int(card_input.get("vms") or 0),
        recovery_plans=int(card_input.get("recovery_plans") or 0),
        batches=int(card_input.get("batches") or 0),
        sessions=card_input.get("sessions"),
        expected_seconds=float(card_input.get("expected_seconds") or 0),
        expires_at=str(card_input.get("expires_at") or "-"),
        approvers=[str(a) for a in card_input.get("approvers") or []],
        approve_url=approve_url,
        reject_url=reject_url,
        readiness=card_input.get("readiness"),
        required=card_input.get("required"),
        requested_by=card_input.get("requested_by"),
        reason=card_input.get("reason"),
        requested_by_claim=card_input.get("requested_by_claim"),
        host_pools=card_input.get("host_pools"),
        data_loss=card_input.get("data_loss"),
        excludable=card_input.get("excludable"),
        approve_without_url=approve_without_url,
        capacity=card_input.get("capacity"),
    )


def reminder_message(
    card_input: dict[str, Any],
    extended_until: str,
    *,
    approve_url: str | None = None,
    reject_url: str | None = None,
    approve_without_url: str | None = None,
) -> dict[str, Any]:
    """The Teams message for the escalation webhook when the gate is extended: still pending, until when.

    Carries the approval card's Approve/Reject `Action.OpenUrl` buttons: pass the signed links (they must
    be valid until `extended_until`), or put them in `card_input` as `approve_url` / `reject_url`.
    """
    plan = str(card_input.get("plan") or "?")
    approvers = [str(a) for a in card_input.get("approvers") or []]
    facts = [
        {"title": "Plan", "value": plan},
        *([{"title": "Mode", "value": str(card_input["mode"])}] if card_input.get("mode") else []),
        *(
            [{"title": "From → to", "value": f"{card_input['primary_region']} → {card_input['recovery_region']}"}]
            if card_input.get("primary_region") and card_input.get("recovery_region")
            else []
        ),
        *(
            [
                {
                    "title": "Requested by",
                    "value": _requester(card_input["requested_by"], card_input.get("requested_by_claim")),
                }
            ]
            if card_input.get("requested_by")
            else []
        ),
        _approvers_fact(approvers, card_input.get("required")),
        {"title": "Gate extended until", "value": extended_until},
    ]
    reason = card_input.get("reason")
    card = _card(
        [
            {
                "type": "TextBlock",
                "text": f"Approval still pending for plan '{plan}'; the gate was extended until {extended_until}",
                "weight": "Bolder",
                "wrap": True,
            },
            *([{"type": "TextBlock", "text": f"Reason: {reason}", "wrap": True}] if reason else []),
            {"type": "FactSet", "facts": facts},
            *_excludable(card_input.get("excludable") or []),
            *_readiness(card_input.get("readiness")),
        ],
        _buttons(
            approve_url or card_input.get("approve_url"),
            reject_url or card_input.get("reject_url"),
            (approve_without_url, [e["recovery_plan"] for e in card_input.get("excludable") or []])
            if approve_without_url
            else None,
        ),
    )
    return teams_message(card)


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
    return _card(
        [
            {"type": "TextBlock", "text": f"Failover '{plan}': {outcome}", "weight": "Bolder", "wrap": True},
            *lines,
            *([{"type": "TextBlock", "text": note, "wrap": True, "isSubtle": True}] if note else []),
        ]
    )
