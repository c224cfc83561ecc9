"""Can the session hosts of `recovery: provision` be built in the recovery region right now (docs/runbook.md
"Session hosts provisioned on demand")? Read-only: readiness shows it (check `provision`) and the failover
orchestration's preflight runs it before anything changes, refusing the run on a finding (`orchestrations.failover`:
better at the start, from readiness's 30-minute check, than mid-outage when the VMs are created).

For each pool marked `recovery: provision`, each finding names the host pool and the field:
- `hostPoolType`: the host pool is pooled (a personal desktop is its user's VM);
- `vmTemplate`: present and parses (`failover.avd_template`);
- the image (`vmTemplate.galleryImage*` or `vmTemplate.customImageId`) is offered in the recovery region: a
  marketplace image lists versions there; a gallery image version (or, for an image definition, its latest) is
  replicated there (`publishingProfile.targetRegions`); a managed image is in that region (a managed image builds VMs
  in its own region only);
- `provision.subnet_id`: its virtual network is in the recovery region and has that subnet;
- the VM size (`provision.vm_size`, else `vmTemplate.vmSize.id`) is offered in the recovery region and not restricted
  for the subscription (resource SKUs: a `Location` restriction, `NotAvailableForSubscription` or `QuotaId`).

A read that fails for another reason than 404 (permission denied, throttled, the region's control plane down) is no
finding: the check says what it could not read and warns, it never refuses a run on it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from activities._arm import same_location, text
from activities._common import clients
from failover.avd_template import ImageSource, VmTemplate, image_source, parse_template
from failover.plan import AvdHostPool, Plan

CHECK = "provision"


def _missing(err: Exception) -> bool:
    return getattr(err, "status_code", None) == 404


def _why(err: Exception) -> str:
    status = getattr(err, "status_code", None)
    what = "permission denied" if status == 403 else type(err).__name__
    first = str(err).splitlines()[0][:160] if str(err) else ""
    return f"{what}: {first}" if first else what


class _Pool:
    """The findings about one host pool, and what could not be read."""

    def __init__(self, plan: Plan, pool: AvdHostPool, skus: Callable[[str], dict[str, Any]]) -> None:
        assert pool.provision is not None
        self.plan, self.pool, self.provision, self.skus = plan, pool, pool.provision, skus
        self.region = plan.recovery_region
        self.vm_subscription = pool.provision.subscription_id or plan.subscription_id
        self.findings: list[str] = []
        self.unread: list[str] = []
        self.size: str | None = None
        self.image: str | None = None

    def found(self, field: str, problem: str) -> None:
        self.findings.append(f"host pool {self.pool.name}: {field}: {problem}")

    def read(self, what: str, action: Callable[[], Any]) -> Any:
        try:
            return action()
        except Exception as err:
            self.unread.append(f"host pool {self.pool.name}: {what} ({_why(err)})")
            return None


def _check_pool(state: _Pool) -> None:
    template = state.read("host pool", lambda: _template(state))
    if template is not None:
        state.read("image", lambda: _image(state, template))
    size = state.provision.vm_size or (template.size if template else None)
    if size:
        field = "provision.vm_size" if state.provision.vm_size else "vmTemplate.vmSize.id"
        state.read("VM sizes", lambda: _size(state, field, size))
    state.read("subnet", lambda: _subnet(state))


def _template(state: _Pool) -> VmTemplate | None:
    """The host pool is pooled; its vmTemplate, parsed (None when missing or unusable: a finding)."""
    ref = state.plan.host_pool_ref(state.pool)
    avd = clients().desktop_virtualization(ref["subscription_id"])
    try:
        found = avd.host_pools.get(ref["resource_group"], ref["host_pool"])
    except Exception as err:
        if not _missing(err):
            raise
        state.found("name", f"no host pool {state.pool.name} in {state.pool.resource_group}")
        return None
    kind = text(found.host_pool_type) or ""
    if kind.lower() != "pooled":
        state.found("hostPoolType", f"{kind}: recovery: provision builds session hosts for pooled host pools")
    try:
        return parse_template(found.vm_template, state.pool.name)
    except ValueError as err:
        state.findings.append(str(err))
        return None


# ---- the image ---------------------------------------------------------------------------------------------------
def _image(state: _Pool, template: VmTemplate) -> None:
    try:
        source = image_source(template, state.pool.name)
    except ValueError as err:
        state.findings.append(str(err))
        return
    state.image = source.name
    if source.kind == "marketplace":
        _marketplace(state, source)
    elif source.kind == "managed":
        _managed(state, source)
    else:
        _gallery(state, source)


def _marketplace(state: _Pool, source: ImageSource) -> None:
    images = clients().compute(state.vm_subscription).virtual_machine_images
    try:
        versions = images.list(state.region, source.publisher or "", source.offer or "", source.sku or "", top=1)
    except Exception as err:
        if not _missing(err):
            raise
        versions = []
    if not versions:
        field = "vmTemplate.galleryImagePublisher/Offer/SKU"
        state.found(field, f"marketplace image {source.name} is not offered in {state.region}")


def _managed(state: _Pool, source: ImageSource) -> None:
    field = "vmTemplate.customImageId"
    compute = clients().compute(source.subscription_id or state.vm_subscription)
    try:
        image = compute.images.get(source.resource_group or "", source.image or "")
    except Exception as err:
        if not _missing(err):
            raise
        state.found(field, f"{source.name} not found in {source.resource_group}")
        return
    if not same_location(image.location, state.region):
        state.found(
            field,
            f"{source.name} is in {image.location}, not {state.region} (a managed image builds VMs in its own "
            "region only: copy it, or use an Azure Compute Gallery image replicated to the recovery region)",
        )


def _gallery(state: _Pool, source: ImageSource) -> None:
    field = "vmTemplate.customImageId"
    versions = clients().compute(source.subscription_id or state.vm_subscription).gallery_image_versions
    rg, gallery, definition = source.resource_group or "", source.gallery or "", source.definition or ""
    pinned = bool(source.version and source.version.lower() != "latest")
    try:
        if pinned:
            found = [versions.get(rg, gallery, definition, source.version or "")]
        else:
            found = list(versions.list_by_gallery_image(rg, gallery, definition))
    except Exception as err:
        if not _missing(err):
            raise
        state.found(field, f"{source.name} not found in {rg}")
        return
    usable = [v for v in found if pinned or not _profile(v).get("excludeFromLatest")]
    regions = [r.get("name") for v in usable for r in _profile(v).get("targetRegions") or []]
    if not any(same_location(r, state.region) for r in regions):
        what = source.name if pinned else f"no version of {source.name} that builds the latest"
        state.found(field, f"{what} is not replicated to {state.region} (publishingProfile.targetRegions)")


# ---- the size and the subnet -------------------------------------------------------------------------------------
def _size(state: _Pool, field: str, size: str) -> None:
    sku = state.skus(state.vm_subscription).get(size.lower())
    if sku is None:
        state.found(field, f"VM size {size} is not offered in {state.region}")
        return
    state.size = size
    for restriction in sku.get("restrictions") or []:
        info = restriction.get("restrictionInfo") or {}
        where = list(restriction.get("values") or []) + list(info.get("locations") or [])
        if text(restriction.get("type")) == "Location" and any(same_location(w, state.region) for w in where):
            reason = text(restriction.get("reasonCode")) or "restricted"
            state.found(field, f"VM size {size} is restricted in {state.region} for the subscription ({reason})")


def _subnet(state: _Pool) -> None:
    parts = state.provision.subnet_id.split("/")
    sub, rg, vnet, subnet = parts[2], parts[4], parts[8], parts[10]
    field = "provision.subnet_id"
    network = clients().network(sub)
    try:
        found = network.virtual_networks.get(rg, vnet)
    except Exception as err:
        if not _missing(err):
            raise
        state.found(field, f"virtual network {vnet} not found in {rg}")
        return
    if not same_location(found.location, state.region):
        state.found(field, f"virtual network {vnet} is in {found.location}, not {state.region}")
    if subnet.lower() not in {(s.name or "").lower() for s in found.subnets or []}:
        state.found(field, f"virtual network {vnet} has no subnet {subnet}")


def _profile(version: Any) -> dict[str, Any]:
    return dict((version.get("properties") or {}).get("publishingProfile") or {})


def provision_check(plan: Plan) -> list[dict[str, str]]:
    """The `provision` check of the plan's `recovery: provision` pools (none without them): `fail` with every
    finding, else `warn` when something could not be read, else `pass`."""
    pools = plan.avd.provisioned
    if not pools:
        return []
    listed: dict[str, dict[str, Any]] = {}

    def skus(subscription_id: str) -> dict[str, Any]:
        """The recovery region's VM sizes (lower case) -> their resource SKU, read once per subscription."""
        if subscription_id not in listed:
            region = plan.recovery_region
            everything = clients().compute(subscription_id).resource_skus.list(filter=f"location eq '{region}'")
            listed[subscription_id] = {
                s.name.lower(): s
                for s in everything
                if s.resource_type == "virtualMachines" and s.name
                and any(same_location(loc, region) for loc in s.locations or [region])
            }  # fmt: skip
        return listed[subscription_id]

    checked = []
    for pool in pools:
        state = _Pool(plan, pool, skus)
        _check_pool(state)
        checked.append(state)
    findings = [f for s in checked for f in s.findings]
    unread = [u for s in checked for u in s.unread]
    if findings:
        text_ = "; ".join(findings) + (f"; read failed: {'; '.join(unread)}" if unread else "")
        return [{"name": CHECK, "status": "fail", "message": text_}]
    if unread:  # readiness's `permissions` check names it (a message that starts "read failed")
        return [{"name": CHECK, "status": "warn", "message": "read failed: " + "; ".join(unread)}]
    ready = ", ".join(
        f"host pool {s.pool.name}: {s.provision.count} x {s.size} from {s.image} on "
        f"{s.provision.subnet_id.rsplit('/', 1)[-1]}"
        for s in checked
    )
    message = f"session hosts can be built in {plan.recovery_region}: {ready}"
    return [{"name": CHECK, "status": "pass", "message": message}]
