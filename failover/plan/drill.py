"""A plan's `drill` section: the isolated network of test failovers, and when drills may run."""

from __future__ import annotations

from datetime import UTC, timedelta
from typing import Any, Literal

from pydantic import Field

from failover.plan.fields import _Model

Day = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
_DAYS: tuple[Day, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class MaintenanceWindow(_Model):
    """When drills may run: days of the week and a UTC time range (end may pass midnight)."""

    days: list[Day] = Field(default_factory=lambda: list(_DAYS))
    start: str = Field(pattern=r"^([01]\d|2[0-3]):[0-5]\d$")
    end: str = Field(pattern=r"^([01]\d|2[0-3]):[0-5]\d$")

    def contains(self, when: Any) -> bool:
        """`when`: an aware datetime. A window 22:00-04:00 on `sat` covers Saturday 22:00 to Sunday 04:00."""
        utc = when.astimezone(UTC)
        start = int(self.start[:2]) * 60 + int(self.start[3:])
        end = int(self.end[:2]) * 60 + int(self.end[3:])
        minute = utc.hour * 60 + utc.minute
        today = _DAYS[utc.weekday()]
        yesterday = _DAYS[(utc - timedelta(days=1)).weekday()]
        if start < end:
            return today in self.days and start <= minute < end
        return (today in self.days and minute >= start) or (yesterday in self.days and minute < end)


class Drill(_Model):
    """Test failover drills: the isolated network, when drills may run, and the monthly schedule."""

    network_id: str = Field(min_length=1, description="ARM id of the isolated virtual network for test VMs")
    networks: dict[str, str] = Field(default_factory=dict, description="recovery plan -> its own isolated network")
    windows: list[MaintenanceWindow] = Field(default_factory=list)  # empty: any time
    scheduled: bool = True  # include this plan in the monthly drill timer
    cleanup_comment: str = "Drill finished: test failover cleanup by the failover service"
    # A real failover asked for while a drill runs: cancel the drill (cleaned up), then fail over; or refuse.
    on_failover: Literal["cancel_drill", "refuse"] = "cancel_drill"

    def network_for(self, recovery_plan: str) -> str:
        return self.networks.get(recovery_plan, self.network_id)

    def allowed_at(self, when: Any) -> bool:
        return not self.windows or any(w.contains(when) for w in self.windows)
