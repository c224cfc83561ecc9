"""The runbook's remaining Azure steps through the real SDK clients against the simulator: ASR commit, SQL failover
groups, the FSLogix storage account, standby VMs, session hosts opened, and the custom-action webhook.

Each start activity runs twice (or more) and converges: the simulator counts the calls per resource.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from aiohttp import web
from azure.core.exceptions import HttpResponseError
from pydantic import ValidationError

import activities
from activities.asr import asr_commit, asr_get_job, asr_start_failover
from activities.avd import avd_allow_new_sessions
from activities.dependencies import (
    compute_start_vms,
    compute_vm_power,
    compute_vm_states,
    sql_failover_start,
    sql_failover_status,
    storage_failover_start,
    storage_failover_status,
    webhook_invoke,
)
from failover import settings as settings_module
from failover.callbacks import verify_callback
from failover.contracts import dumps
from failover.contracts.asr import AsrJobInput, RecoveryPlanInput, RecoveryPlanJob, StartFailoverInput
from failover.contracts.avd import NewSessionsInput
from failover.contracts.dependencies import (
    SqlFailoverStartInput,
    SqlFailoverStatusInput,
    StorageFailoverStartInput,
    StorageFailoverStatusInput,
    VmsInput,
    VmState,
    WebhookInput,
)
from failover.run import isoformat
from failover.settings import Settings
from simulator import EstateConfig, Simulator
from simulator.background import BackgroundServer
from simulator.dependencies import DEMO_WEBHOOK, DependencyConfig, webhook_url
from simulator.estate import DEMO_ASR_RG, DEMO_VAULT, SUBSCRIPTION_ID, utcnow
from tests.activities.conftest import StartSimulator
from tests.conftest import wait_for

SIGNING_KEY = "test-signing-key"
SQL = {
    "instance_id": "run-1",
    "plan": "demo",
    "subscription_id": SUBSCRIPTION_ID,
    "resource_group": "rg-data-neu",
    "server": "sql-contoso-neu",
    "failover_group": "fg-contoso",
}
STORAGE = {"subscription_id": SUBSCRIPTION_ID, "resource_group": "rg-avd-weu", "account": "stcontosofslogix"}
VMS = {"subscription_id": SUBSCRIPTION_ID, "resource_group": "rg-avd-neu", "vms": ["vm-avd-neu-0", "vm-avd-neu-1"]}
POOL = {"subscription_id": SUBSCRIPTION_ID, "resource_group": "rg-avd-neu", "host_pool": "hp-neu-pooled"}
ASR = {"subscription_id": SUBSCRIPTION_ID, "resource_group": DEMO_ASR_RG, "vault": DEMO_VAULT}


class Receiver:
    """A local HTTP endpoint standing in for the service's API: records the callbacks it receives."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []
        app = web.Application()
        app.router.add_post("/api/failovers/{instance}/callbacks/{step}", self.handle)
        self.server = BackgroundServer(app, "127.0.0.1", 0, name="callback-receiver").start()
        self.url = f"http://127.0.0.1:{self.server.port}"

    async def handle(self, request: web.Request) -> web.Response:
        self.calls.append(
            {
                "instance": request.match_info["instance"],
                "step": request.match_info["step"],
                "token": request.query.get("token", ""),
                "body": await request.json(),
            }
        )
        return web.Response(status=202)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    running = Receiver()
    yield running
    running.server.stop()


@pytest.fixture
def simulate(start_simulator: StartSimulator) -> Callable[..., Simulator]:
    """A simulator on a small demo estate (ASR jobs of about a second, the rest a fraction)."""

    def make(public_base_url: str = "http://127.0.0.1:9", **knobs: Any) -> Simulator:
        deps = DependencyConfig(storage_failover_seconds=60.0, **knobs)
        return start_simulator(
            EstateConfig(time_scale=200, dependencies=deps),
            vms=10,
            settings=lambda sim: {
                "approval_signing_key": SIGNING_KEY,
                "public_base_url": public_base_url,
                "webhooks": {"hyperv_replica": webhook_url(sim.url, sim.estate, DEMO_WEBHOOK)},
            },
        )

    return make


