"""Alert storm: a thousand copies of one incident at once (every Action Group and region fires)."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import requests
import yaml

from local.stack import DEMO_PLAN
from tests.conftest import DEMO_ALERT
from tests.reliability.conftest import FULL

COPIES = 5000 if FULL else 1000


def test_storm_of_one_incident_starts_one_run(fault_stack: Any) -> None:
    # The run must still wait for approval when the last copy arrives: at x600 the demo's 4 h gate times out in
    # 24 s, which a loaded machine can spend on the storm; the run would end Rejected and a later copy would
    # rightly start a new run (a rejected run is not joined).
    approval = {**yaml.safe_load(DEMO_PLAN.read_text())["approval"], "timeout": "168h"}
    stack = fault_stack(vms=10, sessions=2, approval=approval)
    body = DEMO_ALERT.read_bytes()
    url = f"{stack.api_url}/api/alerts"
    local = requests.Session()
    local.headers.update({"x-functions-key": stack.api_key or "", "Content-Type": "application/json"})
    adapter = requests.adapters.HTTPAdapter(pool_connections=64, pool_maxsize=64)
    local.mount("http://", adapter)

    def post(_: int) -> tuple[int, float, str]:
        started = time.perf_counter()
        answer = local.post(url, data=body, timeout=60)
        return answer.status_code, time.perf_counter() - started, answer.json().get("instance_id", "")

    with ThreadPoolExecutor(max_workers=64) as pool:
        results = list(pool.map(post, range(COPIES)))
    statuses = {code for code, _, _ in results}
    assert statuses == {202}, statuses
    runs = stack.http.get(f"{stack.api_url}/api/failovers", timeout=10).json()["runs"]
    detail = [stack.http.get(f"{stack.api_url}/api/failovers/{r['instance_id']}", timeout=10).json() for r in runs]
    why = [(d["instance_id"], d["status"], d["steps"], d["errors"], d["claim"]) for d in detail]
    assert len({instance for _, _, instance in results}) == 1, why
    assert len(runs) == 1, why
    latencies = sorted(seconds for _, seconds, _ in results)
    p50, p99 = latencies[len(latencies) // 2], latencies[int(len(latencies) * 0.99) - 1]
    print(f"\nalert storm: {COPIES} copies, 64 concurrent: p50 {p50 * 1000:.1f} ms, p99 {p99 * 1000:.1f} ms")
