"""`failover serve` as a user starts it (a subprocess, its startup lines are a contract) and the thin
client commands against it: start, status, list, approve, cancel."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from local.cli import main
from local.engine import free_port
from local.stack import DEMO_PLAN
from tests.conftest import wait_for


@pytest.fixture(scope="module")
def served() -> Iterator[dict[str, str]]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("FAILOVER_")}
    process = subprocess.Popen(
        [sys.executable, "-m", "local.cli", "serve", "--port", str(port), "--time-scale", "600", "--vms", "20"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    lines: dict[str, str] = {}
    try:
        assert process.stdout is not None
        deadline = time.monotonic() + 60
        while "plans" not in lines and time.monotonic() < deadline:
            line = process.stdout.readline()
            if not line:
                break
            key, _, value = line.strip().partition(": ")
            lines[key] = value
        assert lines.get("api") == f"http://127.0.0.1:{port}", (lines, process.stderr and process.stderr.read())
        assert lines["simulator"].startswith("https://127.0.0.1:") and lines["api key"]
        yield lines
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()


def cli(served: dict[str, str], capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, Any]:
    code = main([*args[:1], "--api", served["api"], "--api-key", served["api key"], *args[1:]])
    out = capsys.readouterr()
    try:
        return code, json.loads(out.out)
    except ValueError:
        return code, out.out + out.err


def test_serve_and_client_commands(served: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    health = requests.get(f"{served['api']}/api/health", timeout=10).json()
    assert health["plans"] == ["demo"]
    plan = requests.get(f"{served['api']}/api/plans/demo", headers={"x-functions-key": served["api key"]}, timeout=10)
    assert plan.json()["primary_region"] == "westeurope" and len(plan.json()["approval"]["approvers"]) >= 2

    code, started = cli(served, capsys, "start", "--plan", "demo", "--mode", "planned", "--reason", "cli test")
    assert code == 0 and started["instance_id"].startswith("failover-demo-") and started["deduplicated"] is False
    instance_id = started["instance_id"]

    def waiting() -> bool:
        code, status = cli(served, capsys, "status", instance_id)
        return code == 0 and bool((status.get("approval") or {}).get("waiting"))

    wait_for(waiting, timeout=30)
    code, listing = cli(served, capsys, "list", "--json", "--status", "running")
    assert code == 0 and [r["instance_id"] for r in listing["runs"]] == [instance_id]
    code, listing = cli(served, capsys, "list", "--json", "--status", "Cancelled")  # outcomes filter too
    assert code == 0 and listing["runs"] == []

    code, refused = cli(served, capsys, "approve", instance_id, "--as", "mallory@contoso.com")
    assert code == 1 and "NotAnApprover" in refused
    code, cancelled = cli(served, capsys, "cancel", instance_id, "--reason", "only a test")
    assert code == 0 and cancelled["cancel_requested"] is True

    def ended() -> Any:
        _, status = cli(served, capsys, "status", instance_id)
        return status if status["runtime_status"] == "Completed" else None

    final = wait_for(ended, timeout=30)
    assert final["status"] == "Cancelled" and final["output"]["operator"]["cancel"]["reason"] == "only a test"
    code, listing = cli(served, capsys, "list", "--json", "--status", "cancelled")  # --status and ?status= agree
    assert code == 0 and [r["instance_id"] for r in listing["runs"]] == [instance_id]
    code, again = cli(served, capsys, "cancel", instance_id)
    assert code == 1 and "RunNotActive" in again
    code, watched = cli(served, capsys, "watch", instance_id, "--interval", "0.1")
    assert code == 2 and "cancelled" in watched and f"Run {instance_id} (demo, planned): Cancelled" in watched


def test_readiness_and_an_empty_list(served: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    """Every capability reachable from the CLI: `failover readiness PLAN` (it was an invalid choice), and an empty
    `failover list` says so (it printed nothing)."""
    code, printed = cli(served, capsys, "readiness", "demo")
    assert code in (0, 2) and printed.splitlines()[0].startswith("demo: ")
    assert any(line.strip().split()[1] == "test_failovers:" for line in printed.splitlines()[1:])
    code, document = cli(served, capsys, "readiness", "demo", "--json")
    assert document["plan"] == "demo" and {c["name"] for c in document["checks"]} >= {"recovery_plans", "replication"}
    code, printed = cli(served, capsys, "list", "--status", "rejected", "--plan", "demo")
    assert code == 0 and printed.strip() == "no runs of plan demo with status rejected"


def test_drill_cleanup_with_nothing_left(served: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        ["drill", "cleanup", "demo", "--reason", "cli test", "--api", served["api"], "--api-key", served["api key"]]
    )
    started = json.loads(capsys.readouterr().out)
    assert code == 0 and started["instance_id"].startswith("drill-demo-")

    def ended() -> Any:
        _, status = cli(served, capsys, "status", started["instance_id"])
        return status if status["runtime_status"] == "Completed" else None

    final = wait_for(ended, timeout=30)["output"]
    assert final["status"] == "Completed" and "nothing to do" in final["warnings"][0]


def test_start_as_someone_else_is_refused(served: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    """Issue 21: the requester is the signed-in caller; naming another in requested_by starts nothing."""
    args = ("start", "--plan", "demo", "--mode", "planned", "--as", "b@contoso.com", "--requested-by", "a@contoso.com")
    code, refused = cli(served, capsys, *args)
    assert code == 1 and "403 RequesterNotCaller: requested_by: 'a@contoso.com'" in refused


def test_start_requested_by_signs_in(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """`failover start --requested-by USER` acts as USER (the identity header, locally), the body repeating it: a
    body field alone makes a key-only start, whose requester is `function-key` (issue 21)."""
    sent: dict[str, Any] = {}

    def request(method: str, url: str, **kwargs: Any) -> Any:
        sent.update(kwargs)
        answer = requests.Response()
        answer.status_code, answer._content = 202, b'{"instance_id": "failover-demo-x"}'
        return answer

    monkeypatch.setattr(requests, "request", request)
    argv = ["start", "--plan", "demo", "--mode", "planned", "--requested-by", "a@contoso.com", "--api-key", "k"]
    assert main([*argv, "--api", "http://127.0.0.1:9"]) == 0
    assert sent["headers"] == {"x-functions-key": "k", "X-MS-CLIENT-PRINCIPAL-NAME": "a@contoso.com"}
    assert sent["json"]["requested_by"] == "a@contoso.com"
    assert json.loads(capsys.readouterr().out)["instance_id"] == "failover-demo-x"


def test_plan_preview_text(capsys: pytest.CaptureFixture[str]) -> None:
    """The text preview names a Traffic Manager endpoint's new status and priority (it printed a Python dict)."""
    code = main(["plan", "preview", str(DEMO_PLAN), "--vms", "30"])
    captured = capsys.readouterr()
    out = captured.out
    assert code == 0, captured.err
    assert "dns: tm-contoso-app/weu → Disabled" in out and "{" not in out
    assert "at most 100 VMs failing over at once" in out


def test_client_without_a_server(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["status", "x", "--api", f"http://127.0.0.1:{free_port()}"])
    assert code == 1 and "cannot reach the API" in capsys.readouterr().err


def test_a_generated_function_key_is_read_as_the_value_of_api_key(monkeypatch: pytest.MonkeyPatch) -> None:
    """A key starting with "-" is read by argparse as an option, so `failover status --api-key KEY` failed
    (one generated key in 64 does; CI failed on one); a generated key never starts with one."""
    import secrets

    from local.cli import parser
    from local.stack import function_key

    drawn = iter(["-starts-with-a-dash", "Abc-def_123"])
    monkeypatch.setattr(secrets, "token_urlsafe", lambda _n: next(drawn))
    key = function_key()
    assert key == "Abc-def_123"
    assert parser().parse_args(["status", "run-1", "--api-key", key]).api_key == key