def test_registered_like_the_other_activities() -> None:
    for fn in (
        asr_commit,
        avd_allow_new_sessions,
        sql_failover_start,
        sql_failover_status,
        storage_failover_start,
        storage_failover_status,
        compute_start_vms,
        compute_vm_states,
        webhook_invoke,
    ):
        assert activities.ALL[fn.__name__] is fn
    json.dumps(list(activities.ALL))


class TestAsrCommit:
    def test_commit_converges(self, simulate: Callable[..., Simulator]) -> None:
        sim = simulate()
        plan = RecoveryPlanInput(**ASR, recovery_plan="rp-identity")
        with pytest.raises(RuntimeError, match="cannot be committed now"):
            asr_commit(plan)  # not failed over yet
        failover = asr_start_failover(StartFailoverInput(**plan.model_dump(), mode="unplanned"))
        with pytest.raises(RuntimeError, match="cannot be committed now"):
            asr_commit(plan)  # the failover job still runs
        assert failover.job
        # when the job started, as ASR says (the batch reads the job when it is expected to end from then)
        job = next(j for j in sim.estate.jobs.values() if j.name == failover.job)
        assert failover.started_at == isoformat(job.started_at)
        attached = asr_start_failover(StartFailoverInput(**plan.model_dump(), mode="unplanned"))
        assert attached.action == "attached" and attached.started_at == failover.started_at
        read = AsrJobInput(**ASR, recovery_plan="rp-identity", job=failover.job)
        wait_for(lambda: asr_get_job(read).state == "Succeeded", timeout=20)

        first = asr_commit(plan)
        assert first.action == "started" and first.recovery_plan == "rp-identity" and first.job
        second = asr_commit(plan)
        assert second == RecoveryPlanJob(recovery_plan="rp-identity", action="attached", job=first.job)
        read = AsrJobInput(**ASR, recovery_plan="rp-identity", job=first.job)
        job = wait_for(lambda: (j := asr_get_job(read)).terminal and j, timeout=20)
        assert job.state == "Succeeded"
        third = asr_commit(plan)
        assert third.action == "skipped" and third.reason == "already committed" and third.job == first.job
        commits = [j for j in sim.estate.jobs.values() if j.scenario == "CommitFailover"]
        assert len(commits) == 1
        assert sim.estate.recovery_plan(DEMO_ASR_RG, DEMO_VAULT, "rp-identity").state == "Committed"
        dumps([first, second, third])


