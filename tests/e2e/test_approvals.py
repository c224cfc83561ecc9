"""The approval gate on the real local engine with the simulator's Teams sink: quorum, requester rule,
timeout policies, the API path when Teams is down, racing replays, expired links, and no secret in logs."""

from __future__ import annotations

import json
import threading
from typing import Any
from urllib.parse import parse_qs, urlparse

import requests
from itsdangerous import URLSafeSerializer
from structlog.testing import capture_logs

from failover.approval import TokenClaims, sign
from failover.logs import configure_logging
from failover.settings import configure
from local.stack import LocalStack
from tests.conftest import approval_link, approve_as, finish, post_alert, run_status, wait_for, wait_waiting

A, B, C = "oncall-lead@contoso.com", "platform-owner@contoso.com", "dr-manager@contoso.com"


def started(stack: LocalStack) -> str:
    answer = post_alert(stack)
    assert answer.status_code == 202, answer.text
    instance_id = str(answer.json()["instance_id"])
    wait_waiting(stack, instance_id)
    return instance_id


def token_of(link: str) -> str:
    return parse_qs(urlparse(link).query)["token"][0]


def claims_of(token: str) -> dict[str, Any]:
    """The claims a token carries, unverified (the payload of an itsdangerous URL-safe token)."""
    return dict(URLSafeSerializer("unused").load_payload(token.rsplit(".", 1)[0].encode()))


def post_decision(stack: LocalStack, instance_id: str, token: str, decision: str, who: str | None) -> requests.Response:
    headers = {"X-MS-CLIENT-PRINCIPAL-NAME": who} if who else {}
    return requests.post(
        f"{stack.api_url}/api/approvals/{instance_id}",
        json={"token": token, "decision": decision},
        headers=headers,
        timeout=15,
    )


def api_decision(stack: LocalStack, instance_id: str, decision: str, who: str | None) -> requests.Response:
    headers = {"X-MS-CLIENT-PRINCIPAL-NAME": who} if who else {}
    return stack.http.post(
        f"{stack.api_url}/api/failovers/{instance_id}/approvals",
        json={"decision": decision, "comment": "via API"},
        headers=headers,
        timeout=15,
    )


def failover_calls(stack: LocalStack) -> int:
    return sum(p["failover_calls"] for p in stack.estate.snapshot()["recovery_plans"])


def gate(stack: LocalStack, instance_id: str) -> dict[str, Any]:
    return dict(run_status(stack, instance_id)["approval"])


class TestQuorum:
    def test_two_distinct_approvers(self, make_stack: Any) -> None:
        stack = make_stack(vms=10, sessions=2, approval={"required": 2, "approvers": [A, B, C], "timeout": "30m"})
        instance_id = started(stack)
        link = approval_link(stack, instance_id)
        assert approve_as(A, link, "first").status_code == 200
        state = gate(stack, instance_id)
        assert state["waiting"] is True and [d["approver"] for d in state["decisions"]] == [A]
        assert "nonce" not in state and "used" not in state  # not for display
        assert post_decision(stack, instance_id, token_of(link), "approve", A).status_code == 409  # A again
        assert failover_calls(stack) == 0  # one approval of two changes nothing
        assert approve_as(B, link, "second").status_code == 200
        output = finish(stack, instance_id)["output"]
        assert output["status"] == "Completed"
        assert [(d["approver"], d["decision"]) for d in output["approvals"]] == [(A, "approve"), (B, "approve")]

    def test_one_reject_ends_the_gate(self, make_stack: Any) -> None:
        stack = make_stack(vms=10, sessions=2, approval={"required": 2, "approvers": [A, B, C]})
        instance_id = started(stack)
        assert approve_as(A, approval_link(stack, instance_id)).status_code == 200
        assert approve_as(B, approval_link(stack, instance_id, "Reject"), "not a real outage").status_code == 200
        output = finish(stack, instance_id)["output"]
        assert output["status"] == "Rejected" and failover_calls(stack) == 0
        assert output["approvals"][-1]["comment"] == "not a real outage"
        follow_up = json.dumps(stack.estate.teams_messages[-1])
        assert "rejected by platform-owner@contoso.com" in follow_up

    def test_per_mode_override(self, make_stack: Any) -> None:
        """`approval.modes.unplanned.required: 2` applies to an unplanned run; the card says so."""
        stack = make_stack(
            vms=10, sessions=2, approval={"required": 1, "approvers": [A, B], "modes": {"unplanned": {"required": 2}}}
        )
        instance_id = started(stack)
        assert gate(stack, instance_id)["required"] == 2
        card = json.dumps(wait_for(lambda: stack.estate.teams_messages, timeout=10)[0])
        assert "2 of" in card or "Approvals needed" in card


def start_planned(
    stack: LocalStack, who: str | None = None, requested_by: str | None = None, reason: str | None = None
) -> requests.Response:
    """`POST /api/failovers` with the function key, signed in as `who` (the local host trusts the header)."""
    body = {"plan": "demo", "mode": "planned", "reason": reason, "requested_by": requested_by}
    return stack.http.post(
        f"{stack.api_url}/api/failovers",
        json={k: v for k, v in body.items() if v is not None},
        headers={"X-MS-CLIENT-PRINCIPAL-NAME": who} if who else {},
        timeout=15,
    )


