"""The HTTP API contract of issue 4 on the local host: auth, planned failovers, listing, plans, health,
cancel, retry and skip of a failed recovery plan, Resolved alerts, Event Grid deliveries, and a storm of
identical alerts."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import requests

from local.stack import LocalStack
from tests.conftest import (
    REFERENCE,
    ROOT,
    approval_link,
    approve_as,
    finish,
    post_alert,
    run_status,
    wait_for,
    wait_waiting,
)

EXAMPLES = ROOT / "examples" / "alerts"
RESOLVED = EXAMPLES / "service-health-incident-westeurope-resolved.json"
A, B = "oncall-lead@contoso.com", "platform-owner@contoso.com"


def api(stack: LocalStack, method: str, path: str, **kwargs: Any) -> requests.Response:
    return stack.http.request(method, f"{stack.api_url}/api/{path}", timeout=30, **kwargs)


def start(stack: LocalStack, **body: Any) -> str:
    answer = api(stack, "POST", "failovers", json={"plan": "demo", "mode": "planned", **body})
    assert answer.status_code == 202, answer.text
    return str(answer.json()["instance_id"])


def failover_calls(stack: LocalStack) -> dict[str, int]:
    return {p["name"]: p["failover_calls"] for p in stack.estate.snapshot()["recovery_plans"]}


class TestAuthAndErrors:
    def test_function_key(self, make_stack: Any) -> None:
        stack = make_stack(vms=10, sessions=2)
        bare = requests.get(f"{stack.api_url}/api/plans", timeout=10)
        assert bare.status_code == 401 and bare.json()["error"]["code"] == "Unauthorized"
        wrong = requests.get(f"{stack.api_url}/api/plans", headers={"x-functions-key": "nope"}, timeout=10)
        assert wrong.status_code == 401
        by_query = requests.get(f"{stack.api_url}/api/plans", params={"code": stack.api_key}, timeout=10)
        assert by_query.status_code == 200  # how an Action Group calls .../api/alerts?code=...
        health = requests.get(f"{stack.api_url}/api/health", timeout=10)
        assert health.status_code == 200 and health.json()["status"] == "ok"
        unknown = api(stack, "GET", "nothing-here")
        assert unknown.status_code == 404 and "error" in unknown.json()
        wrong_method = api(stack, "DELETE", "plans")
        assert wrong_method.status_code == 405 and wrong_method.json()["error"]["code"] == "MethodNotAllowed"
        assert stack.estate.snapshot()["requests"] == {}

    def test_start_validation(self, make_stack: Any) -> None:
        stack = make_stack(vms=10, sessions=2)
        cases = [
            ({"plan": "nope", "mode": "planned"}, 404, "PlanNotFound", "plan"),
            ({"plan": "demo", "mode": "sideways"}, 422, "InvalidBody", "mode"),
            ({"plan": "demo", "mode": "planned", "colour": "red"}, 422, "InvalidBody", "colour"),
            ({"mode": "planned"}, 422, "InvalidBody", "plan"),
            ([1, 2], 422, "InvalidBody", "$"),
        ]
        for body, status, code, field in cases:
            answer = api(stack, "POST", "failovers", json=body)
            assert answer.status_code == status, (body, answer.text)
            error = answer.json()["error"]
            assert error["code"] == code and error["message"].startswith(field), (body, error)
        assert (
            api(stack, "POST", "failovers", data=b"{", headers={"Content-Type": "application/json"}).status_code == 400
        )
        assert api(stack, "POST", "failovers", data=b"x", headers={"Content-Type": "text/plain"}).status_code == 415
        assert api(stack, "GET", "failovers", params={"status": "sideways"}).status_code == 422
        assert api(stack, "GET", "failovers", params={"plan": "nope"}).status_code == 404
        assert api(stack, "GET", "failovers").json() == {"runs": []}  # nothing was started


class TestPlansAndRuns:
    def test_plans(self, make_stack: Any) -> None:
        stack = make_stack(vms=10, sessions=2)
        listing = api(stack, "GET", "plans").json()["plans"]
        assert [p["name"] for p in listing] == ["demo"] and listing[0]["primary_region"] == "westeurope"
        plan = api(stack, "GET", "plans/demo").json()
        assert plan["recovery_region"] == "northeurope" and plan["approval"]["approvers"] == [A, B]
        assert api(stack, "GET", "plans/other").status_code == 404

    def test_planned_failover_listed_and_deduplicated(self, make_stack: Any) -> None:
        stack = make_stack(vms=10, sessions=2)
        instance_id = start(stack, reason="move before the maintenance", requested_by="ops@contoso.com")
        again = api(stack, "POST", "failovers", json={"plan": "demo", "mode": "planned"})
        assert again.status_code == 202 and again.json()["deduplicated"] is True
        assert again.json()["instance_id"] == instance_id
        wait_waiting(stack, instance_id)
        running = api(stack, "GET", "failovers", params={"plan": "demo", "status": "running"}).json()["runs"]
        assert [r["instance_id"] for r in running] == [instance_id] and running[0]["stage"] == "awaiting approval"
        view = run_status(stack, instance_id)
        # the function key alone: the machine requested it, the body's name is an unverified claim (issue 21)
        assert view["mode"] == "planned" and view["requested_by"] == "function-key"
        assert view["requested_by_claim"] == "ops@contoso.com"
        assert view["reason"] == "move before the maintenance" and view["approval"]["waiting"] is True
        assert approve_as(A, approval_link(stack, instance_id)).status_code == 200
        done = finish(stack, instance_id)
        assert done["status"] == "Completed" and [s["name"] for s in done["steps"]][:4] == [
            "claim",
            "resolve",
            "capacity",
            "approval",
        ]
        assert api(stack, "GET", "failovers", params={"status": "running"}).json() == {"runs": []}
        completed = api(stack, "GET", "failovers", params={"status": "Completed"}).json()["runs"]
        assert [r["instance_id"] for r in completed] == [instance_id]


class TestCancel:
    def test_cancel_while_waiting_for_approval(self, make_stack: Any) -> None:
        stack = make_stack(vms=10, sessions=2)
        instance_id = start(stack)
        wait_waiting(stack, instance_id)
        answer = api(stack, "POST", f"failovers/{instance_id}/cancel", json={"reason": "false alarm"})
        assert answer.status_code == 202 and answer.json()["cancel_requested"] is True
        output = finish(stack, instance_id)["output"]
        assert output["status"] == "Cancelled" and output["operator"]["cancel"]["by"] == "api"
        assert sum(failover_calls(stack).values()) == 0 and stack.estate.snapshot()["sessions_remaining"] == 2
        assert api(stack, "POST", f"failovers/{instance_id}/cancel").status_code == 409  # it has ended
        assert api(stack, "POST", "failovers/failover-nope/cancel").status_code == 404

    def test_cancel_during_failover_starts_no_new_batch(self, make_stack: Any) -> None:
        """Five batches 10 minutes apart; a cancel after the first: its jobs finish, nothing else starts."""
        stack = make_stack(vms=450, sessions=2, time_scale=100.0)
        instance_id = start(stack)
        wait_waiting(stack, instance_id)
        assert approve_as(A, approval_link(stack, instance_id)).status_code == 200
        wait_for(lambda: run_status(stack, instance_id)["progress"]["batches_started"] >= 1, timeout=60)
        assert api(stack, "POST", f"failovers/{instance_id}/cancel", headers={"X-MS-CLIENT-PRINCIPAL-NAME": B})
        output = finish(stack, instance_id)["output"]
        assert output["status"] == "Cancelled" and output["operator"]["cancel"]["by"] == B
        started = [b for b in output["batches"]]
        assert 1 <= len(started) < 5 and all(b["status"] == "Succeeded" for b in started)  # watched to the end
        assert output["dns"] == []
        assert max(failover_calls(stack).values()) == 1


class TestRetryAndSkip:
    def _blocked(self, make_stack: Any) -> tuple[LocalStack, str]:
        stack = make_stack(vms=30, sessions=2, operator_wait="4h")
        stack.estate.config.failing_plans["rp-data-01"] = "The replication of VM vm-sql-01 is not healthy."
        instance_id = start(stack)
        wait_waiting(stack, instance_id)
        assert approve_as(A, approval_link(stack, instance_id)).status_code == 200
        status = wait_for(lambda: (s := run_status(stack, instance_id))["operator"]["blocked"] and s, timeout=60)
        assert status["operator"]["blocked"] == ["rp-data-01"] and status["stage"] == "awaiting operator"
        assert any("vm-sql-01 is not healthy" in e for e in status["errors"])
        return stack, instance_id

    def test_retry_a_failed_plan(self, make_stack: Any) -> None:
        stack, instance_id = self._blocked(make_stack)
        assert api(stack, "POST", f"failovers/{instance_id}/plans/rp-identity/retry").status_code == 409
        stack.estate.config.failing_plans.clear()  # the operator fixed replication
        answer = api(stack, "POST", f"failovers/{instance_id}/plans/rp-data-01/retry")
        assert answer.status_code == 202, answer.text
        output = finish(stack, instance_id)["output"]
        assert output["status"] == "Completed", output["errors"]
        assert failover_calls(stack)["rp-data-01"] == 2  # the failed attempt and the retry, nothing more
        assert {p["name"]: p["state"] for p in output["recovery_plans"]}["rp-data-01"] == "Succeeded"
        assert output["operator"]["actions"][0]["action"] == "retry" and output["dns"]

    def test_skip_a_failed_plan(self, make_stack: Any) -> None:
        stack, instance_id = self._blocked(make_stack)
        assert api(stack, "POST", f"failovers/{instance_id}/plans/rp-data-01/skip").status_code == 202
        output = finish(stack, instance_id)["output"]
        assert output["status"] == "CompletedWithErrors"
        assert output["operator"]["skipped"][0]["name"] == "rp-data-01"
        assert failover_calls(stack)["rp-data-01"] == 1
        assert all(calls == 1 for name, calls in failover_calls(stack).items() if name.startswith("rp-apps"))
        assert any("skipped by api" in e for e in output["errors"])


class TestResolvedAndEvents:
    def test_resolved_alert_cancels_a_run_awaiting_approval(self, make_stack: Any) -> None:
        stack = make_stack(vms=10, sessions=2)
        first = post_alert(stack)
        instance_id = first.json()["instance_id"]
        wait_waiting(stack, instance_id)
        answer = post_alert(stack, RESOLVED)
        assert answer.status_code == 200 and answer.json()["ignored"] is True
        assert answer.json()["recorded_on"] == [instance_id]
        output = finish(stack, instance_id)["output"]
        assert output["status"] == "Cancelled" and output["resolved"]["stage"] == "Resolved"
        assert sum(failover_calls(stack).values()) == 0
        messages = json.dumps(stack.estate.teams_messages)
        assert "the incident was resolved" in messages and "cancelled by alert" in messages
        types = [e["type"] for e in stack.estate.events]
        assert "Contoso.Failover.IncidentResolved" in types and types[-1] == "Contoso.Failover.RunCancelled"

    def test_resolved_alert_without_a_run(self, make_stack: Any) -> None:
        stack = make_stack(vms=10, sessions=2)
        answer = post_alert(stack, RESOLVED)
        assert answer.status_code == 200 and answer.json()["ignored"] is True and "recorded_on" not in answer.json()
        assert api(stack, "GET", "failovers").json() == {"runs": []}

    def test_event_grid_handshakes(self, make_stack: Any) -> None:
        stack = make_stack(vms=10, sessions=2)
        options = api(stack, "OPTIONS", "events", headers={"WebHook-Request-Origin": "eventgrid.azure.net"})
        assert options.status_code == 200 and options.headers["WebHook-Allowed-Origin"] == "eventgrid.azure.net"
        validation = json.loads((EXAMPLES / "eventgrid-subscription-validation.json").read_text())
        answer = api(stack, "POST", "events", json=validation)
        assert answer.status_code == 200 and answer.json() == {
            "validationResponse": validation[0]["data"]["validationCode"]
        }

    def test_resource_health_event_starts_a_run_for_its_scope(self, make_stack: Any) -> None:
        scope = "/subscriptions/5d3c0f34-7a2b-4e53-9d0e-1f2a3b4c5d6e/resourceGroups/rg-app-eus"
        stack = make_stack(vms=10, sessions=2, triggers={"regions": ["westeurope"], "resource_scopes": [scope]})
        event = EXAMPLES / "cloudevents-availability-degraded.json"
        answer = api(
            stack, "POST", "events", data=event.read_bytes(), headers={"Content-Type": "application/cloudevents+json"}
        )
        assert answer.status_code == 202, answer.text
        status = wait_waiting(stack, answer.json()["instance_id"])
        assert status["triggers"][0]["monitoring_service"] == "Resource Health"

    def test_other_events_are_ignored(self, make_stack: Any) -> None:
        stack = make_stack(vms=10, sessions=2)
        event = {"id": "1", "source": "/x", "type": "Contoso.Something", "specversion": "1.0", "data": {}}
        answer = api(stack, "POST", "events", json=event)
        assert answer.status_code == 200 and answer.json()["ignored"] is True
        broken = api(stack, "POST", "events", json={"specversion": "1.0"})
        assert broken.status_code == 422 and broken.json()["error"]["code"] == "InvalidEvent"


class TestAlertAnswers:
    def test_reference_samples(self, make_stack: Any) -> None:
        """The reference samples: the portal's test action and a Resolved metric alert start nothing."""
        stack = make_stack(vms=10, sessions=2)
        for path in sorted((REFERENCE / "alerts").glob("*.json")):
            answer = post_alert(stack, path)
            assert answer.status_code == 200 and answer.json()["ignored"] is True, (path.name, answer.text)
        for name in ("service-health-maintenance-eastus-westeurope.json", "legacy-service-health-incident-eastus.json"):
            answer = post_alert(stack, EXAMPLES / name)
            assert answer.status_code == 200 and answer.json()["ignored"] is True, (name, answer.text)
        assert api(stack, "GET", "failovers").json() == {"runs": []}

    def test_storm_of_identical_alerts(self, make_stack: Any) -> None:
        """200 concurrent copies of one Active incident: one run, every answer 202 with the same id. (The gate waits a
        week of plan time: at x600 the demo's 4 h would end it in 24 s, and a later copy would start a new run.)"""
        stack = make_stack(vms=10, sessions=2, approval={"required": 1, "approvers": [A, B], "timeout": "168h"})
        body = Path(EXAMPLES / "service-health-incident-westeurope.json").read_bytes()

        def send(_: int) -> requests.Response:
            with requests.Session() as session:
                return session.post(
                    f"{stack.api_url}/api/alerts",
                    data=body,
                    headers={"Content-Type": "application/json", "x-functions-key": str(stack.api_key)},
                    timeout=60,
                )

        with ThreadPoolExecutor(max_workers=32) as pool:
            answers = list(pool.map(send, range(200)))
        assert {a.status_code for a in answers} == {202}
        ids = {a.json()["instance_id"] for a in answers}
        assert len(ids) == 1 and next(iter(ids)).startswith("failover-demo-")
        assert sum(not a.json()["deduplicated"] for a in answers) == 1
        runs = api(stack, "GET", "failovers").json()["runs"]
        assert [r["instance_id"] for r in runs] == list(ids)
        status = wait_waiting(stack, next(iter(ids)))
        assert len(status["triggers"]) == 1  # the same alert, attached once


