"""Session hosts provisioned on demand (`recovery: provision`, issue 23) on azure-functions-durable's replay
executor (the Azure host's path): the failover builds the hosts and polls on durable timers until they are
Available; a drill removes them at its cleanup. Judged by the simulator's VMs and session hosts."""

from __future__ import annotations

from typing import Any

from tests.e2e.test_provision import created_vms, dr_hosts, provisioned_avd
from tests.orchestrations.test_df_runs import fired_timers, run_df


def test_failover_provisions_hosts_on_the_df_executor(make_stack: Any) -> None:
    stack = make_stack(vms=30, sessions=2, avd=provisioned_avd(2))
    driver, root = run_df(stack)
    summary = root.output
    assert summary["status"] == "Completed", summary["errors"]
    assert sorted(created_vms(stack)) == ["avd-dr-0", "avd-dr-1"]
    hosts = dr_hosts(stack)
    assert sorted(hosts) == ["avd-dr-0.contoso.local", "avd-dr-1.contoso.local"]
    assert all(h["status"] == "Available" for h in hosts.values())
    assert stack.estate.snapshot()["requests"].get("compute.vms.create_or_update") == 2  # replays created nothing
    assert summary["provisioned"] and len(summary["provisioned"]["hosts"]) == 2
    assert fired_timers(driver.instances["failover-demo"]) >= 2  # the provisioning polls are durable timers


def test_drill_removes_its_provisioned_hosts_on_the_df_executor(make_stack: Any) -> None:
    stack = make_stack(vms=30, sessions=2, avd=provisioned_avd(2))
    _, root = run_df(stack, mode="test", reason="monthly drill")
    summary = root.output
    assert summary["status"] == "Completed" and summary["cleanup"] == "done", summary["errors"]
    assert stack.estate.snapshot()["requests"].get("compute.vms.create_or_update") == 2
    assert summary["provisioned"]["drill"] is True
    assert dr_hosts(stack) == {} and created_vms(stack) == {}  # built, then removed at the cleanup
    assert len(summary["provisioned"]["removed"][0]["vms_deleted"]) == 2
