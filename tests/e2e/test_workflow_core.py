"""The run model on the local engine (issue "Workflow core"), each observation judged by the simulator's state and
request log: a run id per run that stays readable, the plan's claim, callback URLs bound to one run, step and
call, unique CloudEvent ids and an event for every failback step, modes that do not absorb each other, Resolved
keyed by incident, a cancel honoured at every step, operator commands decided once, and outcomes as statuses."""

from __future__ import annotations

import asyncio
import json
import threading
from typing import Any
from urllib.parse import parse_qs, urlsplit

import azure.durable_functions as df
import pytest
import requests
import yaml

from failover.run import RUN_ID, new_run_id
from local.stack import DEMO_PLAN, LocalStack
from simulator.dependencies import DEMO_WEBHOOK
from tests.conftest import ROOT, approval_link, approve_as, finish, post_alert, run_status, wait_for, wait_waiting

A, B = "oncall-lead@contoso.com", "platform-owner@contoso.com"
# No test here waits for the approval to time out: 48 h is 288 s of wall clock at x600 (4 h, 24 s, ran out once on a
# loaded machine before a test's own decision came: the run ended Rejected)
ONE_APPROVER = {"required": 1, "approvers": [A, B], "timeout": "48h", "on_timeout": "abort"}
EXAMPLES = ROOT / "examples" / "alerts"
INCIDENT = json.loads((EXAMPLES / "service-health-incident-westeurope.json").read_text())
DEMO = yaml.safe_load(DEMO_PLAN.read_text())


def api(stack: LocalStack, method: str, path: str, **kwargs: Any) -> requests.Response:
    return stack.http.request(method, f"{stack.api_url}/api/{path}", timeout=30, **kwargs)


def failover_calls(stack: LocalStack) -> int:
    return sum(p["failover_calls"] for p in stack.estate.snapshot()["recovery_plans"])


def records(stack: LocalStack) -> dict[tuple[str, str], list[str]]:
    return {(r["name"], r["type"]): r["values"] for r in stack.estate.snapshot()["record_sets"]}


def incident(tracking_id: str, stage: str = "Active", title: str = "West Europe - Degraded") -> dict[str, Any]:
    """The sample Service Health incident with another tracking id (another incident) and stage."""
    alert = json.loads(json.dumps(INCIDENT))
    essentials, props = alert["data"]["essentials"], alert["data"]["alertContext"]["properties"]
    essentials["alertId"] = essentials["alertId"][:-8] + tracking_id.replace("-", "").lower()[:8].ljust(8, "0")
    props["trackingId"], props["stage"], props["title"] = tracking_id, stage, title
    if stage == "Resolved":
        alert["data"]["alertContext"]["status"] = "Resolved"
    return alert


def post(stack: LocalStack, alert: dict[str, Any]) -> requests.Response:
    return api(stack, "POST", "alerts", json=alert)


def claim_given_back(stack: LocalStack) -> bool:
    """The demo plan's claim is free: a run gives it back by a signal it sends as it ends, which the entity takes
    just after."""
    claim = asyncio.run(stack.engine.client.read_entity_state(df.EntityId("plan_claim", "demo")))
    return bool(claim.entity_exists and claim.entity_state["holder"] is None)


