"""The run report, on a real summary: `failover demo --json --vms 20 --sessions 2 --time-scale 600` (last line)."""

from __future__ import annotations

import copy
import json
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from failover.report import CHART_WIDTH, duration, report_data, report_html

SUMMARY: dict[str, Any] = json.loads((Path(__file__).parent / "run_summary.json").read_text(encoding="utf-8"))


@pytest.fixture
def summary() -> dict[str, Any]:
    return copy.deepcopy(SUMMARY)


class Page(HTMLParser):
    """Tags with their attributes, and the page's text."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def parse(page: str) -> Page:
    parser = Page()
    parser.feed(page)
    return parser


def rects(page: str, kind: str) -> list[dict[str, str | None]]:
    return [attrs for tag, attrs in parse(page).tags if tag == "rect" and attrs.get("class") == kind]


def test_one_rect_per_step_and_per_batch(summary: dict[str, Any]) -> None:
    page = report_html(summary)
    assert len(rects(page, "step")) == len(summary["steps"]) == 10
    assert len(rects(page, "batch")) == len(summary["batches"]) == 3


def test_bar_widths_are_proportional_to_durations(summary: dict[str, Any]) -> None:
    page = report_html(summary)
    timeline = report_data(summary)["timeline"]
    bars = rects(page, "step") + rects(page, "batch")
    assert [e["kind"] for e in timeline] == ["step"] * 10 + ["batch"] * 3
    ordered = [*rects(page, "step"), *rects(page, "batch")]
    assert ordered == bars
    horizon = max([summary["rto_seconds"], *(e["end"] for e in timeline)])
    for entry, bar in zip(timeline, bars, strict=True):
        assert float(bar["width"] or 0) == pytest.approx(entry["duration"] * CHART_WIDTH / horizon, abs=0.01)
    # x follows the time from the run start: the failover step starts where batch 1 starts
    failover = next(b for e, b in zip(timeline, bars, strict=True) if e["label"] == "failover")
    assert float(failover["x"] or 0) == pytest.approx(float(rects(page, "batch")[0]["x"] or 0), abs=0.01)


def test_timeline_offsets(summary: dict[str, Any]) -> None:
    timeline = report_data(summary)["timeline"]
    first = timeline[0]
    assert first == {
        "kind": "step",
        "label": "resolve",
        "status": "Succeeded",
        "start": 0.0,
        "end": 0.042,
        "duration": 0.042,
        "plan_start": 0.0,
        "plan_end": 25.2,
    }
    batch = timeline[10]
    assert batch["label"].startswith("batch 1 [identity] 4 VMs")
    assert batch["start"] == pytest.approx(0.807) and batch["duration"] == pytest.approx(0.449)
    assert all(0 <= e["start"] <= e["end"] <= summary["rto_seconds"] for e in timeline)


def test_a_running_step_ends_at_the_run_end(summary: dict[str, Any]) -> None:
    summary["steps"][-1]["finished_at"] = None
    summary["steps"][-1]["status"] = "Running"
    assert report_data(summary)["timeline"][9]["end"] == summary["rto_seconds"]


def test_rto_in_plan_time(summary: dict[str, Any]) -> None:
    data = report_data(summary)
    assert data["rto"] == {
        "achieved_seconds": 3072.6,
        "target_seconds": 7200.0,
        "met": True,
        "note": None,
        "run_seconds": 5.121,
    }
    assert data["simulated"] is True
    text = " ".join(parse(report_html(summary)).text)
    assert "51.2 min achieved, target 2 h 00 min — met (simulated at time scale x600)" in text


def test_real_time_runs_do_not_say_simulated(summary: dict[str, Any]) -> None:
    summary["time_scale"] = 1.0
    summary["rto_seconds"], summary["rto_target_seconds"] = 9000.0, 7200.0
    page = report_html(summary)
    assert "simulated" not in page
    text = parse(page).text
    assert "2 h 30 min achieved, target 2 h 00 min — MISSED" in text  # and nothing after it (no dash)
    assert "time from the run start, in plan time" in text
    summary["rto_met"], summary["rto_target_seconds"] = None, 0.0  # no target: no verdict
    assert "2 h 30 min achieved, target 0 s" in parse(report_html(summary)).text


def test_values_are_escaped(summary: dict[str, Any]) -> None:
    summary["approvals"][0]["comment"] = "<script>alert('x')</script>"
    summary["errors"] = ["<img src=x onerror=alert(1)>"]
    summary["dns"][0]["record"] = '"><svg onload=alert(1)>'
    page = report_html(summary)
    assert "<script" not in page
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in page
    assert "&lt;img src=x onerror=alert(1)&gt;" in page
    assert not [tag for tag, _ in parse(page).tags if tag in ("script", "img")]
    assert [tag for tag, _ in parse(page).tags].count("svg") == 1


def test_an_unverified_requester(summary: dict[str, Any]) -> None:
    """A run started with the function key alone: the name its body gave is shown as a claim, not verified."""
    summary |= {"requested_by": "function-key", "requested_by_claim": "<b>a@contoso.com</b>"}
    text = parse(report_html(summary)).text
    assert "function-key (says <b>a@contoso.com</b>: not verified)" in text
    assert report_data(summary)["requested_by_claim"] == "<b>a@contoso.com</b>"


def test_no_external_references(summary: dict[str, Any]) -> None:
    page = report_html(summary)
    assert not re.search(r"https?:|//", page.replace("</", "")), "the page references a URL"
    for tag, attrs in parse(page).tags:
        assert not {"src", "href"} & set(attrs), tag
        assert tag not in ("script", "link", "iframe", "img")
    # the dependency's ARM operation URL is in the summary but not on the page
    assert "operation" in summary["dependencies"][0]["details"]


def test_the_sections(summary: dict[str, Any]) -> None:
    text = " ".join(parse(report_html(summary)).text)
    for heading in ("Approvals", "Recovery plans", "DNS and Traffic Manager", "Dependencies", "Verify", "Errors"):
        assert heading in text
    assert "oncall-lead@contoso.com" in text and "demo approval" in text
    assert "Enabled, priority 1" in text and "Disabled, priority 1" in text  # Traffic Manager from → to
    assert "app-weu.contoso.com" in text and "app-neu.contoso.com" in text
    assert "writes to fslogix after its last sync (2026-11-23T14:34:40+00:00) may be lost" in text
    assert "18 published, 0 failed" in text
    assert "Drill" not in text  # not a drill


def test_drill_and_errors(summary: dict[str, Any]) -> None:
    summary |= {
        "mode": "test",
        "status": "CompletedWithErrors",
        "drill": {"rto_seconds": 5.0, "rto_target_seconds": 4.0, "rto_met": False},
        "cleanup": "failed",
        "errors": ["rp-apps-01: cleanup failed"],
    }
    summary["recovery_plans"][2] |= {"state": "Failed", "errors": ["The replication of VM vm-app-01 is not healthy."]}
    text = " ".join(parse(report_html(summary)).text)
    assert "Recovery time 50.0 min, target 40.0 min: MISSED" in text
    assert "Cleanup: failed" in text
    assert "The replication of VM vm-app-01 is not healthy." in text and "rp-apps-01: cleanup failed" in text
    data = report_data(summary)
    assert data["drill"]["rto_met"] is False and data["cleanup"] == "failed"
    assert data["recovery_plans"][2]["errors"] == ["The replication of VM vm-app-01 is not healthy."]


def test_data_is_json(summary: dict[str, Any]) -> None:
    data = report_data(summary)
    assert json.loads(json.dumps(data)) == data
    assert [d["kind"] for d in data["dns"]] == ["dns", "dns", "traffic_manager"]
    assert data["approvals"] == summary["approvals"]
    assert data["events"] == {"published": 18, "failed": 0}


@pytest.mark.parametrize(
    ("seconds", "text"), [(0, "0 s"), (45.4, "45 s"), (3072.6, "51.2 min"), (7200, "2 h 00 min"), (-1, "0 s")]
)
def test_duration(seconds: float, text: str) -> None:
    assert duration(seconds) == text


def _with_points(summary: dict[str, Any], fired_at: str | None) -> dict[str, Any]:
    """The summary with a trigger fired at `fired_at` (None: started without an alert) and two failed-over VMs whose
    recovery points are 0.1 and 0.05 run seconds (60 and 30 s at x600) before 14:38:40."""
    summary["triggers"] = [{**summary["triggers"][0], "fired_at": fired_at}] if fired_at else []
    summary["rpo_target_seconds"] = 45 / 600  # run seconds: 45 s of plan time
    summary["recovery_plans"][0]["recovery_points"] = {
        "vm-id-01": "2026-11-23T14:38:39.900Z",
        "vm-id-02": "2026-11-23T14:38:39.950Z",
    }
    return summary


class TestRpo:
    """The data-loss (RPO) table: each VM's recovery point against the outage start, the plan's worst against its
    rpo_target."""

    def test_windows_from_the_alert(self, summary: dict[str, Any]) -> None:
        rpo = report_data(_with_points(summary, "2026-11-23T14:38:40.000Z"))["rpo"]
        assert rpo["outage_start"] == "2026-11-23T14:38:40.000Z" and rpo["outage_start_source"] == "alert"
        assert [(v["vm"], v["recovery_plan"], v["window_seconds"]) for v in rpo["vms"]] == [
            ("vm-id-01", "rp-identity", pytest.approx(60.0)),
            ("vm-id-02", "rp-identity", pytest.approx(30.0)),
        ]
        assert rpo["worst_window_seconds"] == pytest.approx(60.0) and rpo["target_seconds"] == pytest.approx(45.0)
        assert rpo["within"] is False and "OVER" in rpo["note"]
        text = "".join(parse(report_html(_with_points(summary, "2026-11-23T14:38:40.000Z"))).text)
        assert "the first alert fired" in text and "vm-id-01" in text and "— OVER" in text

    def test_without_an_alert_the_run_start(self, summary: dict[str, Any]) -> None:
        rpo = report_data(_with_points(summary, None))["rpo"]
        assert rpo["outage_start"] == summary["started_at"] and rpo["outage_start_source"] == "run_start"
        assert rpo["worst_window_seconds"] == 0.0 and rpo["within"] is True  # points after the start: clamped

    def test_planned_loses_nothing(self, summary: dict[str, Any]) -> None:
        summary = _with_points(summary, "2026-11-23T14:38:40.000Z")
        summary["mode"] = "planned"
        rpo = report_data(summary)["rpo"]
        assert {v["window_seconds"] for v in rpo["vms"]} == {0.0} and rpo["planned"] and rpo["within"] is True
        assert rpo["note"].startswith("no data loss (planned)")
        assert "no data loss (planned)" in "".join(parse(report_html(summary)).text)

    def test_no_points(self, summary: dict[str, Any]) -> None:
        rpo = report_data(summary)["rpo"]
        assert rpo["vms"] == [] and rpo["worst_window_seconds"] is None and rpo["within"] is None


def test_provisioned_session_hosts(summary: dict[str, Any]) -> None:
    """`recovery: provision`: the report lists each host built (VM, session host, pool, size, state, region, error),
    the token's expiry and what was removed, in the page and in the JSON (as docs/openapi.yaml's RunReport says)."""
    from tests.e2e.test_openapi import DOC_URI, _validate

    assert report_data(summary)["provisioned"] is None
    assert "Session hosts provisioned" not in " ".join(parse(report_html(summary)).text)
    host = {"host_pool": "hp-weu-pooled", "location": "northeurope", "size": "Standard_D8s_v5"}
    summary["provisioned"] = {
        "drill": False,
        "hosts": [
            host | {"vm": "avd-dr-0", "state": "available", "session_host": "avd-dr-0.contoso.local", "error": None},
            host | {"vm": "avd-dr-1", "state": "failed", "session_host": None, "error": "the token has expired"},
        ],
        "token_expires": "2026-11-24T14:00:00+00:00",
        "removed": [
            {
                "host_pool": "hp-weu-pooled",
                "drained": ["avd-dr-0.contoso.local"],
                "session_hosts_removed": ["avd-dr-0.contoso.local"],
                "vms_deleted": ["avd-dr-0", "avd-dr-1"],
            }
        ],
    }
    data = report_data(summary)
    assert [h["vm"] for h in data["provisioned"]["hosts"]] == ["avd-dr-0", "avd-dr-1"]
    assert data["provisioned"]["hosts"][1]["error"] == "the token has expired"
    _validate(json.loads(json.dumps(data))["provisioned"], {"$ref": f"{DOC_URI}#/components/schemas/Provisioned"})
    text = " ".join(parse(report_html(summary)).text)
    assert "Session hosts provisioned" in text and "2 session hosts built in the recovery region" in text
    assert "avd-dr-0.contoso.local" in text and "hp-weu-pooled" in text and "Standard_D8s_v5" in text
    assert "the token has expired" in text and "valid until 2026-11-24T14:00:00+00:00" in text
    assert "1 session hosts unregistered (1 drained first), 2 VMs deleted" in text
