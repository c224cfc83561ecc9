"""The simulator's side of `recovery: provision`: a host pool's registration token (PATCH `registrationInfo`,
`retrieveRegistrationToken`), a new VM's AVD agent registering with it (or not: a wrong or expired token), and a
session host's DELETE."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from simulator import Estate, EstateConfig, Simulator, seed_demo_estate
from simulator.arm import iso, utcnow
from simulator.estate import SUBSCRIPTION_ID
from simulator.providers.compute import Compute
from tests.simulator.conformance import call

POOL = (
    f"/subscriptions/{SUBSCRIPTION_ID}/resourceGroups/rg-avd-weu/providers/Microsoft.DesktopVirtualization"
    "/hostPools/hp-weu-pooled"
)
AVD = {"api-version": "2024-04-03"}
SUBNET = (
    f"/subscriptions/{SUBSCRIPTION_ID}/resourceGroups/rg-avd-neu/providers/Microsoft.Network/virtualNetworks/vnet-avd-neu"
    "/subnets/snet-hosts"
)
VM_BODY = {
    "location": "northeurope",
    "properties": {
        "hardwareProfile": {"vmSize": "Standard_D8s_v5"},
        "storageProfile": {"imageReference": {"publisher": "MicrosoftWindowsDesktop", "offer": "office-365"}},
        "networkProfile": {
            "networkInterfaceConfigurations": [
                {"name": "nic", "properties": {"ipConfigurations": [{"properties": {"subnet": {"id": SUBNET}}}]}}
            ]
        },
    },
}


@pytest.fixture(scope="module")
def sim() -> Iterator[Simulator]:
    with Simulator(seed_demo_estate(Estate(EstateConfig(time_scale=1)), vms=10, sessions=2)) as running:
        yield running


def renew(sim: Simulator, expires: Any) -> Any:
    body = {"properties": {"registrationInfo": {"expirationTime": expires, "registrationTokenOperation": "Update"}}}
    return call(sim, "PATCH", POOL, params=AVD, json_body=body)


def boot_with_token(sim: Simulator, name: str, token: str | None) -> dict[str, Any]:
    """Create a VM, let it boot, install the AVD agent's extension with `token`; return the registration."""
    compute: Compute = sim.estate.dependencies.compute
    compute.create_vm("rg-avd-neu", name, VM_BODY)
    compute.finish_running()
    ext_body = {"properties": {"publisher": "Microsoft.PowerShell", "type": "DSC", "protectedSettings": {}}}
    if token is not None:
        ext_body["properties"]["protectedSettings"] = {"Items": {"RegistrationInfoToken": token}}
    compute.put_extension("rg-avd-neu", name, "AddSessionHost", ext_body)
    compute.finish_running()
    assert compute.vm("rg-avd-neu", name).power_state == "running"
    return next(r for r in reversed(sim.estate.snapshot()["registrations"]) if r["session_host"].startswith(name))


def test_a_token_patch_issues_one_and_retrieve_returns_it(sim: Simulator) -> None:
    answer = renew(sim, iso(utcnow() + timedelta(hours=24)))
    assert answer.status_code == 200, answer.text
    token = answer.json()["properties"]["registrationInfo"]["token"]
    assert token
    current = call(sim, "POST", POOL + "/retrieveRegistrationToken", params=AVD).json()
    assert current["token"] == token and current["expirationTime"]
    again = renew(sim, iso(utcnow() + timedelta(hours=2))).json()["properties"]["registrationInfo"]["token"]
    assert again != token  # an Update replaces the token
    assert call(sim, "POST", POOL + "/retrieveRegistrationToken", params=AVD).json()["token"] == again


def test_a_token_patch_that_expires_in_the_past_or_is_no_date_is_refused(sim: Simulator) -> None:
    past = renew(sim, iso(utcnow() - timedelta(minutes=1)))
    assert past.status_code == 400 and "in the future" in past.json()["error"]["message"]
    assert renew(sim, "tomorrow").status_code == 400


def test_the_current_token_registers_a_session_host(sim: Simulator) -> None:
    token = renew(sim, iso(utcnow() + timedelta(hours=24))).json()["properties"]["registrationInfo"]["token"]
    registration = boot_with_token(sim, "avd-sim-0", token)
    assert registration["registered"] and registration["host_pool"] == "hp-weu-pooled"
    pool = sim.estate.host_pool("rg-avd-weu", "hp-weu-pooled")
    assert pool.session_hosts["avd-sim-0.contoso.local"].status == "Available"


@pytest.mark.parametrize("which", ["wrong", "replaced", "none"])
def test_a_wrong_or_replaced_token_registers_nothing(sim: Simulator, which: str) -> None:
    old = renew(sim, iso(utcnow() + timedelta(hours=24))).json()["properties"]["registrationInfo"]["token"]
    renew(sim, iso(utcnow() + timedelta(hours=24)))
    token = {"wrong": "eyJ.not-a-token.sim", "replaced": old, "none": None}[which]
    name = f"avd-sim-{which}"
    registration = boot_with_token(sim, name, token)
    assert not registration["registered"] and "no host pool has this registration token" in registration["why"]
    pool = sim.estate.host_pool("rg-avd-weu", "hp-weu-pooled")
    assert f"{name}.contoso.local" not in pool.session_hosts
    ext = sim.estate.dependencies.compute.extension("rg-avd-neu", name, "AddSessionHost")
    assert ext.state == "Failed" and "invalid or has expired" in ext.message


def test_an_expired_token_registers_nothing(sim: Simulator) -> None:
    token = renew(sim, iso(utcnow() + timedelta(hours=24))).json()["properties"]["registrationInfo"]["token"]
    sim.estate.host_pool("rg-avd-weu", "hp-weu-pooled").token_expires = utcnow() - timedelta(seconds=1)
    registration = boot_with_token(sim, "avd-sim-expired", token)
    assert not registration["registered"] and registration["why"] == "the registration token has expired"
    expired = call(sim, "POST", POOL + "/retrieveRegistrationToken", params=AVD).json()
    assert expired["token"] is None  # retrieve gives no expired token


def test_a_session_host_delete(sim: Simulator) -> None:
    token = renew(sim, iso(utcnow() + timedelta(hours=24))).json()["properties"]["registrationInfo"]["token"]
    boot_with_token(sim, "avd-sim-del", token)
    host = POOL + "/sessionHosts/avd-sim-del.contoso.local"
    assert call(sim, "GET", host, params=AVD).status_code == 200
    assert call(sim, "DELETE", host, params={**AVD, "force": "true"}).status_code == 200
    assert call(sim, "GET", host, params=AVD).status_code == 404
    assert call(sim, "DELETE", host, params={**AVD, "force": "true"}).status_code == 204  # already gone
    assert call(sim, "DELETE", host, params={**AVD, "force": "maybe"}).status_code == 400
    assert "avd-sim-del.contoso.local" in sim.estate.snapshot()["deleted_session_hosts"]
