"""The live terminal view of a run (local/live.py) and how `failover watch` picks it: rendered to a rich
Console forced to be a terminal (bars, counters, approvals, errors, colours), and the plain line-by-line
follow, unchanged, when stdout is not a terminal."""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

import local.cli as cli
from local.live import BAR_WIDTH, MAX_BATCH_ROWS, MAX_ERRORS, LiveView, batch_states, live_view, render

SUMMARY: dict[str, Any] = json.loads(
    (Path(__file__).parents[1] / "failover" / "run_summary.json").read_text(encoding="utf-8")
)
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
APPROVERS = ["oncall-lead@contoso.com", "platform-owner@contoso.com"]


def plans(*entries: tuple[str, int, str]) -> list[dict[str, Any]]:
    return [
        {"name": n, "vms": v, "state": s, "errors": [] if s == "Succeeded" else ["job failed"]} for n, v, s in entries
    ]


def running_status(**changes: Any) -> dict[str, Any]:
    """`GET /api/failovers/{id}` of a run failing over, shaped as the API answers: batch 1 (identity) done,
    batch 2 (apps) failed one of its two recovery plans and waits for an operator, batch 3 running, batch 4
    not started."""
    batches = [
        {
            "group": "identity",
            "index": 1,
            "recovery_plans": ["rp-identity"],
            "vms": 10,
            "started_at": "2026-11-23T10:00:10.000Z",
            "finished_at": "2026-11-23T10:00:12.000Z",
            "status": "Succeeded",
            "plans": plans(("rp-identity", 10, "Succeeded")),
        },
        {
            "group": "apps",
            "index": 2,
            "recovery_plans": ["rp-apps-01", "rp-apps-02"],
            "vms": 40,
            "started_at": "2026-11-23T10:00:14.000Z",
            "finished_at": "2026-11-23T10:00:17.000Z",
            "status": "Failed",
            "plans": plans(("rp-apps-01", 20, "Succeeded"), ("rp-apps-02", 20, "Failed")),
        },
        {
            "group": "apps",
            "index": 3,
            "recovery_plans": [{"name": "rp-apps-03", "vms": 25}],
            "vms": 25,
            "status": "Pending",
        },
        {
            "group": "apps",
            "index": 4,
            "recovery_plans": [{"name": "rp-apps-04", "vms": 25}],
            "vms": 25,
            "status": "Pending",
        },
    ]
    status: dict[str, Any] = {
        "instance_id": "failover-demo",
        "plan": "demo",
        "mode": "unplanned",
        "runtime_status": "Running",
        "status": "Running",
        "stage": "failing over",
        "created_at": "2026-11-23T10:00:00.000Z",
        "last_updated_at": "2026-11-23T10:00:20.000Z",
        "progress": {
            "batches_total": 4,
            "batches_started": 3,
            "batches_done": 2,
            "vms_total": 100,
            "vms_failed_over": 10,
            "sessions_found": 40,
            "sessions_logged_off": 30,
        },
        "approval": {
            "required": 1,
            "approvers": APPROVERS,
            "on_timeout": "abort",
            "waiting": False,
            "escalated": False,
            "decisions": [{"approver": APPROVERS[0], "decision": "approve", "at": "2026-11-23T10:00:05.000Z"}],
            "expires_at": "2026-11-23T10:30:00.000Z",
        },
        "approvals": [{"approver": APPROVERS[0], "decision": "approve", "at": "2026-11-23T10:00:05.000Z"}],
        "batches": batches,
        "operator": {"blocked": ["rp-apps-02"], "skipped": [], "actions": [], "cancel": None},
        "steps": [
            {"name": "resolve", "status": "Succeeded"},
            {"name": "approval", "status": "Succeeded"},
            {"name": "avd", "status": "CompletedWithErrors"},
            {"name": "failover", "status": "Running"},
        ],
        "errors": [
            "session 7 of user7@contoso.com on vm-avd-weu-1 was not logged off: HTTP 500",
            "recovery plan rp-apps-02 (apps): Failed: job failed",
        ],
        "output": None,
    }
    status.update(changes)
    keys = ("stage", "plan", "mode", "approval", "progress", "batches", "operator", "steps", "errors")
    status["custom_status"] = {k: status[k] for k in keys}  # what the orchestration publishes
    return status


