"""Azure DNS (Microsoft.Network 2018-05-01): record sets A and CNAME.

State (`Dns`: record sets with their etag and history), routes (`add_routes`: record set get, PUT with If-Match: a
stale etag is 412), the demo seed (`seed_demo`: zone contoso.com) and its part of `GET /_sim/state` (`snapshot`).
Shapes follow `tests/reference/rest-examples/dns`.
"""

from __future__ import annotations

import ipaddress
import uuid
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from simulator.arm import RG, BodyErrors, Cloud, Field, RouteTable, SimError, check_body, iso, json_body, utcnow

_ZONE = RG + r"/microsoft\.network/dnszones/(?P<zone>[^/]+)"
DEMO_DNS_RG = "rg-dns-global"
DEMO_ZONE = "contoso.com"

# ---- request bodies, as the REST spec defines them (simulator.arm.check_body) ----------------------------------

# Azure DNS (record sets A and CNAME; the other record types' members are not checked)
DNS_ERRORS = BodyErrors("BadRequest", "BadRequest", "BadRequest")
RECORD_SET_BODY = Field(
    "object",
    members={
        "etag": Field("string"),
        "properties": Field(
            "object",
            required=True,
            members={
                "TTL": Field("integer"),
                "metadata": Field("object", values=Field("string")),
                "ARecords": Field("array", items=Field("object", members={"ipv4Address": Field("string")})),
                "CNAMERecord": Field("object", members={"cname": Field("string")}),
                "targetResource": Field("object", members={"id": Field("string")}),
            },
        ),
    },
)


@dataclass
class RecordSet:
    resource_group: str
    zone: str
    record_type: str  # A | CNAME
    name: str
    ttl: int
    values: list[str]
    etag: str = field(default_factory=lambda: str(uuid.uuid4()))
    metadata: dict[str, str] = field(default_factory=dict)
    history: list[dict[str, Any]] = field(default_factory=list)


class Dns:
    """The record sets of one estate. Every method takes the estate's lock."""

    def __init__(self, cloud: Cloud) -> None:
        self.cloud = cloud
        self.record_sets: dict[tuple[str, str, str, str], RecordSet] = {}

    @property
    def lock(self) -> Any:
        return self.cloud.lock

    def record_set(self, rg: str, zone: str, record_type: str, name: str) -> RecordSet:
        record = self.record_sets.get((rg.lower(), zone.lower(), record_type.upper(), name.lower()))
        if record is None:
            raise SimError(
                404, "NotFound", f"The resource record '{name}' of type {record_type} does not exist in '{zone}'."
            )
        return record

    def put_record_set(
        self, rg: str, zone: str, record_type: str, name: str, body: dict[str, Any], if_match: str | None
    ) -> tuple[RecordSet, bool]:
        with self.lock:
            key = (rg.lower(), zone.lower(), record_type.upper(), name.lower())
            existing = self.record_sets.get(key)
            if if_match and if_match != "*" and (existing is None or existing.etag != if_match):
                raise SimError(
                    412,
                    "PreconditionFailed",
                    f"The condition '{if_match}' in the If-Match header was not satisfied by '{name}'.",
                )
            props = body.get("properties")
            if not isinstance(props, dict):
                raise SimError(400, "BadRequest", "The request body must carry 'properties'.")
            ttl = props.get("TTL", 3600)
            if record_type.upper() == "CNAME":
                cname = (props.get("CNAMERecord") or {}).get("cname")
                if not cname:
                    raise SimError(400, "BadRequest", "properties.CNAMERecord.cname is required.")
                values = [cname]
            elif record_type.upper() == "A":
                values = [r.get("ipv4Address") for r in props.get("ARecords") or []]
                if not values or not all(values):
                    raise SimError(400, "BadRequest", "properties.ARecords[].ipv4Address is required.")
                for value in values:
                    try:
                        ipaddress.IPv4Address(value)
                    except ValueError as err:
                        raise SimError(400, "BadRequest", f"'{value}' is not a valid IPv4 address.") from err
            else:
                raise SimError(400, "BadRequest", f"Record type {record_type} is not simulated.")
            created = existing is None
            record = existing or RecordSet(rg.lower(), zone.lower(), record_type.upper(), name.lower(), ttl, [])
            record.history.append({"from": list(record.values), "to": values, "at": utcnow()})
            record.values = values
            record.ttl = int(ttl)
            record.metadata = {str(k): str(v) for k, v in (props.get("metadata") or {}).items()}
            record.etag = str(uuid.uuid4())
            self.record_sets[key] = record
            return record, created

    # ---- the demo estate and inspection ---------------------------------------------------------------------
    def seed_demo(self) -> None:
        """Zone contoso.com: CNAME app -> app-weu.contoso.com, A portal -> 20.50.10.10."""
        for record in (
            RecordSet(DEMO_DNS_RG, DEMO_ZONE, "CNAME", "app", 60, ["app-weu.contoso.com"]),
            RecordSet(DEMO_DNS_RG, DEMO_ZONE, "A", "portal", 60, ["20.50.10.10"]),
        ):
            self.record_sets[(record.resource_group, record.zone, record.record_type, record.name)] = record

    def snapshot(self) -> dict[str, Any]:
        """Its part of `GET /_sim/state`."""
        with self.lock:
            return {
                "record_sets": [
                    {
                        "zone": r.zone,
                        "type": r.record_type,
                        "name": r.name,
                        "values": r.values,
                        "ttl": r.ttl,
                        "history": [dict(h, at=iso(h["at"])) for h in r.history],
                    }
                    for r in self.record_sets.values()
                ],
            }


