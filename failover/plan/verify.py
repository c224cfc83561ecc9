"""A plan's `verify` section: the health checks after failover, from Azure Monitor Logs."""

from __future__ import annotations

from pydantic import Field

from failover.plan.avd import HostPoolRef
from failover.plan.fields import Duration, _Model


class Verify(_Model):
    """Health after failover, from Azure Monitor Logs: Heartbeat of the failed-over VMs and domain
    controllers, AVD agent health of the recovery host pool; polled until healthy or the deadline."""

    workspace_id: str = Field(min_length=1)
    domain_controllers: list[str] = Field(default_factory=list)
    host_pool: HostPoolRef | None = None
    heartbeat_minutes: int = Field(default=15, ge=1, le=1440)
    poll_interval: Duration = 60.0
    timeout: Duration = 900.0
    required_for_dns: bool = True  # an unhealthy verify leaves DNS and Traffic Manager untouched