def draw(status: dict[str, Any], color_system: str | None = None, width: int = 120) -> str:
    """What a terminal 120 columns wide receives. Without a colour system a bar is only its done part, one
    '━' per cell (and '╸' for a half cell), so its length is its progress."""
    console = Console(file=io.StringIO(), force_terminal=True, color_system=color_system, width=width)
    console.print(render(status))
    assert isinstance(console.file, io.StringIO)
    return console.file.getvalue()


def row(text: str, label: str) -> str:
    rows = [line for line in ANSI.sub("", text).splitlines() if line.startswith(label)]
    assert len(rows) == 1, (label, text)
    return rows[0]


def cells(line: str) -> float:
    return line.count("━") + 0.5 * line.count("╸")


def expected_cells(done: int, total: int) -> float:
    return int(BAR_WIDTH * 2 * done / total) / 2


def test_bars_counters_approval_operator_and_errors() -> None:
    text = draw(running_status())

    header = row(text, "run failover-demo")
    assert "plan demo (unplanned)" in header and "stage: failing over" in header and "Running" in header
    assert f"approved by {APPROVERS[0]} at 2026-11-23T10:00:05.000Z" in row(text, "approval:")
    assert "resolve✓" in row(text, "steps:") and "avd CompletedWithErrors" in text and "failover…" in text

    sessions = row(text, "sessions logged off")
    assert "30/40" in sessions and cells(sessions) == expected_cells(30, 40) == 22.5
    vms = row(text, "VMs failed over")
    assert "10/100" in vms and "batches 2/4 done" in vms and cells(vms) == expected_cells(10, 100)

    identity = row(text, "group identity")
    assert "10/10" in identity and "batches 1/1 done" in identity and cells(identity) == BAR_WIDTH
    apps = row(text, "group apps")  # 20 of rp-apps-01's VMs moved; the failed plan's 20 did not
    assert "20/90" in apps and "batches 1/3 done" in apps and cells(apps) == expected_cells(20, 90)

    assert cells(row(text, "  batch 1")) == BAR_WIDTH and "Succeeded" in row(text, "  batch 1")
    failed = row(text, "  batch 2")
    assert "20/40" in failed and "Failed" in failed and "rp-apps-01, rp-apps-02" in failed
    assert cells(failed) == expected_cells(20, 40)
    assert "Running" in row(text, "  batch 3") and "25 VMs" in row(text, "  batch 3")
    pending = row(text, "  batch 4")
    assert "Pending" in pending and "25 VMs" in pending and cells(pending) == 0

    assert "waiting for an operator: `failover retry|skip failover-demo PLAN` for rp-apps-02" in ANSI.sub("", text)
    plain = ANSI.sub("", text)
    assert "errors (2)" in plain
    assert "  recovery plan rp-apps-02 (apps): Failed: job failed" in plain
    assert "was not logged off: HTTP 500" in plain


def test_colours_keep_done_todo_and_failed_apart_on_16_colours() -> None:
    text = draw(running_status(), color_system="standard")
    green, grey, red = "\x1b[32m", "\x1b[90m", "\x1b[31m"
    batch1 = next(line for line in text.splitlines() if "batch 1" in line)
    assert f"{green}{'━' * BAR_WIDTH}" in batch1  # finished: all green
    batch2 = next(line for line in text.splitlines() if "batch 2" in line)
    assert f"{red}" in batch2 and "\x1b[36m━" in batch2  # failed: the moved half cyan, the rest red
    batch4 = next(line for line in text.splitlines() if "batch 4" in line)
    assert f"{grey}{'━' * BAR_WIDTH}" in batch4 and green not in batch4  # not started: all grey


def test_waiting_for_approval() -> None:
    gate = {
        "required": 2,
        "approvers": APPROVERS,
        "on_timeout": "abort",
        "waiting": True,
        "escalated": True,
        "decisions": [],
        "expires_at": "2026-11-23T10:30:00.000Z",
        "readiness": {"protected_items": 100, "healthy": 98, "max_rpo_seconds": 120.0},
    }
    line = row(draw(running_status(stage="awaiting approval", approval=gate, approvals=[]), width=250), "approval:")
    assert f"WAITING for 2 of {', '.join(APPROVERS)} until 2026-11-23T10:30:00.000Z (then: abort)" in line
    assert "escalated" in line and "replication: 98/100 healthy, max RPO 120 s" in line

    one = {"approver": APPROVERS[1], "decision": "approve", "at": "2026-11-23T10:01:00.000Z"}
    line = row(draw(running_status(approval={**gate, "decisions": [one]}, approvals=[one])), "approval:")
    assert f"approved by {APPROVERS[1]}" in line and "waiting for 1 more" in line
    assert "not required" in row(draw(running_status(approval={"required": 0}, approvals=[])), "approval:")