class TestRequester:
    """Issue 21: the requester is the authenticated caller, never a body field."""

    def test_requester_cannot_approve_own_planned_failover(self, make_stack: Any) -> None:
        stack = make_stack(vms=10, sessions=2)
        answer = start_planned(stack, who=A, requested_by=A.upper(), reason="drill of the real thing")  # may repeat
        assert answer.status_code == 202, answer.text
        instance_id = answer.json()["instance_id"]
        wait_waiting(stack, instance_id)
        view = run_status(stack, instance_id)
        assert (
            view["requested_by"] == A
            and view["requested_by_claim"] is None
            and gate(stack, instance_id)["requested_by"] == A
        )
        link = approval_link(stack, instance_id)
        refused = post_decision(stack, instance_id, token_of(link), "approve", A)
        assert refused.status_code == 403 and refused.json()["error"]["code"] == "RequesterCannotApprove"
        refused = api_decision(stack, instance_id, "approve", A)
        assert refused.status_code == 403 and refused.json()["error"]["code"] == "RequesterCannotApprove"
        assert approve_as(B, link).status_code == 200
        output = finish(stack, instance_id)["output"]
        assert output["status"] == "Completed" and output["mode"] == "planned" and output["requested_by"] == A

    def test_signed_in_naming_someone_else_is_refused(self, make_stack: Any) -> None:
        """Signed in as B, the body says A: 403 naming the field, and nothing starts (any start route)."""
        stack = make_stack(vms=10, sessions=2)
        for path, body in [
            ("failovers", {"plan": "demo", "mode": "planned"}),
            ("drills", {"plan": "demo", "force": True}),
            ("drills/cleanup", {"plan": "demo"}),
            ("failbacks", {"plan": "demo"}),
        ]:
            answer = stack.http.post(
                f"{stack.api_url}/api/{path}",
                json={**body, "requested_by": A},
                headers={"X-MS-CLIENT-PRINCIPAL-NAME": B},
                timeout=15,
            )
            assert answer.status_code == 403, (path, answer.text)
            error = answer.json()["error"]
            assert error["code"] == "RequesterNotCaller" and error["message"].startswith("requested_by: "), path
            assert A in error["message"] and B in error["message"]
        assert stack.http.get(f"{stack.api_url}/api/failovers", timeout=10).json() == {"runs": []}

    def test_a_key_only_start_is_requested_by_the_function_key(self, make_stack: Any) -> None:
        """The function key alone, naming A in the body: the requester is the machine, A only an unverified claim,
        so A is not refused as the requester (A approves through the API, signed in)."""
        stack = make_stack(vms=10, sessions=2)
        answer = start_planned(stack, requested_by=A)
        assert answer.status_code == 202, answer.text
        instance_id = answer.json()["instance_id"]
        wait_waiting(stack, instance_id)
        view = run_status(stack, instance_id)
        assert view["requested_by"] == "function-key" and view["requested_by_claim"] == A
        assert gate(stack, instance_id)["requested_by"] == "function-key"
        card = json.dumps(wait_for(lambda: stack.estate.teams_messages, timeout=10)[0])
        assert f"function-key (says {A}: not verified)" in card
        approved = api_decision(stack, instance_id, "approve", A)
        assert approved.status_code == 200, approved.text
        output = finish(stack, instance_id)["output"]
        assert output["status"] == "Completed" and [d["approver"] for d in output["approvals"]] == [A]
        assert output["requested_by"] == "function-key" and output["requested_by_claim"] == A

    def test_allowed_when_the_plan_says_so(self, make_stack: Any) -> None:
        stack = make_stack(vms=10, sessions=2, approval={"required": 1, "approvers": [A, B], "allow_requester": True})
        answer = start_planned(stack, who=A)
        instance_id = answer.json()["instance_id"]
        wait_waiting(stack, instance_id)
        assert gate(stack, instance_id)["requested_by"] == A
        assert approve_as(A, approval_link(stack, instance_id)).status_code == 200
        assert finish(stack, instance_id)["output"]["status"] == "Completed"


