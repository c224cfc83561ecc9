"""The benchmarks at toy sizes: their contract JSON and their arithmetic. The figures themselves are in
docs/performance.md; nothing here times anything against a target."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from bench.storm import percentile
from local.bench import bench

ROOT = Path(__file__).resolve().parents[2]
CONTRACT = {
    "vms",
    "sessions",
    "floor_s",
    "elapsed_s",
    "overhead_ratio",
    "logoff_s",
    "logoff_floor_s",
    "logoff_ratio",
    "baseline_s",
    "speedup_vs_sequential",
    "arm_requests",
    "arm_requests_min",
    "request_ratio",
    "cpu_s_per_vm",
    "peak_rss_mb",
}


def test_failover_bench_contract_on_a_toy_estate() -> None:
    result = bench(vms=6, sessions=300, time_scale=600, concurrency=8, baseline=True, timeout=120)
    assert set(result) >= CONTRACT, CONTRACT - set(result)
    assert result["status"] == "Completed"
    assert result["vms"] == 6 and result["sessions"] == 300 and result["batches"] == 3
    # the run cannot beat the floor the simulator's own parameters set, and needs at least the minimum requests
    assert result["elapsed_s"] >= result["floor_s"] > 0
    assert result["failover_s"] >= result["failover_floor_s"] > 0
    assert result["arm_requests"] >= result["arm_requests_min"] * 0.99
    assert result["baseline_s"] > 0 and result["speedup_vs_sequential"] == round(
        result["baseline_s"] / result["elapsed_s"], 2
    )
    # the best any runbook could do on this estate: the floor, against the same sequential baseline
    assert result["speedup_bound"] == round(result["baseline_s"] / result["floor_s"], 2)
    assert result["peak_rss_mb"] > 0 and result["cpu_s_per_vm"] > 0


def test_percentile_is_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 0.5) == 50 and percentile(values, 0.99) == 99 and percentile(values, 1.0) == 100
    assert percentile([7.0], 0.99) == 7


def test_storm_bench_runs_its_load_in_another_process() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bench.storm", "--copies", "60", "--concurrency", "8", "--json"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["runs"] == 1 and result["statuses"] == {"202": 60} and len(result["instances"]) == 1
    assert result["p99_ms"] >= result["p50_ms"] > 0 and result["floor_p99_ms"] > 0
