"""`avd_provision_session_hosts` and `avd_remove_session_hosts` through the real SDK clients against the simulator:
a repeated call creates no second VM, a personal host pool is refused, and removal is repeatable."""

from __future__ import annotations

from typing import Any

import pytest

from activities.avd_provision import avd_provision_session_hosts, avd_remove_session_hosts
from failover.contracts.avd import ProvisionInput, RemoveHostsInput
from simulator import EstateConfig, Simulator
from simulator.estate import SUBSCRIPTION_ID
from tests.activities.conftest import StartSimulator
from tests.conftest import wait_for

SUBNET = (
    f"/subscriptions/{SUBSCRIPTION_ID}/resourceGroups/rg-avd-neu/providers/Microsoft.Network/virtualNetworks/vnet-avd-neu"
    "/subnets/snet-hosts"
)
POOL = {"subscription_id": SUBSCRIPTION_ID, "resource_group": "rg-avd-weu", "host_pool": "hp-weu-pooled"}
VMS = {"vm_subscription_id": SUBSCRIPTION_ID, "vm_resource_group": "rg-avd-neu"}
NAMES = ["avd-dr-0", "avd-dr-1"]


def provision(**extra: Any) -> Any:
    return avd_provision_session_hosts(
        ProvisionInput(**POOL, **VMS, location="northeurope", subnet_id=SUBNET, names=NAMES, **extra)
    )


def created(sim: Simulator) -> list[str]:
    return sorted(v["name"] for v in sim.estate.dependencies.compute.snapshot()["virtual_machines"] if v.get("created"))


@pytest.fixture
def sim(start_simulator: StartSimulator) -> Simulator:
    return start_simulator(EstateConfig(time_scale=600), vms=10)


def test_repeated_calls_create_no_second_vm_and_converge_to_available(sim: Simulator) -> None:
    first = provision()
    assert [h.state for h in first.hosts] == ["creating", "creating"]
    second = provision()  # the VMs are still booting: found by name, not created again
    assert {h.state for h in second.hosts} <= {"creating", "registering"}
    assert sim.estate.snapshot()["requests"]["compute.vms.create_or_update"] == 2
    done = wait_for(lambda: (r := provision()).available == NAMES and r, timeout=20)
    assert [h.session_host for h in done.hosts] == [f"{n}.contoso.local" for n in NAMES]
    assert all(h.size == "Standard_D8s_v5" for h in done.hosts)  # the pool's VM template's size
    assert created(sim) == NAMES
    assert sim.estate.snapshot()["requests"]["compute.vms.create_or_update"] == 2  # still two
    assert provision().available == NAMES  # once more: nothing changes


def test_a_personal_host_pool_is_refused(sim: Simulator) -> None:
    sim.estate.host_pool("rg-avd-weu", "hp-weu-pooled").pool_type = "Personal"
    with pytest.raises(ValueError, match="is Personal: recovery: provision builds session hosts for pooled"):
        provision()
    assert created(sim) == []  # nothing built


def test_a_drill_host_takes_no_users_and_removal_is_repeatable(sim: Simulator) -> None:
    wait_for(lambda: provision(allow_new_session=False).available == NAMES, timeout=20)
    pool = sim.estate.host_pool("rg-avd-weu", "hp-weu-pooled")
    assert not any(pool.session_hosts[f"{n}.contoso.local"].allow_new_session for n in NAMES)
    remove = RemoveHostsInput(**POOL, **VMS, names=NAMES)
    removed = avd_remove_session_hosts(remove)
    assert removed.session_hosts_removed == [f"{n}.contoso.local" for n in NAMES] and removed.vms_deleted == NAMES
    again = avd_remove_session_hosts(remove)
    assert again.session_hosts_removed == [] and again.vms_deleted == []
    assert created(sim) == []


def test_a_vm_azure_refuses_fails_its_host_with_azures_reason(sim: Simulator) -> None:
    """The template's size restricted in the region since readiness checked it: Azure answers the VM's PUT 409
    SkuNotAvailable, which the same call would get again; the host is failed with that reason (the run's operator
    decides: retry once fixed, or skip) and no VM is built. Once the size is offered again, a retry builds it."""
    sim.estate.capacity.set_restricted("northeurope", "Standard_D8s_v5")
    result = provision()
    assert [h.state for h in result.hosts] == ["failed", "failed"]
    assert all("currently not available in location 'northeurope'" in (h.error or "") for h in result.hosts)
    assert created(sim) == []
    sim.estate.capacity.restricted.clear()
    assert [h.state for h in provision().hosts] == ["creating", "creating"]
    assert created(sim) == NAMES
