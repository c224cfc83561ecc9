"""Batches as ASR sees them, on the local engine against the simulator (issue 20): a hung job holds no
batch-mate, never more than batch_size VMs fail over at once, and each job is read about once.
Judged by the simulator's jobs and request counts, not by the run's summary."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from local.stack import LocalStack
from simulator import EstateConfig
from simulator.estate import DEMO_ASR_RG, DEMO_VAULT
from simulator.faults import FaultConfig, RouteFaults
from tests.conftest import (
    approval_link,
    approve_as,
    finish,
    post_alert,
    run_status,
    teams_messages,
    wait_for,
    wait_waiting,
)


def run(stack: LocalStack, timeout: float = 120) -> dict[str, Any]:
    answer = post_alert(stack)
    assert answer.status_code == 202, answer.text
    instance_id = answer.json()["instance_id"]
    wait_waiting(stack, instance_id)
    assert approve_as(stack.plan.approval.approvers[0], approval_link(stack, instance_id)).status_code == 200
    status = finish(stack, instance_id, timeout=timeout)
    assert status["runtime_status"] == "Completed", status
    return dict(status["output"])


def failover_jobs(stack: LocalStack) -> list[dict[str, Any]]:
    snapshot = stack.estate.snapshot()
    vms = {p["name"]: p["vms"] for p in snapshot["recovery_plans"]}
    return [
        dict(job, vms=vms[job["plan"]])
        for job in snapshot["jobs"]
        if job["scenario"] in ("PlannedFailover", "UnplannedFailover")
    ]


def peak_in_flight(jobs: list[dict[str, Any]]) -> int:
    """The most VMs whose failover jobs ran at the same moment (from ASR's job start and end times)."""
    moments = []
    for job in jobs:
        moments.append((datetime.fromisoformat(job["started_at"]), 1, job["vms"]))
        moments.append((datetime.fromisoformat(job["ended_at"]), 0, -job["vms"]))  # an end before a start
    peak = current = 0
    for _, _, delta in sorted(moments):
        current += delta
        peak = max(peak, current)
    return peak


def hung_stack(make_stack: Any) -> LocalStack:
    """rp-apps-01's jobs never end (a hung ASR job); it shares a batch with another apps plan."""
    stack: LocalStack = make_stack(
        vms=120,
        sessions=2,
        estate_config=EstateConfig(time_scale=600.0, hanging_plans=("rp-apps-01",)),
        asr={**make_stack_asr(), "job_timeout": "30m"},
        operator_wait="10m",
    )
    return stack


class TestHungJob:
    def test_a_hung_job_is_reported_alone_and_its_batch_mates_are_committed(self, make_stack: Any) -> None:
        stack = hung_stack(make_stack)
        summary = run(stack)
        batch = next(b for b in summary["batches"] if "rp-apps-01" in b["recovery_plans"])
        mates = [n for n in batch["recovery_plans"] if n != "rp-apps-01"]
        assert mates, batch  # the estate puts another apps plan in the hung plan's batch
        plans = {p["name"]: p for p in summary["recovery_plans"]}
        assert plans["rp-apps-01"]["state"] == "TimedOut"
        assert "did not finish" in plans["rp-apps-01"]["errors"][0]
        asr = {p["name"]: p["state"] for p in stack.estate.snapshot()["recovery_plans"]}
        for name in mates:
            # ASR committed it; the run says the same, not "commit job did not finish"
            assert asr[name] == "Committed", asr
            assert plans[name]["state"] == "Succeeded" and plans[name]["commit"] == "started", plans[name]
        commits = {j["plan"]: j for j in stack.estate.snapshot()["jobs"] if j["scenario"] == "CommitFailover"}
        hung = next(j for j in failover_jobs(stack) if j["plan"] == "rp-apps-01")
        for name in mates:  # committed as soon as its own failover ended, while the hung job still ran
            assert hung["ended_at"] is None or commits[name]["started_at"] < hung["ended_at"]


class TestInFlightCap:
    def test_jobs_longer_than_the_spacing_never_put_more_than_batch_size_vms_in_flight(self, make_stack: Any) -> None:
        # jobs take 25 minutes against a 10-minute spacing: spacing alone would overlap three batches
        config = EstateConfig(time_scale=600.0, job_base_seconds=1500.0, job_seconds_per_vm=0.0)
        stack = make_stack(vms=200, sessions=2, batch_size=60, estate_config=config, asr=make_stack_asr())
        summary = run(stack, timeout=180)
        jobs = failover_jobs(stack)
        assert len(jobs) >= 4 and all(j["state"] == "Succeeded" for j in jobs), jobs
        assert peak_in_flight(jobs) <= 60
        assert summary["peak_vms_in_flight"] <= 60


class TestJobReads:
    def test_each_job_is_read_about_once_when_the_plan_estimates_it(self, make_stack: Any) -> None:
        stack = make_stack(vms=120, sessions=2, asr=make_stack_asr())
        run(stack)
        snapshot = stack.estate.snapshot()
        jobs = [j for j in snapshot["jobs"] if j["scenario"] in ("UnplannedFailover", "CommitFailover")]
        reads = snapshot["requests"]["asr.jobs.get"]
        # the demo plan's estimates (3m + 2s per VM, commit 30s) are the simulator's job durations: the first
        # read lands after the job ended; 3-4 reads a job before (15, 30, 60, 60 s polls)
        assert len(jobs) <= reads <= len(jobs) * 1.2, (reads, len(jobs))


def make_stack_asr() -> dict[str, Any]:
    """The demo plan's asr section, to override a key of it."""
    return dict(demo_section("asr"))


def demo_section(key: str) -> Any:
    import yaml

    from local.stack import DEMO_PLAN

    return yaml.safe_load(DEMO_PLAN.read_text())[key]


class TestLeftoverDrill:
    def test_a_leftover_test_failover_is_on_the_card_and_cleaned_up_before_anyone_is_signed_out(
        self, make_stack: Any
    ) -> None:
        stack = make_stack(vms=60, sessions=10)
        estate = stack.estate
        body = {"properties": {"failoverDirection": "PrimaryToRecovery", "networkType": "NoNetworkAttachAsInput"}}
        left = ["rp-identity", "rp-data-01"]
        for name in left:  # a drill whose host crashed: test failed over, never cleaned up
            estate.start_test_failover(DEMO_ASR_RG, DEMO_VAULT, name, body)
        wait_for(lambda: all(p["state"] == "TestFailedOver" for p in estate.snapshot()["recovery_plans"]
                             if p["name"] in left))  # fmt: skip
        answer = post_alert(stack)
        instance_id = answer.json()["instance_id"]
        wait_waiting(stack, instance_id)
        link = approval_link(stack, instance_id)  # the card is posted
        assert "awaits cleanup on rp-identity, rp-data-01" in json.dumps(teams_messages(stack))
        assert estate.sessions_remaining() == 10  # nobody signed out while the approval waits
        assert approve_as(stack.plan.approval.approvers[0], link).status_code == 200
        status = finish(stack, instance_id, timeout=120)
        summary = status["output"]
        assert summary["status"] == "Completed", summary["errors"]
        snapshot = estate.snapshot()
        plans = {p["name"]: p for p in snapshot["recovery_plans"]}
        for name in left:
            assert plans[name]["cleanup_calls"] == 1 and plans[name]["state"] == "Committed", plans[name]
        cleanups = [j for j in snapshot["jobs"] if j["scenario"] == "TestFailoverCleanup"]
        first_logoff = min(entry["at"] for entry in snapshot["logged_off"])
        assert len(cleanups) == 2 and all(j["ended_at"] <= first_logoff for j in cleanups)
        steps = [s["name"] for s in summary["steps"]]
        assert steps.index("cleanup leftover drills") < steps.index("avd")

    def test_drill_cleanup_removes_it_without_touching_production(self, make_stack: Any) -> None:
        stack = make_stack(vms=60, sessions=4)
        body = {"properties": {"failoverDirection": "PrimaryToRecovery", "networkType": "NoNetworkAttachAsInput"}}
        stack.estate.start_test_failover(DEMO_ASR_RG, DEMO_VAULT, "rp-data-01", body)
        wait_for(lambda: {p["name"]: p["state"] for p in stack.estate.snapshot()["recovery_plans"]}["rp-data-01"]
                 == "TestFailedOver")  # fmt: skip
        answer = stack.http.post(
            f"{stack.api_url}/api/drills/cleanup", json={"plan": "demo", "reason": "the drill host crashed"}, timeout=30
        )
        assert answer.status_code == 202, answer.text
        summary = finish(stack, answer.json()["instance_id"], timeout=60)["output"]  # no approval asked
        assert summary["mode"] == "test" and summary["status"] == "Completed", summary["errors"]
        assert summary["cleanup"] == "done" and summary["approvals"] == []
        plans = {p["name"]: p for p in stack.estate.snapshot()["recovery_plans"]}
        assert plans["rp-data-01"]["cleanup_calls"] == 1 and plans["rp-data-01"]["state"] == "Protected"
        assert all(p["test_failover_calls"] == (1 if n == "rp-data-01" else 0) for n, p in plans.items())
        assert all(p["failover_calls"] == 0 for p in plans.values()) and stack.estate.sessions_remaining() == 4
        assert stack.http.post(f"{stack.api_url}/api/drills/cleanup", json={"plan": "demo", "x": 1}).status_code == 422

    def test_readiness_reports_it(self, make_stack: Any) -> None:
        stack = make_stack(vms=60, sessions=2)
        body = {"properties": {"failoverDirection": "PrimaryToRecovery", "networkType": "NoNetworkAttachAsInput"}}
        stack.estate.start_test_failover(DEMO_ASR_RG, DEMO_VAULT, "rp-identity", body)
        readiness = stack.http.get(f"{stack.api_url}/api/plans/demo/readiness", timeout=30).json()
        check = next(c for c in readiness["checks"] if c["name"] == "test_failovers")
        assert check["status"] == "warn" and "rp-identity" in check["message"], check


def sessions_never_log_off() -> EstateConfig:
    """Every session DELETE answers 500 (the AVD service failing)."""
    return EstateConfig(
        time_scale=600.0, faults=FaultConfig(routes={"avd.usersessions.delete": RouteFaults(error500=1.0)})
    )


def awaiting_sign_out(stack: LocalStack, instance_id: str) -> dict[str, Any]:
    return wait_for(
        lambda: (s := run_status(stack, instance_id))["operator"].get("blocked") == ["sign-out"] and s, timeout=60
    )


def start_and_approve(stack: LocalStack) -> str:
    instance_id = str(post_alert(stack).json()["instance_id"])
    wait_waiting(stack, instance_id)
    assert approve_as(stack.plan.approval.approvers[0], approval_link(stack, instance_id)).status_code == 200
    return instance_id


def operator(stack: LocalStack, instance_id: str, action: str) -> Any:
    return stack.http.post(
        f"{stack.api_url}/api/failovers/{instance_id}/plans/sign-out/{action}",
        headers={"X-MS-CLIENT-PRINCIPAL-NAME": "oncall@contoso.com"},
        timeout=30,
    )


def failover_calls(stack: LocalStack) -> int:
    return sum(p["failover_calls"] for p in stack.estate.snapshot()["recovery_plans"])


class TestUsersStillSignedIn:
    def test_no_failover_while_users_are_signed_in_until_an_operator_retries(self, make_stack: Any) -> None:
        stack = make_stack(vms=20, sessions=8, estate_config=sessions_never_log_off())
        instance_id = start_and_approve(stack)
        status = awaiting_sign_out(stack, instance_id)
        assert status["stage"] == "awaiting operator"
        assert failover_calls(stack) == 0 and stack.estate.sessions_remaining() == 8  # never a silent go
        # bounded: each session's DELETE is tried in two passes of azure-core's retries (6 attempts), no more
        deletes = stack.estate.snapshot()["faults"]["injected"]
        assert sum(n for k, n in deletes.items() if k.startswith("avd.usersessions.delete")) <= 8 * 6 * 2
        stack.estate.faults.faults.routes.clear()  # the AVD service recovers
        answer = operator(stack, instance_id, "retry")
        assert answer.status_code == 202, answer.text
        summary = finish(stack, instance_id, timeout=120)["output"]
        assert summary["status"] == "Completed", summary["errors"]
        assert stack.estate.sessions_remaining() == 0 and summary["sessions"]["logged_off"] == 8
        first_logoff = min(e["at"] for e in stack.estate.snapshot()["logged_off"])
        jobs = failover_jobs(stack)
        assert jobs and all(j["started_at"] >= first_logoff for j in jobs)

    def test_skip_goes_on_knowingly(self, make_stack: Any) -> None:
        stack = make_stack(vms=20, sessions=8, estate_config=sessions_never_log_off())
        instance_id = start_and_approve(stack)
        awaiting_sign_out(stack, instance_id)
        assert operator(stack, instance_id, "skip").status_code == 202
        summary = finish(stack, instance_id, timeout=120)["output"]
        assert summary["status"] == "CompletedWithErrors"
        assert any("skipped the sign-out" in e for e in summary["errors"]), summary["errors"]
        assert failover_calls(stack) > 0 and stack.estate.sessions_remaining() == 8

    def test_nobody_decides_no_failover(self, make_stack: Any) -> None:
        stack = make_stack(vms=20, sessions=8, estate_config=sessions_never_log_off(), operator_wait="5m")
        instance_id = start_and_approve(stack)
        summary = finish(stack, instance_id, timeout=120)["output"]
        assert summary["status"] == "Failed"
        assert any("nothing was failed over" in e for e in summary["errors"]), summary["errors"]
        assert failover_calls(stack) == 0


class TestFailedDependency:
    """The primary region is down: SQL's friendly failover cannot reach the primary server. The run waits for
    an operator instead of stopping; force runs the failover allowing data loss."""

    @staticmethod
    def blocked(stack: LocalStack, instance_id: str) -> dict[str, Any]:
        return wait_for(
            lambda: (s := run_status(stack, instance_id))["operator"].get("blocked") == ["sql"] and s, timeout=90
        )

    def test_force_fails_sql_over_allowing_data_loss_then_the_apps(self, make_stack: Any) -> None:
        stack = make_stack(vms=60, sessions=2, operator_wait="4h")
        stack.estate.dependencies.region_down("westeurope")
        instance_id = start_and_approve(stack)
        status = self.blocked(stack, instance_id)
        assert status["stage"] == "awaiting operator" and status["custom_status"]["operator"]["forceable"] == ["sql"]
        apps = [n for n in stack.estate.snapshot()["recovery_plans"] if n["name"].startswith("rp-apps")]
        assert all(p["failover_calls"] == 0 for p in apps)  # the apps wait for their database
        # a retry of a recovery plan that is not waiting is refused
        assert operator_on(stack, instance_id, "rp-apps-01", "retry").status_code == 409
        answer = operator_on(stack, instance_id, "sql", "force")
        assert answer.status_code == 202, answer.text
        summary = finish(stack, instance_id, timeout=120)["output"]
        assert summary["status"] == "Completed", summary["errors"]
        group = stack.estate.dependencies.snapshot()["failover_groups"][0]
        assert "neu" in group["primary"], group  # the secondary in the recovery region is the primary now
        assert [d["status"] for d in summary["dependencies"] if d["name"] == "sql"] == ["Failed", "Succeeded"]
        assert summary["operator"]["actions"][0]["action"] == "force"

    def test_skip_goes_on_without_it(self, make_stack: Any) -> None:
        stack = make_stack(vms=60, sessions=2, operator_wait="4h")
        stack.estate.dependencies.region_down("westeurope")
        instance_id = start_and_approve(stack)
        self.blocked(stack, instance_id)
        assert operator_on(stack, instance_id, "sql", "skip").status_code == 202
        summary = finish(stack, instance_id, timeout=120)["output"]
        assert summary["status"] == "CompletedWithErrors"
        assert all(p["failover_calls"] == 1 for p in stack.estate.snapshot()["recovery_plans"])


def operator_on(stack: LocalStack, instance_id: str, name: str, action: str) -> Any:
    return stack.http.post(
        f"{stack.api_url}/api/failovers/{instance_id}/plans/{name}/{action}",
        headers={"X-MS-CLIENT-PRINCIPAL-NAME": "oncall@contoso.com"},
        timeout=30,
    )


class TestApprovalCardCounts:
    def test_the_card_counts_who_will_be_signed_out_and_states_data_loss_before_the_decision(
        self, make_stack: Any
    ) -> None:
        stack = make_stack(vms=20, sessions=12)
        instance_id = str(post_alert(stack).json()["instance_id"])
        wait_waiting(stack, instance_id)
        approval_link(stack, instance_id)  # the card is posted
        card = json.dumps(teams_messages(stack))
        assert "12 signed out after approval (hp-weu-pooled: 12)" in card
        assert "Data loss: sql" in card and "Data loss: fslogix" in card
        assert stack.estate.sessions_remaining() == 12  # counted, nobody signed out
        status = run_status(stack, instance_id)
        assert status["custom_status"]["approval"]["sessions"] == [{"host_pool": "hp-weu-pooled", "sessions": 12}]

    def test_the_card_gives_the_preview_s_estimate(self, make_stack: Any) -> None:
        """One estimate everywhere: the card's expected duration is `plan preview`'s figure (the card said 48 min
        where the preview said 64.5)."""
        from failover.cards import _duration

        stack = make_stack(vms=260, sessions=2)
        preview = stack.http.get(f"{stack.api_url}/api/plans/demo/preview", timeout=30).json()
        instance_id = str(post_alert(stack).json()["instance_id"])
        wait_waiting(stack, instance_id)
        approval_link(stack, instance_id)
        card = json.dumps(teams_messages(stack))
        assert f'"title": "Expected duration", "value": "{_duration(preview["eta_seconds"])}"' in card


class TestUnreachableSessionHosts:
    def test_outside_an_outage_their_users_wait_for_an_operator(self, make_stack: Any) -> None:
        """A planned failover (no incident names the region down) with the session hosts unreachable: their
        sessions are not counted as signed out; nothing fails over until an operator decides."""
        stack = make_stack(vms=20, sessions=6, operator_wait="4h")
        stack.estate.region_down("westeurope")
        answer = stack.http.post(
            f"{stack.api_url}/api/failovers",
            json={"plan": "demo", "mode": "planned", "reason": "move before maintenance"},
            headers={"X-MS-CLIENT-PRINCIPAL-NAME": "platform-owner@contoso.com"},
            timeout=30,
        )
        assert answer.status_code == 202, answer.text
        instance_id = answer.json()["instance_id"]
        wait_waiting(stack, instance_id)
        assert approve_as(stack.plan.approval.approvers[0], approval_link(stack, instance_id)).status_code == 200
        status = awaiting_sign_out(stack, instance_id)
        assert failover_calls(stack) == 0 and status["custom_status"]["progress"]["sessions_logged_off"] == 0


class TestApproveWithout:
    """A recovery plan that cannot fail over as it is (a drill left its test failover) is put to the approvers on
    the card: approve (clean it up first), approve without it, or reject. Judged by the simulator's state."""

    @staticmethod
    def leftover(make_stack: Any) -> tuple[LocalStack, str]:
        stack: LocalStack = make_stack(vms=60, sessions=4)
        body = {"properties": {"failoverDirection": "PrimaryToRecovery", "networkType": "NoNetworkAttachAsInput"}}
        stack.estate.start_test_failover(DEMO_ASR_RG, DEMO_VAULT, "rp-identity", body)
        instance_id = str(post_alert(stack).json()["instance_id"])
        wait_waiting(stack, instance_id)
        return stack, instance_id

    def test_approve_without_leaves_the_plan_out(self, make_stack: Any) -> None:
        stack, instance_id = self.leftover(make_stack)
        link = approval_link(stack, instance_id, "Approve without rp-identity")
        card = json.dumps(teams_messages(stack))
        assert "rp-identity**: a test failover awaits cleanup" in card
        assert [a["title"] for a in teams_messages(stack)[-1]["message"]["attachments"][0]["content"]["actions"]] == [
            "Approve", "Approve without rp-identity", "Reject",
        ]  # fmt: skip
        assert "Without the recovery plans <b>rp-identity</b>" in stack.http.get(link, timeout=10).text
        assert approve_as(stack.plan.approval.approvers[0], link).status_code == 200
        summary = finish(stack, instance_id, timeout=120)["output"]
        assert summary["status"] == "CompletedWithErrors"
        assert any("rp-identity: excluded at approval by oncall-lead@contoso.com" in e for e in summary["errors"])
        assert summary["operator"]["skipped"][0]["name"] == "rp-identity"
        plans = {p["name"]: p for p in stack.estate.snapshot()["recovery_plans"]}
        identity = plans.pop("rp-identity")
        # left as it was: not cleaned up, not failed over; every other plan committed
        assert identity["state"] == "TestFailedOver" and identity["cleanup_calls"] == identity["failover_calls"] == 0
        assert all(p["state"] == "Committed" for p in plans.values())
        assert "rp-identity" not in {p["name"] for p in summary["recovery_plans"]}

    def test_a_plan_asr_offers_no_failover_of_is_offered_too(self, make_stack: Any) -> None:
        """A recovery plan still in initial replication (ASR allows no operation): on the card, and approving
        without it leaves it out; the others fail over."""
        stack: LocalStack = make_stack(vms=60, sessions=4)
        stack.estate.recovery_plans[(DEMO_ASR_RG, DEMO_VAULT, "rp-apps-02")].state = "InitialReplication"
        instance_id = str(post_alert(stack).json()["instance_id"])
        wait_waiting(stack, instance_id)
        link = approval_link(stack, instance_id, "Approve without rp-apps-02")
        status = run_status(stack, instance_id)
        [offered] = status["approval"]["excludable"]
        assert offered["recovery_plan"] == "rp-apps-02" and "allowed operations are none" in offered["why"]
        assert approve_as(stack.plan.approval.approvers[0], link).status_code == 200
        summary = finish(stack, instance_id, timeout=120)["output"]
        assert summary["status"] == "CompletedWithErrors"
        plans = {p["name"]: p for p in stack.estate.snapshot()["recovery_plans"]}
        assert plans["rp-apps-02"]["failover_calls"] == 0 and plans["rp-apps-01"]["state"] == "Committed"

    def test_the_api_excludes_only_what_the_run_offers(self, make_stack: Any) -> None:
        stack, instance_id = self.leftover(make_stack)
        url = f"{stack.api_url}/api/failovers/{instance_id}/approvals"
        approver = {"X-MS-CLIENT-PRINCIPAL-NAME": stack.plan.approval.approvers[0]}
        wrong = stack.http.post(url, json={"decision": "approve", "exclude": ["rp-apps-01"]}, headers=approver)
        assert wrong.status_code == 422 and "exclude: rp-apps-01 cannot be excluded" in wrong.text
        rejecting = stack.http.post(url, json={"decision": "reject", "exclude": ["rp-identity"]}, headers=approver)
        assert rejecting.status_code == 422 and "only an approval" in rejecting.text
        status = run_status(stack, instance_id)
        assert status["approval"]["waiting"] and status["approval"]["excludable"][0]["recovery_plan"] == "rp-identity"
        answer = stack.http.post(url, json={"decision": "approve", "exclude": ["rp-identity"]}, headers=approver)
        assert answer.status_code == 200, answer.text
        assert answer.json()["recorded"]["exclude"] == ["rp-identity"]
        summary = finish(stack, instance_id, timeout=120)["output"]
        assert summary["operator"]["actions"][0]["action"] == "exclude"
        assert {p["name"]: p["failover_calls"] for p in stack.estate.snapshot()["recovery_plans"]}["rp-identity"] == 0


class TestSourceSiteDown:
    """ASR's source site is down (simulator.outage: `asr` only) during a planned failover: ASR cannot shut the
    VMs down and synchronise them, so the planned failover jobs fail. The failed plans wait for an operator, who
    may force an unplanned failover of each instead; judged by the simulator's jobs."""

    def test_force_fails_a_plan_over_unplanned_and_skip_leaves_it(self, make_stack: Any) -> None:
        from simulator.outage import Outage

        groups = [demo_section("groups")[0], {"name": "apps", "recovery_plans": ["rp-apps-*"]}]  # apps: stop
        stack = make_stack(vms=60, sessions=2, operator_wait="8h", groups=groups, dependencies=[])
        stack.estate.set_outage(Outage("westeurope", services=frozenset({"asr"})))
        answer = stack.http.post(
            f"{stack.api_url}/api/failovers",
            json={"plan": "demo", "mode": "planned", "reason": "move before maintenance"},
            headers={"X-MS-CLIENT-PRINCIPAL-NAME": "platform-owner@contoso.com"},
            timeout=30,
        )
        instance_id = answer.json()["instance_id"]
        wait_waiting(stack, instance_id)
        assert approve_as(stack.plan.approval.approvers[0], approval_link(stack, instance_id)).status_code == 200

        def blocked(names: list[str]) -> dict[str, Any]:
            try:
                return wait_for(  # type: ignore[no-any-return]
                    lambda: (s := run_status(stack, instance_id))["operator"].get("blocked") == names and s, timeout=90
                )
            except AssertionError:
                raise AssertionError(run_status(stack, instance_id)) from None

        status = blocked(["rp-identity"])
        assert status["custom_status"]["operator"]["forceable"] == ["rp-identity"]
        assert operator_on(stack, instance_id, "rp-identity", "force").status_code == 202
        blocked(["rp-apps-01", "rp-apps-02"])
        assert operator_on(stack, instance_id, "rp-apps-01", "force").status_code == 202
        assert operator_on(stack, instance_id, "rp-apps-02", "skip").status_code == 202
        summary = finish(stack, instance_id, timeout=120)["output"]
        assert summary["status"] == "CompletedWithErrors" and summary["mode"] == "planned"
        jobs = [(j["plan"], j["scenario"], j["state"]) for j in failover_jobs(stack)]
        assert jobs.count(("rp-identity", "PlannedFailover", "Failed")) == 1
        assert ("rp-identity", "UnplannedFailover", "Succeeded") in jobs
        assert ("rp-apps-01", "UnplannedFailover", "Succeeded") in jobs
        assert not [j for j in jobs if j[0] == "rp-apps-02" and j[1] == "UnplannedFailover"]
        states = {p["name"]: p["state"] for p in stack.estate.snapshot()["recovery_plans"]}
        assert states["rp-identity"] == states["rp-apps-01"] == "Committed" and states["rp-apps-02"] == "Protected"
        unplanned = [e for e in stack.estate.events if e.get("type") == "Contoso.Failover.OperatorActionRequired"]
        assert any("rp-identity" in (e["data"].get("forceable") or []) for e in unplanned)

    def test_an_unplanned_failover_asked_to_shut_the_source_down_goes_on_with_a_warning(self, make_stack: Any) -> None:
        from simulator.outage import Outage

        stack = make_stack(
            vms=20,
            sessions=2,
            groups=demo_section("groups")[:1],
            dependencies=[],
            asr={**make_stack_asr(), "source_site_operations": "Required"},
        )
        stack.estate.set_outage(Outage("westeurope", services=frozenset({"asr"})))
        summary = run(stack)
        assert summary["status"] == "Completed", summary["errors"]
        assert any("rp-identity" in w and "Shutting down the virtual machines" in w for w in summary["warnings"])
        assert stack.estate.snapshot()["recovery_plans"][0]["state"] == "Committed"
