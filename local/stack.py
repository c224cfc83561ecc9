"""The embedded default: simulator + local engine + local API server, wired with one Settings value."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

from activities import ALL as ACTIVITIES
from activities.planning import read_capacity, read_groups, read_recovery_points, read_region_capacity
from activities.readiness import check_plan
from failover.api import Api, Readers
from failover.clients import import_sdks
from failover.plan import Plan, load_plan
from failover.process import freeze_startup_objects
from failover.settings import Settings, configure
from local.engine import LocalEngine, free_port, port_free
from local.paths import DEMO_PLAN as DEMO_PLAN  # re-exported: where the tests and commands have found them
from local.paths import ROOT as ROOT
from local.server import LocalServer
from local.worker_process import WorkerProcessOptions
from orchestrations import ALL as ORCHESTRATORS
from orchestrations import ENTITIES
from simulator import Estate, EstateConfig, Simulator, seed_demo_estate
from simulator.dependencies import DEMO_WEBHOOK, webhook_url

READERS = Readers(
    read_groups=read_groups,
    check_plan=check_plan,
    read_recovery_points=read_recovery_points,
    read_capacity=read_capacity,
    read_region_capacity=read_region_capacity,
)


def function_key() -> str:
    """A new local function key: URL-safe and never starting with "-", so `--api-key KEY` parses it as a value."""
    while (key := secrets.token_urlsafe(24)).startswith("-"):
        pass
    return key


@dataclass(frozen=True)
class SimulatorEndpoint:
    """What the host needs to reach a simulator: its base URL, its CA bundle, the Event Grid key and the Azure
    Automation webhook it serves (the demo Hyper-V Replica runbook)."""

    url: str
    ca_bundle: str
    eventgrid_key: str
    hyperv_webhook: str

    @staticmethod
    def of(simulator: Simulator, estate: Estate) -> SimulatorEndpoint:
        return SimulatorEndpoint(
            simulator.url,
            simulator.ca_bundle,
            estate.config.eventgrid_key,
            webhook_url(simulator.url, estate, DEMO_WEBHOOK),
        )


@dataclass
class LocalStack:
    """Start with `with LocalStack(...) as stack:`; `stack.api_url`, `stack.simulator.url`, `stack.plan`."""

    plan_path: Path = DEMO_PLAN
    extra_plans: list[Path] = field(default_factory=list)  # more plan files the API serves
    vms: int = 260
    sessions: int = 220
    time_scale: float = 120.0
    estate_config: EstateConfig | None = None
    api_key: str | None = None  # generated when not given
    port: int = 0
    escalation_webhook: bool = True  # a second Teams sink on the simulator for approval reminders
    # A simulator served by another process (`bench.storm`: Azure's CPU is not the service's); no estate here then
    remote_simulator: SimulatorEndpoint | None = None
    # The worker (orchestrators, activities) in a process of its own at a lower CPU priority, as `failover serve`
    # runs it (`local.worker_process`); in this process otherwise (the demo, the tests)
    worker_process: bool = False
    settings: Settings = field(init=False)
    plan: Plan = field(init=False)

    def start(self) -> LocalStack:
        if self.port and not port_free(self.port):
            raise ValueError(f"port {self.port} is in use (choose another with --port)")
        self.plan = load_plan(self.plan_path)
        endpoint = self.remote_simulator
        if endpoint is None:
            config = self.estate_config or EstateConfig()
            config.time_scale = self.time_scale
            self.estate = seed_demo_estate(Estate(config), vms=self.vms, sessions=self.sessions)
            self.simulator = Simulator(self.estate).start()
            endpoint = SimulatorEndpoint.of(self.simulator, self.estate)
        port = self.port or free_port()
        self.api_key = self.api_key or function_key()
        teams = f"{endpoint.url}/teams/workflows"
        self.settings = Settings(
            arm_endpoint=endpoint.url,
            ca_bundle=endpoint.ca_bundle,
            credential="simulator",
            eventgrid_endpoint=f"{endpoint.url}/eventgrid/api/events",
            eventgrid_key=endpoint.eventgrid_key,
            logs_endpoint=endpoint.url,  # POST {url}/v1/workspaces/{id}/query
            teams_webhook_url=(
                f"{teams}/failover-approvals/triggers/manual/paths/invoke"
                f"?api-version=2016-06-01&sig={secrets.token_urlsafe(16)}"
            ),
            escalation_webhook_url=(
                f"{teams}/failover-escalation/triggers/manual/paths/invoke"
                f"?api-version=2016-06-01&sig={secrets.token_urlsafe(16)}"
                if self.escalation_webhook
                else None
            ),
            approval_signing_key=secrets.token_urlsafe(32),
            # The demo Azure Automation webhook (Hyper-V Replica on Azure Local), as FAILOVER_WEBHOOK_HYPERV_REPLICA.
            webhooks={"hyperv_replica": endpoint.hyperv_webhook},
            api_key=self.api_key,
            public_base_url=f"http://127.0.0.1:{port}",
            plans_dir=str(self.plan_path.parent),
            time_scale=self.time_scale,
        )
        configure(self.settings)
        self._port = port
        self._start_host()
        self.http = requests.Session()
        self.http.headers["x-functions-key"] = self.api_key
        return self

    def _start_host(self) -> None:
        """The service's process: the engine (in-memory history) and the API server."""
        separate = WorkerProcessOptions(self.settings) if self.worker_process else None
        self.engine = LocalEngine(ORCHESTRATORS, ACTIVITIES, ENTITIES, worker_process=separate).start()
        plans = {self.plan.name: self.plan}
        for path in self.extra_plans:
            extra = load_plan(path)
            if extra.name in plans:
                raise ValueError(f"{path}: plan name '{extra.name}' is used by another plan file")
            plans[extra.name] = extra
        self.api = Api(settings=self.settings, plans=plans, readers=READERS)
        self.server = LocalServer(self.api, self.engine.client, port=self._port, api_key=self.api_key).start()
        import_sdks()  # a long-running host: the SDKs at start, not in its first run's traffic
        freeze_startup_objects()

    def restart_host(self) -> None:
        """The service's process dies and starts again (the simulated Azure lives on): the in-memory engine's
        history is gone, runs in flight with it. Starting the plan again must converge (docs/reliability.md)."""
        self.server.stop()
        self.engine.stop()
        self._start_host()

    @property
    def api_url(self) -> str:
        return self.server.url

    def simulator_stats(self) -> dict[str, Any]:
        """The simulator's counters for a run's summary (`failover demo --json`): requests served, faults
        injected, 429s from the throttle buckets, and the most failover POSTs any one recovery plan received."""
        with self.estate.lock:
            faults = self.estate.faults.snapshot()
            return {
                "requests": sum(self.estate.requests.values()),
                "faults_injected": faults["faults_injected"],  # by fault injection (`--faults`)
                "throttled": faults["throttled"],  # 429s of ARM's token buckets
                "max_failover_calls_per_plan": max(
                    (plan.failover_calls for plan in self.estate.recovery_plans.values()), default=0
                ),
            }

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