class TestSql:
    def test_failover_converges(self, simulate: Callable[..., Simulator]) -> None:
        sim = simulate()
        group = sim.estate.dependencies.failover_groups["fg-contoso"]
        first = sql_failover_start(SqlFailoverStartInput(**SQL, allow_data_loss=False))
        assert first.action == "started" and first.primary_before == "sql-contoso-weu"
        assert first.operation and "/failoverGroupAzureAsyncOperation/" in first.operation
        running = sql_failover_status(SqlFailoverStatusInput(**SQL, operation=first.operation))
        assert running.plain() == {
            "done": False,
            "primary": "sql-contoso-weu",
            "replication_state": "PENDING",
            "failed": False,
            "error": None,
        }
        second = sql_failover_start(SqlFailoverStartInput(**SQL))  # while it runs: Azure answers 409
        assert second.action == "attached" and second.operation is None
        done = wait_for(lambda: (s := sql_failover_status(SqlFailoverStatusInput(**SQL))).done and s, timeout=10)
        assert done.primary == "sql-contoso-neu" and done.replication_state == "CATCH_UP"
        third = sql_failover_start(SqlFailoverStartInput(**SQL))
        assert third.action == "skipped" and third.primary_before == "sql-contoso-neu"
        assert group.failover_calls == 2  # the third call only read the group
        assert len([op for op in sim.estate.dependencies.operations.values() if op.kind.startswith("sql.")]) == 1
        dumps([first, second, third, done])

    def test_friendly_failover_fails_when_the_primary_region_is_down(self, simulate: Callable[..., Simulator]) -> None:
        sim = simulate()
        sim.estate.dependencies.region_down("westeurope")
        friendly = sql_failover_start(SqlFailoverStartInput(**SQL))
        status = wait_for(
            lambda: (s := sql_failover_status(SqlFailoverStatusInput(**SQL, operation=friendly.operation))).failed and s
        )
        assert status.done is True and "forceFailoverAllowDataLoss" in (status.error or "")  # over: it failed
        assert status.primary == "sql-contoso-weu"
        forced = sql_failover_start(SqlFailoverStartInput(**SQL, allow_data_loss=True))
        assert forced.action == "started"
        watch = SqlFailoverStatusInput(**SQL, operation=forced.operation)
        done = wait_for(lambda: (s := sql_failover_status(watch)).done and s)
        assert done.primary == "sql-contoso-neu" and done.failed is False
        assert done.replication_state == "SUSPENDED"  # the old primary cannot be reached

    def test_bad_input(self, simulate: Callable[..., Simulator]) -> None:
        simulate()
        with pytest.raises(ValueError, match="allow_data_loss"):
            sql_failover_start(SqlFailoverStartInput(**SQL, allow_data_loss="yes"))  # type: ignore[arg-type]
        with pytest.raises(ValueError, match="failover_group"):
            sql_failover_start(SqlFailoverStartInput(**{**SQL, "failover_group": ""}))
        with pytest.raises(ValueError, match="ARM endpoint"):
            sql_failover_status(SqlFailoverStatusInput(**SQL, operation="https://elsewhere.example/op"))


class TestStorage:
    def test_failover_converges(self, simulate: Callable[..., Simulator]) -> None:
        sim = simulate()
        account = sim.estate.dependencies.accounts[("rg-avd-weu", "stcontosofslogix")]
        first = storage_failover_start(StorageFailoverStartInput(**STORAGE))
        assert first.action == "started" and first.primary_location_before == "westeurope"
        assert first.last_sync_time and first.operation
        lag = utcnow() - datetime.fromisoformat(first.last_sync_time)
        assert timedelta(seconds=230) < lag < timedelta(seconds=260)  # the data-loss window (FSLogix profiles)
        assert "/asyncoperations/" in first.operation
        status = storage_failover_status(
            StorageFailoverStatusInput(**STORAGE, operation=first.operation, primary_location_before="westeurope")
        )
        assert status.done is False and status.failover_in_progress is True
        second = storage_failover_start(StorageFailoverStartInput(**STORAGE))
        assert second.action == "attached"
        watch = StorageFailoverStatusInput(**STORAGE, primary_location_before="westeurope")
        done = wait_for(lambda: (s := storage_failover_status(watch)).done and s, timeout=10)
        assert done.primary_location == "northeurope" and done.failover_in_progress is False
        assert done.sku == "Standard_LRS" and done.failed is False  # as Azure: LRS in the new primary region
        third = storage_failover_start(StorageFailoverStartInput(**STORAGE))
        assert third.action == "skipped" and third.primary_location_before == "northeurope"
        there = StorageFailoverStartInput(**STORAGE, recovery_location="northeurope")
        assert storage_failover_start(there).action == "skipped"
        assert account.failover_calls == 1  # only the first call posted
        dumps([first, second, third, done])

    def test_failed_failover_is_reported(self, simulate: Callable[..., Simulator]) -> None:
        simulate(failing={"stcontosofslogix": "The secondary cluster is not ready (simulated)."})
        first = storage_failover_start(StorageFailoverStartInput(**STORAGE, recovery_location="northeurope"))
        watch = StorageFailoverStatusInput(**STORAGE, operation=first.operation)
        status = wait_for(lambda: (s := storage_failover_status(watch)).failed and s)
        assert status.done is True and "not ready" in (status.error or "")  # over: it failed
        assert status.primary_location == "westeurope"

    def test_planned_failover_needs_both_regions(self, simulate: Callable[..., Simulator]) -> None:
        sim = simulate()
        sim.estate.dependencies.region_down("westeurope")
        with pytest.raises(HttpResponseError, match="PlannedFailoverNotSupported"):
            storage_failover_start(StorageFailoverStartInput(**STORAGE, planned=True))
        with pytest.raises(ValueError, match="replicates to northeurope"):
            storage_failover_start(StorageFailoverStartInput(**STORAGE, recovery_location="swedencentral"))


