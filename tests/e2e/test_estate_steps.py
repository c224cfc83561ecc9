"""The rest of the estate on the real local engine against the simulator (one stack for the module): network and
identity preflight before the failover is proposed (a disconnected gateway shows on the approval card), and one
failover whose waves interleave ASR groups with a custom-action group (Hyper-V Replica runbook webhook), with the
NetApp FSLogix volume made writable and the storage account's data-loss window in the report."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from failover.report import report_data, report_html
from local.stack import DEMO_PLAN, LocalStack
from simulator import sites as sim_sites
from tests.conftest import approval_link, approve_as, finish, post_alert, teams_messages, wait_for, wait_waiting
from tests.sites_plan import NETWORK_AND_IDENTITY

DEMO = yaml.safe_load(DEMO_PLAN.read_text())
NETAPP = {
    "name": "fslogix-anf",
    "kind": "netapp_replication",
    "resource_group": "rg-avd-neu",
    "account": "anf-contoso-neu",
    "pool": "pool-premium",
    "volume": "vol-fslogix-neu",
    "before_group": "apps",
    "timeout": "15m",
}
GROUPS = [
    DEMO["groups"][0],  # identity (ASR)
    {
        "name": "azlocal-sites",  # Hyper-V Replica for the larger Azure Local locations (Automation runbook)
        "action": {"webhook": "hyperv-replica", "body": {"sites": ["azlocal-weu-01"]}, "timeout": "30m"},
    },
    *DEMO["groups"][1:],  # data, apps (ASR)
]


SUB = DEMO["subscription_id"]
BACKUP_TEST = {
    "vault": {"resource_group": "rg-backup-weu", "name": "rsv-backup-weu"},
    "vm": {"resource_group": "rg-apps-weu", "name": "vm-app-0001"},
    "network_id": DEMO["drill"]["network_id"],
    "staging_storage_account": f"/subscriptions/{SUB}/resourceGroups/rg-backup-weu/providers/Microsoft.Storage/"
    "storageAccounts/strestorestaging",
    "target_resource_group": "rg-restoretest-neu",
    "target": "4h",
}


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    plan = {
        **DEMO,
        **NETWORK_AND_IDENTITY,
        "groups": GROUPS,
        "dependencies": [*DEMO["dependencies"], NETAPP],
        "backup_tests": [BACKUP_TEST],
    }
    path: Path = tmp_path_factory.mktemp("estate") / "plan.yaml"
    path.write_text(yaml.safe_dump(plan, sort_keys=False))
    with LocalStack(plan_path=path, vms=20, sessions=2, time_scale=600.0) as started:
        yield started


def _cards(stack: LocalStack, instance_id: str = "failover-demo") -> list[str]:
    """The run's approval cards, oldest first (instance ids are reused by the singleton policy)."""
    return [json.dumps(m) for m in teams_messages(stack) if f"/api/approvals/{instance_id}?" in json.dumps(m)]


def _new_card(stack: LocalStack, instance_id: str, before: int) -> str:
    return str(wait_for(lambda: (cards := _cards(stack, instance_id))[before:] and cards[-1]))


def test_disconnected_gateway_is_on_the_card_before_approval(stack: LocalStack) -> None:
    sites = sim_sites.of(stack.estate)
    sites.set_connection("vgw-neu", "NotConnected")
    before = len(_cards(stack))
    try:
        answer = post_alert(stack)
        assert answer.status_code == 202, answer.text
        instance_id = answer.json()["instance_id"]
        status = wait_waiting(stack, instance_id)
        assert status["custom_status"]["approval"]["preflight"] == "fail"
        text = _new_card(stack, instance_id, before)
        reject = approval_link(stack, instance_id, "Reject")
        assert "NOT READY" in text and "cn-neu-onprem NotConnected" in text
        assert "dc-onprem-01 (no connected gateway to on-premises)" in text
        assert approve_as(stack.plan.approval.approvers[0], reject).status_code == 200
        summary = finish(stack, instance_id)["output"]
    finally:
        sites.set_connection("vgw-neu", "Connected")
    assert summary["status"] == "Rejected"
    checks = {c["name"]: c["status"] for c in summary["preflight"]["checks"]}
    assert checks == {"network": "fail", "network_mappings": "pass", "identity": "fail"}
    assert sites.snapshot()["volumes"][0]["break_calls"] == 0  # nothing was changed


