"""Start-up imports (issue 22; docs/performance.md, "Start-up: imports").

`failover --help` and the thin clients (`failover status`) import no Azure SDK, engine, simulator or plan
models: that is the hard check, on the modules `python -X importtime` lists for the real console entry.
Their import time (the sum of the self times it reports, best of up to 5 runs: the machine is shared) must
be under 0.5 s as well; the figures are printed (`pytest -s`). The service's own modules (clients,
contracts, activities: what `function_app` imports) import no SDK until a client or model is first used."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from dataclasses import dataclass

from local.paths import ROOT

# What `console_scripts` runs for `failover` (pyproject.toml: failover = "local.cli:main").
ENTRY = "import sys; from local.cli import main; sys.exit(main())"
BUDGET_S = 0.5
# Packages and modules the CLI needs only in the commands that run the service, the simulator or a plan.
HEAVY = (
    "azure",
    "durabletask",
    "grpc",
    "google.protobuf",
    "aiohttp",
    "werkzeug",
    "pydantic",
    "yaml",
    "structlog",
    "rich",
    "simulator",
    "orchestrations",
    "activities",
    "failover.plan",
    "failover.clients",
    "failover.contracts",
    "failover.api",
    "local.stack",
    "local.engine",
    "local.server",
    "local.bench",
)
SDKS = ("azure.mgmt", "azure.monitor", "azure.eventgrid", "azure.identity")


@dataclass
class Imports:
    modules: set[str]
    seconds: float  # sum of the self times: the time the process spent importing
    returncode: int
    stdout: str
    stderr: str


def _importtime(code: str, *args: str) -> Imports:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FAILOVER_") and k != "PYTHONPROFILEIMPORTTIME"}
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", code, *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=120,
    )
    modules: set[str] = set()
    total_us = 0
    other: list[str] = []
    for line in done.stderr.splitlines():
        if not line.startswith("import time:"):
            other.append(line)
            continue
        self_us, _, name = line.removeprefix("import time:").split("|")
        if self_us.strip().isdigit():  # not the header line
            modules.add(name.strip())
            total_us += int(self_us)
    return Imports(modules, total_us / 1e6, done.returncode, done.stdout, "\n".join(other))


def _heavy(modules: set[str], prefixes: tuple[str, ...]) -> list[str]:
    return sorted(m for m in modules if any(m == p or m.startswith(p + ".") for p in prefixes))


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _best_time(*args: str) -> float:
    """The lowest import time of up to 5 runs, stopping at the first under budget."""
    best = float("inf")
    for _ in range(5):
        best = min(best, _importtime(ENTRY, *args).seconds)
        if best < BUDGET_S:
            break
    return best


def test_help_imports_no_sdk_engine_or_simulator() -> None:
    run = _importtime(ENTRY, "--help")
    assert run.returncode == 0, run.stderr
    assert "usage: failover" in run.stdout and "bench" in run.stdout
    heavy = _heavy(run.modules, HEAVY)
    assert not heavy, f"`failover --help` imports {len(heavy)} modules it does not need: {heavy[:20]}"
    best = _best_time("--help")
    print(f"failover --help: {len(run.modules)} modules, {best * 1000:.0f} ms of imports (best run)")
    assert best < BUDGET_S, f"`failover --help` spent {best:.2f} s importing (budget {BUDGET_S} s)"


def test_status_imports_only_the_api_client() -> None:
    args = ("status", "--api", f"http://127.0.0.1:{_closed_port()}", "failover-demo")
    run = _importtime(ENTRY, *args)
    assert run.returncode == 1 and "cannot reach the API" in run.stderr, run.stderr
    assert "requests" in run.modules
    heavy = _heavy(run.modules, HEAVY)
    assert not heavy, f"`failover status` imports {len(heavy)} modules it does not need: {heavy[:20]}"
    best = _best_time(*args)
    print(f"failover status: {len(run.modules)} modules, {best * 1000:.0f} ms of imports (best run)")
    assert best < BUDGET_S, f"`failover status` spent {best:.2f} s importing (budget {BUDGET_S} s)"


def test_the_service_imports_each_sdk_when_first_used() -> None:
    """What function_app imports (the clients, the contracts, every activity) imports no SDK; building a
    client imports its SDK. The contracts and plans import no azure.durable_functions: df's codec is
    imported by the first payload encoded."""
    code = "\n".join(
        [
            "import sys",
            "import failover.clients, failover.contracts, failover.plan",
            "print('azure.durable_functions' in sys.modules)",
            "import activities",
            f"print(sorted(m for m in sys.modules if m.startswith({SDKS!r})))",
            "from failover.clients import ClientFactory",
            "from failover.settings import Settings",
            "client = ClientFactory(Settings(arm_endpoint='https://127.0.0.1:1', credential='simulator')).dns('sub')",
            "print(type(client).__module__.startswith('azure.mgmt.dns'), 'azure.mgmt.dns' in sys.modules)",
        ]
    )
    run = _importtime(code)
    assert run.returncode == 0, run.stderr
    assert run.stdout.splitlines() == ["False", "[]", "True True"], run.stdout
