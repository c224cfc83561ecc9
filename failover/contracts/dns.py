"""Contracts of the Azure DNS activities (activities/dns.py)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from failover.contracts import ArmInput, Contract, NonEmpty


class DnsRecordInput(ArmInput):
    """One record set of a zone: `dns_restore_record`'s input, and the base of a switch."""

    zone: NonEmpty
    name: NonEmpty
    type: Literal["A", "CNAME"]


class DnsSwitchInput(DnsRecordInput):
    """`dns_switch_record`: point the record at `target` (TTL kept unless given)."""

    target: NonEmpty
    ttl: int | None = None


class DnsRecordResult(Contract):
    """A record's value before and after; `changed` False when it already had the value."""

    record: str
    from_: str = Field(alias="from")
    to: str
    changed: bool