class TestPreview:
    def test_preview_endpoint_and_cli(self, make_stack: Any, capsys: Any) -> None:
        stack = make_stack(vms=60, sessions=2)
        answer = api(stack, "GET", "plans/demo/preview")
        assert answer.status_code == 200, answer.text
        document = answer.json()
        assert document["vms"] == 60 and document["estimates"] == "plan"
        assert document["rto_target_seconds"] == 7200 and document["eta_seconds"] > 0
        assert {b["group"] for b in document["batches"]} == {"identity", "data", "apps"}
        drill = api(stack, "GET", "plans/demo/preview", params={"mode": "test"}).json()
        assert drill["mode"] == "test" and drill["eta_seconds"] < document["eta_seconds"]
        assert api(stack, "GET", "plans/demo/preview", params={"mode": "sideways"}).status_code == 422
        assert api(stack, "GET", "plans/nope/preview").status_code == 404
        assert stack.estate.snapshot()["recovery_plans"][0]["failover_calls"] == 0  # a dry run changes nothing

        from local.cli import main

        assert main(["plan", "preview", str(stack.plan_path), "--json", "--vms", "60"]) == 0
        printed = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
        assert {"batches", "eta_seconds", "rto_target_seconds"} <= set(printed)
        assert printed["eta_seconds"] == document["eta_seconds"]

    def test_oversized_recovery_plan_and_empty_parameters_are_4xx(self, make_stack: Any) -> None:
        """A recovery plan over batch_size: 409 naming it (was a 500). `mode=`, `status=`, `format=` given empty:
        422, as the spec says (they were taken as absent)."""
        stack = make_stack(vms=60, sessions=2, batch_size=5)
        answer = api(stack, "GET", "plans/demo/preview")
        assert answer.status_code == 409 and answer.json()["error"]["code"] == "RecoveryPlanTooLarge"
        assert "exceed batch_size 5" in answer.json()["error"]["message"]
        empty_mode = api(stack, "GET", "plans/demo/preview", params={"mode": ""})
        assert empty_mode.status_code == 422 and empty_mode.json()["error"]["message"].startswith("mode:")
        empty_status = api(stack, "GET", "failovers", params={"status": ""})
        assert empty_status.status_code == 422 and empty_status.json()["error"]["message"].startswith("status:")
        empty_format = api(stack, "GET", "failovers/failover-demo-20261206T000000Z-0000/report", params={"format": ""})
        assert empty_format.status_code == 422 and empty_format.json()["error"]["message"].startswith("format:")