# ---- HTTPS routes ---------------------------------------------------------------------------------------------
class Routes:
    """The handlers, over one estate's `Dns`."""

    def __init__(self, dns: Dns) -> None:
        self.dns = dns

    def _record_json(self, m: dict[str, str], record: RecordSet) -> dict[str, Any]:
        props: dict[str, Any] = {
            "TTL": record.ttl,
            "fqdn": f"{record.name}.{record.zone}.",
            "provisioningState": "Succeeded",
            "metadata": dict(record.metadata),
        }
        if record.record_type == "CNAME":
            props["CNAMERecord"] = {"cname": record.values[0]}
        else:
            props["ARecords"] = [{"ipv4Address": v} for v in record.values]
        return {
            "id": f"/subscriptions/{m['sub']}/resourceGroups/{m['rg']}/providers/Microsoft.Network/dnszones/"
            f"{record.zone}/{record.record_type}/{record.name}",
            "name": record.name,
            "type": f"Microsoft.Network/dnszones/{record.record_type}",
            "etag": record.etag,
            "properties": props,
        }

    async def record_get(self, request: web.Request, m: dict[str, str]) -> web.Response:
        with self.dns.lock:
            record = self.dns.record_set(m["rg"], m["zone"], m["type"], m["name"])
            return web.json_response(self._record_json(m, record))

    async def record_put(self, request: web.Request, m: dict[str, str]) -> web.Response:
        body = check_body(await json_body(request), RECORD_SET_BODY, DNS_ERRORS)
        record, created = self.dns.put_record_set(
            m["rg"], m["zone"], m["type"], m["name"], body, request.headers.get("If-Match")
        )
        with self.dns.lock:
            return web.json_response(self._record_json(m, record), status=201 if created else 200)


def add_routes(table: RouteTable, dns: Dns) -> None:
    """Register the DNS routes."""
    r = Routes(dns)
    table.add("GET", _ZONE + r"/(?P<type>a|cname)/(?P<name>[^/]+)$", "dns.recordsets.get", r.record_get)
    table.add("PUT", _ZONE + r"/(?P<type>a|cname)/(?P<name>[^/]+)$", "dns.recordsets.put", r.record_put)