def test_only_the_newest_errors_are_listed() -> None:
    errors = [f"error number {n}" for n in range(MAX_ERRORS + 3)]
    plain = ANSI.sub("", draw(running_status(errors=errors)))
    assert f"errors ({MAX_ERRORS + 3})" in plain and "… 3 earlier" in plain
    assert f"error number {MAX_ERRORS + 2}" in plain and "error number 3" in plain
    assert "error number 2\n" not in plain and "error number 0\n" not in plain
    assert "errors (" not in ANSI.sub("", draw(running_status(errors=[])))


def test_batch_states() -> None:
    done = {"status": "Succeeded"}
    failed = {"status": "Failed"}
    pending = {"status": "Pending"}
    assert batch_states([done, pending, pending], 2) == ["Succeeded", "Running", "Pending"]
    assert batch_states([done, pending, pending], 1) == ["Succeeded", "Pending", "Pending"]
    # a retry batch is appended once dispatched; planned batches of later groups are still waiting
    retry = {"status": "Pending", "retry_of": "rp-apps-02"}
    assert batch_states([done, failed, pending, retry], 3) == ["Succeeded", "Failed", "Pending", "Running"]
    assert batch_states([done, failed, pending, {**retry, "status": "Succeeded"}], 4) == [
        "Succeeded",
        "Failed",
        "Running",
        "Succeeded",
    ]


def test_a_large_plan_lists_only_the_batches_of_groups_under_way() -> None:
    def batch(index: int, group: str, status: str) -> dict[str, Any]:
        return {"group": group, "index": index, "recovery_plans": [f"rp-{index}"], "vms": 10, "status": status}

    batches = [batch(n, "first", "Succeeded") for n in range(1, 8)]
    batches += [batch(n, "second", "Succeeded" if n < 10 else "Pending") for n in range(8, 12)]
    batches += [batch(n, "third", "Pending") for n in range(12, 16)]
    assert len(batches) > MAX_BATCH_ROWS
    progress = {"batches_started": 10, "batches_done": 9, "vms_total": 150, "vms_failed_over": 90}
    plain = ANSI.sub("", draw(running_status(batches=batches, progress=progress, operator={})))
    assert "group first" in plain and "group second" in plain and "group third" in plain
    listed = re.findall(r"^  batch (\d+)", plain, re.M)
    assert listed == ["8", "9", "10", "11"]
    assert "Running" in row(plain, "  batch 10") and "Pending" in row(plain, "  batch 11")


def test_the_finished_run_from_its_summary() -> None:
    status = running_status(
        runtime_status="Completed",
        status="Completed",
        stage="completed",
        progress=None,
        batches=[],
        errors=[],
        operator={},
        output=SUMMARY,
    )
    plain = ANSI.sub("", draw(status))
    assert "0:20" not in plain and "20.0s" in row(plain, "run failover-demo")  # created → last update
    vms = row(plain, "VMs failed over")
    assert f"{SUMMARY['vms_failed_over']}/{SUMMARY['vms_failed_over']}" in vms and cells(vms) == BAR_WIDTH
    assert f"batches {len(SUMMARY['batches'])}/{len(SUMMARY['batches'])} done" in vms


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_live_view_only_on_a_terminal() -> None:
    assert live_view(io.StringIO()) is None
    view = live_view(Terminal())
    assert isinstance(view, LiveView) and view.console.is_terminal

    screen = Terminal()
    with LiveView(Console(file=screen, force_terminal=True, color_system=None, width=120)) as view:
        print("approved by oncall-lead@contoso.com: HTTP 200", file=view.out)
        view.show(running_status())
    plain = ANSI.sub("", screen.getvalue())
    assert "approved by oncall-lead@contoso.com: HTTP 200" in plain
    assert plain.rstrip().endswith(
        "for rp-apps-02\nerrors (2)\n  session 7 of user7@contoso.com on vm-avd-weu-1 "
        "was not logged off: HTTP 500\n  recovery plan rp-apps-02 (apps): Failed: job failed"
    )


