"""Where the repository's files are: the demo plan and alert the CLI's defaults name.

Its own module, importing nothing of the product, so that building the CLI's parser (`failover --help`)
imports no engine, simulator or SDK (docs/performance.md, "Start-up: imports")."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEMO_PLAN = ROOT / "plans" / "demo.yaml"
EVACUATION_PLANS = ROOT / "plans" / "evacuation"  # `failover demo --evacuation`: one region, three plans
DEMO_ALERT = ROOT / "examples" / "alerts" / "service-health-incident-westeurope.json"
