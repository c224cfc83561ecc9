"""An in-process gRPC channel to durabletask's backend: the local host's durable client calls the backend in its own
process without a network hop.

durabletask's client calls the sidecar through a generated stub, which asks its channel for one callable per method.
`InProcessChannel` hands out callables that take the servicer's own method handlers (the ones the gRPC server
registers) and run the same data path as gRPC, minus HTTP/2: the request is serialized by the client's serializer
and rebuilt by the server's deserializer, the servicer answers, the answer is serialized by the server and rebuilt
by the client. Neither side shares a message object with the other. A servicer's `context.abort` raises
`InProcessRpcError`, a `grpc.RpcError` with the status code and details a remote client would see (UNKNOWN for
any other exception, as gRPC answers it).

Why (docs/performance.md, "Fifth stop"): over gRPC each engine call of the HTTP API waited behind every request the
local server's loop was parsing, so in an alert storm the first copy's run was accepted 25 ms after it arrived and
every copy in flight waited for that. In process a call answers at once (the backend's lock aside), and a read
that never suspends keeps the loop on the copy that asked.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import grpc
from durabletask.internal import orchestrator_service_pb2_grpc as service_grpc  # gRPC's generated code

SERVICE = "TaskHubSidecarService"
NO_DEADLINE = 3600.0 * 24  # `context.time_remaining()` when the caller set no timeout (gRPC's "no deadline")


class InProcessRpcError(grpc.RpcError):
    """What a gRPC client raises when the servicer aborted: `code()` and `details()`."""

    def __init__(self, code: grpc.StatusCode, details: str) -> None:
        super().__init__(f"{code.name}: {details}")
        self._code = code
        self._details = details

    def code(self) -> grpc.StatusCode:
        return self._code

    def details(self) -> str:
        return self._details


class _Context:
    """The servicer's view of one call (`grpc.ServicerContext`, the parts durabletask's backend uses)."""

    def __init__(self, timeout: float | None) -> None:
        self._deadline = time.monotonic() + (timeout if timeout is not None else NO_DEADLINE)
        self.code: grpc.StatusCode | None = None  # set by the servicer before it raises (gRPC answers with it)
        self.details = ""

    def set_code(self, code: grpc.StatusCode) -> None:
        self.code = code

    def set_details(self, details: str) -> None:
        self.details = details

    def abort(self, code: grpc.StatusCode, details: str) -> None:
        raise InProcessRpcError(code, details)

    def time_remaining(self) -> float:
        return max(0.0, self._deadline - time.monotonic())


class _Handlers:
    """Collects the method handlers the generated code registers on a server."""

    def __init__(self) -> None:
        self.methods: dict[str, Any] = {}

    def add_generic_rpc_handlers(self, handlers: Any) -> None:
        """Ignored: the generated code registers the same handlers through `add_registered_method_handlers`."""

    def add_registered_method_handlers(self, service: str, methods: dict[str, Any]) -> None:
        self.methods.update({f"/{service}/{name}": handler for name, handler in methods.items()})


class InProcessChannel:
    """A `grpc.Channel` (the parts the generated stub uses) whose calls run `servicer`'s handlers in the caller's
    thread. Closing it is a no-op: the backend belongs to its engine."""

    def __init__(self, servicer: service_grpc.TaskHubSidecarServiceServicer) -> None:
        collected = _Handlers()
        service_grpc.add_TaskHubSidecarServiceServicer_to_server(servicer, collected)
        self._methods = collected.methods

    def _handler(self, method: str) -> Any:
        handler = self._methods.get(method)
        if handler is None:
            raise InProcessRpcError(grpc.StatusCode.UNIMPLEMENTED, f"method {method} not found")
        return handler

    def unary_unary(
        self,
        method: str,
        request_serializer: Callable[[Any], bytes] | None = None,
        response_deserializer: Callable[[bytes], Any] | None = None,
        **_: Any,
    ) -> Callable[..., Any]:
        assert request_serializer is not None and response_deserializer is not None

        def call(request: Any, timeout: float | None = None, **__: Any) -> Any:
            handler = self._handler(method)
            context = _Context(timeout)
            try:
                answer = handler.unary_unary(handler.request_deserializer(request_serializer(request)), context)
            except grpc.RpcError:
                raise
            except Exception as err:  # as gRPC answers a servicer that raised: its code if it set one, else UNKNOWN
                if context.code is not None:
                    raise InProcessRpcError(context.code, context.details) from err
                raise InProcessRpcError(grpc.StatusCode.UNKNOWN, f"Exception calling application: {err}") from err
            return response_deserializer(handler.response_serializer(answer))

        return call

    def unary_stream(self, method: str, *args: Any, **kwargs: Any) -> Callable[..., Any]:
        return self._unsupported(method)  # the API's client reads no stream (the worker's work items go over gRPC)

    def stream_unary(self, method: str, *args: Any, **kwargs: Any) -> Callable[..., Any]:
        return self._unsupported(method)

    def stream_stream(self, method: str, *args: Any, **kwargs: Any) -> Callable[..., Any]:
        return self._unsupported(method)

    @staticmethod
    def _unsupported(method: str) -> Callable[..., Any]:
        def call(*args: Any, **kwargs: Any) -> Any:
            raise InProcessRpcError(grpc.StatusCode.UNIMPLEMENTED, f"{method}: streams are not served in process")

        return call

    def subscribe(self, callback: Any, try_to_connect: bool = False) -> None:
        pass

    def unsubscribe(self, callback: Any) -> None:
        pass

    def close(self) -> None:
        pass

    def __enter__(self) -> InProcessChannel:
        return self

    def __exit__(self, *exc: object) -> None:
        pass