class TestRunIds:
    def test_a_rejected_run_stays_readable_after_the_next_run(self, make_stack: Any) -> None:
        stack = make_stack(vms=10, sessions=2, approval=ONE_APPROVER)
        first = post_alert(stack).json()["instance_id"]
        assert RUN_ID.match(first) and first.startswith("failover-demo-")
        wait_waiting(stack, first)
        assert approve_as(A, approval_link(stack, first, "Reject"), "not now").status_code == 200
        assert finish(stack, first)["status"] == "Rejected"
        wait_for(lambda: claim_given_back(stack), timeout=30)
        again = post_alert(stack).json()  # the same alert delivered again
        assert again["deduplicated"] is False and again["instance_id"] != first
        # The rejected run: status, report and listing still answer for it, by its own id.
        assert run_status(stack, first)["status"] == "Rejected"
        report = api(stack, "GET", f"failovers/{first}/report", params={"format": "json"}).json()
        assert report["instance_id"] == first and report["status"] == "Rejected" and report["rto"]["met"] is False
        listed = api(stack, "GET", "failovers", params={"status": "rejected"}).json()["runs"]
        assert [r["instance_id"] for r in listed] == [first]
        assert failover_calls(stack) == 0

    def test_a_run_started_in_the_second_of_an_ended_one_draws_another_id(
        self, make_stack: Any, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """The id's 4 hex digits are random within a second: a draw that an instance has is drawn again. Before,
        the engine replaced the ended run's history with the new run's."""
        stack = make_stack(vms=10, sessions=2, approval=ONE_APPROVER)
        stack.api.clock = lambda: 1_795_000_000.0
        draws = iter(["aaaa", "aaaa", "bbbb"])
        monkeypatch.setattr(
            "failover.api.runs.new_run_id", lambda plan, mode, at: new_run_id(plan, mode, at, next(draws))
        )
        first = post_alert(stack).json()["instance_id"]
        assert first == "failover-demo-20261118T110640Z-aaaa"
        wait_waiting(stack, first)
        assert approve_as(A, approval_link(stack, first, "Reject"), "not now").status_code == 200
        assert finish(stack, first)["status"] == "Rejected"
        wait_for(lambda: claim_given_back(stack), timeout=30)
        second = api(stack, "POST", "failovers", json={"plan": "demo", "mode": "planned"}).json()["instance_id"]
        assert second == "failover-demo-20261118T110640Z-bbbb"
        assert run_status(stack, first)["status"] == "Rejected"
        assert run_status(stack, second)["mode"] == "planned"

    def test_one_active_run_per_plan_under_concurrent_requests(self, make_stack: Any) -> None:
        """24 planned failovers asked for at once: one run holds the plan's claim, every answer names it."""
        stack = make_stack(vms=10, sessions=2, approval=ONE_APPROVER)
        answers: list[requests.Response] = []
        lock = threading.Lock()

        def ask() -> None:
            answer = requests.post(
                f"{stack.api_url}/api/failovers",
                json={"plan": "demo", "mode": "planned"},
                headers={"x-functions-key": str(stack.api_key)},
                timeout=60,
            )
            with lock:
                answers.append(answer)

        threads = [threading.Thread(target=ask) for _ in range(24)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert {a.status_code for a in answers} == {202}
        ids = {a.json()["instance_id"] for a in answers}
        assert len(ids) == 1 and sum(not a.json()["deduplicated"] for a in answers) == 1
        listed = api(stack, "GET", "failovers").json()["runs"]  # the refused runs were purged
        assert [r["instance_id"] for r in listed] == list(ids)


class TestCallbacks:
    PLAN = {
        "groups": [
            DEMO["groups"][0],
            {"name": "azlocal-sites", "action": {"webhook": "hyperv-replica", "body": {}, "timeout": "4h"}},
            *DEMO["groups"][1:],
        ],
        "approval": ONE_APPROVER,
    }

    def test_a_callback_url_completes_one_step_of_one_run_once(self, make_stack: Any) -> None:
        stack = make_stack(vms=10, sessions=2, **self.PLAN)
        stack.estate.dependencies.webhooks[DEMO_WEBHOOK].call_back = False
        first = post_alert(stack).json()["instance_id"]
        approve_as(A, approval_link(stack, first))
        wait_for(lambda: stack.estate.dependencies.webhook_calls)
        url = stack.estate.dependencies.webhook_calls[0].body["callback_url"]
        token = parse_qs(urlsplit(url).query)["token"][0]
        ok = requests.post(url, json={"status": "Succeeded", "output": "ok"}, timeout=10)
        assert ok.status_code == 202
        replay = requests.post(url, json={"status": "Failed", "output": "replayed"}, timeout=10)
        assert replay.status_code == 409 and replay.json()["error"]["code"] in ("CallbackUsed", "RunNotActive")
        done = finish(stack, first)["output"]
        assert done["status"] == "Completed", done["errors"]
        # Run 2 of the same plan: run 1's token, sent to run 2's step, is refused and completes nothing.
        second = api(stack, "POST", "failovers", json={"plan": "demo", "mode": "planned"}).json()["instance_id"]
        assert second != first
        approve_as(A, approval_link(stack, second))
        wait_for(lambda: len(stack.estate.dependencies.webhook_calls) >= 2, timeout=60)
        foreign = f"{stack.api_url}/api/failovers/{second}/callbacks/azlocal-sites?token={token}"
        refused = requests.post(foreign, json={"status": "Failed", "output": "replayed from run 1"}, timeout=10)
        assert refused.status_code == 403 and refused.json()["error"]["code"] == "InvalidToken"
        status = run_status(stack, second)
        assert not [a for a in status["custom_status"]["actions"] if a["name"] == "azlocal-sites"]  # still waiting
        api(stack, "POST", f"failovers/{second}/cancel", json={"reason": "test over"})
        finish(stack, second)


class TestEvents:
    def test_failover_then_failback_event_ids_unique_and_every_step_published(self, make_stack: Any) -> None:
        stack = make_stack(vms=20, sessions=2, approval=ONE_APPROVER)
        first = post_alert(stack).json()["instance_id"]
        approve_as(A, approval_link(stack, first))
        assert finish(stack, first)["status"] == "Completed"
        back = api(stack, "POST", "failbacks", json={"plan": "demo"}).json()["instance_id"]
        approve_as(A, approval_link(stack, back))
        assert finish(stack, back)["status"] == "Completed"
        events = stack.estate.events
        pairs = [(e["source"], e["id"]) for e in events]
        assert len(pairs) == len(set(pairs))  # a consumer de-duplicating by (source, id) drops nothing
        failback = [e for e in events if back in e["source"]]
        types = [e["type"].removeprefix("Contoso.Failover.") for e in failback]
        for expected in ("ReprotectCompleted", "ReplicationHealthChecked", "HostPoolsReopened", "DnsSwitched"):
            assert expected in types, types
        assert types.count("ReprotectCompleted") == 2 and types[-1] == "RunCompleted"


class TestModes:
    def test_a_real_failover_supersedes_a_waiting_drill(self, make_stack: Any) -> None:
        stack = make_stack(vms=20, sessions=2, approval=ONE_APPROVER)
        drill = api(stack, "POST", "drills", json={"plan": "demo"}).json()["instance_id"]
        wait_waiting(stack, drill)
        answer = post_alert(stack)
        assert answer.status_code == 202 and answer.json()["deduplicated"] is False
        real = answer.json()["instance_id"]
        assert real.startswith("failover-demo-") and answer.json()["supersedes"] == drill
        drilled = finish(stack, drill)["output"]
        assert drilled["status"] == "Cancelled" and drilled["batches"] == []  # cancelled before it tested anything
        assert all(p["test_failover_calls"] == 0 for p in stack.estate.snapshot()["recovery_plans"])
        approve_as(A, approval_link(stack, real))
        done = finish(stack, real)["output"]
        assert done["status"] == "Completed" and done["mode"] == "unplanned", done["errors"]
        assert records(stack)[("app", "CNAME")] == ["app-neu.contoso.com"]  # production DNS moved

    def test_concurrent_failovers_during_a_drill_start_one_run(self, make_stack: Any) -> None:
        stack = make_stack(vms=10, sessions=2, approval=ONE_APPROVER)
        drill = api(stack, "POST", "drills", json={"plan": "demo"}).json()["instance_id"]
        wait_waiting(stack, drill)
        answers: list[requests.Response] = []
        threads = [
            threading.Thread(target=lambda n=n: answers.append(post(stack, incident(f"CCCC-{n}00"))))
            for n in range(1, 7)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert {a.status_code for a in answers} == {202}, [a.text for a in answers]
        ids = {a.json()["instance_id"] for a in answers}
        assert len(ids) == 1 and next(iter(ids)).startswith("failover-demo-")
        assert finish(stack, drill)["output"]["status"] == "Cancelled"
        failovers = [
            r for r in api(stack, "GET", "failovers").json()["runs"] if r["instance_id"].startswith("failover-")
        ]
        assert [r["instance_id"] for r in failovers] == list(ids)

    def test_a_real_failover_supersedes_a_running_drill_after_its_cleanup(self, make_stack: Any) -> None:
        stack = make_stack(vms=20, sessions=2, approval=ONE_APPROVER, time_scale=120.0)
        drill = api(stack, "POST", "drills", json={"plan": "demo"}).json()["instance_id"]
        approve_as(A, approval_link(stack, drill))
        wait_for(lambda: (run_status(stack, drill)["progress"] or {}).get("batches_started"), timeout=60)
        answer = post_alert(stack)
        assert answer.status_code == 202 and answer.json()["supersedes"] == drill
        real = answer.json()["instance_id"]
        drilled = finish(stack, drill, timeout=120)["output"]
        assert drilled["status"] == "Cancelled" and drilled["cleanup"] == "done"
        touched = [p for p in stack.estate.snapshot()["recovery_plans"] if p["test_failover_calls"]]
        assert touched and all(p["cleanup_calls"] == 1 for p in touched)  # every test failover cleaned up
        types = [e["type"].removeprefix("Contoso.Failover.") for e in stack.estate.events if drill in e["source"]]
        for expected in ("HostPoolClosed", "BatchStarted", "DrillCleanupCompleted"):
            assert expected in types, types  # every step of the drill published its event
        assert types[-1] == "RunCancelled"
        approve_as(A, approval_link(stack, real))
        done = finish(stack, real)["output"]
        assert done["status"] == "Completed" and done["mode"] == "unplanned", done["errors"]
        assert records(stack)[("app", "CNAME")] == ["app-neu.contoso.com"]  # production DNS moved
        assert all(p["failover_calls"] == 1 for p in stack.estate.snapshot()["recovery_plans"])

    def test_refuse_policy_and_failback_during_failover(self, make_stack: Any) -> None:
        stack = make_stack(vms=10, sessions=2, approval=ONE_APPROVER, drill={**DEMO["drill"], "on_failover": "refuse"})
        drill = api(stack, "POST", "drills", json={"plan": "demo"}).json()["instance_id"]
        wait_waiting(stack, drill)
        refused = api(stack, "POST", "failovers", json={"plan": "demo", "mode": "unplanned"})
        assert refused.status_code == 409 and refused.json()["error"]["code"] == "DrillInProgress"
        assert drill in refused.json()["error"]["message"]
        api(stack, "POST", f"failovers/{drill}/cancel")
        finish(stack, drill)
        real = api(stack, "POST", "failovers", json={"plan": "demo", "mode": "planned"}).json()["instance_id"]
        wait_waiting(stack, real)
        back = api(stack, "POST", "failbacks", json={"plan": "demo"})
        assert back.status_code == 409 and back.json()["error"]["code"] == "RunInProgress" and real in back.text
        again = api(stack, "POST", "drills", json={"plan": "demo"})
        assert again.status_code == 409 and real in again.text


class TestResolved:
    def test_only_the_starting_incidents_resolution_cancels(self, make_stack: Any) -> None:
        stack = make_stack(vms=10, sessions=2, approval=ONE_APPROVER)
        first = post(stack, incident("AAAA-111")).json()["instance_id"]
        wait_waiting(stack, first)
        assert post(stack, incident("BBBB-222")).json()["instance_id"] == first  # a second incident attaches
        recorded = post(stack, incident("BBBB-222", "Resolved", "Mitigated - B"))
        assert recorded.json()["recorded_on"] == [first]
        status = wait_for(lambda: (s := run_status(stack, first))["resolutions"] and s)
        assert status["runtime_status"] == "Running" and status["resolved"] is None
        assert status["resolutions"][0]["incident_key"] == "BBBB-222"
        assert post(stack, incident("AAAA-111", "Resolved", "Mitigated - A")).json()["recorded_on"] == [first]
        output = finish(stack, first)["output"]
        assert output["status"] == "Cancelled" and output["resolved"]["incident_key"] == "AAAA-111"
        assert failover_calls(stack) == 0

    def test_the_starting_resolution_arriving_while_another_is_recorded_cancels(self, make_stack: Any) -> None:
        """A's Resolved notice arrives while B's is still being recorded (B's CloudEvent in flight, held 1 s by the
        simulator): the run is cancelled, not left waiting for the approval's timeout (CI met this race)."""
        stack = make_stack(vms=10, sessions=2, approval=ONE_APPROVER)
        first = post(stack, incident("AAAA-111")).json()["instance_id"]
        wait_waiting(stack, first)
        assert post(stack, incident("BBBB-222")).json()["instance_id"] == first
        stack.estate.config.latency.routes["eventgrid.publish"] = 600.0  # simulated: 1 s at x600
        assert post(stack, incident("BBBB-222", "Resolved", "Mitigated - B")).json()["recorded_on"] == [first]
        wait_for(lambda: run_status(stack, first)["resolutions"])  # B recorded, its CloudEvent on its way
        assert post(stack, incident("AAAA-111", "Resolved", "Mitigated - A")).json()["recorded_on"] == [first]
        output = finish(stack, first)["output"]
        assert output["status"] == "Cancelled" and output["resolved"]["incident_key"] == "AAAA-111"
        assert failover_calls(stack) == 0


class TestCancel:
    def test_cancel_during_log_off_starts_no_batch(self, make_stack: Any) -> None:
        stack = make_stack(vms=20, sessions=40, approval=ONE_APPROVER, time_scale=60.0)
        stack.estate.config.latency.routes["avd.usersessions.delete"] = 30.0  # simulated: log-off takes a while
        first = post_alert(stack).json()["instance_id"]
        approve_as(A, approval_link(stack, first))
        wait_for(lambda: run_status(stack, first)["stage"] == "logging off sessions", timeout=60, interval=0.02)
        answer = api(stack, "POST", f"failovers/{first}/cancel", json={"reason": "false alarm"})
        assert answer.status_code == 202 and answer.json()["decided"] is True
        output = finish(stack, first)["output"]
        assert output["status"] == "Cancelled"
        assert output["operator"]["cancel"]["batches_started_after"] == 0 and output["batches"] == []
        assert failover_calls(stack) == 0 and records(stack)[("app", "CNAME")] == ["app-weu.contoso.com"]
        assert output["rto_met"] is False and "did not complete" in output["rto_note"]
        listed = api(stack, "GET", "failovers", params={"status": "cancelled"}).json()["runs"]
        assert [r["instance_id"] for r in listed] == [first]

    def test_cancel_during_verify_switches_no_dns(self, make_stack: Any) -> None:
        stack = make_stack(vms=10, sessions=2, approval=ONE_APPROVER)
        stack.estate.config.latency.routes["logs.query"] = 600.0  # simulated: each verify query takes 1 s at x600
        first = post_alert(stack).json()["instance_id"]
        approve_as(A, approval_link(stack, first))
        wait_for(lambda: run_status(stack, first)["stage"] in ("verifying", "starting standby session hosts"),
                 timeout=60, interval=0.02)  # fmt: skip
        api(stack, "POST", f"failovers/{first}/cancel", json={"reason": "stop before DNS"})
        output = finish(stack, first)["output"]
        assert output["status"] == "Cancelled"
        assert records(stack)[("app", "CNAME")] == ["app-weu.contoso.com"] and output["dns"] == []
        endpoints = {e["name"]: e["status"] for e in stack.estate.network.snapshot()["traffic_manager"][0]["endpoints"]}
        assert endpoints["weu"] == "Enabled"

    def test_concurrent_retries_are_decided_once(self, make_stack: Any) -> None:
        stack = make_stack(vms=30, sessions=2, approval=ONE_APPROVER, operator_wait="4h")
        stack.estate.config.failing_plans["rp-data-01"] = "The replication of VM vm-sql-01 is not healthy."
        first = post_alert(stack).json()["instance_id"]
        approve_as(A, approval_link(stack, first))
        wait_for(lambda: "rp-data-01" in (run_status(stack, first)["operator"] or {}).get("blocked", []))
        stack.estate.config.failing_plans.clear()
        answers: list[requests.Response] = []

        def retry(by: str) -> None:
            answers.append(api(stack, "POST", f"failovers/{first}/plans/rp-data-01/retry", json={"requested_by": by}))

        threads = [threading.Thread(target=retry, args=(who,)) for who in (A, B)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(a.status_code for a in answers) == [202, 409]
        loser = next(a for a in answers if a.status_code == 409).json()["error"]
        assert loser["code"] in ("CommandRefused", "PlanNotBlocked") and "rp-data-01" in loser["message"]
        output = finish(stack, first)["output"]
        assert output["status"] == "Completed", output["errors"]
        data01 = next(p for p in stack.estate.snapshot()["recovery_plans"] if p["name"] == "rp-data-01")
        assert data01["failover_calls"] == 2  # the failed attempt and one retry, not two


def test_an_incident_naming_the_recovery_region_too_is_on_the_card(make_stack: Any) -> None:
    """Issue 21: it started a failover into the recovery region with no warning. Now the card, the status and the
    summary say so (it is a warning, not an error: the outcome does not change)."""
    stack = make_stack(vms=10, sessions=2, approval=ONE_APPROVER)
    alert = incident("DDDD-444", title="West and North Europe - Degraded")
    props = alert["data"]["alertContext"]["properties"]
    props["impactedServices"] = json.dumps(
        [
            {
                "ServiceName": "Virtual Machines",
                "ImpactedRegions": [{"RegionName": "West Europe"}, {"RegionName": "North Europe"}],
            }
        ]
    )
    run = post(stack, alert).json()["instance_id"]
    status = wait_waiting(stack, run)
    assert "recovery region northeurope" in status["custom_status"]["warnings"][0]
    card = wait_for(lambda: [m for m in stack.estate.teams_messages if run in json.dumps(m)])
    assert "WARNING: the incident also names the recovery region northeurope" in json.dumps(card[0])
    approve_as(A, approval_link(stack, run))
    output = finish(stack, run)["output"]
    assert output["status"] == "Completed" and output["warnings"] and not output["errors"]
