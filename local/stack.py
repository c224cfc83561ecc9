"""The embedded default: simulator + local engine + local API server, wired with one Settings value."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from pathlib import Path

from activities import ALL as ACTIVITIES
from failover.handlers import Api
from failover.plan import Plan, load_plan
from failover.settings import Settings, configure
from local.engine import LocalEngine, free_port
from local.server import LocalServer
from orchestrations import ALL as ORCHESTRATORS
from simulator import Estate, EstateConfig, Simulator, seed_demo_estate

ROOT = Path(__file__).resolve().parent.parent
DEMO_PLAN = ROOT / "plans" / "demo.yaml"


@dataclass
class LocalStack:
    """Start with `with LocalStack(...) as stack:`; `stack.api_url`, `stack.simulator.url`, `stack.plan`."""

    plan_path: Path = DEMO_PLAN
    vms: int = 260
    sessions: int = 220
    time_scale: float = 120.0
    estate_config: EstateConfig | None = None
    settings: Settings = field(init=False)
    plan: Plan = field(init=False)

    def start(self) -> LocalStack:
        self.plan = load_plan(self.plan_path)
        config = self.estate_config or EstateConfig()
        config.time_scale = self.time_scale
        self.estate = seed_demo_estate(Estate(config), vms=self.vms, sessions=self.sessions)
        self.simulator = Simulator(self.estate).start()
        port = free_port()
        self.settings = Settings(
            arm_endpoint=self.simulator.url,
            ca_bundle=self.simulator.ca_bundle,
            credential="simulator",
            eventgrid_endpoint=f"{self.simulator.url}/eventgrid/api/events",
            eventgrid_key=config.eventgrid_key,
            teams_webhook_url=(
                f"{self.simulator.url}/teams/workflows/failover-approvals/triggers/manual/paths/invoke"
                f"?api-version=2016-06-01&sig={secrets.token_urlsafe(16)}"
            ),
            approval_signing_key=secrets.token_urlsafe(32),
            public_base_url=f"http://127.0.0.1:{port}",
            plans_dir=str(self.plan_path.parent),
            time_scale=self.time_scale,
        )
        configure(self.settings)
        self.engine = LocalEngine(ORCHESTRATORS, ACTIVITIES).start()
        self.api = Api(settings=self.settings, plans={self.plan.name: self.plan})
        self.server = LocalServer(self.api, self.engine.client, port=port).start()
        return self

    @property
    def api_url(self) -> str:
        return self.server.url

    def stop(self) -> None:
        for part in ("server", "engine", "simulator"):
            component = getattr(self, part, None)
            if component is not None:
                component.stop()

    def __enter__(self) -> LocalStack:
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc: object) -> None:
        self.stop()
