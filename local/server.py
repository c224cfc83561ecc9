"""The local HTTP server: aiohttp on loopback turning each request into a `func.HttpRequest`, calling the
same `failover.api.Api` as Azure (the same `ROUTES` table), with `LocalDurableClient` as the
durable client.

Auth follows the Azure Functions convention: function-level routes need the key (`x-functions-key`
header or `code` query parameter) when the server has one; anonymous routes do not.
Loopback only: locally the `X-MS-CLIENT-PRINCIPAL-NAME` header is trusted because nothing but this
machine can reach the server (in Azure, App Service Authentication sets it).
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable
from typing import Any

import azure.functions as func
from aiohttp import web

from failover.api import ROUTES, Api, Route, error_response
from local.engine import LocalDurableClient, free_port
from simulator.background import BackgroundServer

Handler = Callable[[func.HttpRequest, Any], Awaitable[func.HttpResponse]]
KEY_HEADER = "x-functions-key"
MAX_REQUEST = 1024 * 1024  # the handlers refuse bodies over 256 KB with 413 themselves


@web.middleware
async def _json_errors(request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]) -> Any:
    """Unknown paths and methods answer with the API's error envelope too."""
    try:
        return await handler(request)
    except web.HTTPMethodNotAllowed as err:
        response = LocalServer._web(error_response(405, "MethodNotAllowed", f"{request.method} is not allowed here"))
        response.headers["Allow"] = ", ".join(sorted(err.allowed_methods))
        return response
    except web.HTTPRequestEntityTooLarge:
        return LocalServer._web(error_response(413, "PayloadTooLarge", f"the limit is {MAX_REQUEST} bytes"))
    except web.HTTPNotFound:
        return LocalServer._web(error_response(404, "NotFound", f"no route {request.method} {request.path}"))


class LocalServer:
    """Serves the API in a background thread with its own event loop."""

    def __init__(
        self, api: Api, client: LocalDurableClient, host: str = "127.0.0.1", port: int = 0, api_key: str | None = None
    ) -> None:
        if host not in ("127.0.0.1", "localhost", "::1"):
            raise ValueError("the local server binds to loopback only (it trusts the identity header)")
        self.api = api
        self.api_key = api_key
        self.client = client
        self.host = host
        self.port = port or free_port()
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
                return self._web(
                    error_response(401, "Unauthorized", f"a function key is required ({KEY_HEADER} header or code)")
                )
            if request.content_length and request.content_length > MAX_REQUEST:
                return self._web(error_response(413, "PayloadTooLarge", f"the limit is {MAX_REQUEST} bytes"))
            body = await request.read()
            req = func.HttpRequest(
                method=request.method,
                url=str(request.url),
                headers=dict(request.headers),
                params=dict(request.query),
                route_params=dict(request.match_info),
                body=body,
            )
            return self._web(await handler(req, self.client))

        return handle

    @staticmethod
    def _web(response: func.HttpResponse) -> web.Response:
        headers = {k: v for k, v in response.headers.items() if k.lower() != "content-type"}
        return web.Response(
            body=response.get_body(),
            status=response.status_code,
            headers=headers,
            content_type=response.mimetype,
            charset=response.charset if response.mimetype.startswith("text/") else None,
        )

    def app(self) -> web.Application:
        app = web.Application(client_max_size=MAX_REQUEST, middlewares=[_json_errors])
        for route in ROUTES:
            app.router.add_route(route.method, f"/api/{route.path}", self._handler(route))
        return app

    def start(self) -> LocalServer:
        self._server = BackgroundServer(self.app(), self.host, self.port, name="failover-api").start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