class TestReadiness:
    def test_readiness_warns_when_an_item_s_rpo_is_over_the_plan_s_target(self, make_stack: Any) -> None:
        from simulator import EstateConfig

        config = EstateConfig(time_scale=600.0, rpo_seconds={"vm-dc-0001": 1200.0})
        stack = make_stack(vms=20, sessions=2, estate_config=config, rpo_target="15m")
        checks = {c["name"]: c for c in api(stack, "GET", "plans/demo/readiness").json()["checks"]}
        assert checks["replication"]["status"] == "warn", checks["replication"]
        assert "RPO lag max 1200 s (rpo_target 900 s)" in checks["replication"]["message"]
        relaxed = make_stack(vms=20, sessions=2, estate_config=config, rpo_target="30m")
        checks = {c["name"]: c for c in api(relaxed, "GET", "plans/demo/readiness").json()["checks"]}
        assert checks["replication"]["status"] == "pass", checks["replication"]

    def test_readiness_warns_for_a_standby_host_off_longer_than_microsoft_s_90_days(self, make_stack: Any) -> None:
        """A standby session host deallocated for 100 days: its AVD registration is at risk (Microsoft: VMs off more
        than 90 days experience registration problems); readiness warns naming host, host pool and days off, on the
        endpoint and in the scheduled check. One off 89 days is not named."""
        import asyncio
        from datetime import timedelta

        from simulator.arm import utcnow

        stack = make_stack(vms=20, sessions=2)
        compute = stack.estate.dependencies.compute
        compute.powered_off_since("rg-avd-neu", "vm-avd-neu-2", utcnow() - timedelta(days=100, hours=1))
        compute.powered_off_since("rg-avd-neu", "vm-avd-neu-3", utcnow() - timedelta(days=89))
        answer = api(stack, "GET", "plans/demo/readiness").json()
        standby = {c["name"]: c for c in answer["checks"]}["standby"]
        assert answer["status"] == "warn" and standby["status"] == "warn", standby
        assert "host pool hp-neu-pooled: vm-avd-neu-2 (off 100 days)" in standby["message"]
        assert "more than 90 days" in standby["message"]
        assert "vm-avd-neu-3" not in standby["message"]

        client = stack.engine.client
        asyncio.run(stack.api.scheduled_readiness(client))
        output = client.wait_for_completion("readiness-demo", 30).output
        assert {c["name"]: c for c in output["checks"]}["standby"]["status"] == "warn"

        compute.powered_off_since("rg-avd-neu", "vm-avd-neu-2", utcnow() - timedelta(days=30))  # started lately
        standby = {c["name"]: c for c in api(stack, "GET", "plans/demo/readiness").json()["checks"]}["standby"]
        assert standby["status"] == "pass", standby

    def test_readiness_endpoint_and_schedule(self, make_stack: Any) -> None:
        import asyncio

        stack = make_stack(vms=20, sessions=2)
        answer = api(stack, "GET", "plans/demo/readiness")
        assert answer.status_code == 200, answer.text
        checks = {c["name"]: c for c in answer.json()["checks"]}
        assert answer.json()["status"] == "pass", checks
        assert set(checks) == {
            "recovery_plans",
            "test_failovers",
            "replication",
            "dns",
            "standby",
            "capacity",
            "approvals",
            "permissions",
        }
        assert "20/20 protected items healthy" in checks["replication"]["message"]
        assert "(rpo_target 900 s)" in checks["replication"]["message"]
        assert api(stack, "GET", "plans/nope/readiness").status_code == 404

        # The 30-minute timer: the first result is a change (from nothing), the same result again is not.
        client = stack.engine.client
        assert asyncio.run(stack.api.scheduled_readiness(client)) == ["readiness-demo"]
        first = client.wait_for_completion("readiness-demo", 30).output
        assert first["status"] == "pass" and first["published"] is True
        asyncio.run(stack.api.scheduled_readiness(client))
        second = client.wait_for_completion("readiness-demo", 30).output
        assert "published" not in second

        # A protected item goes unhealthy: readiness fails and the change is published.
        stack.estate.config.unhealthy_items = ("vm-dc-0001",)  # a domain controller of rp-identity
        asyncio.run(stack.api.scheduled_readiness(client))
        third = client.wait_for_completion("readiness-demo", 30).output
        assert third["status"] == "fail" and third["published"] is True
        assert "vm-dc-0001" in {c["name"]: c for c in third["checks"]}["replication"]["message"]
        types = [e["type"] for e in stack.estate.events]
        assert types.count("Contoso.Failover.ReadinessChanged") == 2
