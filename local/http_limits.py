"""The local API server's bounds on what a client may send, and its answers to what aiohttp's HTTP parser refuses.

In Azure the Functions host fronts the app and applies its own limits; these apply to `failover serve`.
`ServerLimits` holds every bound in one place (docs/api.md, "Limits"):

- request line and each header field at most 8190 bytes, at most 100 header fields → 431 `HeaderTooLarge`;
- body at most 1 MiB (the handlers refuse more than 256 KiB themselves) → 413 `PayloadTooLarge`;
- a complete request head within `head_timeout` of the connection opening or of its previous answer, else
  the connection is closed (with 408 `RequestTimeout` when part of a head had arrived; an idle keep-alive
  connection is closed without an answer, which a client would read as the answer to its next request);
- the whole body within `body_timeout` of the head → 408 `RequestTimeout`.

aiohttp answers what its parser refuses (a NUL in a header, an oversized line, a header line without a colon)
in `RequestHandler.handle_error`, outside the application and its middlewares, with a `text/plain` body that
quotes the offending bytes — a function key among them — and logs them. It has no public hook for that answer
(aio-libs/aiohttp#3287, #9882), so `BoundedRequestHandler` overrides `handle_error` and `BoundedAppRunner`
makes the server build it; tests/reliability/test_http_limits.py pins both on the installed aiohttp.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import Any

import azure.functions as func
import structlog
from aiohttp import web
from aiohttp.http_exceptions import BadHttpMessage, LineTooLong

from failover.api import error_response
from failover.api.http import JSON_HEADERS

log = structlog.get_logger("local.server")


@dataclass(frozen=True)
class ServerLimits:
    """What one request may be: sizes in bytes, times in seconds."""

    max_line_bytes: int = 8190  # the request line (method, path and query)
    max_field_bytes: int = 8190  # one header field, name and value
    max_headers: int = 100  # header fields per request (Kestrel's default, which fronts the Functions host)
    max_body_bytes: int = 1024 * 1024  # Azure's FUNCTIONS_REQUEST_BODY_SIZE_LIMIT in infra/app/function.bicep
    head_timeout: float = 30.0  # a complete request head, from connect or from the previous answer
    body_timeout: float = 30.0  # the whole body, from the end of the head

    def handler_args(self) -> dict[str, Any]:
        """aiohttp's own parser bounds (`RequestHandler` keyword arguments)."""
        return {
            "max_line_size": self.max_line_bytes,
            "max_field_size": self.max_field_bytes,
            "max_headers": self.max_headers,
        }


LIMITS = ServerLimits()


def to_web(response: func.HttpResponse) -> web.Response:
    """A handler's `func.HttpResponse` as the aiohttp response that carries it."""
    headers = {k: v for k, v in response.headers.items() if k.lower() != "content-type"}
    return web.Response(
        body=response.get_body(),
        status=response.status_code,
        headers=headers,
        content_type=response.mimetype,
        charset=response.charset if response.mimetype.startswith("text/") else None,
    )


def envelope(status: int, code: str, message: str) -> web.Response:
    """The API's error envelope (`failover.api.error_response`) as an aiohttp response."""
    return to_web(error_response(status, code, message))


def _raw_envelope(status: int, reason: str, code: str, message: str) -> bytes:
    """The envelope as bytes on the wire, for a connection closed outside any request."""
    body = json.dumps({"error": {"code": code, "message": message}}).encode()
    head = (
        f"HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n"
        + "".join(f"{name}: {value}\r\n" for name, value in JSON_HEADERS.items())
        + "\r\n"
    )
    return head.encode() + body


def parser_refusal(exc: BaseException | None, limits: ServerLimits) -> tuple[int, str, str]:
    """Status, code and message for what the parser refused. Never quotes the request: the parser's own message
    holds the offending bytes (a header value, a key)."""
    if isinstance(exc, LineTooLong):
        return 431, "HeaderTooLarge", f"the request line or a header field is over {limits.max_field_bytes} bytes"
    if isinstance(exc, BadHttpMessage) and exc.message.startswith("Too many headers"):
        return 431, "HeaderTooLarge", f"more than {limits.max_headers} header fields"
    return 400, "MalformedRequest", "the request is not valid HTTP/1.1 (request line, a header or the framing)"


