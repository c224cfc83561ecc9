"""Recovery capacity on azure-functions-durable's replay executor (the Azure host's path), against the simulator:
a run nobody approves starts the check in the background (`Controlled.background`) while it signs users out and
reads it before the failover; the VMs the quota cannot hold are reported per VM. Judged by the simulator's state."""

from __future__ import annotations

from typing import Any

from simulator.estate import RECOVERY_REGION
from tests.orchestrations.test_df_runs import plans, run_df

FAMILY = "standardDSv5Family"


def test_background_check_on_df(make_stack: Any) -> None:
    stack = make_stack(vms=30, sessions=4, approval={"required": 0})
    used = stack.estate.capacity.usage(RECOVERY_REGION)[FAMILY]
    stack.estate.capacity.set_quota(RECOVERY_REGION, FAMILY, limit=used + 40)
    driver, root = run_df(stack, script=lambda waiting: [])
    summary = root.output
    called = [c.name for c in driver.calls]
    assert called.count("capacity_check") == 1
    # started with the sign-out (the drain is the first wait that watches it); the failover does not wait for it
    assert called.index("capacity_check") < called.index("avd_log_off_sessions") < called.index("asr_start_failover")
    assert summary["capacity"]["short"] is True and summary["status"] == "CompletedWithErrors", summary["errors"]
    assert {s["name"]: s["status"] for s in summary["steps"]}["capacity"] == "Succeeded"  # read when the run ended
    refused = summary["capacity"]["refused"]
    assert refused and plans(stack)["rp-apps-01"]["state"] == "Protected"
    assert stack.estate.capacity.quota_failures == len(refused)
    assert any(w.startswith("recovery capacity: recovery plan rp-apps-01: ") for w in summary["warnings"])