class TestTimeoutPolicies:
    def test_proceed(self, make_stack: Any) -> None:
        stack = make_stack(vms=10, sessions=2, approval={"approvers": [A, B], "timeout": "5m", "on_timeout": "proceed"})
        instance_id = started(stack)
        output = finish(stack, instance_id)["output"]
        assert output["status"] == "Completed" and output["approvals"][0]["decision"] == "timeout"
        assert failover_calls(stack) > 0

    def test_escalate_then_abort(self, make_stack: Any) -> None:
        stack = make_stack(
            vms=10,
            sessions=2,
            approval={"approvers": [A, B], "timeout": "5m", "on_timeout": "escalate", "escalation_extension": "5m"},
        )
        instance_id = started(stack)
        output = finish(stack, instance_id)["output"]
        assert output["status"] == "Rejected" and failover_calls(stack) == 0
        assert [d["decision"] for d in output["approvals"]] == ["escalated", "timeout"]
        reminders = [m for m in stack.estate.teams_messages if m["workflow"] == "failover-escalation"]
        assert len(reminders) == 1 and "extended until" in json.dumps(reminders[0])

    def test_escalation_reminder_links_work(self, make_stack: Any) -> None:
        stack = make_stack(
            vms=10,
            sessions=2,
            approval={"approvers": [A, B], "timeout": "2m", "on_timeout": "escalate", "escalation_extension": "30m"},
        )
        instance_id = started(stack)
        wait_for(lambda: gate(stack, instance_id).get("escalated"), timeout=30)
        # the gate records `escalated` before the reminder activity posts: wait for the message itself
        reminder = wait_for(
            lambda: next((m for m in stack.estate.teams_messages if m["workflow"] == "failover-escalation"), None),
            timeout=30,
        )
        link = next(
            a["url"]
            for att in reminder["message"]["attachments"]
            for a in att["content"].get("actions", [])
            if a.get("title") == "Approve"
        )
        assert approve_as(B, link).status_code == 200
        assert finish(stack, instance_id)["output"]["status"] == "Completed"


class TestTokens:
    def test_expired_and_foreign_tokens(self, make_stack: Any) -> None:
        stack = make_stack(vms=10, sessions=2)
        instance_id = started(stack)
        nonce = claims_of(token_of(approval_link(stack, instance_id)))["n"]
        key = stack.settings.approval_signing_key
        expired = sign(key, TokenClaims(instance_id, "approve", 1_000_000_000, nonce))
        answer = post_decision(stack, instance_id, expired, "approve", A)
        assert answer.status_code == 410 and answer.json()["error"]["code"] == "TokenExpired"
        other_run = sign(key, TokenClaims("failover-other", "approve", 4_000_000_000, nonce))
        assert post_decision(stack, instance_id, other_run, "approve", A).status_code == 403
        stale_nonce = sign(key, TokenClaims(instance_id, "approve", 4_000_000_000, "an-old-gate"))
        assert post_decision(stack, instance_id, stale_nonce, "approve", A).status_code == 409
        for _ in range(3):  # link scanners and previews
            assert requests.get(approval_link(stack, instance_id), timeout=10).status_code == 200
        assert gate(stack, instance_id)["decisions"] == [] and failover_calls(stack) == 0

    def test_racing_replays_record_one(self, make_stack: Any) -> None:
        """Eight simultaneous POSTs of one link by one approver: exactly one is recorded (200), the rest 409."""
        stack = make_stack(vms=10, sessions=2, approval={"required": 2, "approvers": [A, B]})
        instance_id = started(stack)
        token = token_of(approval_link(stack, instance_id))
        answers: list[int] = []
        barrier = threading.Barrier(8)

        def post() -> None:
            barrier.wait()
            answers.append(post_decision(stack, instance_id, token, "approve", A).status_code)

        threads = [threading.Thread(target=post) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(answers) == [200] + [409] * 7
        assert [d["approver"] for d in gate(stack, instance_id)["decisions"]] == [A]
        assert run_status(stack, instance_id)["approval"]["waiting"] is True  # still needs B


class TestTeamsDown:
    def test_approve_through_the_api(self, make_stack: Any) -> None:
        stack = make_stack(vms=10, sessions=2, approval={"approvers": [A, B], "timeout": "4h"})
        configure(stack.settings.model_copy(update={"teams_webhook_url": f"{stack.simulator.url}/nowhere"}))
        instance_id = started(stack)
        status = wait_for(lambda: (s := run_status(stack, instance_id))["errors"] and s, timeout=30)
        assert "approval card not delivered to Teams" in status["errors"][0]
        assert "sig=" not in json.dumps(status)
        assert api_decision(stack, instance_id, "approve", None).status_code == 401
        assert api_decision(stack, instance_id, "approve", "mallory@contoso.com").status_code == 403
        assert api_decision(stack, instance_id, "approve", B).status_code == 200
        assert api_decision(stack, instance_id, "approve", B).status_code == 409
        output = finish(stack, instance_id)["output"]
        assert output["approvals"][0]["approver"] == B and output["approvals"][0]["comment"] == "via API"
        assert output["vms_failed_over"] == 10


class TestSecrets:
    def test_no_secret_in_logs_or_status(self, make_stack: Any) -> None:
        configure_logging("DEBUG", json_output=False)  # every level, whatever an earlier test configured
        with capture_logs() as logs:
            stack = make_stack(vms=10, sessions=2)
            instance_id = started(stack)
            link = approval_link(stack, instance_id)
            assert approve_as(A, link).status_code == 200
            finish(stack, instance_id)
        text = json.dumps(logs, default=str) + json.dumps(run_status(stack, instance_id))
        assert logs, "nothing was logged: the check would be empty"
        assert stack.settings.approval_signing_key not in text
        assert token_of(link) not in text
        teams_url = stack.settings.teams_webhook_url
        assert teams_url and teams_url.split("sig=")[1] not in text
        assert str(stack.settings.escalation_webhook_url).split("sig=")[1] not in text
