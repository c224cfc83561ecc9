"""Network and identity readiness of the recovery region (seed guidance: "make sure you've set up a virtual network in
your secondary region"; "make sure your Active Directory Domain Controllers are available in or from the secondary
location"). Read-only: every function here may run any number of times.

- `network_checks(plan)`: the recovery VNet exists in the recovery region; each gateway (VPN or ExpressRoute) is
  provisioned and has a Connected connection; the vault has ASR network mappings to the recovery VNet (for every
  listed primary network).
- `identity_status`: which domain controllers are available in or from the recovery region: a DC there that sends a
  Heartbeat, or an on-premises DC that sends a Heartbeat while a gateway of the recovery VNet is connected.
- `preflight_checks`: both, and whether the session hosts of `recovery: provision` can be built
  (`activities.avd_checks`), as the failover orchestration asks before it proposes a failover (the approval card).

SDK clients come from the one client factory (`failover.clients`).
"""

from __future__ import annotations

from typing import Any

import azure.durable_functions as df

from activities._arm import same_location, text
from activities._common import clients, log
from failover.contracts import CheckStatus
from failover.contracts.network import (
    IdentityStatusInput,
    IdentityStatusResult,
    PreflightCheck,
    PreflightInput,
    PreflightResult,
    UnavailableDomainController,
)
from failover.contracts.verify import HeartbeatInput
from failover.plan import Plan


def _check(name: str, status: str, message: str, **extra: Any) -> dict[str, Any]:
    return {"name": name, "status": status, "message": message, **extra}


def _vnet_id(sub: str, rg: str, name: str) -> str:
    from azure.mgmt.core.tools import resource_id

    return resource_id(
        subscription=sub, resource_group=rg, namespace="Microsoft.Network", type="virtualNetworks", name=name
    )


def gateway_state(subscription_id: str, resource_group: str, name: str) -> dict[str, Any]:
    """A virtual network gateway: type, provisioning state, its connections' status; `connected` when provisioned
    and at least one connection is Connected. A missing gateway is `found: false`."""
    network = clients().network(subscription_id)
    try:
        gateway = network.virtual_network_gateways.get(resource_group, name)
    except Exception as err:
        if getattr(err, "status_code", None) == 404:
            return {"name": name, "found": False, "connected": False, "connections": []}
        raise
    connections = [
        {
            "name": c.name or "",
            "type": text(c.connection_type) or "",
            "status": text(c.connection_status) or "Unknown",
        }
        for c in network.virtual_network_gateways.list_connections(resource_group, name)
    ]
    provisioned = (text(gateway.provisioning_state) or "").lower() == "succeeded"
    return {
        "name": name,
        "found": True,
        "type": text(gateway.gateway_type) or "",
        "provisioning_state": text(gateway.provisioning_state) or "",
        "connections": connections,
        "connected": provisioned and any(c["status"].lower() == "connected" for c in connections),
    }


def network_checks(plan: Plan) -> list[dict[str, Any]]:
    """`network` (recovery VNet and gateways) and `network_mappings` (ASR), each pass / warn / fail."""
    spec = plan.network
    if spec is None:
        return []
    checks: list[dict[str, Any]] = []
    vnet = spec.recovery_vnet
    sub = vnet.subscription_id or plan.subscription_id
    problems: list[str] = []
    parts: list[str] = []
    try:
        found = clients().network(sub).virtual_networks.get(vnet.resource_group, vnet.name)
        if not same_location(found.location, plan.recovery_region):
            problems.append(f"recovery VNet {vnet.name} is in {found.location}, not {plan.recovery_region}")
        else:
            parts.append(f"VNet {vnet.name} in {found.location}")
    except Exception as err:
        if getattr(err, "status_code", None) != 404:
            raise
        problems.append(f"recovery VNet {vnet.name} not found in {vnet.resource_group}")
    gateways = []
    for ref in spec.gateways:
        state = gateway_state(ref.subscription_id or plan.subscription_id, ref.resource_group, ref.name)
        gateways.append(state)
        if not state["found"]:
            problems.append(f"gateway {ref.name} not found")
        elif not state["connected"]:
            statuses = ", ".join(f"{c['name']} {c['status']}" for c in state["connections"]) or "no connections"
            problems.append(f"gateway {ref.name} ({state['type']}) not connected: {statuses}")
        else:
            parts.append(f"gateway {ref.name} ({state['type']}) connected")
    if problems:
        checks.append(_check("network", "fail", "; ".join(problems), gateways=gateways))
    else:
        checks.append(_check("network", "pass", ", ".join(parts), gateways=gateways))

    if spec.asr_network_mappings or spec.primary_networks:
        vault = plan.vault_ref()
        site_recovery = clients().site_recovery(vault["subscription_id"])
        target = _vnet_id(sub, vnet.resource_group, vnet.name).lower()
        mappings: list[dict[str, str]] = [
            {
                "name": str(m.name or ""),
                "primary": str((m.properties.primary_network_id if m.properties else None) or ""),
                "recovery": str((m.properties.recovery_network_id if m.properties else None) or ""),
                "state": str((m.properties.state if m.properties else None) or ""),
            }
            for m in site_recovery.replication_network_mappings.list(vault["resource_group"], vault["vault"])
        ]
        to_recovery = [m for m in mappings if m["recovery"].lower() == target]
        mapped = {m["primary"].lower() for m in to_recovery}
        unmapped = [p for p in spec.primary_networks if p.lower() not in mapped]
        if not to_recovery:
            checks.append(
                _check(
                    "network_mappings",
                    "fail",
                    f"vault {vault['vault']} has no ASR network mapping to {vnet.name} "
                    f"({len(mappings)} mappings to other networks)",
                )
            )
        elif unmapped:
            names = ", ".join(p.rsplit("/", 1)[-1] for p in unmapped)
            checks.append(_check("network_mappings", "fail", f"not mapped to {vnet.name} in ASR: {names}"))
        else:
            names = ", ".join(f"{m['primary'].rsplit('/', 1)[-1]} → {vnet.name}" for m in to_recovery)
            checks.append(_check("network_mappings", "pass", f"ASR network mappings: {names}"))
    return checks


