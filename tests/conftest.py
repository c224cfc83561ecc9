"""Shared fixtures: paths to the reference samples (tests/reference/), and a whole local stack on a small estate."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml

from failover.logs import configure_logging
from local.cli import approve_as, find_approval_link
from local.stack import DEMO_PLAN, ROOT, LocalStack
from simulator import EstateConfig

# The hosts' logs go to stderr, as `failover serve` and the Functions host configure them: unconfigured, structlog
# prints to stdout, where a test reading a CLI command's output (its JSON) would find the in-process stack's lines.
configure_logging("INFO", json_output=False)

REFERENCE = ROOT / "tests" / "reference"  # Microsoft's samples the tests read, sources in its README.md
ALERTS = sorted((REFERENCE / "alerts").glob("*.json")) + sorted((ROOT / "examples" / "alerts").glob("*.json"))
DEMO_ALERT = ROOT / "examples" / "alerts" / "service-health-incident-westeurope.json"


def write_plan(tmp_path: Path, **overrides: Any) -> Path:
    """The demo plan with top-level fields replaced (e.g. batch_size=30)."""
    data = yaml.safe_load(DEMO_PLAN.read_text())
    data.update(overrides)
    path = tmp_path / "plan.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


@pytest.fixture
def start_stack() -> Iterator[Callable[..., LocalStack]]:
    """Start a LocalStack (simulator + engine + API) with the given LocalStack fields; stopped after the test."""
    stacks: list[LocalStack] = []

    def start(**fields: Any) -> LocalStack:
        stack = LocalStack(**fields).start()
        stacks.append(stack)
        return stack

    yield start
    for stack in stacks:
        stack.stop()


@pytest.fixture
def make_stack(tmp_path: Path, start_stack: Callable[..., LocalStack]) -> Callable[..., LocalStack]:
    """A LocalStack on a small estate, its plan the demo plan with top-level fields replaced; stopped after the
    test."""

    def make(
        vms: int = 60,
        sessions: int = 30,
        time_scale: float = 600.0,
        estate_config: EstateConfig | None = None,
        **plan: Any,
    ) -> LocalStack:
        return start_stack(
            plan_path=write_plan(tmp_path, **plan),
            vms=vms,
            sessions=sessions,
            time_scale=time_scale,
            estate_config=estate_config,
        )

    return make


def post_alert(stack: LocalStack, path: Path = DEMO_ALERT) -> requests.Response:
    return stack.http.post(
        f"{stack.api_url}/api/alerts",
        data=path.read_bytes(),
        headers={"Content-Type": "application/json"},
        timeout=30,
    )


def run_status(stack: LocalStack, instance_id: str) -> dict[str, Any]:
    return stack.http.get(f"{stack.api_url}/api/failovers/{instance_id}", timeout=10).json()


def wait_for(predicate: Callable[[], Any], timeout: float = 60, interval: float = 0.1) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout}s")


def teams_messages(stack: LocalStack) -> list[dict[str, Any]]:
    return requests.get(
        f"{stack.simulator.url}/_sim/teams/messages", verify=stack.simulator.ca_bundle, timeout=10
    ).json()


def approval_link(stack: LocalStack, instance_id: str, title: str = "Approve") -> str:
    return wait_for(lambda: find_approval_link(teams_messages(stack), instance_id, title))


def wait_waiting(stack: LocalStack, instance_id: str) -> dict[str, Any]:
    return wait_for(
        lambda: (
            ((s := run_status(stack, instance_id)).get("custom_status") or {}).get("approval", {}).get("waiting") and s
        )
    )


def finish(stack: LocalStack, instance_id: str, timeout: float = 90) -> dict[str, Any]:
    """The run's status once it has ended. A run still going after `timeout` fails the test with where it stands."""
    seen: dict[str, Any] = {}

    def ended() -> Any:
        seen.update(run_status(stack, instance_id))
        return seen["runtime_status"] != "Running" and dict(seen)

    try:
        return wait_for(ended, timeout)
    except AssertionError:
        where = {k: seen.get(k) for k in ("stage", "status", "approval", "cancel", "resolved", "resolutions", "errors")}
        raise AssertionError(f"run {instance_id} still running after {timeout}s: {where}") from None


__all__ = ["approve_as"]