class TestCompute:
    def test_start_converges(self, simulate: Callable[..., Simulator]) -> None:
        sim = simulate()
        first = compute_start_vms(VmsInput(**VMS))
        assert first.plain() == {"started": ["vm-avd-neu-0", "vm-avd-neu-1"], "already_running": [], "starting": []}
        second = compute_start_vms(VmsInput(**VMS))
        assert second.plain() == {"started": [], "already_running": [], "starting": ["vm-avd-neu-0", "vm-avd-neu-1"]}
        states = compute_vm_states(VmsInput(**{**VMS, "vms": ["vm-avd-neu-0", "vm-avd-neu-3"]}))
        assert states.running == []
        assert states.not_running == [
            VmState(name="vm-avd-neu-0", power_state="starting"),
            VmState(name="vm-avd-neu-3", power_state="deallocated"),
        ]
        wait_for(lambda: compute_vm_states(VmsInput(**VMS)).running == VMS["vms"], timeout=10)
        assert compute_start_vms(VmsInput(**VMS)).plain() == {
            "started": [],
            "already_running": VMS["vms"],
            "starting": [],
        }
        assert [sim.estate.dependencies.vms[("rg-avd-neu", n)].start_calls for n in VMS["vms"]] == [1, 1]
        hosts = {h.name: h.status for h in sim.estate.host_pool("rg-avd-neu", "hp-neu-pooled").session_hosts.values()}
        assert hosts["vm-avd-neu-0.contoso.local"] == "Available"  # its VM runs: the agent reports it
        assert hosts["vm-avd-neu-3.contoso.local"] == "Unavailable"

    def test_power_state_and_since_when(self, simulate: Callable[..., Simulator]) -> None:
        """`compute_vm_power` reads since when each VM has been in its power state: the instance view's
        `ProvisioningState/...` status time, the last start or deallocate (a standby host kept off 100 days)."""
        sim = simulate()
        compute = sim.estate.dependencies.compute
        long_ago = utcnow() - timedelta(days=100)
        compute.powered_off_since("rg-avd-neu", "vm-avd-neu-1", long_ago)
        before_start = utcnow()
        compute_start_vms(VmsInput(**{**VMS, "vms": ["vm-avd-neu-0"]}))
        powers = {p.name: p for p in compute_vm_power(VmsInput(**VMS))}
        assert powers["vm-avd-neu-1"].power_state == "deallocated"
        assert powers["vm-avd-neu-1"].since is not None
        assert abs((powers["vm-avd-neu-1"].since - long_ago).total_seconds()) < 1
        wait_for(lambda: compute_vm_power(VmsInput(**VMS))[0].power_state == "running", timeout=10)
        started = compute_vm_power(VmsInput(**VMS))[0]
        assert started.since is not None and started.since >= before_start - timedelta(seconds=1)  # dated by the start

    def test_failed_start_is_reported(self, simulate: Callable[..., Simulator]) -> None:
        simulate(failing={"vm-avd-neu-1": "Allocation failed: no capacity for Standard_D8s_v5 (simulated)."})
        compute_start_vms(VmsInput(**VMS))
        settled = lambda s: all(v.power_state != "starting" for v in s.not_running)  # noqa: E731
        # both starts must have ended (one ran, one failed); each VM's start ends on its own simulated clock
        states = wait_for(lambda: (s := compute_vm_states(VmsInput(**VMS))).running and settled(s) and s, timeout=10)
        assert states.running == ["vm-avd-neu-0"]
        assert states.not_running == [
            VmState(
                name="vm-avd-neu-1",
                power_state="deallocated",
                error="Allocation failed: no capacity for Standard_D8s_v5 (simulated).",
            )
        ]
        assert compute_start_vms(VmsInput(**VMS)).started == ["vm-avd-neu-1"]  # a retry starts it again

    def test_bad_input(self, simulate: Callable[..., Simulator]) -> None:
        simulate()
        with pytest.raises(ValueError, match="vms"):
            compute_start_vms(VmsInput(**{**VMS, "vms": []}))


