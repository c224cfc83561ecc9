"""The demo's on-call engineer, as the local demos (`failover demo`, `--outage`, `--evacuation`) play it: the card's
approval link found in the Teams messages the simulator received, opened and submitted signed in as an approver
(`approve_as`, the way the tests approve runs too), the operator's answer when a run waits for one
(`play_operator`), and the end of a demo (`finish_demo`: the simulator's own counters added to the summary).
"""

from __future__ import annotations

import argparse
import json
import re
from html.parser import HTMLParser
from typing import TYPE_CHECKING, Any, TextIO

import requests

if TYPE_CHECKING:
    from local.stack import LocalStack

TERMINAL = {"Completed", "Failed", "Terminated"}


class _FormReader(HTMLParser):
    """Reads the confirm page's form as a browser would: its action and hidden inputs."""

    def __init__(self) -> None:
        super().__init__()
        self.action = ""
        self.fields: dict[str, str] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.action = values.get("action", "")
        elif tag == "input" and values.get("type") == "hidden":
            self.fields[values.get("name", "")] = values.get("value", "")


def find_approval_link(messages: list[dict[str, Any]], instance_id: str, title: str = "Approve") -> str | None:
    """The card's Action.OpenUrl with this title whose link belongs to this run."""
    for entry in reversed(messages):
        for attachment in entry["message"].get("attachments", []):
            for action in attachment.get("content", {}).get("actions", []):
                url = action.get("url", "")
                if action.get("title") == title and f"/api/approvals/{instance_id}?" in url:
                    return str(url)
    return None


def approve_as(approver: str, link: str, comment: str = "") -> requests.Response:
    """Open the link (confirm page, changes nothing), then submit its form signed in as `approver`."""
    page = requests.get(link, timeout=10)
    page.raise_for_status()
    form = _FormReader()
    form.feed(page.text)
    base = re.match(r"^https?://[^/]+", link)
    assert base is not None
    return requests.post(
        base.group(0) + form.action,
        data={**form.fields, "comment": comment},
        headers={"X-MS-CLIENT-PRINCIPAL-NAME": approver},
        timeout=10,
    )


def play_operator(stack: LocalStack, instance_id: str, status: dict[str, Any], out: TextIO) -> None:
    """What the on-call engineer does in the outage rehearsal when the run waits for an operator: force a
    dependency that can be forced (the primary cannot be reached: accept the data loss the card states),
    otherwise retry once, then skip."""
    operator = (status.get("custom_status") or {}).get("operator") or {}
    blocked, forceable = operator.get("blocked") or [], operator.get("forceable") or []
    if not blocked or status.get("stage") != "awaiting operator":
        return
    name = blocked[0]
    done = [a for a in operator.get("actions") or [] if a.get("recovery_plan") == name]
    action = "force" if name in forceable else "skip" if done else "retry"
    answer = stack.http.post(
        f"{stack.api_url}/api/failovers/{instance_id}/plans/{name}/{action}",
        headers={"X-MS-CLIENT-PRINCIPAL-NAME": stack.plan.approval.approvers[0]},
        timeout=30,
    )
    print(f"operator: {action} {name}: HTTP {answer.status_code}", file=out)


def finish_demo(stack: LocalStack, summary: dict[str, Any], args: argparse.Namespace, out: TextIO, show: Any) -> int:
    """Add the simulator's counters (and, in an outage, its own state of what the outage touched) to the summary,
    print it (one JSON line with `--json`, else `show`), and return the exit code: 0 when it Completed."""
    summary["simulator"] = stack.simulator_stats()
    if args.outage:
        summary["simulator"]["dependencies"] = stack.estate.dependencies.snapshot()
        state = stack.estate.snapshot()
        summary["simulator"].update({k: state[k] for k in ("recovery_plans", "outage", "sessions_remaining")})
    if args.json:
        print(json.dumps(summary))
    else:
        show(summary, out)
    return 0 if summary["status"] == "Completed" else 2
