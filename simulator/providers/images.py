"""VM images a session host is built from (`recovery: provision`), as a region offers them: Azure Marketplace images
(Microsoft.Compute `locations/{location}/publishers/{publisher}/artifacttypes/vmimage/offers/{offer}/skus/{sku}/
versions`), Azure Compute Gallery image versions (`galleries/{gallery}/images/{definition}/versions[/{version}]`,
each replicated to its `publishingProfile.targetRegions`) and managed images (`images/{name}`, a resource of one
region).

State (`Images`): the marketplace images and the regions offering them (`offer_marketplace`, `withdraw`), gallery
image versions with their target regions (`add_gallery_version`), managed images with their region
(`add_managed_image`). The demo seed offers the demo host pool template's image in both regions.

Shapes follow Microsoft's REST examples (replayed by tests/simulator/test_conformance_examples.py):
`VirtualMachineImage_List_MinimumSet_Gen` (Compute 2025-04-01: a JSON array of `{name, location, id}`),
`GalleryImageVersion_Get` and `GalleryImageVersion_ListByGalleryImage` (Azure Compute Gallery 2025-03-03: a
version's `storageProfile.source`, no data disk images, a `safetyProfile`; the list in one page, `nextLink` null)
and `Image_Get` (2025-04-01: an image captured from a generalized VM, its OS disk's source a managed disk,
`blobUri` and `snapshot` null). A marketplace image a region does not offer answers 404 as Azure does.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from aiohttp import web

from simulator.arm import PRIMARY_REGION, RECOVERY_REGION, RG, RouteTable, SimError, iso, utcnow
from simulator.outage import region_key

_MARKETPLACE = (
    r"/subscriptions/(?P<sub>[^/]+)/providers/microsoft\.compute/locations/(?P<loc>[^/]+)/publishers/(?P<pub>[^/]+)"
    r"/artifacttypes/vmimage/offers/(?P<offer>[^/]+)/skus/(?P<sku>[^/]+)/versions$"
)
_DEFINITION = RG + r"/microsoft\.compute/galleries/(?P<gallery>[^/]+)/images/(?P<definition>[^/]+)"
_IMAGE = RG + r"/microsoft\.compute/images/(?P<image>[^/]+)$"

# The demo host pool's image (simulator.providers.desktop_virtualization.DEMO_VM_TEMPLATE) and its versions.
DEMO_MARKETPLACE = ("MicrosoftWindowsDesktop", "office-365", "win11-23h2-avd-m365")
DEMO_VERSIONS = ("22631.3880.240708", "22631.4037.240813")


def _key(*parts: str) -> tuple[str, ...]:
    return tuple(p.lower() for p in parts)


@dataclass
class GalleryVersion:
    resource_group: str
    gallery: str
    definition: str
    version: str
    location: str
    target_regions: list[str]
    exclude_from_latest: bool = False
    provisioning_state: str = "Succeeded"
    source: str = ""  # the image it was built from (`storageProfile.source.id`): a managed image of its group if ""
    published: datetime = field(default_factory=utcnow)  # `publishingProfile.publishedDate`


@dataclass
class Images:
    """The images of one estate. Every method takes the estate's lock."""

    lock: AbstractContextManager[Any]
    # (publisher, offer, sku) lower case -> (names as given, versions, regions offering it)
    marketplace: dict[tuple[str, ...], tuple[tuple[str, str, str], list[str], set[str]]] = field(default_factory=dict)
    gallery_versions: dict[tuple[str, ...], GalleryVersion] = field(default_factory=dict)
    managed: dict[tuple[str, ...], str] = field(default_factory=dict)  # (rg, name) -> region

    def offer_marketplace(
        self, publisher: str, offer: str, sku: str, *regions: str, versions: tuple[str, ...] = DEMO_VERSIONS
    ) -> None:
        """A marketplace image, offered in `regions` (added to those already offering it)."""
        with self.lock:
            key = _key(publisher, offer, sku)
            _, _, offered = self.marketplace.get(key, ((publisher, offer, sku), list(versions), set()))
            offered.update(region_key(r) for r in regions)
            self.marketplace[key] = ((publisher, offer, sku), list(versions), offered)

    def withdraw(self, region: str, publisher: str, offer: str, sku: str) -> None:
        """The region no longer offers this marketplace image."""
        with self.lock:
            entry = self.marketplace.get(_key(publisher, offer, sku))
            if entry is not None:
                entry[2].discard(region_key(region))

    def add_gallery_version(self, version: GalleryVersion) -> None:
        with self.lock:
            key = _key(version.resource_group, version.gallery, version.definition, version.version)
            self.gallery_versions[key] = version

    def add_managed_image(self, resource_group: str, name: str, region: str) -> None:
        with self.lock:
            self.managed[_key(resource_group, name)] = region

    def seed_demo(self) -> None:
        """The demo host pool template's marketplace image, offered in the primary and recovery regions."""
        self.offer_marketplace(*DEMO_MARKETPLACE, PRIMARY_REGION, RECOVERY_REGION)

    # ---- reads -------------------------------------------------------------------------------------------
    def marketplace_versions(self, region: str, publisher: str, offer: str, sku: str) -> list[str]:
        with self.lock:
            entry = self.marketplace.get(_key(publisher, offer, sku))
            if entry is None or region_key(region) not in entry[2]:
                raise SimError(404, "NotFound", "Artifact: VMImage was not found.")
            return list(entry[1])

    def gallery_version(self, rg: str, gallery: str, definition: str, version: str) -> GalleryVersion:
        with self.lock:
            found = self.gallery_versions.get(_key(rg, gallery, definition, version))
            if found is None:
                raise SimError(
                    404,
                    "ResourceNotFound",
                    f"The Resource 'Microsoft.Compute/galleries/{gallery}/images/{definition}/versions/{version}' "
                    f"under resource group '{rg}' was not found.",
                )
            return found

    def versions_of(self, rg: str, gallery: str, definition: str) -> list[GalleryVersion]:
        with self.lock:
            found = [v for k, v in self.gallery_versions.items() if k[:3] == _key(rg, gallery, definition)]
            if not found:
                raise SimError(
                    404,
                    "ResourceNotFound",
                    f"The Resource 'Microsoft.Compute/galleries/{gallery}/images/{definition}' under resource group "
                    f"'{rg}' was not found.",
                )
            return found

    def managed_image(self, rg: str, name: str) -> str:
        with self.lock:
            region = self.managed.get(_key(rg, name))
            if region is None:
                raise SimError(
                    404,
                    "ResourceNotFound",
                    f"The Resource 'Microsoft.Compute/images/{name}' under resource group '{rg}' was not found.",
                )
            return region


