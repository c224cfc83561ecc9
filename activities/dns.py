"""Azure DNS activity: point a record set at its recovery value, safely (If-Match on the etag)."""

from __future__ import annotations

from typing import Any

import azure.durable_functions as df

from activities._common import clients, log
from failover.contracts.dns import DnsRecordInput, DnsRecordResult, DnsSwitchInput

# Record-set metadata keeps the value before the switch, for failback and for idempotent reruns.
PREVIOUS_KEY = "failoverPrevious"


def _values(record: Any, record_type: str) -> list[str]:
    if record_type == "CNAME":
        return [record.cname_record.cname] if record.cname_record else []
    return [a.ipv4_address for a in record.a_records or []]


def dns_switch_record(payload: DnsSwitchInput) -> DnsRecordResult:
    """Switch one record to `target`. Already there → no write. Returns the previous value for failback."""
    from azure.mgmt.dns.models import ARecord, CnameRecord, RecordSet

    client = clients().dns(payload.subscription_id).record_sets
    rg, zone, name, record_type = payload.resource_group, payload.zone, payload.name, payload.type
    current = client.get(rg, zone, name, record_type)
    before = _values(current, record_type)
    label = f"{name}.{zone} {record_type}"
    metadata = dict(current.metadata or {})
    if before == [payload.target]:
        # Already switched (a retry, or a rerun): report the value recorded by the switch itself.
        previous = metadata.get(PREVIOUS_KEY) or ",".join(before)
        return DnsRecordResult(record=label, from_=previous, to=payload.target, changed=False)
    ttl = int(payload.ttl or current.ttl or 60)
    metadata[PREVIOUS_KEY] = ",".join(before)
    if record_type == "CNAME":
        body = RecordSet(ttl=ttl, metadata=metadata, cname_record=CnameRecord(cname=payload.target))
    else:
        body = RecordSet(ttl=ttl, metadata=metadata, a_records=[ARecord(ipv4_address=payload.target)])
    client.create_or_update(rg, zone, name, record_type, body, if_match=current.etag)
    log(payload, "dns.switch").info("dns record switched", record=label, before=before, after=payload.target)
    return DnsRecordResult(record=label, from_=",".join(before), to=payload.target, changed=True)


def dns_restore_record(payload: DnsRecordInput) -> DnsRecordResult:
    """Failback: put back the value the failover's switch recorded in the record's metadata, and forget
    it. Nothing recorded → nothing to restore (changed False, `from` is the current value)."""
    from azure.mgmt.dns.models import ARecord, CnameRecord, RecordSet

    client = clients().dns(payload.subscription_id).record_sets
    rg, zone, name, record_type = payload.resource_group, payload.zone, payload.name, payload.type
    current = client.get(rg, zone, name, record_type)
    now = _values(current, record_type)
    label = f"{name}.{zone} {record_type}"
    metadata = dict(current.metadata or {})
    previous = metadata.pop(PREVIOUS_KEY, None)
    if not previous:
        return DnsRecordResult(record=label, from_=",".join(now), to=",".join(now), changed=False)
    values = [v for v in previous.split(",") if v]
    ttl = int(current.ttl or 60)
    if record_type == "CNAME":
        body = RecordSet(ttl=ttl, metadata=metadata, cname_record=CnameRecord(cname=values[0]))
    else:
        body = RecordSet(ttl=ttl, metadata=metadata, a_records=[ARecord(ipv4_address=v) for v in values])
    client.create_or_update(rg, zone, name, record_type, body, if_match=current.etag)
    log(payload, "dns.restore").info("dns record restored", record=label, before=now, after=values)
    return DnsRecordResult(record=label, from_=",".join(now), to=previous, changed=now != values)


ACTIVITIES = [dns_switch_record, dns_restore_record]

bp = df.Blueprint()
for _activity in ACTIVITIES:
    bp.activity_trigger(input_name="payload")(_activity)
