"""The in-process channel to durabletask's backend (`local.channel`): the local host's durable client reaches the
backend as a gRPC client would (the same serializers, the same status codes), without the network."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import grpc
import pytest
from durabletask import client as dt_client
from durabletask.internal import orchestrator_service_pb2 as pb
from durabletask.internal import orchestrator_service_pb2_grpc as stubs

from local.channel import InProcessChannel, InProcessRpcError
from local.engine import InstanceExistsError, LocalEngine
from local.worker import CODEC


def waits(context: Any):  # type: ignore[no-untyped-def]
    """Runs until its event comes."""
    return (yield context.wait_for_external_event("go"))


@pytest.fixture
def engine() -> Iterator[LocalEngine]:
    with LocalEngine({"waits": waits}, {}) as running:
        yield running


def test_a_run_started_in_process_is_run_by_the_grpc_worker(engine: LocalEngine) -> None:
    """Started through the channel, raised an event through it, completed by the worker (which talks gRPC)."""

    async def scenario() -> Any:
        client = engine.client
        await client.start_new("waits", "w-1", None)
        await client.raise_event("w-1", "go", {"approved": True})
        return await asyncio.to_thread(client.wait_for_completion, "w-1", 30)

    done = asyncio.run(scenario())
    assert done.runtime_status.value == "Completed" and done.output == {"approved": True}


def test_the_servicers_status_codes_reach_the_client(engine: LocalEngine) -> None:
    """ALREADY_EXISTS for a running id (df's start_new refuses it too), NOT_FOUND for an event to nobody,
    DEADLINE_EXCEEDED as durabletask's TimeoutError: what a gRPC client sees."""
    client = engine.client
    asyncio.run(client.start_new("waits", "w-2", None))
    with pytest.raises(InstanceExistsError):
        asyncio.run(client.start_new("waits", "w-2", None))
    with pytest.raises(grpc.RpcError) as missing:
        asyncio.run(client.raise_event("nobody", "go", None))
    assert missing.value.code() == grpc.StatusCode.NOT_FOUND and "nobody" in missing.value.details()
    with pytest.raises(TimeoutError):
        client.wait_for_completion("w-2", timeout=0.2)


def test_a_servicer_that_raises_is_unknown_and_an_unknown_method_unimplemented() -> None:
    """A servicer's exception is UNKNOWN; a method it does not implement (the generated base's answer), one the
    service does not have and a stream are UNIMPLEMENTED."""

    class Broken(stubs.TaskHubSidecarServiceServicer):
        def GetInstance(self, request: pb.GetInstanceRequest, context: Any) -> Any:
            raise ValueError("backend broke")

    channel = InProcessChannel(Broken())  # type: ignore[arg-type]
    client = dt_client.TaskHubGrpcClient(channel=channel, data_converter=CODEC)
    with pytest.raises(InProcessRpcError) as broken:
        client.get_orchestration_state("x")
    assert broken.value.code() == grpc.StatusCode.UNKNOWN and "backend broke" in broken.value.details()
    with pytest.raises(InProcessRpcError) as unimplemented:
        client.get_all_orchestration_states()
    assert unimplemented.value.code() == grpc.StatusCode.UNIMPLEMENTED
    with pytest.raises(InProcessRpcError) as stream:  # streams are the worker's, over gRPC
        client.get_orchestration_history("x")
    assert stream.value.code() == grpc.StatusCode.UNIMPLEMENTED
    with pytest.raises(InProcessRpcError) as absent:
        channel.unary_unary("/TaskHubSidecarService/Nope", bytes, bytes)(b"")
    assert absent.value.code() == grpc.StatusCode.UNIMPLEMENTED


def test_neither_side_holds_the_others_message(engine: LocalEngine) -> None:
    """The request the backend keeps is its own copy (as over the wire): changing the caller's after the call
    changes nothing in the backend."""
    channel = InProcessChannel(engine.backend)
    stub = stubs.TaskHubSidecarServiceStub(channel)
    request = pb.CreateInstanceRequest(instanceId="w-3", name="waits")
    stub.StartInstance(request)
    request.instanceId, request.name = "changed", "changed"
    answer = stub.GetInstance(pb.GetInstanceRequest(instanceId="w-3"))
    assert answer.exists and answer.orchestrationState.name == "waits"
    answer.orchestrationState.name = "mine"
    assert stub.GetInstance(pb.GetInstanceRequest(instanceId="w-3")).orchestrationState.name == "waits"
