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
