"""A host pool's `vmTemplate`: the JSON string AVD keeps for the session hosts the portal adds (the REST spec
types it only as a string, `"{json:json}"`; its keys are those the portal writes: `imageType` `Gallery` with
`galleryImagePublisher` / `galleryImageOffer` / `galleryImageSKU`, or `CustomImage` with `customImageId`;
`vmSize.id`, `osDiskType`, `diskSizeGB`, `namePrefix`, `domain`, `securityType`). `recovery: provision` builds its
session hosts from it."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

_IMAGE_ID = re.compile(
    r"^/subscriptions/(?P<sub>[^/]+)/resourceGroups/(?P<rg>[^/]+)/providers/Microsoft\.Compute/"
    r"(?:images/(?P<image>[^/]+)|galleries/(?P<gallery>[^/]+)/images/(?P<definition>[^/]+)"
    r"(?:/versions/(?P<version>[^/]+))?)$",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class VmTemplate:
    size: str
    image: dict[str, str]  # an imageReference: publisher/offer/sku/version, or id (a custom or gallery image)
    os_disk_type: str = "Premium_LRS"
    disk_size_gb: int | None = None
    domain: str | None = None
    security_type: str | None = None  # Standard | TrustedLaunch | ConfidentialVM


def parse_template(text: str | None, host_pool: str) -> VmTemplate:
    """The template's size, image and disk; a ValueError naming the host pool and the missing key otherwise."""
    if not text:
        raise ValueError(f"host pool {host_pool} has no vmTemplate: recovery: provision builds from it")
    try:
        data: Any = json.loads(text)
    except ValueError as err:
        raise ValueError(f"host pool {host_pool}: vmTemplate is not JSON ({err})") from None
    if not isinstance(data, dict):
        raise ValueError(f"host pool {host_pool}: vmTemplate is not a JSON object")
    size = (data.get("vmSize") or {}).get("id") if isinstance(data.get("vmSize"), dict) else data.get("vmSize")
    if not size:
        raise ValueError(f"host pool {host_pool}: vmTemplate has no vmSize.id")
    if str(data.get("imageType") or "Gallery").lower() == "customimage":
        if not data.get("customImageId"):
            raise ValueError(f"host pool {host_pool}: vmTemplate imageType CustomImage without customImageId")
        image = {"id": str(data["customImageId"])}
    else:
        keys = ("galleryImagePublisher", "galleryImageOffer", "galleryImageSKU")
        missing = [k for k in keys if not data.get(k)]
        if missing:
            raise ValueError(f"host pool {host_pool}: vmTemplate has no {', '.join(missing)}")
        image = {
            "publisher": str(data["galleryImagePublisher"]),
            "offer": str(data["galleryImageOffer"]),
            "sku": str(data["galleryImageSKU"]),
            "version": "latest",
        }
    disk = data.get("diskSizeGB")
    return VmTemplate(
        size=str(size),
        image=image,
        os_disk_type=str(data.get("osDiskType") or "Premium_LRS"),
        disk_size_gb=int(disk) if isinstance(disk, int) and disk > 0 else None,
        domain=data.get("domain") or None,
        security_type=data.get("securityType") or None,
    )


def template_size(text: str | None) -> str | None:
    """The template's VM size, or None when it has none (for the capacity check; never raises)."""
    try:
        return parse_template(text, "-").size
    except ValueError:
        return None


@dataclass(frozen=True)
class ImageSource:
    """Where a template's image comes from, as the recovery region must offer it: `marketplace` (publisher, offer,
    sku), `gallery` (an Azure Compute Gallery image definition, `version` None for its latest version, replicated
    region by region) or `managed` (a managed image: a resource of one region)."""

    kind: str  # marketplace | gallery | managed
    name: str  # what the findings call it
    subscription_id: str | None = None
    resource_group: str | None = None
    gallery: str | None = None
    definition: str | None = None
    version: str | None = None
    image: str | None = None
    publisher: str | None = None
    offer: str | None = None
    sku: str | None = None


def image_source(template: VmTemplate, host_pool: str) -> ImageSource:
    """The template's image as `ImageSource`; a ValueError naming the host pool and `customImageId` when that is
    neither a managed image id nor a gallery image (version) id."""
    image = template.image
    if "id" not in image:
        name = f"{image['publisher']}/{image['offer']}/{image['sku']}"
        return ImageSource("marketplace", name, publisher=image["publisher"], offer=image["offer"], sku=image["sku"])
    match = _IMAGE_ID.match(image["id"])
    if match is None:
        raise ValueError(
            f"host pool {host_pool}: vmTemplate customImageId is not a managed image or gallery image id: {image['id']}"
        )
    where = {"subscription_id": match["sub"], "resource_group": match["rg"]}
    if match["image"]:
        return ImageSource("managed", f"managed image {match['image']}", image=match["image"], **where)
    version = match["version"]
    name = f"gallery image {match['gallery']}/{match['definition']}" + (f"/{version}" if version else "")
    return ImageSource(
        "gallery", name, gallery=match["gallery"], definition=match["definition"], version=version, **where
    )
