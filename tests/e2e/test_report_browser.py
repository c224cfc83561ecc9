"""The run report in a real browser: headless Chromium lays out the report page of a demo run and a small
inline script (added by the test only; the served page has no scripts) measures the SVG timeline as drawn
(getBBox, getBoundingClientRect, hit testing, computed fill) and writes the figures into the DOM, which
`--dump-dom` returns. One Chromium launch, no network.

The summary is a recorded `failover demo` run (tests/failover/run_summary.json), so the test does not
spend a demo's seconds; the page is what `failover demo --report FILE` writes for it (`report_html`).
Chromium is the Debian package (`apt-get install chromium`, done by .ci/run in CI); the test is skipped
only when it is not installed.
"""

from __future__ import annotations

import html
import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from failover.report import BAR_HEIGHT, CHART_WIDTH, COLOURS, LABEL_WIDTH, report_data, report_html

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
SUMMARY: dict[str, Any] = json.loads(
    (Path(__file__).parents[1] / "failover" / "run_summary.json").read_text(encoding="utf-8")
)
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1280,1600",
]
MEASURE = """<script>
const svg = document.querySelector('svg[aria-label="run timeline"]');
const bars = svg ? [...svg.querySelectorAll('rect')] : [];
const measured = {
  svg: svg ? svg.getBoundingClientRect().toJSON() : null,
  bars: bars.map(bar => {
    bar.scrollIntoView({block: 'center'});
    const box = bar.getBBox();
    const screen = bar.getBoundingClientRect();
    const hit = document.elementFromPoint(screen.x + screen.width / 2, screen.y + screen.height / 2);
    return {kind: bar.getAttribute('class'), x: box.x, y: box.y, width: box.width, height: box.height,
            screen_width: screen.width, screen_height: screen.height, hit: hit === bar,
            fill: getComputedStyle(bar).fill};
  }),
};
const out = document.createElement('pre');
out.id = 'measured';
out.textContent = JSON.stringify(measured);
document.body.appendChild(out);
</script>"""


def rgb(colour: str) -> str:
    return "rgb({}, {}, {})".format(*(int(colour[i : i + 2], 16) for i in (1, 3, 5)))


@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"Chromium not installed ({CHROMIUM}); .ci/run installs it")
def test_report_timeline_is_drawn_in_chromium(tmp_path: Path) -> None:
    page = report_html(SUMMARY)
    assert page.count("</body>") == 1 and "<script" not in page
    target = tmp_path / "report.html"
    target.write_text(page.replace("</body>", MEASURE + "</body>"), encoding="utf-8")

    browser = subprocess.run(
        [CHROMIUM, *FLAGS, f"--user-data-dir={tmp_path / 'profile'}", "--dump-dom", target.as_uri()],
        capture_output=True,
        text=True,
        timeout=90,
    )
    found = re.search(r'<pre id="measured">(.*?)</pre>', browser.stdout, re.S)
    assert browser.returncode == 0 and found, (browser.returncode, browser.stderr[-3000:], browser.stdout[-1000:])
    measured = json.loads(html.unescape(found.group(1)))

    data = report_data(SUMMARY)
    entries = data["timeline"]
    assert [e["kind"] for e in entries].count("batch") == len(SUMMARY["batches"]) > 0
    assert all(e["duration"] > 0 for e in entries)  # this run: every step and batch took time

    svg = measured["svg"]
    assert svg is not None, "no timeline SVG in the page"
    assert svg["width"] == pytest.approx(LABEL_WIDTH + CHART_WIDTH + 20), svg
    assert svg["height"] > len(entries) * BAR_HEIGHT, svg

    bars = measured["bars"]
    assert [b["kind"] for b in bars] == [e["kind"] for e in entries]
    horizon = max([data["rto"]["run_seconds"], *(e["end"] for e in entries)])
    for bar, entry in zip(bars, entries, strict=True):
        where = f"{entry['label']}: {bar}"
        # the browser's geometry: on the chart, as long as its share of the run, drawn (hit) in its colour
        assert bar["width"] > 0 and bar["screen_width"] > 0, where
        assert bar["width"] == pytest.approx(entry["duration"] * CHART_WIDTH / horizon, abs=0.01), where
        assert bar["x"] == pytest.approx(LABEL_WIDTH + entry["start"] * CHART_WIDTH / horizon, abs=0.01), where
        assert bar["x"] >= LABEL_WIDTH and bar["x"] + bar["width"] <= LABEL_WIDTH + CHART_WIDTH + 0.01, where
        assert bar["height"] == BAR_HEIGHT and bar["screen_height"] == pytest.approx(BAR_HEIGHT), where
        assert bar["hit"], f"not visible at its centre: {where}"
        assert bar["fill"] == rgb(COLOURS[entry["status"]]), where
    rows = [b["y"] for b in bars]
    assert rows == sorted(rows) and len(set(rows)) == len(rows)  # one row each, in order
    starts = [b["x"] for b in bars if b["kind"] == "batch"]
    assert starts == sorted(starts) and len(set(starts)) == len(starts)  # batches start one after the other
