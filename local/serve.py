"""`failover serve`: the HTTP API on the local engine, against the simulator or (FAILOVER_ARM_ENDPOINT set) Azure."""

from __future__ import annotations

import argparse
import os
import signal
import threading
from pathlib import Path

from failover.logs import configure_logging
from failover.plan import load_plan, load_plans
from failover.settings import Settings, configure
from local.stack import DEMO_PLAN, LocalStack, function_key


def _wait_for_signal() -> None:
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    while not stop.wait(0.5):
        pass


def run_serve(args: argparse.Namespace) -> int:
    """The API on the local engine: against the simulator (default) or Azure (FAILOVER_ARM_ENDPOINT set)."""
    configure_logging("WARNING", json_output=False)
    plans = [Path(p) for p in args.plan] or [DEMO_PLAN]
    generated = not (args.api_key or os.environ.get("FAILOVER_API_KEY"))
    api_key = args.api_key or os.environ.get("FAILOVER_API_KEY") or None
    if os.environ.get("FAILOVER_ARM_ENDPOINT"):
        return _serve_azure(args, plans, api_key)
    with LocalStack(
        plan_path=plans[0],
        extra_plans=plans[1:],
        vms=args.vms,
        sessions=args.sessions,
        time_scale=args.time_scale,
        api_key=api_key,
        port=args.port,
        worker_process=True,  # the alerts route stays fast while a run works (local.worker_process)
    ) as stack:
        print(f"api: {stack.api_url}", flush=True)
        print(f"simulator: {stack.simulator.url}", flush=True)
        if generated:
            print(f"api key: {stack.api_key}", flush=True)
        print(f"plans: {', '.join(sorted(stack.api.plans))}", flush=True)
        print("press Ctrl-C to stop", flush=True)
        _wait_for_signal()
    return 0


def _serve_azure(args: argparse.Namespace, plan_files: list[Path], api_key: str | None) -> int:
    """Local engine and API, real Azure APIs (settings from FAILOVER_* variables)."""

    from activities import ALL as ACTIVITIES
    from failover.api import Api
    from local.engine import LocalEngine
    from local.server import LocalServer
    from local.stack import READERS
    from local.worker_process import WorkerProcessOptions
    from orchestrations import ALL as ORCHESTRATORS
    from orchestrations import ENTITIES

    key = api_key or function_key()
    settings = Settings.from_env()
    configure(settings)
    plans = {}
    for path in plan_files:
        plans.update(load_plans(path) if path.is_dir() else {load_plan(path).name: load_plan(path)})
    with LocalEngine(ORCHESTRATORS, ACTIVITIES, ENTITIES, worker_process=WorkerProcessOptions(settings)) as engine:
        api = Api(settings, plans, readers=READERS)
        server = LocalServer(api, engine.client, host=args.host, port=args.port, api_key=key)
        server.start()
        try:
            print(f"api: {server.url}", flush=True)
            if not api_key:
                print(f"api key: {key}", flush=True)
            print(f"arm: {settings.arm_endpoint}", flush=True)
            _wait_for_signal()
        finally:
            server.stop()
    return 0
