"""The local HTTP server: aiohttp on loopback turning each request into a `func.HttpRequest`, calling the
same `failover.handlers.Api` as Azure, with `LocalDurableClient` as the durable client.

Loopback only: locally the `X-MS-CLIENT-PRINCIPAL-NAME` header is trusted because nothing but this
machine can reach the server (in Azure, App Service Authentication sets it).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import azure.functions as func
from aiohttp import web

from failover.handlers import Api
from local.engine import LocalDurableClient, free_port
from simulator.background import BackgroundServer

Route = Callable[[func.HttpRequest, Any], Awaitable[func.HttpResponse]]


def _routes(api: Api) -> list[tuple[str, str, Route]]:
    return [
        ("POST", "/api/alerts", api.post_alert),
        ("GET", "/api/failovers/{instance_id}", api.get_failover),
        ("GET", "/api/approvals/{instance_id}", api.get_approval),
        ("POST", "/api/approvals/{instance_id}", api.post_approval),
    ]


class LocalServer:
    """Serves the API in a background thread with its own event loop."""

    def __init__(self, api: Api, client: LocalDurableClient, host: str = "127.0.0.1", port: int = 0) -> None:
        if host not in ("127.0.0.1", "localhost", "::1"):
            raise ValueError("the local server binds to loopback only (it trusts the identity header)")
        self.api = api
        self.client = client
        self.host = host
        self.port = port or free_port()
        self._server: BackgroundServer | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def _handler(self, route: Route) -> Callable[[web.Request], Awaitable[web.Response]]:
        async def handle(request: web.Request) -> web.Response:
            body = await request.read()
            req = func.HttpRequest(
                method=request.method,
                url=str(request.url),
                headers=dict(request.headers),
                params=dict(request.query),
                route_params=dict(request.match_info),
                body=body,
            )
            response = await route(req, self.client)
            headers = {k: v for k, v in response.headers.items() if k.lower() != "content-type"}
            return web.Response(
                body=response.get_body(),
                status=response.status_code,
                headers=headers,
                content_type=response.mimetype,
                charset=response.charset if response.mimetype.startswith("text/") else None,
            )

        return handle

    def app(self) -> web.Application:
        app = web.Application(client_max_size=1024 * 1024)
        for method, path, route in _routes(self.api):
            app.router.add_route(method, path, self._handler(route))
        return app

    def start(self) -> LocalServer:
        self._server = BackgroundServer(self.app(), self.host, self.port, name="failover-api").start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
