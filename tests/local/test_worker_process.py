"""The worker in a process of its own (`local.worker_process`, as `failover serve` runs it): the same orchestrators
and activities, run by a durabletask worker in a child process at a lower CPU priority, against the host's
backend; stopped and started again, a run in flight carries on."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from typing import Any

import pytest

from failover.settings import Settings
from local.engine import LocalEngine
from local.worker_process import WorkerProcessOptions
from tests.conftest import wait_for

NICE = 5


def where(_: Any) -> dict[str, int]:
    """The process the activity ran in, and its niceness."""
    return {"pid": os.getpid(), "nice": os.getpriority(os.PRIO_PROCESS, 0)}


def asks_where(context: Any) -> Any:
    first = yield context.call_activity("where", None)
    approved = yield context.wait_for_external_event("go")
    second = yield context.call_activity("where", None)
    return {"first": first, "second": second, "approved": approved}


@pytest.fixture
def engine() -> Iterator[LocalEngine]:
    options = WorkerProcessOptions(Settings(credential="simulator", approval_signing_key="k" * 32), nice=NICE)
    with LocalEngine({"asks_where": asks_where}, {"where": where}, worker_process=options) as running:
        yield running


def test_the_worker_runs_in_its_own_process_at_a_lower_priority(engine: LocalEngine) -> None:
    """A run started through the host's client, its activities run by the child, which stops with the engine."""
    client = engine.client

    asyncio.run(client.start_new("asks_where", "w-1", None))
    wait_for(lambda: _waiting(engine, "w-1"), timeout=60)
    asyncio.run(client.raise_event("w-1", "go", True))
    done = client.wait_for_completion("w-1", 60)
    assert done.runtime_status.value == "Completed", done.output
    child = engine.worker.pid
    assert done.output["first"]["pid"] == child != os.getpid()
    assert done.output["first"]["nice"] == os.getpriority(os.PRIO_PROCESS, 0) + NICE
    engine.stop_worker()
    with pytest.raises(ProcessLookupError):
        os.kill(child, 0)  # gone


def test_a_run_in_flight_carries_on_in_the_next_worker_process(engine: LocalEngine) -> None:
    client = engine.client
    asyncio.run(client.start_new("asks_where", "w-2", None))
    wait_for(lambda: _waiting(engine, "w-2"), timeout=60)
    first = engine.worker.pid
    engine.stop_worker()
    asyncio.run(client.raise_event("w-2", "go", "after the restart"))
    engine.start_worker()
    done = client.wait_for_completion("w-2", 60)
    assert done.runtime_status.value == "Completed" and done.output["approved"] == "after the restart"
    assert done.output["first"]["pid"] == first and done.output["second"]["pid"] == engine.worker.pid != first


def _waiting(engine: LocalEngine, instance_id: str) -> bool:
    """The run has recorded its first activity's result (it now waits for its event): read in the backend."""
    instance = engine.backend._instances.get(instance_id)
    return instance is not None and any(e.HasField("taskCompleted") for e in instance.history)
