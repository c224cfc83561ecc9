"""Activities against a running simulator: `start_simulator(config, vms=...)` starts one on a demo estate
and points the activities' settings at it, as a host's `configure()` would; stopped after the test."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from failover import settings as settings_module
from failover.settings import Settings
from simulator import Estate, EstateConfig, Simulator, seed_demo_estate

StartSimulator = Callable[..., Simulator]


@pytest.fixture
def start_simulator(monkeypatch: pytest.MonkeyPatch) -> Iterator[StartSimulator]:
    started: list[Simulator] = []

    def start(
        config: EstateConfig,
        vms: int = 10,
        sessions: int = 2,
        settings: Callable[[Simulator], dict[str, Any]] | None = None,
    ) -> Simulator:
        sim = Simulator(seed_demo_estate(Estate(config), vms=vms, sessions=sessions)).start()
        started.append(sim)
        extra = settings(sim) if settings else {}
        monkeypatch.setattr(
            settings_module,
            "_current",
            Settings(
                arm_endpoint=sim.url, ca_bundle=sim.ca_bundle, credential="simulator", logs_endpoint=sim.url, **extra
            ),
        )
        return sim

    yield start
    for sim in started:
        sim.stop()
