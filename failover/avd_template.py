"""A host pool's `vmTemplate`: the JSON string AVD keeps for the session hosts the portal adds (the REST spec
types it only as a string, `"{json:json}"`; its keys are those the portal writes: `imageType` `Gallery` with
`galleryImagePublisher` / `galleryImageOffer` / `galleryImageSKU`, or `CustomImage` with `customImageId`;
`vmSize.id`, `osDiskType`, `diskSizeGB`, `namePrefix`, `domain`, `securityType`). `recovery: provision` builds its
session hosts from it."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any


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