def identity_status(payload: IdentityStatusInput) -> IdentityStatusResult:
    """Durable activity: which domain controllers are available in or from the recovery region (a Heartbeat, and
    for an on-premises one a connected gateway); `gateways_connected` None when no gateway is listed."""
    from activities.verify import logs_heartbeat

    dcs = payload.domain_controllers
    beat = logs_heartbeat(
        HeartbeatInput(
            instance_id=payload.instance_id,
            plan=payload.plan,
            workspace_id=payload.workspace_id,
            computers=[d.name for d in dcs],
            minutes=payload.minutes,
        )
    )
    reporting = {c.lower() for c in beat.reporting}
    connected: bool | None = None
    if payload.gateways:
        states = [gateway_state(g.subscription_id, g.resource_group, g.name) for g in payload.gateways]
        connected = any(s["connected"] for s in states)
    available: list[str] = []
    unavailable: list[UnavailableDomainController] = []
    for dc in dcs:
        name, where = dc.name, dc.location
        if name.lower() not in reporting:
            unavailable.append(UnavailableDomainController(name=name, location=where, reason="no Heartbeat"))
        elif where == "on_premises" and not connected:
            reason = "no connected gateway to on-premises"
            unavailable.append(UnavailableDomainController(name=name, location=where, reason=reason))
        else:
            available.append(name)
    log(payload, "identity").info("identity", available=available, unavailable=[u.name for u in unavailable])
    return IdentityStatusResult(
        available=available, unavailable=unavailable, gateways_connected=connected, checked_at=beat.checked_at
    )


def identity_check(plan: Plan) -> list[dict[str, Any]]:
    """`identity`: pass when every domain controller is available in or from the recovery region, warn when some
    are, fail when none is."""
    payload = plan.identity_request()
    if payload is None:
        return []
    status = identity_status(payload)
    total = len(status.available) + len(status.unavailable)
    missing = "; ".join(f"{u.name} ({u.reason})" for u in status.unavailable)
    if not status.available:
        return [_check("identity", "fail", f"no domain controller available from {plan.recovery_region}: {missing}")]
    text = f"{len(status.available)}/{total} domain controllers available: {', '.join(status.available)}"
    return [_check("identity", "warn" if missing else "pass", text + (f"; unavailable: {missing}" if missing else ""))]


def _guarded(name: str, run: Any) -> list[dict[str, Any]]:
    try:
        return list(run())
    except Exception as err:
        status = getattr(err, "status_code", None)
        what = "permission denied" if status == 403 else type(err).__name__
        first = str(err).splitlines()[0][:200] if str(err) else ""
        return [_check(name, "fail", f"read failed ({what}): {first}")]


def preflight_checks(payload: PreflightInput) -> PreflightResult:
    """Durable activity: the plan → its worst status (pass | warn | fail) and the checks, the network, ASR network
    mapping, identity and provisioning checks run before a failover is proposed."""
    from activities.avd_checks import provision_check

    plan = payload.plan
    checks = _guarded("network", lambda: network_checks(plan)) + _guarded("identity", lambda: identity_check(plan))
    checks += _guarded("provision", lambda: provision_check(plan))
    statuses = {c["status"] for c in checks}
    status: CheckStatus = "fail" if "fail" in statuses else "warn" if "warn" in statuses else "pass"
    log({"plan": plan.name, "instance_id": payload.instance_id}, "preflight").info("preflight", status=status)
    return PreflightResult(
        status=status,
        checks=[PreflightCheck(name=c["name"], status=c["status"], message=c["message"]) for c in checks],
    )


ACTIVITIES = [identity_status, preflight_checks]

bp = df.Blueprint()
for _activity in ACTIVITIES:
    bp.activity_trigger(input_name="payload")(_activity)