def test_waves_netapp_and_storage_in_one_failover(stack: LocalStack) -> None:
    before = len(_cards(stack))
    answer = post_alert(stack)
    instance_id = answer.json()["instance_id"]
    assert "NOT READY" not in _new_card(stack, instance_id, before)
    link = approval_link(stack, instance_id)
    assert approve_as(stack.plan.approval.approvers[0], link).status_code == 200
    status = finish(stack, instance_id, timeout=120)
    summary: dict[str, Any] = status["output"]
    assert summary["status"] == "Completed", summary["errors"]
    assert summary["preflight"]["status"] == "pass"

    # waves: ASR, custom action, ASR, ASR, in the plan's order
    waves = [(w["group"], w["kind"], w["status"]) for w in summary["waves"]]
    assert waves == [
        ("identity", "asr", "Succeeded"),
        ("azlocal-sites", "custom_action", "Succeeded"),
        ("data", "asr", "Succeeded"),
        ("apps", "asr", "Succeeded"),
    ]
    steps = {s["name"]: s for s in summary["steps"]}
    batches = {b["group"]: b for b in summary["batches"]}
    action = steps["action: azlocal-sites"]
    assert batches["identity"]["finished_at"] <= action["started_at"]
    assert action["finished_at"] <= batches["data"]["started_at"]
    call = stack.estate.dependencies.webhook_calls[-1]
    assert call.body["step"] == "azlocal-sites" and call.body["sites"] == ["azlocal-weu-01"]

    # FSLogix: the NetApp destination volume is writable, the storage account failed over; both before standby
    deps = {d["name"]: d for d in summary["dependencies"]}
    assert deps["fslogix-anf"]["status"] == "Succeeded"
    assert deps["fslogix-anf"]["details"]["mirror_state"] == "Broken"
    assert sim_sites.of(stack.estate).snapshot()["volumes"][0]["mirror_state"] == "Broken"
    window = deps["fslogix"]["details"]["data_loss_window_seconds"]
    assert 200 <= window <= 400  # the simulated 240 s replication lag, read when the failover was requested
    assert steps["dependency: fslogix-anf"]["finished_at"] <= steps["standby"]["started_at"]
    assert steps["dependency: fslogix"]["finished_at"] <= steps["standby"]["started_at"]

    # identity verified from the recovery region; the report shows waves, preflight and data-loss windows
    verify = {c["name"]: c for c in summary["verify"]["checks"]}
    assert verify["identity"]["healthy"] and verify["identity"]["available"] == ["dc-onprem-01"]
    data = report_data(summary)
    notes = {d["dependency"]: d["note"] for d in data["data_loss"]}
    assert "_10minutely" in notes["fslogix-anf"] and "last sync" in notes["fslogix"]
    page = report_html(summary)
    assert "<h2>Waves</h2>" in page and "custom action" in page and "webhook hyperv-replica" in page
    assert "<h2>Preflight</h2>" in page and "vgw-neu (Vpn) connected" in page


def test_backup_restore_test_run(stack: LocalStack) -> None:
    """The restore test restores into the isolated network, sees the Heartbeat, deletes the VM, reports the time."""
    # started as the monthly timer starts it (the Azure host's drill_timer calls the same method)
    started = asyncio.run(stack.api.scheduled_backup_tests(stack.engine.client))
    instance_id = f"backup-test-{stack.plan.name}-0"
    assert started == [{"instance_id": instance_id, "plan": stack.plan.name, "deduplicated": False}]
    state = stack.engine.client._client.wait_for_orchestration_completion(instance_id, timeout=60)
    assert state is not None and state.serialized_output, state
    result = json.loads(state.serialized_output)
    assert result["status"] == "Succeeded", result["errors"]
    assert result["healthy"] is True and result["deleted"] is True and result["target_met"] is True
    assert 1100 <= result["restore_seconds"] <= 2400  # the simulated 20-minute restore, in plan time
    sites = sim_sites.of(stack.estate).snapshot()
    assert sites["restores"][-1]["network_id"] == BACKUP_TEST["network_id"]
    assert sites["deleted_vms"] == ["vm-app-0001-rt"]
    assert all(r["target_vm"] != "vm-app-0001" for r in sites["restores"])  # never restored over production


def test_restore_tests_through_the_api_and_the_cli(stack: LocalStack) -> None:
    """`POST /api/backup-tests` (and `failover backup-test PLAN`) starts the plan's restore tests; `status`, `list`
    and `report` read them (mode `restore-test`)."""
    import io
    from contextlib import redirect_stdout

    from local.cli import main

    api = stack.api_url
    answer = stack.http.post(f"{api}/api/backup-tests", json={"plan": stack.plan.name, "test": 0}, timeout=30)
    assert answer.status_code == 202, answer.text
    [started] = answer.json()["runs"]
    instance_id = started["instance_id"]
    assert instance_id == f"backup-test-{stack.plan.name}-0"
    status = wait_for(lambda: (s := stack.http.get(f"{api}/api/failovers/{instance_id}", timeout=10).json())
                        ["runtime_status"] == "Completed" and s)  # fmt: skip
    assert status["mode"] == "restore-test" and status["status"] == "Completed", status
    assert status["output"]["deleted"] is True and status["output"]["vm"] == "vm-app-0001"
    listed = stack.http.get(f"{api}/api/failovers", timeout=10).json()["runs"]
    assert any(r["instance_id"] == instance_id and r["mode"] == "restore-test" for r in listed)
    page = stack.http.get(f"{api}/api/failovers/{instance_id}/report", timeout=10)
    assert page.status_code == 200 and "Restore test backup-test-" in page.text and "vm-app-0001-rt" in page.text
    facts = stack.http.get(f"{api}/api/failovers/{instance_id}/report?format=json", timeout=10).json()
    assert facts["target_met"] is True
    # refused with the field named, nothing started
    wrong = stack.http.post(f"{api}/api/backup-tests", json={"plan": stack.plan.name, "test": 5}, timeout=10)
    assert wrong.status_code == 422 and wrong.json()["error"]["message"].startswith("test: ")
    # the CLI: start (again, once finished), then status through the same API
    out = io.StringIO()
    with redirect_stdout(out):
        assert main(["backup-test", stack.plan.name, "--api", api, "--api-key", stack.api_key or ""]) == 0
    assert f'"instance_id": "{instance_id}"' in out.getvalue(), out.getvalue()
