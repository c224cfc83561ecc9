"""The local HTTP server: aiohttp on loopback turning each request into a `func.HttpRequest`, calling the
same `failover.api.Api` as Azure (the same `ROUTES` table), with `LocalDurableClient` as the
durable client.

Auth follows the Azure Functions convention: function-level routes need the key (`x-functions-key`
header or `code` query parameter) when the server has one; anonymous routes do not.
Loopback only: locally the `X-MS-CLIENT-PRINCIPAL-NAME` header is trusted because nothing but this
machine can reach the server (in Azure, App Service Authentication sets it).
Sizes and timeouts of requests are bounded by `local.http_limits.ServerLimits` (docs/api.md, "Limits").
"""

from __future__ import annotations

import asyncio
import hmac
from collections.abc import Awaitable, Callable
from typing import Any

import azure.functions as func
from aiohttp import web
from aiohttp.typedefs import Handler as WebHandler
from aiohttp.typedefs import Middleware

from failover.api import ROUTES, Api, Route
from local.engine import LocalDurableClient, free_port
from local.http_limits import LIMITS, BoundedAppRunner, BoundedRequestHandler, ServerLimits, envelope, to_web
from simulator.background import BackgroundServer

Handler = Callable[[func.HttpRequest, Any], Awaitable[func.HttpResponse]]
KEY_HEADER = "x-functions-key"
MAX_REQUEST = LIMITS.max_body_bytes  # the handlers refuse bodies over 256 KB with 413 themselves


class LocalServer:
    """Serves the API in a background thread with its own event loop."""

    def __init__(
        self,
        api: Api,
        client: LocalDurableClient,
        host: str = "127.0.0.1",
        port: int = 0,
        api_key: str | None = None,
        limits: ServerLimits = LIMITS,
    ) -> None:
        if host not in ("127.0.0.1", "localhost", "::1"):
            raise ValueError("the local server binds to loopback only (it trusts the identity header)")
        self.api = api
        self.api_key = api_key
        self.client = client
        self.host = host
        self.port = port or free_port()
        self.limits = limits
        self._server: BackgroundServer | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def _authorized(self, request: web.Request) -> bool:
        if not self.api_key:
            return True
        given = request.headers.get(KEY_HEADER) or request.query.get("code") or ""
        return hmac.compare_digest(given.encode("utf-8", "surrogateescape"), self.api_key.encode())

    def _handler(self, route: Route) -> Callable[[web.Request], Awaitable[web.Response]]:
        handler: Handler = getattr(self.api, route.handler)

        async def handle(request: web.Request) -> web.Response:
            if route.auth == "function" and not self._authorized(request):
                return envelope(401, "Unauthorized", f"a function key is required ({KEY_HEADER} header or code)")
            if request.content_length and request.content_length > self.limits.max_body_bytes:
                return self._too_large()
            try:
                async with asyncio.timeout(self.limits.body_timeout):
                    body = await request.read()
            except TimeoutError:
                refusal = envelope(
                    408, "RequestTimeout", f"the body did not arrive within {self.limits.body_timeout:g} s"
                )
                refusal.force_close()
                return refusal
            req = func.HttpRequest(
                method=request.method,
                url=str(request.url),
                headers=dict(request.headers),
                params=dict(request.query),
                route_params=dict(request.match_info),
                body=body,
            )
            return to_web(await handler(req, self.client))

        return handle

    def _too_large(self) -> web.Response:
        """413, and the connection closed: the rest of the body is not read."""
        refusal = envelope(413, "PayloadTooLarge", f"the limit is {self.limits.max_body_bytes} bytes")
        refusal.force_close()
        return refusal

    def _json_errors(self) -> Middleware:
        """Unknown paths and methods, and bodies over the limit, answer with the API's error envelope too."""

        @web.middleware
        async def json_errors(request: web.Request, handler: WebHandler) -> web.StreamResponse:
            try:
                return await handler(request)
            except web.HTTPMethodNotAllowed as err:
                response = envelope(405, "MethodNotAllowed", f"{request.method} is not allowed here")
                response.headers["Allow"] = ", ".join(sorted(err.allowed_methods))
                return response
            except web.HTTPRequestEntityTooLarge:
                return self._too_large()
            except web.HTTPNotFound:
                return envelope(404, "NotFound", f"no route {request.method} {request.path}")

        return json_errors

    @staticmethod
    @web.middleware
    async def _head_deadline(request: web.Request, handler: WebHandler) -> web.StreamResponse:
        """The connection's head deadline stops while a request is handled and restarts after its answer."""
        protocol = request.protocol
        if isinstance(protocol, BoundedRequestHandler):
            protocol.head_received()
        try:
            return await handler(request)
        finally:
            if isinstance(protocol, BoundedRequestHandler) and protocol.transport is not None:
                protocol.await_head()

    def app(self) -> web.Application:
        app = web.Application(
            client_max_size=self.limits.max_body_bytes, middlewares=[self._head_deadline, self._json_errors()]
        )
        for route in ROUTES:
            app.router.add_route(route.method, f"/api/{route.path}", self._handler(route))
        return app

    def start(self) -> LocalServer:
        self._server = BackgroundServer(
            self.app(), self.host, self.port, name="failover-api", runner=lambda app: BoundedAppRunner(app, self.limits)
        ).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
