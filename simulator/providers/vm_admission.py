"""What Azure refuses when a VM is created (`PUT .../virtualMachines/{vm}`), before any operation starts: a size the
region's resource SKUs restrict for the subscription (409 `SkuNotAvailable`), an image the region does not have (404
`PlatformImageNotFound` for a marketplace image, `GalleryImageNotFound` for a gallery version not replicated there,
`NotFound` for a managed image or one in another region) and a subnet that does not exist there (400
`InvalidResourceReference`). The messages are Azure's wording (learn.microsoft.com, "Resolve errors for SKU not
available"; "Troubleshoot ... platform image"; ARM's InvalidResourceReference). `recovery: provision` builds session
hosts this way; readiness checks the same things beforehand (`activities.avd_checks`)."""

from __future__ import annotations

from typing import Any

from simulator.arm import SimError
from simulator.outage import region_key
from simulator.providers.capacity import Capacity
from simulator.providers.images import Images
from simulator.providers.network import Networking


def _parts(resource_id: str) -> dict[str, str]:
    """An ARM id's segments as {type (lower case): name}, e.g. resourcegroups, virtualnetworks, subnets."""
    parts = resource_id.strip("/").split("/")
    return {parts[i].lower(): parts[i + 1] for i in range(0, len(parts) - 1, 2)}


class VmAdmission:
    def __init__(self, subscription_id: str, capacity: Capacity, images: Images, networking: Networking) -> None:
        self.subscription_id = subscription_id
        self.capacity = capacity
        self.images = images
        self.networking = networking

    def __call__(self, rg: str, name: str, body: dict[str, Any]) -> None:
        location = region_key(str(body.get("location") or ""))
        props = body.get("properties") or {}
        vm_id = (
            f"/subscriptions/{self.subscription_id}/resourceGroups/{rg}/providers/Microsoft.Compute/virtualMachines/"
            f"{name}"
        )
        size = str((props.get("hardwareProfile") or {}).get("vmSize") or "")
        if size and self.capacity.restrictions(size, [location]):
            raise SimError(
                409,
                "SkuNotAvailable",
                f"The requested size for resource '{vm_id}' is currently not available in location '{location}' zones "
                f"'' for subscription '{self.subscription_id}'. Please try another size or deploy to a different "
                "location or zones. See https://aka.ms/azureskunotavailable for details.",
            )
        self._image(location, dict((props.get("storageProfile") or {}).get("imageReference") or {}))
        for nic in (props.get("networkProfile") or {}).get("networkInterfaceConfigurations") or []:
            for ipc in (nic.get("properties") or {}).get("ipConfigurations") or []:
                subnet = str((((ipc.get("properties") or {}).get("subnet")) or {}).get("id") or "")
                if subnet:
                    self._subnet(location, subnet, f"{vm_id}/networkInterfaces/{nic.get('name') or name}")

    def _image(self, location: str, image: dict[str, Any]) -> None:
        image_id = str(image.get("id") or "")
        if not image_id:
            if not all(image.get(k) for k in ("publisher", "offer", "sku")):
                return  # not a marketplace reference (the body's own checks answer for its shape)
            urn = ":".join(str(image.get(k) or "") for k in ("publisher", "offer", "sku", "version"))
            try:
                self.images.marketplace_versions(location, image["publisher"], image["offer"], image["sku"])
            except SimError:
                raise SimError(
                    404,
                    "PlatformImageNotFound",
                    f"The platform image '{urn}' is not available. Verify that all fields in the storage profile "
                    "are correct. For more details about storage profile information, please refer to "
                    "https://aka.ms/storageprofile",
                ) from None
            return
        parts = _parts(image_id)
        rg = parts.get("resourcegroups", "")
        if "galleries" in parts:
            versions = (
                [self.images.gallery_version(rg, parts["galleries"], parts.get("images", ""), parts["versions"])]
                if "versions" in parts
                else [v for v in self.images.versions_of(rg, parts["galleries"], parts.get("images", ""))
                      if not v.exclude_from_latest]
            )  # fmt: skip
            if not any(location in {region_key(r) for r in v.target_regions} for v in versions):
                raise SimError(
                    404,
                    "GalleryImageNotFound",
                    f"The gallery image {image_id} is not available in {location} region. Please contact image "
                    "owner to replicate to this region, or change your requested region.",
                )
            return
        if "images" in parts:
            region = self.images.managed_image(rg, parts["images"])  # 404 ResourceNotFound when missing
            if region_key(region) != location:
                raise SimError(
                    404,
                    "NotFound",
                    f"The image {image_id} is in {region}: a VM in {location} cannot be created from it.",
                )

    def _subnet(self, location: str, subnet_id: str, referrer: str) -> None:
        parts = _parts(subnet_id)
        missing = SimError(
            400,
            "InvalidResourceReference",
            f"Resource {subnet_id} referenced by resource {referrer} was not found. Please make sure that the "
            "referenced resource exists, and that both resources are in the same region.",
        )
        try:
            vnet = self.networking.vnet(parts.get("resourcegroups", ""), parts.get("virtualnetworks", ""))
        except SimError:
            raise missing from None
        names = {s.lower() for s in vnet.subnets}
        if parts.get("subnets", "").lower() not in names or region_key(vnet.location) != location:
            raise missing
