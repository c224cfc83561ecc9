"""Readiness of `recovery: provision` (check `provision`, issue 23) against the simulator through the real SDK
clients (Compute: resource SKUs, marketplace images, gallery image versions, managed images; Network: the virtual
network; AVD: the host pool's vmTemplate): each finding names the host pool and the field."""

from __future__ import annotations

import json
from types import SimpleNamespace
from typing import Any

import pytest

from activities.avd_checks import provision_check
from activities.network import preflight_checks
from activities.readiness import check_plan
from failover.contracts.network import PreflightInput
from failover.plan import Plan, load_plan
from local.stack import DEMO_PLAN
from simulator import EstateConfig, Simulator
from simulator.estate import RECOVERY_REGION, SUBSCRIPTION_ID
from simulator.providers.desktop_virtualization import DEMO_VM_TEMPLATE
from simulator.providers.images import DEMO_MARKETPLACE, GalleryVersion
from tests.activities.conftest import StartSimulator

RG = f"/subscriptions/{SUBSCRIPTION_ID}/resourceGroups"
SUBNET = f"{RG}/rg-avd-neu/providers/Microsoft.Network/virtualNetworks/vnet-avd-neu/subnets/snet-hosts"
GALLERY = f"{RG}/rg-images/providers/Microsoft.Compute/galleries/gal_avd/images/win11-avd"


def provisioned_plan(**provision: Any) -> Plan:
    plan = load_plan(DEMO_PLAN)
    pool = {
        "resource_group": "rg-avd-weu",
        "name": "hp-weu-pooled",
        "recovery": "provision",
        "provision": {"count": 3, "name_prefix": "avd-dr", "resource_group": "rg-avd-neu", "subnet_id": SUBNET}
        | provision,
    }
    avd = plan.avd.model_dump(mode="json") | {"host_pools": [pool]}
    return Plan.model_validate(plan.model_dump(mode="json") | {"avd": avd})


def check(plan: Plan) -> dict[str, str]:
    (found,) = provision_check(plan)
    return found


def set_template(sim: Simulator, **changes: Any) -> None:
    template = {k: v for k, v in (DEMO_VM_TEMPLATE | changes).items() if v is not ...}
    sim.estate.host_pool("rg-avd-weu", "hp-weu-pooled").vm_template = json.dumps(template)


@pytest.fixture
def sim(start_simulator: StartSimulator) -> Simulator:
    return start_simulator(EstateConfig(), vms=10)


def test_a_buildable_pool_passes(sim: Simulator) -> None:
    found = check(provisioned_plan())
    assert found["status"] == "pass", found
    assert found["message"] == (
        "session hosts can be built in northeurope: host pool hp-weu-pooled: 3 x Standard_D8s_v5 from "
        "MicrosoftWindowsDesktop/office-365/win11-23h2-avd-m365 on snet-hosts"
    )
    requests = sim.estate.snapshot()["requests"]
    assert requests["compute.images.marketplace_versions"] == 1 and requests["compute.skus.list"] == 1
    assert requests["network.vnets.get"] == 1


def test_no_provisioned_pool_no_check(sim: Simulator) -> None:
    assert provision_check(load_plan(DEMO_PLAN)) == []


@pytest.mark.parametrize(
    ("template", "finding"),
    [
        (None, "host pool hp-weu-pooled has no vmTemplate: recovery: provision builds from it"),
        ("{not json", "host pool hp-weu-pooled: vmTemplate is not JSON"),
        (json.dumps({**DEMO_VM_TEMPLATE, "vmSize": None}), "host pool hp-weu-pooled: vmTemplate has no vmSize.id"),
    ],
)
def test_a_bad_template_is_a_finding(sim: Simulator, template: str | None, finding: str) -> None:
    sim.estate.host_pool("rg-avd-weu", "hp-weu-pooled").vm_template = template
    found = check(provisioned_plan())
    assert found["status"] == "fail" and found["message"].startswith(finding), found


def test_a_missing_subnet_or_network(sim: Simulator) -> None:
    missing = SUBNET.replace("snet-hosts", "snet-gone")
    found = check(provisioned_plan(subnet_id=missing))
    assert found["status"] == "fail"
    assert (
        found["message"]
        == "host pool hp-weu-pooled: provision.subnet_id: virtual network vnet-avd-neu has no subnet snet-gone"
    )
    nowhere = SUBNET.replace("vnet-avd-neu", "vnet-gone")
    found = check(provisioned_plan(subnet_id=nowhere))
    assert (
        found["message"]
        == "host pool hp-weu-pooled: provision.subnet_id: virtual network vnet-gone not found in rg-avd-neu"
    )