class TestAvdAllowNewSessions:
    def test_open_then_close(self, simulate: Callable[..., Simulator]) -> None:
        sim = simulate()
        pool = sim.estate.host_pool("rg-avd-neu", "hp-neu-pooled")
        some = NewSessionsInput(**POOL, session_hosts=["vm-avd-neu-0", "vm-avd-neu-1.contoso.local"])
        assert avd_allow_new_sessions(some).plain() == {
            "host_pool": "hp-neu-pooled",
            "session_hosts": 2,
            "changed": 2,
            "changed_hosts": ["vm-avd-neu-0.contoso.local", "vm-avd-neu-1.contoso.local"],
        }
        assert avd_allow_new_sessions(NewSessionsInput(**POOL)).plain() == {
            "host_pool": "hp-neu-pooled",
            "session_hosts": 4,
            "changed": 2,
            "changed_hosts": ["vm-avd-neu-2.contoso.local", "vm-avd-neu-3.contoso.local"],
        }
        assert avd_allow_new_sessions(NewSessionsInput(**POOL)).changed == 0
        assert all(h.allow_new_session for h in pool.session_hosts.values())
        assert avd_allow_new_sessions(NewSessionsInput(**POOL, allow=False)).changed == 4
        assert sim.estate.requests["avd.sessionhosts.update"] == 8

    def test_unknown_host(self, simulate: Callable[..., Simulator]) -> None:
        simulate()
        with pytest.raises(ValueError, match="no session host vm-nope"):
            avd_allow_new_sessions(NewSessionsInput(**POOL, session_hosts=["vm-nope"]))

    def test_bad_input_refused_naming_the_field(self) -> None:
        with pytest.raises(ValidationError, match="allow"):
            NewSessionsInput.model_validate({**POOL, "allow": "yes"})
        with pytest.raises(ValidationError, match="host_pool"):
            NewSessionsInput.model_validate({**POOL, "host_pool": ""})
        with pytest.raises(ValidationError, match="session_hosts"):
            NewSessionsInput.model_validate({**POOL, "session_hosts": [""]})


