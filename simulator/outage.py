"""A regional outage the simulator plays: which parts of a region are down, from when, for how long.

`Outage` is a schedule; `Estate.set_outage` attaches it and `Estate.tick` (run before every request the
simulator answers) applies it: when the region is down the estate's session hosts there are `Unavailable` and
unreachable, its SQL and storage primaries cannot be reached (`Estate.regions`, which Traffic Manager's
endpoint health follows), and ASR's operations that need the source site fail (`SiteRecovery.start_failover`:
a planned failover cannot shut down and sync the source VMs; an unplanned failover asked to shut them down
goes on without it; a reprotect or a failback into the region fails). Each service's behaviour and the
Microsoft documentation it follows are in docs/simulator.md, "The outage".

Variants (all in simulated seconds, divided by the estate's time scale once):
- `after_seconds`: the outage begins this long after it is set (a region that fails mid-run);
- `services`: the parts that are down (`avd`, `data`, `asr`): a partial outage leaves the others up;
- `host_share`: the share of the region's session hosts that are down (the first of each host pool by name);
- `flap_seconds`: down and up again alternately, each phase this long (a flapping region);
- `recover_after_seconds`: the region comes back this long after the outage began.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta

SERVICES = frozenset({"avd", "data", "asr"})
VARIANTS = {
    "full": "its session hosts Unavailable, SQL and storage primaries unreachable, its Traffic Manager endpoints "
    "Degraded, ASR's source-site steps failing",
    "partial": "half its session hosts Unavailable; its data planes and ASR's source site up",
    "flapping": "all of it, down and up again every 5 simulated minutes",
}


def region_key(region: str) -> str:
    """ "West Europe" and "westeurope" are the same region."""
    return region.replace(" ", "").lower()


@dataclass
class Outage:
    region: str
    after_seconds: float = 0.0
    services: frozenset[str] = SERVICES
    host_share: float = 1.0
    flap_seconds: float | None = None
    recover_after_seconds: float | None = None
    # set by `Estate.set_outage`
    begins_at: datetime | None = None
    time_scale: float = 1.0
    # what `Estate.tick` last applied: whether the region was down, and the hosts it took down (key -> status)
    applied_down: bool = False
    hosts_down: dict[tuple[str, str, str], str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        unknown = set(self.services) - SERVICES
        if unknown:
            raise ValueError(f"outage services {sorted(unknown)} are not among {sorted(SERVICES)}")
        if not 0.0 < self.host_share <= 1.0:
            raise ValueError("outage host_share must be in (0, 1]")
        if self.flap_seconds is not None and self.flap_seconds <= 0:
            raise ValueError("outage flap_seconds must be positive")
        self.services = frozenset(self.services)

    @classmethod
    def variant(cls, name: str, region: str, after_seconds: float = 0.0) -> Outage:
        """The outages `failover demo --outage [VARIANT]` plays: `full` (everything down, for good), `partial`
        (half the region's session hosts down; its data planes and ASR's source site up) and `flapping` (the
        whole region down and up again every 5 simulated minutes)."""
        if name == "full":
            return cls(region, after_seconds)
        if name == "partial":
            return cls(region, after_seconds, services=frozenset({"avd"}), host_share=0.5)
        if name == "flapping":
            return cls(region, after_seconds, flap_seconds=300.0)
        raise ValueError(f"outage variant '{name}' is not one of {', '.join(VARIANTS)}")

    @property
    def key(self) -> str:
        return region_key(self.region)

    def down(self, now: datetime) -> bool:
        """Whether the region is down at `now` (before it begins, between flaps, after it recovers: up)."""
        if self.begins_at is None or now < self.begins_at:
            return False
        elapsed = (now - self.begins_at).total_seconds() * self.time_scale
        if self.recover_after_seconds is not None and elapsed >= self.recover_after_seconds:
            return False
        if self.flap_seconds:
            return int(elapsed // self.flap_seconds) % 2 == 0
        return True

    def down_since(self, now: datetime) -> datetime | None:
        """When the region went down, if it is down at `now` (a flapping region: the start of this down phase)."""
        if not self.down(now) or self.begins_at is None:
            return None
        if not self.flap_seconds:
            return self.begins_at
        elapsed = (now - self.begins_at).total_seconds() * self.time_scale
        phase = elapsed // self.flap_seconds * self.flap_seconds
        return self.begins_at + timedelta(seconds=phase / self.time_scale)

    def affects(self, service: str, now: datetime) -> bool:
        return service in self.services and self.down(now)

    def hosts_of(self, names: list[str]) -> list[str]:
        """The session hosts of one host pool the outage takes down: the first `host_share` of them by name."""
        ordered = sorted(names, key=str.lower)
        return ordered[: math.ceil(len(ordered) * self.host_share)]

    def begin(self, now: datetime, time_scale: float) -> None:
        self.time_scale = time_scale
        self.begins_at = now + timedelta(seconds=self.after_seconds / time_scale)

    def describe(self) -> dict[str, object]:
        return {
            "region": self.key,
            "services": sorted(self.services),
            "host_share": self.host_share,
            "begins_at": self.begins_at.isoformat() if self.begins_at else None,
            "flap_seconds": self.flap_seconds,
            "recover_after_seconds": self.recover_after_seconds,
            "down": self.applied_down,
            "session_hosts_down": len(self.hosts_down),
        }