@pytest.fixture
def answers(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[dict[str, Any]]]:
    """`failover watch` against canned API answers (a running read, then the finished run)."""
    reads = [
        running_status(),
        running_status(
            runtime_status="Completed",
            status=SUMMARY["status"],
            stage="completed",
            errors=[*running_status()["errors"], "a third error"],
            output=SUMMARY,
        ),
    ]
    calls: list[dict[str, Any]] = []

    def fake_call(args: Any, method: str, path: str, body: Any = None, **params: Any) -> dict[str, Any]:
        assert (method, path) == ("GET", "failovers/failover-demo")
        calls.append(reads[min(len(calls), len(reads) - 1)])
        return calls[-1]

    monkeypatch.setattr(cli, "_call", fake_call)
    yield calls


def test_watch_prints_lines_when_stdout_is_not_a_terminal(
    answers: list[dict[str, Any]], capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["watch", "failover-demo", "--interval", "0.01"]) == 0
    out = capsys.readouterr().out
    assert len(answers) == 2
    assert "\x1b[" not in out and "━" not in out
    lines = out.splitlines()
    assert re.fullmatch(
        r"\[\s*\d+\.\ds\] failing over: batches 2/4 done \(3 started\), VMs 10/100, sessions logged off 30/40",
        lines[0],
    ), lines[0]
    assert lines[1:3] == [
        "  error: session 7 of user7@contoso.com on vm-avd-weu-1 was not logged off: HTTP 500",
        "  error: recovery plan rp-apps-02 (apps): Failed: job failed",
    ]
    assert re.fullmatch(r"\[\s*\d+\.\ds\] completed: batches 2/4 done .*", lines[3]), lines[3]
    assert lines[4] == "  error: a third error"  # only the new one
    assert f"Run failover-demo (demo, unplanned): {SUMMARY['status']}" in out


def test_watch_draws_the_live_view_on_a_terminal(
    answers: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    screen = Terminal()
    monkeypatch.setattr("sys.stdout", screen)
    monkeypatch.setenv("TERM", "xterm-256color")
    monkeypatch.delenv("NO_COLOR", raising=False)
    assert cli.main(["watch", "failover-demo", "--interval", "0.01"]) == 0
    plain = ANSI.sub("", screen.getvalue())
    assert "━" in plain and "stage: completed" in plain and "group apps" in plain
    assert "errors (3)" in plain and "  a third error" in plain
    assert "  error: " not in plain.split("Run failover-demo")[0]  # errors are in the view, not printed as lines
    assert f"Run failover-demo (demo, unplanned): {SUMMARY['status']}" in plain  # the summary after the view


def test_a_long_runs_status_draws_its_groups_from_their_counts() -> None:
    """A 10,000-VM run's status lists only some batches (started ones marked Running) and `batch_groups`: the
    group lines and the headline count every batch, the rows show what is listed."""
    listed = [
        {"group": "apps", "index": 40, "recovery_plans": ["rp-40"], "vms": 100, "status": "Failed",
         "plans": [{"name": "rp-40", "vms": 100, "state": "Failed"}]},
        {"group": "apps", "index": 41, "recovery_plans": ["rp-41"], "vms": 100, "status": "Running"},
        {"group": "apps", "index": 42, "recovery_plans": ["rp-42"], "vms": 100, "status": "Pending"},
    ]  # fmt: skip
    groups = [
        {"group": "identity", "batches": 1, "done": 1, "failed": 0, "running": 0, "vms": 40, "vms_failed_over": 40},
        {"group": "apps", "batches": 100, "done": 39, "failed": 1, "running": 1, "vms": 9960, "vms_failed_over": 3800},
    ]
    progress = {"batches_total": 101, "batches_started": 41, "batches_done": 40, "vms_total": 10000,
                "vms_failed_over": 3840}  # fmt: skip
    status = running_status(batches=listed, progress=progress, operator={})
    status["custom_status"]["batch_groups"] = groups
    plain = ANSI.sub("", draw(status))
    assert "batches 40/101 done" in row(plain, "VMs failed over")
    assert "3800/9960" in row(plain, "group apps") and "batches 39/100 done" in row(plain, "group apps")
    assert "40/40" in row(plain, "group identity") and "batches 1/1 done" in row(plain, "group identity")
    assert "Failed" in row(plain, "  batch 40") and "Running" in row(plain, "  batch 41")
    assert "Pending" in row(plain, "  batch 42")