def test_a_restricted_or_unknown_size(sim: Simulator) -> None:
    sim.estate.capacity.set_restricted(RECOVERY_REGION, "Standard_D8s_v5")
    found = check(provisioned_plan())
    assert found["status"] == "fail"
    assert found["message"] == (
        "host pool hp-weu-pooled: vmTemplate.vmSize.id: VM size Standard_D8s_v5 is restricted in northeurope for the "
        "subscription (NotAvailableForSubscription)"
    )
    found = check(provisioned_plan(vm_size="Standard_NV36ads_A10_v5"))  # provision.vm_size wins over the template
    assert found["message"] == (
        "host pool hp-weu-pooled: provision.vm_size: VM size Standard_NV36ads_A10_v5 is not offered in northeurope"
    )
    assert check(provisioned_plan(vm_size="Standard_D4s_v5"))["status"] == "pass"  # only D8s_v5 is restricted


def test_an_image_the_recovery_region_does_not_offer(sim: Simulator) -> None:
    sim.estate.images.withdraw(RECOVERY_REGION, *DEMO_MARKETPLACE)
    found = check(provisioned_plan())
    assert found["message"] == (
        "host pool hp-weu-pooled: vmTemplate.galleryImagePublisher/Offer/SKU: marketplace image "
        "MicrosoftWindowsDesktop/office-365/win11-23h2-avd-m365 is not offered in northeurope"
    )


def test_gallery_and_managed_images(sim: Simulator) -> None:
    images = sim.estate.images
    custom = {"imageType": "CustomImage", "galleryImagePublisher": None, "galleryImageOffer": None,
              "galleryImageSKU": None}  # fmt: skip
    images.add_gallery_version(GalleryVersion("rg-images", "gal_avd", "win11-avd", "1.0.0", "westeurope",
                                              ["West Europe", "North Europe"]))  # fmt: skip
    images.add_gallery_version(GalleryVersion("rg-images", "gal_avd", "win11-avd", "1.1.0", "westeurope",
                                              ["West Europe"]))  # fmt: skip
    set_template(sim, **custom, customImageId=f"{GALLERY}/versions/1.0.0")
    assert check(provisioned_plan())["status"] == "pass"
    set_template(sim, **custom, customImageId=f"{GALLERY}/versions/1.1.0")
    assert check(provisioned_plan())["message"] == (
        "host pool hp-weu-pooled: vmTemplate.customImageId: gallery image gal_avd/win11-avd/1.1.0 is not replicated "
        "to northeurope (publishingProfile.targetRegions)"
    )
    set_template(sim, **custom, customImageId=f"{GALLERY}/versions/2.0.0")
    assert "gallery image gal_avd/win11-avd/2.0.0 not found in rg-images" in check(provisioned_plan())["message"]
    set_template(sim, **custom, customImageId=GALLERY)  # the definition: its latest version, 1.0.0 is replicated
    assert check(provisioned_plan())["status"] == "pass"
    images.add_managed_image("rg-images", "img-win11", "westeurope")
    set_template(sim, **custom, customImageId=f"{RG}/rg-images/providers/Microsoft.Compute/images/img-win11")
    assert check(provisioned_plan())["message"].startswith(
        "host pool hp-weu-pooled: vmTemplate.customImageId: managed image img-win11 is in westeurope, not northeurope"
    )


def test_readiness_and_the_preflight_show_it(sim: Simulator) -> None:
    plan = provisioned_plan()
    sim.estate.capacity.set_restricted(RECOVERY_REGION, "Standard_D8s_v5")
    readiness = check_plan(plan)
    (found,) = [c for c in readiness["checks"] if c["name"] == "provision"]
    assert found["status"] == "fail" and readiness["status"] == "fail"
    assert "Standard_D8s_v5 is restricted in northeurope" in found["message"]
    preflight = preflight_checks(PreflightInput(plan=plan))
    assert preflight.status == "fail"
    assert [c.message for c in preflight.checks if c.name == "provision"] == [found["message"]]
    assert not any(c["name"] == "provision" for c in check_plan(load_plan(DEMO_PLAN))["checks"])


def test_a_read_that_fails_warns_and_names_what(sim: Simulator, monkeypatch: pytest.MonkeyPatch) -> None:
    """A 403 (or a throttle, a region's control plane down) is no finding: the check warns, a run is not refused."""
    from azure.core.exceptions import HttpResponseError

    from activities import avd_checks

    real = avd_checks.clients()

    def denied(*_: Any) -> Any:
        err = HttpResponseError(message="AuthorizationFailed: no authorization to read the virtual network")
        err.status_code = 403
        raise err

    class Factory:
        def __getattr__(self, name: str) -> Any:
            return getattr(real, name)

        def network(self, subscription_id: str) -> Any:
            return SimpleNamespace(virtual_networks=SimpleNamespace(get=denied))

    monkeypatch.setattr(avd_checks, "clients", Factory)
    found = check(provisioned_plan())
    assert found["status"] == "warn" and found["message"].startswith("read failed: host pool hp-weu-pooled: subnet")
    assert "permission denied" in found["message"]