class TestWebhook:
    STEP = {
        "instance_id": "run-42",
        "plan": "demo",
        "step": "hyperv-replica",
        "nonce": "n-1",
        "expires_at": 4_000_000_000,
    }

    def test_call_and_signed_callback(
        self, simulate: Callable[..., Simulator], receiver: Receiver, caplog: pytest.LogCaptureFixture
    ) -> None:
        sim = simulate(public_base_url=receiver.url)
        token = sim.estate.dependencies.webhooks[DEMO_WEBHOOK].token
        caplog.set_level(logging.DEBUG)
        payload = WebhookInput(**self.STEP, webhook="hyperv-replica", body={"site": "azl-weu-01"})
        first = webhook_invoke(payload)
        assert first.status == 202 and first.job_ids and len(first.job_ids) == 1
        callback = wait_for(lambda: receiver.calls, timeout=10)[0]
        assert callback["instance"] == "run-42" and callback["step"] == "hyperv-replica"
        claims = verify_callback(SIGNING_KEY, callback["token"], "run-42", "hyperv-replica", time.time())
        assert claims.nonce == "n-1" and claims.expires_at == 4_000_000_000  # this call of this step of this run
        assert callback["body"] == {
            "status": "Succeeded",
            "output": sim.estate.dependencies.webhooks[DEMO_WEBHOOK].output,
        }
        call = sim.estate.dependencies.webhook_calls[0]
        assert call.body["site"] == "azl-weu-01" and call.body["plan"] == "demo"
        assert parse_qs(urlsplit(call.body["callback_url"]).query)["token"] == [callback["token"]]
        # Run twice: the runbook sees the same (instance, step) and does not run or call back again.
        second = webhook_invoke(payload)
        assert second.job_ids == first.job_ids
        assert [c.duplicate for c in sim.estate.dependencies.webhook_calls] == [False, True]
        assert len(receiver.calls) == 1
        assert token not in caplog.text and "token=" not in caplog.text
        assert dumps(first) and token not in dumps([first, second])

    def test_failing_runbook_and_one_that_never_calls_back(
        self, simulate: Callable[..., Simulator], receiver: Receiver
    ) -> None:
        sim = simulate(public_base_url=receiver.url)
        hook = sim.estate.dependencies.webhooks[DEMO_WEBHOOK]
        hook.fail = True
        webhook_invoke(WebhookInput(**self.STEP, webhook="HYPERV_REPLICA"))
        assert wait_for(lambda: receiver.calls, timeout=10)[0]["body"]["status"] == "Failed"
        hook.fail, hook.call_back = False, False
        webhook_invoke(WebhookInput(**{**self.STEP, "step": "hyperv-replica-2"}, webhook="hyperv-replica"))
        assert sim.estate.dependencies.webhook_calls[-1].callback["reason"] == "the webhook is set never to call back"

    def test_errors_never_show_the_url(
        self, simulate: Callable[..., Simulator], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        sim = simulate()
        with pytest.raises(ValueError, match="FAILOVER_WEBHOOK_NOPE"):
            webhook_invoke(WebhookInput(**self.STEP, webhook="nope"))
        with pytest.raises(ValueError, match="callback_url"):
            webhook_invoke(WebhookInput(**self.STEP, webhook="hyperv-replica", body={"callback_url": "https://evil"}))
        current = settings_module.current()
        bad = f"{sim.url}/automation/webhooks/hyperv-replica?token=wrong-secret"
        monkeypatch.setattr(settings_module, "_current", _with_webhook(current, bad))
        with pytest.raises(RuntimeError) as refused:
            webhook_invoke(WebhookInput(**self.STEP, webhook="hyperv-replica"))
        assert str(refused.value) == "webhook 'hyperv-replica' answered HTTP 404"
        gone = "https://127.0.0.1:9/automation/webhooks/hyperv-replica?token=gone-secret"
        monkeypatch.setattr(settings_module, "_current", _with_webhook(current, gone))
        with pytest.raises(RuntimeError) as unreachable:
            webhook_invoke(WebhookInput(**self.STEP, webhook="hyperv-replica"))
        assert "gone-secret" not in str(unreachable.value) and "could not be reached" in str(unreachable.value)
        assert unreachable.value.__cause__ is None and unreachable.value.__suppress_context__


def _with_webhook(settings: Settings, url: str) -> Settings:
    return settings.model_copy(update={"webhooks": {"hyperv_replica": url}})


def test_webhook_settings_from_env() -> None:
    env = {
        "FAILOVER_WEBHOOK_HYPERV_REPLICA": "https://example.invalid/webhooks?token=s3cret",
        "FAILOVER_WEBHOOK_": "ignored: no name",
        "FAILOVER_WEBHOOK_EMPTY": "",
        "FAILOVER_TEAMS_WEBHOOK_URL": "https://teams.invalid/?sig=x",
    }
    settings = Settings.from_env(env)
    assert settings.webhooks == {"hyperv_replica": "https://example.invalid/webhooks?token=s3cret"}
    assert "s3cret" not in repr(settings)
    assert hash(settings) == hash(Settings.from_env(env))  # still usable as the client factory's key
