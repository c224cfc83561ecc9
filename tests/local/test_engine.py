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

    def test_client_calls_answer_without_suspending(self, engine: LocalEngine) -> None:
        """The API's client calls the backend in process: each call finishes in the step that made it, so an HTTP
        handler keeps the loop until its engine calls are done (over gRPC each waited behind the requests the loop
        was parsing: an alert storm's first copy was accepted 25 ms after it arrived)."""
        client = engine.client

        def at_once(call: Any) -> Any:
            with pytest.raises(StopIteration) as done:
                call.send(None)  # one step: a call that suspended would yield here instead
            return done.value.value

        assert not at_once(client.get_status("nope"))
        assert at_once(client.start_new("parent", "s-1", {"key": "k-at-once"})) == "s-1"
        assert at_once(client.get_status("s-1")).instance_id == "s-1"
        assert [s.instance_id for s in at_once(client.get_status_all())] == ["s-1"]
        at_once(client.terminate("s-1", "done"))

    async def _client_adapter(self, engine: LocalEngine, client: Any = None) -> None:
        client = client or engine.client
        assert not await client.get_status("nope")
        await client.start_new("child", "c-1", 5)
        done = await asyncio.to_thread(engine.client.wait_for_completion, "c-1", 30)
        assert done.output["child"] == {"echo": 5}
        status = await client.get_status("c-1", show_input=True)
        assert status and status.input_ == 5 and status.runtime_status.value == "Completed"
        await client.start_new("child", "c-1", 6)  # a finished id can be reused, as df's start_new replaces
        assert (await asyncio.to_thread(engine.client.wait_for_completion, "c-1", 30)).output["child"] == {"echo": 6}


def slow_child(context: Any):  # type: ignore[no-untyped-def]
    yield context.create_timer(context.current_utc_datetime + timedelta(seconds=context.get_input()))
    return "slow child done"


def waits_for_slow_child(context: Any):  # type: ignore[no-untyped-def]
    result = yield context.call_sub_orchestrator("slow_child", context.get_input(), f"{context.instance_id}:child")
    return result


class TestLongRunningWork:
    """What a real-time run does: sub-orchestrations (batches) and idle gaps longer than the engine's waits."""

    def test_a_sub_orchestration_outliving_the_watch_slice_reaches_its_parent(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """durabletask's watcher gave up after one 30 s wait and the parent run waited forever (a batch at
        time scale 1). Scaled down here: a wait with no timeout lasts 0.3 s (30 s in durabletask), the child 1.5 s."""
        from durabletask.testing.in_memory_backend import InMemoryOrchestrationBackend

        from local.backend import RestartableBackend

        wait = InMemoryOrchestrationBackend._wait_for_state

        def short_wait(self: Any, instance_id: str, predicate: Any, timeout: float | None) -> Any:
            return wait(self, instance_id, predicate, timeout or 0.3)

        monkeypatch.setattr(InMemoryOrchestrationBackend, "_wait_for_state", short_wait)
        monkeypatch.setattr(RestartableBackend, "SUB_ORCHESTRATION_WAIT", 0.3)
        with LocalEngine({"parent": waits_for_slow_child, "slow_child": slow_child}, {}) as engine:
            asyncio.run(engine.client.start_new("parent", "p-slow", 1.5))
            done = engine.client.wait_for_completion("p-slow", timeout=8)
        assert done.runtime_status.value == "Completed" and done.output == "slow child done"

    def test_the_worker_does_not_reconnect_on_a_quiet_stream(self) -> None:
        """The in-memory backend sends no health pings: a run idle for 120 s made the worker reconnect."""
        with LocalEngine({"child": child}, {"echo": echo}) as engine:
            assert engine.worker is not None
            assert engine.worker._resiliency_options.silent_disconnect_timeout_seconds == 0


class _RecordingContext:
    """A durabletask context that records what the adapter asks it to schedule."""

    def __init__(self, replaying: bool) -> None:
        self.is_replaying = replaying
        self.calls: list[dict[str, Any]] = []

    def call_sub_orchestrator(self, name: str, **kwargs: Any) -> None:
        self.calls.append({"name": name, **kwargs})


class TestReplayedCalls:
    def test_sub_orchestration_input_is_not_encoded_again_while_replaying(self) -> None:
        """The history holds the input an earlier episode sent; a new call still sends it."""
        from local.worker import DfContext

        for replaying, sent in ((False, {"batch": 1}), (True, None)):
            ctx = _RecordingContext(replaying)
            DfContext(ctx, None).call_sub_orchestrator("batch_orchestrator", {"batch": 1}, "run:batch-1")  # type: ignore[arg-type]
            assert ctx.calls == [{"name": "batch_orchestrator", "input": sent, "instance_id": "run:batch-1"}]

    def test_a_retried_sub_orchestration_keeps_its_input_while_replaying(self) -> None:
        """durabletask re-sends a retried call with the input it was scheduled with."""
        from local.worker import DfContext

        ctx = _RecordingContext(True)
        retry = df.RetryOptions(first_retry_interval_in_milliseconds=10, max_number_of_attempts=2)
        DfContext(ctx, None).call_sub_orchestrator_with_retry("batch_orchestrator", retry, {"batch": 1}, "run:b")  # type: ignore[arg-type]
        assert ctx.calls[0]["input"] == {"batch": 1}