# ---- HTTPS routes ----------------------------------------------------------------------------
def _version_json(sub: str, v: GalleryVersion) -> dict[str, Any]:
    group = f"/subscriptions/{sub}/resourceGroups/{v.resource_group}/providers/Microsoft.Compute"
    return {
        "id": f"{group}/galleries/{v.gallery}/images/{v.definition}/versions/{v.version}",
        "name": v.version,
        "type": "Microsoft.Compute/galleries/images/versions",
        "location": v.location,
        "properties": {
            "publishingProfile": {
                "targetRegions": [
                    {
                        "name": r,
                        "regionalReplicaCount": 1,
                        "storageAccountType": "Standard_LRS",
                        "excludeFromLatest": v.exclude_from_latest,
                    }
                    for r in v.target_regions
                ],
                "replicaCount": 1,
                "excludeFromLatest": v.exclude_from_latest,
                "publishedDate": iso(v.published),
                "storageAccountType": "Standard_LRS",
            },
            "storageProfile": {
                "source": {"id": v.source or f"{group}/images/{v.definition}-{v.version}"},
                "osDiskImage": {"sizeInGB": 128, "hostCaching": "ReadWrite"},
                "dataDiskImages": [],  # a session host image is its OS disk
            },
            "safetyProfile": {
                "allowDeletionOfReplicatedLocations": False,
                "reportedForPolicyViolation": False,
                "policyViolations": [],
                "blockDeletionBeforeEndOfLife": False,
            },
            "provisioningState": v.provisioning_state,
        },
    }


def _image_json(sub: str, rg: str, name: str, region: str) -> dict[str, Any]:
    """A managed image captured from a generalized VM: its OS disk's source is a managed disk (no blob, no
    snapshot), no data disks."""
    group = f"/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.Compute"
    return {
        "id": f"{group}/images/{name}",
        "name": name,
        "type": "Microsoft.Compute/images",
        "location": region,
        "properties": {
            "storageProfile": {
                "osDisk": {
                    "osType": "Windows",
                    "blobUri": None,
                    "snapshot": None,
                    "managedDisk": {"id": f"{group}/disks/{name}-osdisk"},
                    "osState": "Generalized",
                    "storageAccountType": "Standard_LRS",
                    "diskSizeGB": 128,
                },
                "dataDisks": [],
                "zoneResilient": False,
            },
            "provisioningState": "Succeeded",
            "hyperVGeneration": "V2",
        },
    }


class Routes:
    def __init__(self, images: Images) -> None:
        self.images = images

    async def marketplace_list(self, request: web.Request, m: dict[str, str]) -> web.Response:
        versions = self.images.marketplace_versions(m["loc"], m["pub"], m["offer"], m["sku"])
        base = (
            f"/Subscriptions/{m['sub']}/Providers/Microsoft.Compute/Locations/{m['loc']}/Publishers/{m['pub']}/"
            f"ArtifactTypes/VMImage/Offers/{m['offer']}/Skus/{m['sku']}/Versions"
        )
        top = int(request.query.get("$top") or 0)
        listed = versions[-top:] if top else versions
        return web.json_response([{"name": v, "location": m["loc"], "id": f"{base}/{v}"} for v in listed])

    async def version_get(self, request: web.Request, m: dict[str, str]) -> web.Response:
        version = self.images.gallery_version(m["rg"], m["gallery"], m["definition"], m["version"])
        return web.json_response(_version_json(m["sub"], version))

    async def versions_list(self, request: web.Request, m: dict[str, str]) -> web.Response:
        versions = self.images.versions_of(m["rg"], m["gallery"], m["definition"])
        return web.json_response({"value": [_version_json(m["sub"], v) for v in versions], "nextLink": None})

    async def image_get(self, request: web.Request, m: dict[str, str]) -> web.Response:
        region = self.images.managed_image(m["rg"], m["image"])
        return web.json_response(_image_json(m["sub"], m["rg"], m["image"], region))


def add_routes(table: RouteTable, images: Images) -> None:
    """Register the marketplace image, gallery image version and managed image reads."""
    r = Routes(images)
    table.add("GET", _MARKETPLACE, "compute.images.marketplace_versions", r.marketplace_list)
    table.add("GET", _DEFINITION + r"/versions/(?P<version>[^/]+)$", "compute.gallery_versions.get", r.version_get)
    table.add("GET", _DEFINITION + r"/versions$", "compute.gallery_versions.list", r.versions_list)
    table.add("GET", _IMAGE, "compute.images.get", r.image_get)
