"""The context adapter: a df-style orchestrator using every context call runs unchanged on durabletask."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import azure.durable_functions as df
import pytest

from local.engine import LocalEngine

ATTEMPTS: dict[str, int] = {}


def echo(payload: Any) -> Any:
    return {"echo": payload}


def flaky(payload: Any) -> str:
    """Fails on the first attempt per key, then succeeds."""
    ATTEMPTS[payload] = ATTEMPTS.get(payload, 0) + 1
    if ATTEMPTS[payload] == 1:
        raise RuntimeError("transient")
    return f"ok after {ATTEMPTS[payload]}"


def broken(payload: Any) -> None:
    raise ValueError("always fails")


def child(context: Any):  # type: ignore[no-untyped-def]
    value = yield context.call_activity("echo", context.get_input())
    return {"child": value, "instance": context.instance_id}


def parent(context: Any):  # type: ignore[no-untyped-def]
    spec = context.get_input()
    uuid_a, uuid_b = context.new_uuid(), context.new_uuid()
    context.set_custom_status({"stage": "started", "replaying_seen": bool(context.is_replaying)})
    fanned = yield context.task_all([context.call_activity("echo", i) for i in range(3)])
    retried = yield context.call_activity_with_retry(
        "flaky", df.RetryOptions(first_retry_interval_in_milliseconds=50, max_number_of_attempts=3), spec["key"]
    )
    try:
        yield context.call_activity("broken", None)
        caught = None
    except Exception as err:  # durabletask's TaskFailedError, as df code catches it
        caught = str(err)
    children = yield context.task_all(
        [context.call_sub_orchestrator("child", i, f"{context.instance_id}:child-{i}") for i in range(3)]
    )
    start = context.current_utc_datetime
    yield context.create_timer(start + timedelta(milliseconds=200))
    waited = (context.current_utc_datetime - start).total_seconds()
    # An event raced against a timer: the event wins, the timer is cancelled.
    event = context.wait_for_external_event("go")
    timer = context.create_timer(context.current_utc_datetime + timedelta(seconds=30))
    context.set_custom_status({"stage": "waiting"})
    winner = yield context.task_any([event, timer])
    if winner is event:
        timer.cancel()
    # A timer that wins the race.
    late = context.wait_for_external_event("never")
    short = context.create_timer(context.current_utc_datetime + timedelta(milliseconds=100))
    second = yield context.task_any([late, short])
    return {
        "fanned": fanned,
        "retried": retried,
        "caught": caught,
        "children": children,
        "waited": waited,
        "event": winner.result if winner is event else None,
        "timer_won": second is short,
        "uuids_differ": uuid_a != uuid_b,
    }


@pytest.fixture
def engine() -> Iterator[LocalEngine]:
    with LocalEngine({"parent": parent, "child": child}, {"echo": echo, "flaky": flaky, "broken": broken}) as running:
        yield running


class TestDfContextAdapter:
    def test_every_context_call(self, engine: LocalEngine) -> None:
        """task_all, retry, a caught failure, sub-orchestrations, timers, an event vs a timer, custom status."""
        grpc_client = engine._grpc_client
        assert grpc_client is not None
        grpc_client.schedule_new_orchestration("parent", input={"key": "k1"}, instance_id="adapter-1")

        def waiting() -> bool:
            state = grpc_client.get_orchestration_state("adapter-1")
            return bool(state and state.serialized_custom_status and "waiting" in state.serialized_custom_status)

        from tests.conftest import wait_for

        wait_for(waiting, timeout=30)
        grpc_client.raise_orchestration_event("adapter-1", "go", data={"approved": True})
        status = engine.client.wait_for_completion("adapter-1", timeout=30)
        assert status.runtime_status.value == "Completed", status.output
        out = status.output
        assert out["fanned"] == [{"echo": 0}, {"echo": 1}, {"echo": 2}]
        assert out["retried"] == "ok after 2"
        assert "always fails" in out["caught"]
        assert [c["child"] for c in out["children"]] == [{"echo": i} for i in range(3)]
        assert out["children"][1]["instance"] == "adapter-1:child-1"
        assert out["waited"] >= 0.2
        assert out["event"] == {"approved": True}
        assert out["timer_won"] is True and out["uuids_differ"] is True

    def test_client_adapter(self, engine: LocalEngine) -> None:
        """start_new / get_status (falsy when unknown) / reuse of a finished id, as df's client does."""
        asyncio.run(self._client_adapter(engine))

    async def _client_adapter(self, engine: LocalEngine) -> None:
        client = engine.client
        assert not await client.get_status("nope")
        await client.start_new("child", "c-1", 5)
        done = engine.client.wait_for_completion("c-1", timeout=30)
        assert done.output["child"] == {"echo": 5}
        status = await client.get_status("c-1", show_input=True)
        assert status and status.input_ == 5 and status.runtime_status.value == "Completed"
        await client.start_new("child", "c-1", 6)  # a finished id can be reused, as df's start_new replaces
        assert engine.client.wait_for_completion("c-1", timeout=30).output["child"] == {"echo": 6}
