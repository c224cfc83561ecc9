"""Session hosts provisioned on demand (`recovery: provision`) on the local engine against the simulator: a
failover builds them in the recovery region and waits until they are registered and Available; a drill leaves
none behind; a failback drains and deletes them; a host that cannot register waits for an operator."""

from __future__ import annotations

from typing import Any

import yaml

from local.stack import LocalStack
from tests.conftest import DEMO_PLAN, approval_link, approve_as, finish, post_alert, run_status, wait_for
from tests.e2e.test_modes import approve_and_finish, drill

SUB = "5d3c0f34-7a2b-4e53-9d0e-1f2a3b4c5d6e"
SUBNET = (
    f"/subscriptions/{SUB}/resourceGroups/rg-avd-neu/providers/Microsoft.Network/virtualNetworks/vnet-avd-neu"
    "/subnets/snet-hosts"
)


def provisioned_avd(count: int = 3) -> dict[str, Any]:
    avd = dict(yaml.safe_load(DEMO_PLAN.read_text())["avd"])
    avd["host_pools"] = [
        {
            "resource_group": "rg-avd-weu",
            "name": "hp-weu-pooled",
            "recovery": "provision",
            "provision": {"count": count, "name_prefix": "avd-dr", "resource_group": "rg-avd-neu", "subnet_id": SUBNET},
        }
    ]
    return avd


def created_vms(stack: LocalStack) -> dict[str, dict[str, Any]]:
    vms = stack.estate.dependencies.compute.snapshot()["virtual_machines"]
    return {v["name"]: v for v in vms if v.get("created")}


def dr_hosts(stack: LocalStack) -> dict[str, dict[str, Any]]:
    return {h["name"]: h for h in stack.estate.snapshot()["session_hosts"] if h["name"].startswith("avd-dr-")}


class TestProvision:
    def test_failover_provisions_registered_available_hosts_and_failback_deletes_them(self, make_stack: Any) -> None:
        stack = make_stack(vms=30, sessions=2, avd=provisioned_avd(3))
        failover = approve_and_finish(stack, post_alert(stack).json()["instance_id"])
        assert failover["status"] == "Completed", failover["errors"]
        vms = created_vms(stack)
        assert sorted(vms) == ["avd-dr-0", "avd-dr-1", "avd-dr-2"]  # deterministic names, none twice
        assert all(v["location"] == "northeurope" and v["power_state"] == "running" for v in vms.values())
        assert all(v["size"] == "Standard_D8s_v5" and v["subnet_id"] == SUBNET for v in vms.values())
        hosts = dr_hosts(stack)
        assert sorted(hosts) == [f"avd-dr-{i}.contoso.local" for i in range(3)]
        assert all(h["host_pool"] == "hp-weu-pooled" and h["status"] == "Available" for h in hosts.values())
        assert all(h["allow_new_session"] for h in hosts.values())
        state = stack.estate.snapshot()
        assert state["requests"].get("compute.vms.create_or_update") == 3  # a repeated look created nothing
        assert state["requests"].get("avd.hostpool.update", 0) >= 1  # a fresh registration token
        registered = [r for r in state["registrations"] if r["registered"]]
        assert len(registered) == 3 and all(r["location"] == "northeurope" for r in registered)
        report = failover["provisioned"]
        assert [h["state"] for h in report["hosts"]] == ["available"] * 3 and report["token_expires"]
        assert "provision" in [s["name"] for s in failover["steps"]]
        from tests.e2e.test_openapi import fits

        answer = stack.http.get(
            f"{stack.api_url}/api/failovers/{failover['instance_id']}/report", params={"format": "json"}, timeout=30
        )
        provisioned = fits(answer, "/api/failovers/{instance_id}/report", "get", 200)["provisioned"]
        assert [(h["vm"], h["state"], h["location"]) for h in provisioned["hosts"]] == [
            (f"avd-dr-{i}", "available", "northeurope") for i in range(3)
        ]

        started = stack.http.post(f"{stack.api_url}/api/failbacks", json={"plan": "demo"}, timeout=30)
        assert started.status_code == 202, started.text
        back = approve_and_finish(stack, started.json()["instance_id"])
        assert back["status"] == "Completed", back["errors"]
        assert dr_hosts(stack) == {} and created_vms(stack) == {}
        (removed,) = back["provisioned"]["removed"]
        assert sorted(removed["drained"]) == sorted(removed["session_hosts_removed"]) == sorted(hosts)
        assert sorted(stack.estate.snapshot()["deleted_session_hosts"]) == sorted(hosts)

    def test_a_template_that_cannot_build_refuses_the_run_before_anything_changes(self, make_stack: Any) -> None:
        """The preflight's `provision` check (readiness's too): the recovery region restricts the template's VM size,
        so the run ends before anyone is signed out, not at provisioning time mid-outage."""
        stack = make_stack(vms=30, sessions=2, avd=provisioned_avd(2))
        stack.estate.capacity.set_restricted("northeurope", "Standard_D8s_v5")
        summary = finish(stack, post_alert(stack).json()["instance_id"], timeout=90)["output"]
        assert summary["status"] == "Failed", summary
        assert (
            "preflight provision: host pool hp-weu-pooled: vmTemplate.vmSize.id: VM size Standard_D8s_v5 is "
            "restricted in northeurope for the subscription (NotAvailableForSubscription)"
        ) in summary["errors"]
        assert any("cannot be built in the recovery region: the run was refused" in e for e in summary["errors"])
        state = stack.estate.snapshot()
        assert state["jobs"] == [] and state["sessions_remaining"] == 2 and state["logged_off"] == []
        assert created_vms(stack) == {} and "approval" not in [s["name"] for s in summary["steps"]]

    def test_a_drill_leaves_no_session_host_behind(self, make_stack: Any) -> None:
        stack = make_stack(vms=30, sessions=2, avd=provisioned_avd(2))
        summary = approve_and_finish(stack, drill(stack, reason="drill"))
        assert summary["status"] == "Completed", summary["errors"]
        assert [h["state"] for h in summary["provisioned"]["hosts"]] == ["available"] * 2
        assert summary["provisioned"]["drill"] is True
        assert dr_hosts(stack) == {} and created_vms(stack) == {}
        assert stack.estate.snapshot()["requests"].get("compute.vms.create_or_update") == 2
        assert len(summary["provisioned"]["removed"][0]["vms_deleted"]) == 2

    def test_an_expired_token_is_noticed_and_waits_for_an_operator(self, make_stack: Any) -> None:
        stack = make_stack(vms=30, sessions=2, avd=provisioned_avd(1))
        stack.estate.avd.token_lifetime_cap = 30.0  # every token expires before a VM's agent registers
        instance_id = post_alert(stack).json()["instance_id"]
        wait_for(lambda: approve_as("oncall-lead@contoso.com", approval_link(stack, instance_id)).status_code == 200,
                 timeout=60)  # fmt: skip
        wait_for(lambda: run_status(stack, instance_id)["operator"]["blocked"] == ["provision"], timeout=90)
        assert dr_hosts(stack) == {}  # never registered
        assert any(not r["registered"] and "expired" in r["why"] for r in stack.estate.snapshot()["registrations"])
        answer = stack.http.post(f"{stack.api_url}/api/failovers/{instance_id}/plans/provision/skip", timeout=30)
        assert answer.status_code == 202, answer.text
        status = finish(stack, instance_id, timeout=120)
        summary = status["output"]
        assert summary["status"] == "CompletedWithErrors"
        assert summary["provisioned"]["hosts"][0]["state"] == "failed"
        assert any("not Available" in e for e in summary["errors"]), summary["errors"]