class BoundedRequestHandler(web.RequestHandler):
    """aiohttp's connection handler with a deadline for each request head, and parser errors in the envelope."""

    __slots__ = ("_head_started", "_head_timer", "limits")

    def __init__(self, manager: web.Server, *, limits: ServerLimits, **kwargs: Any) -> None:
        super().__init__(manager, **kwargs)
        self.limits = limits
        self._head_timer: asyncio.TimerHandle | None = None
        self._head_started = False  # bytes of the next request have arrived

    # ---- the head deadline --------------------------------------------------------------------------
    def await_head(self) -> None:
        """Start the clock for the next request head (on connect, and after each answer)."""
        self.head_received()
        self._head_timer = asyncio.get_running_loop().call_later(self.limits.head_timeout, self._head_overdue)

    def head_received(self) -> None:
        """A request head is complete: its handling is bounded by the body timeout and the handler."""
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None
        self._head_started = False

    def _head_overdue(self) -> None:
        self._head_timer = None
        if self.transport is None or self.transport.is_closing():
            return
        if self._head_started:
            message = f"the request head did not arrive within {self.limits.head_timeout:g} s"
            self.transport.write(_raw_envelope(408, "Request Timeout", "RequestTimeout", message))
        log.info("http.head_timeout", partial_head=self._head_started, seconds=self.limits.head_timeout)
        self.force_close()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        self.await_head()

    def connection_lost(self, exc: BaseException | None) -> None:
        self.head_received()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if data and self._head_timer is not None:
            self._head_started = True
        super().data_received(data)

    # ---- answers outside the application ------------------------------------------------------------
    def handle_error(
        self, request: web.BaseRequest, status: int = 500, exc: BaseException | None = None, message: str | None = None
    ) -> web.StreamResponse:
        """The envelope for a request the parser refused (400/431), a handler that timed out (504) or failed (500).
        Logs the refusal's kind, never the parser's message (it quotes the request's bytes)."""
        self.head_received()
        if request.writer.output_size > 0 or isinstance(exc, ConnectionError):
            # as aiohttp: an answer is under way, or the client left mid-request; nobody to answer
            raise ConnectionError("the connection broke before an answer could be sent")
        if status >= 500:
            self.log_exception("Error handling request", exc_info=exc)  # a handler's failure, not client bytes
            code, text = (
                ("Timeout", "the handler did not answer in time")
                if status == 504
                else ("InternalError", "the server failed to answer; its log has the error")
            )
        else:
            status, code, text = parser_refusal(exc, self.limits)
            log.warning("http.request_refused", status=status, code=code, error=type(exc).__name__)
        response = envelope(status, code, text)
        response.force_close()
        return response


class BoundedServer(web.Server):
    """`web.Server` whose connections are `BoundedRequestHandler`s, built from the one an `AppRunner` made."""

    def __init__(self, made: web.Server, limits: ServerLimits) -> None:
        self.limits = limits
        super().__init__(
            made.request_handler,
            request_factory=made.request_factory,
            handler_cancellation=made.handler_cancellation,
            **made._kwargs,  # the application's handler arguments (debug, access log, parser bounds)
        )

    def __call__(self) -> BoundedRequestHandler:
        return BoundedRequestHandler(self, limits=self.limits, loop=self._loop, **self._kwargs)


class BoundedAppRunner(web.AppRunner):
    """`web.AppRunner` serving `app` within `limits`. `_make_server` is `BaseRunner`'s extension point."""

    def __init__(self, app: web.Application, limits: ServerLimits = LIMITS, **kwargs: Any) -> None:
        super().__init__(app, access_log=None, **limits.handler_args(), **kwargs)
        self.limits = limits

    async def _make_server(self) -> web.Server:
        return BoundedServer(await super()._make_server(), self.limits)
