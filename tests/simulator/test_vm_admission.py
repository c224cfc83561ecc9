"""What Azure refuses when a VM is created, through azure-mgmt-compute against the simulator: a size the region
restricts (409 SkuNotAvailable), a marketplace image it does not offer (404 PlatformImageNotFound), a gallery version
not replicated there (404 GalleryImageNotFound) and a subnet it does not have (400 InvalidResourceReference). A
refused VM is not created; the same VM with what the region has is."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from azure.core.exceptions import HttpResponseError
from azure.mgmt.compute import ComputeManagementClient

from failover.clients import SimulatorCredential
from simulator import Estate, EstateConfig, Simulator, seed_demo_estate
from simulator.estate import RECOVERY_REGION, SUBSCRIPTION_ID
from simulator.providers.images import DEMO_MARKETPLACE, GalleryVersion
from simulator.providers.network import DEMO_HOSTS_SUBNET, DEMO_HOSTS_VNET
from tests.simulator.test_capacity import options

RG = "rg-avd-neu"
SUBNET = (
    f"/subscriptions/{SUBSCRIPTION_ID}/resourceGroups/{RG}/providers/Microsoft.Network/virtualNetworks/"
    f"{DEMO_HOSTS_VNET}/subnets/{DEMO_HOSTS_SUBNET}"
)
GALLERY = (
    f"/subscriptions/{SUBSCRIPTION_ID}/resourceGroups/rg-images/providers/Microsoft.Compute/galleries/gal/images/avd"
)


def body(size: str = "Standard_D8s_v5", image: dict[str, Any] | None = None, subnet: str = SUBNET) -> dict[str, Any]:
    publisher, offer, sku = DEMO_MARKETPLACE
    return {
        "location": RECOVERY_REGION,
        "properties": {
            "hardwareProfile": {"vmSize": size},
            "storageProfile": {
                "imageReference": image or {"publisher": publisher, "offer": offer, "sku": sku, "version": "latest"}
            },
            "osProfile": {"computerName": "avd", "adminUsername": "avdadmin", "adminPassword": "P@ssw0rd-1234!"},
            "networkProfile": {
                "networkInterfaceConfigurations": [
                    {
                        "name": "nic",
                        "properties": {
                            "primary": True,
                            "ipConfigurations": [{"name": "ipconfig1", "properties": {"subnet": {"id": subnet}}}],
                        },
                    }
                ]
            },
        },
    }


@pytest.fixture
def sim() -> Iterator[Simulator]:
    estate = seed_demo_estate(Estate(EstateConfig(time_scale=600)), vms=10, sessions=2)
    estate.capacity.set_restricted(RECOVERY_REGION, "Standard_E8s_v5")
    estate.images.add_gallery_version(GalleryVersion("rg-images", "gal", "avd", "1.0.0", "westeurope", ["westeurope"]))
    with Simulator(estate) as running:
        yield running


def refused(sim: Simulator, name: str, vm: dict[str, Any]) -> HttpResponseError:
    client = ComputeManagementClient(SimulatorCredential(), SUBSCRIPTION_ID, **options(sim))
    with pytest.raises(HttpResponseError) as caught:
        client.virtual_machines.begin_create_or_update(RG, name, vm, polling=False)
    assert (RG.lower(), name) not in sim.estate.dependencies.compute.vms  # nothing was created
    return caught.value


def test_a_restricted_size_an_image_or_a_subnet_the_region_lacks_is_refused(sim: Simulator) -> None:
    size = refused(sim, "avd-size", body(size="Standard_E8s_v5"))
    assert size.status_code == 409 and size.error is not None and size.error.code == "SkuNotAvailable"
    assert "currently not available in location 'northeurope'" in str(size.message)
    image = refused(sim, "avd-image", body(image={"publisher": "Contoso", "offer": "none", "sku": "x", "version": "1"}))
    assert image.status_code == 404 and image.error is not None and image.error.code == "PlatformImageNotFound"
    gallery = refused(sim, "avd-gallery", body(image={"id": f"{GALLERY}/versions/1.0.0"}))
    assert gallery.status_code == 404 and gallery.error is not None and gallery.error.code == "GalleryImageNotFound"
    assert "not available in northeurope region" in str(gallery.message)
    subnet = refused(sim, "avd-subnet", body(subnet=SUBNET.replace(DEMO_HOSTS_SUBNET, "snet-none")))
    assert subnet.status_code == 400 and subnet.error is not None and subnet.error.code == "InvalidResourceReference"


def test_the_same_vm_with_what_the_region_has_is_created(sim: Simulator) -> None:
    client = ComputeManagementClient(SimulatorCredential(), SUBSCRIPTION_ID, **options(sim))
    sim.estate.images.add_gallery_version(
        GalleryVersion("rg-images", "gal", "avd", "1.0.1", "westeurope", ["westeurope", RECOVERY_REGION])
    )
    for name, vm in (("avd-market", body()), ("avd-gallery", body(image={"id": GALLERY}))):
        client.virtual_machines.begin_create_or_update(RG, name, vm, polling=False)
        assert (RG.lower(), name) in sim.estate.dependencies.compute.vms
