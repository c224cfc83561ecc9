"""`GET /api/failovers/{id}/report` and `failover report` on the local engine against the simulator: 404 for an
unknown run, 409 while the run waits for approval, then the HTML page and its JSON facts once it has finished."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import requests

from local.cli import main
from tests.conftest import approval_link, approve_as, finish, post_alert, wait_waiting
from tests.e2e.test_openapi import fits

REPORT = "/api/failovers/{instance_id}/report"


def test_report_route_and_cli(make_stack: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    stack = make_stack(vms=10, sessions=2)
    api, http = stack.api_url, stack.http

    fits(http.get(f"{api}/api/failovers/failover-nope/report", timeout=10), REPORT, "get", 404)
    fits(requests.get(f"{api}/api/failovers/failover-nope/report", timeout=10), REPORT, "get", 401)

    started = post_alert(stack)
    assert started.status_code == 202, started.text
    instance_id = started.json()["instance_id"]
    url = f"{api}/api/failovers/{instance_id}/report"
    wait_waiting(stack, instance_id)
    running = fits(http.get(url, timeout=10), REPORT, "get", 409)
    assert running["error"]["code"] == "RunNotFinished"
    fits(http.get(url, params={"format": "pdf"}, timeout=10), REPORT, "get", 422)

    comment = "<script>alert('x')</script> go"
    assert approve_as(stack.plan.approval.approvers[0], approval_link(stack, instance_id), comment=comment).ok
    status = finish(stack, instance_id, timeout=120)
    assert status["runtime_status"] == "Completed", status
    summary = status["output"]

    page = http.get(url, timeout=10)
    assert page.headers["Content-Type"].startswith("text/html")
    assert "default-src 'none'" in page.headers["Content-Security-Policy"]
    text = fits(page, REPORT, "get", 200)
    assert text.startswith("<!doctype html>") and "<svg" in text
    assert text.count('<rect class="step"') == len(summary["steps"])
    assert text.count('<rect class="batch"') == len(summary["batches"]) > 0
    assert "<script" not in text and "&lt;script&gt;" in text
    assert "simulated at time scale x600" in text

    data = fits(http.get(url, params={"format": "json"}, timeout=10), REPORT, "get", 200)
    assert data["instance_id"] == instance_id and data["status"] == summary["status"]
    assert data["rto"]["achieved_seconds"] == pytest.approx(summary["rto_seconds"] * 600)
    assert [e["kind"] for e in data["timeline"]].count("batch") == len(summary["batches"])
    assert data["approvals"][0]["comment"] == comment

    # the CLI: a thin client of the route
    target = tmp_path / "report.html"
    client = ["--api", api, "--api-key", stack.api_key]
    assert main(["report", instance_id, "--html", str(target), *client]) == 0
    assert target.read_text(encoding="utf-8") == text
    capsys.readouterr()
    assert main(["report", instance_id, "--json", *client]) == 0
    assert json.loads(capsys.readouterr().out) == data
    assert main(["report", "failover-nope", *client]) == 1
    assert "RunNotFound" in capsys.readouterr().err


def test_rpo_table_from_the_outage(make_stack: Any) -> None:
    """An unplanned failover started through the API while the simulator plays West Europe's outage: the report's
    RPO table has each VM's recovery point from before the outage began (its RPO earlier) and a window from the
    run's start (no alert started it) at least that RPO, in plan time."""
    from dataclasses import replace

    from failover.run import parse_iso
    from simulator.arm import iso
    from simulator.outage import Outage

    stack = make_stack(vms=10, sessions=2, dependencies=[])
    # ASR's side of the outage (the full one leaves the users on unreachable hosts for an operator to decide)
    stack.estate.set_outage(Outage("westeurope", services=frozenset({"asr"})))
    answer = stack.http.post(
        f"{stack.api_url}/api/failovers",
        json={"plan": "demo", "mode": "unplanned", "reason": "West Europe is down"},
        headers={"X-MS-CLIENT-PRINCIPAL-NAME": "platform-owner@contoso.com"},
        timeout=30,
    )
    assert answer.status_code == 202, answer.text
    instance_id = answer.json()["instance_id"]
    wait_waiting(stack, instance_id)
    assert approve_as(stack.plan.approval.approvers[0], approval_link(stack, instance_id)).ok
    summary = finish(stack, instance_id, timeout=120)["output"]
    assert summary["vms_failed_over"] == 10, summary
    url = f"{stack.api_url}/api/failovers/{instance_id}/report"
    rpo = fits(stack.http.get(url, params={"format": "json"}, timeout=10), REPORT, "get", 200)["rpo"]
    assert rpo["outage_start"] == summary["started_at"] and rpo["outage_start_source"] == "run_start"
    began = stack.estate.outage.begins_at
    items = {i.vm_name: i for _, i in stack.estate.site_recovery.protected_items("rg-dr-neu", "rsv-dr-neu")}
    assert len(rpo["vms"]) == 10
    for row in rpo["vms"]:
        item = items[row["vm"]]
        lag = stack.estate.item_rpo_seconds(replace(item, replicating=True)) or 0
        expected = began - stack.estate.scaled(lag)  # replication stopped when the region went down
        assert parse_iso(row["recovery_point_time"]) == parse_iso(iso(expected) or "")
        assert row["window_seconds"] >= lag
        window = (parse_iso(summary["started_at"]) - expected).total_seconds() * 600
        assert row["window_seconds"] == pytest.approx(window, abs=1)
    assert rpo["worst_window_seconds"] == max(r["window_seconds"] for r in rpo["vms"])
    assert rpo["target_seconds"] == pytest.approx(stack.plan.rpo_target)
    page = stack.http.get(url, timeout=10).text
    assert "run&#39;s start: no alert started it" in page or "run's start: no alert started it" in page
