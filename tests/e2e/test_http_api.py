"""The HTTP surface on the local host: alert answers, deduplication, and the approval gate's refusals."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qs, urlparse

import requests

from failover.approval import TokenClaims, sign
from local.stack import LocalStack
from tests.conftest import (
    REFERENCE,
    approval_link,
    approve_as,
    finish,
    post_alert,
    run_status,
    wait_waiting,
)


def started(stack: LocalStack) -> str:
    answer = post_alert(stack)
    assert answer.status_code == 202, answer.text
    instance_id = answer.json()["instance_id"]
    wait_waiting(stack, instance_id)
    return instance_id


def decide(stack: LocalStack, instance_id: str, body: dict[str, Any], approver: str | None) -> requests.Response:
    headers = {"X-MS-CLIENT-PRINCIPAL-NAME": approver} if approver else {}
    return requests.post(f"{stack.api_url}/api/approvals/{instance_id}", json=body, headers=headers, timeout=10)


class TestAlerts:
    def test_bad_input_is_4xx(self, make_stack: Any) -> None:
        stack = make_stack(vms=10, sessions=2)
        url = f"{stack.api_url}/api/alerts"
        malformed = stack.http.post(url, data=b"{not json", headers={"Content-Type": "application/json"}, timeout=10)
        assert malformed.status_code == 400 and malformed.json()["error"]["code"] == "MalformedJson"
        wrong_type = stack.http.post(url, data=b"x", headers={"Content-Type": "text/plain"}, timeout=10)
        assert wrong_type.status_code == 415
        too_big = stack.http.post(
            url, data=b" " * (256 * 1024 + 1), headers={"Content-Type": "application/json"}, timeout=10
        )
        assert too_big.status_code == 413
        schema = stack.http.post(url, json={"schemaId": "azureMonitorCommonAlertSchema", "data": {}}, timeout=10)
        assert schema.status_code == 422 and "data.essentials" in schema.json()["error"]["message"]
        assert stack.estate.snapshot()["requests"] == {}  # nothing reached Azure

    def test_resolved_sample_ignored(self, make_stack: Any) -> None:
        stack = make_stack(vms=10, sessions=2)
        answer = post_alert(stack, REFERENCE / "alerts" / "service-health-test-action.json")
        assert answer.status_code == 200 and answer.json()["ignored"] is True

    def test_drill_force_must_be_a_boolean(self, make_stack: Any) -> None:
        """`force: 0` started a drill (issue 21): the spec says boolean, 0 is refused and nothing starts."""
        stack = make_stack(vms=10, sessions=2)
        answer = stack.http.post(f"{stack.api_url}/api/drills", json={"plan": "demo", "force": 0}, timeout=10)
        assert answer.status_code == 422 and answer.json()["error"]["message"].startswith("force:"), answer.text
        assert stack.http.get(f"{stack.api_url}/api/failovers", timeout=10).json() == {"runs": []}

    def test_cost_budget_sample_ignored(self, make_stack: Any) -> None:
        """Microsoft's "Actual Cost Budget" sample sends monitorCondition null: 200 ignored, not 422."""
        stack = make_stack(vms=10, sessions=2)
        answer = post_alert(stack, REFERENCE / "alerts" / "cost-budget-actual.json")
        assert answer.status_code == 200 and answer.json()["ignored"] is True, answer.text

    def test_second_alert_attaches(self, make_stack: Any) -> None:
        stack = make_stack(vms=10, sessions=2)
        first = started(stack)
        again = post_alert(stack)
        assert again.status_code == 202
        assert again.json()["instance_id"] == first and again.json()["deduplicated"] is True


class TestApprovalGate:
    def test_refusals_and_single_use(self, make_stack: Any) -> None:
        """GET decides nothing; forged 403; not an approver 403; no identity 401; used link 409."""
        stack = make_stack(vms=10, sessions=2)
        instance_id = started(stack)
        link = approval_link(stack, instance_id)
        token = parse_qs(urlparse(link).query)["token"][0]

        page = requests.get(link, timeout=10)
        assert page.status_code == 200 and "<form" in page.text
        assert page.headers["Content-Security-Policy"].startswith("default-src 'none'")
        assert run_status(stack, instance_id)["custom_status"]["approval"]["waiting"] is True

        forged = sign("not-the-key", TokenClaims(instance_id, "approve", 4_000_000_000, "n"))
        assert (
            decide(stack, instance_id, {"token": forged, "decision": "approve"}, "oncall-lead@contoso.com").status_code
            == 403
        )
        assert (
            decide(stack, instance_id, {"token": token, "decision": "approve"}, "mallory@contoso.com").status_code
            == 403
        )
        assert decide(stack, instance_id, {"token": token, "decision": "approve"}, None).status_code == 401
        assert (
            decide(stack, instance_id, {"token": token, "decision": "maybe"}, "oncall-lead@contoso.com").status_code
            == 422
        )
        assert (
            decide(stack, instance_id, {"token": token, "decision": "reject"}, "oncall-lead@contoso.com").status_code
            == 403
        )  # an approve link cannot reject
        assert stack.estate.snapshot()["requests"].get("asr.recoveryplans.failover") is None

        assert approve_as("platform-owner@contoso.com", link).status_code == 200
        replay = decide(stack, instance_id, {"token": token, "decision": "approve"}, "platform-owner@contoso.com")
        assert replay.status_code == 409
        assert finish(stack, instance_id)["output"]["status"] == "Completed"
        assert "sig=" not in json.dumps(run_status(stack, instance_id))  # the webhook secret never shows

    def test_reject_changes_nothing(self, make_stack: Any) -> None:
        stack = make_stack(vms=10, sessions=4)
        instance_id = started(stack)
        answer = approve_as("oncall-lead@contoso.com", approval_link(stack, instance_id, "Reject"), "not yet")
        assert answer.status_code == 200
        output = finish(stack, instance_id)["output"]
        assert output["status"] == "Rejected"
        assert output["approvals"][0] | {"at": None} == {
            "approver": "oncall-lead@contoso.com",
            "decision": "reject",
            "at": None,
            "comment": "not yet",
        }
        state = stack.estate.snapshot()
        assert state["sessions_remaining"] == 4 and all(p["failover_calls"] == 0 for p in state["recovery_plans"])
        assert len(stack.estate.teams_messages) == 2  # the card, then who decided what

    def test_timeout_aborts(self, make_stack: Any) -> None:
        """No decision before approval.timeout → on_timeout: abort → Rejected, nothing touched."""
        stack = make_stack(
            vms=10,
            sessions=2,
            approval={
                "required": 1,
                "approvers": ["a@contoso.com", "b@contoso.com"],
                "timeout": "10m",
                "on_timeout": "abort",
            },
        )
        instance_id = started(stack)
        output = finish(stack, instance_id, timeout=30)["output"]
        assert output["status"] == "Rejected" and output["approvals"][0]["decision"] == "timeout"
        assert output["approvals"][0]["comment"].startswith("approval timed out")
        assert all(p["failover_calls"] == 0 for p in stack.estate.snapshot()["recovery_plans"])
