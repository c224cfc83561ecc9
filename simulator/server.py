"""The simulator's HTTPS server: Azure-shaped routes over an `Estate`, on loopback, with a throwaway CA.

`SimulatorApp` holds the route table (`simulator.arm.RouteTable`) and registers every provider's routes on it (each
provider module's `add_routes`); it dispatches a request (paths compared case-insensitively, as ARM does), checks an
ARM request's bearer token and `api-version`, passes it through the fault layer (`simulator.faults`: throttling,
latency, injected faults), runs the handler and answers a `SimError` in ARM's error envelope. `GET /_sim/state` is the
estate's snapshot. `Simulator` serves the app over HTTPS on 127.0.0.1 in a background thread.

Which routes exist, and the Azure behaviour behind them, is in each provider's module and in docs/simulator.md.
"""

from __future__ import annotations

import asyncio
import re
import ssl
import tempfile
import time
import uuid
from pathlib import Path

import trustme
from aiohttp import web

from simulator import dependencies, network, sites
from simulator.arm import Handler, RouteTable, SimError
from simulator.arm import error_response as _error
from simulator.background import BackgroundServer
from simulator.estate import Estate
from simulator.providers import capacity, desktop_virtualization, dns, images, recovery_services, sinks


class SimulatorApp:
    """Dispatches requests to the providers' handlers; owns the estate."""

    def __init__(self, estate: Estate) -> None:
        self.estate = estate
        self.table = RouteTable()
        table = self.table
        desktop_virtualization.add_routes(table, estate.avd)  # host pools, session hosts, user sessions
        recovery_services.add_routes(table, estate.site_recovery)  # recovery plans, jobs, protected items
        dns.add_routes(table, estate.dns)  # record sets
        sinks.add_routes(table, estate.sinks)  # Event Grid, Teams, GET /_sim/events, /_sim/teams/messages
        table.add("GET", r"/_sim/state$", "sim.state", self.sim_state)
        network.add_routes(table, estate.network)  # Traffic Manager, Logs query API, GET /_sim/network
        dependencies.add_routes(table, estate.dependencies)  # SQL, storage, VMs, Automation webhooks, /_sim/webhooks
        sites.add_routes(table, estate.sites)  # VNets, gateways, ASR network mappings, NetApp, Backup, /_sim/sites
        capacity.add_routes(table, estate.capacity)  # Compute and Network usages, resource SKUs, /_sim/capacity
        images.add_routes(table, estate.images)  # marketplace images, gallery image versions, managed images

    @property
    def base_url(self) -> str:
        """The simulator's URL once it listens (LRO headers point back at it)."""
        return self.table.base_url

    @base_url.setter
    def base_url(self, url: str) -> None:
        self.table.base_url = url

    @property
    def routes(self) -> list[tuple[str, re.Pattern[str], str, Handler]]:
        return self.table.routes

    # ---- dispatch -------------------------------------------------------------------------
    async def dispatch(self, request: web.Request) -> web.StreamResponse:
        path = request.path
        self.estate.tick()  # a scheduled outage begins, flaps or ends (simulator.outage)
        allowed = False
        for method, pattern, name, handler in self.routes:
            match = pattern.match(path)
            if not match:
                continue
            allowed = True
            if method != request.method:
                continue
            with self.estate.lock:
                self.estate.requests[name] += 1
            began = time.time()
            response = await self._answer(request, name, handler, match.groupdict())
            wire = self.estate.wire
            if wire is not None:  # list.append is atomic: no lock on the hot path
                wire.append((began, time.time(), name, request.method, path, response.status))
            if path.lower().startswith("/subscriptions/"):
                response.headers.setdefault("x-ms-request-id", str(uuid.uuid4()))
                response.headers.setdefault(
                    "x-ms-correlation-request-id",
                    request.headers.get("x-ms-correlation-request-id") or str(uuid.uuid4()),
                )
            return response
        if allowed:
            return _error(405, "MethodNotAllowed", f"{request.method} is not allowed on {path}.")
        return _error(404, "NotFound", f"No simulated route for {request.method} {path}.")

    async def _answer(
        self, request: web.Request, name: str, handler: Handler, params: dict[str, str]
    ) -> web.StreamResponse:
        """Authenticate an ARM request, pass it through the fault layer (throttling, latency, injected
        faults: `simulator.faults`), then run its handler."""
        arm = request.path.lower().startswith("/subscriptions/")
        if arm:
            if not request.headers.get("Authorization", "").startswith("Bearer "):
                return _error(401, "AuthenticationFailed", "Authentication failed: no bearer token.")
            if "api-version" not in request.query:
                return _error(400, "MissingApiVersionParameter", "The api-version query parameter is required.")
        subscription = request.path.split("/")[2] if arm else None
        decision = self.estate.faults.decide(name, request.method, subscription)
        if decision.delay > 0:
            await asyncio.sleep(decision.delay)
        if decision.reset:
            return self._drop(request)
        if decision.status is not None:
            response: web.StreamResponse = _error(decision.status, decision.code, decision.message, decision.headers)
        else:
            try:
                response = await handler(request, params)
            except SimError as err:
                response = _error(err.status, err.code, err.message, extra=err.extra)
            if decision.reset_after:
                return self._drop(request)
        response.headers.update(decision.ratelimit)
        return response

    @staticmethod
    def _drop(request: web.Request) -> web.StreamResponse:
        """Drop the connection without an answer (a connection reset, as the client sees it)."""
        if request.transport is not None:
            request.transport.abort()
        return web.Response(status=503)  # never reaches the client: its connection is gone

    async def sim_state(self, request: web.Request, m: dict[str, str]) -> web.Response:
        return web.json_response(self.estate.snapshot())


class Simulator:
    """Runs `SimulatorApp` over HTTPS on 127.0.0.1 in a background thread with its own event loop.

    `ca_bundle` is the PEM file of the throwaway CA that clients pass as `connection_verify`.
    """

    def __init__(self, estate: Estate, host: str = "127.0.0.1", port: int = 0) -> None:
        self.estate = estate
        self.app = SimulatorApp(estate)
        self.host = host
        self.port = port
        self._dir = tempfile.TemporaryDirectory(prefix="failover-sim-")
        self.ca_bundle = str(Path(self._dir.name) / "simulator-ca.pem")
        self._server: BackgroundServer | None = None

    @property
    def url(self) -> str:
        return f"https://{self.host}:{self.port}"

    def _ssl_context(self) -> ssl.SSLContext:
        ca = trustme.CA()
        cert = ca.issue_cert("127.0.0.1", "localhost")
        ca.cert_pem.write_to_path(self.ca_bundle)
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        cert.configure_cert(context)
        return context

    def start(self) -> Simulator:
        app = web.Application(client_max_size=1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self.app.dispatch)
        server = BackgroundServer(app, self.host, self.port, ssl_context=self._ssl_context(), name="azure-simulator")
        self._server = server.start()
        self.port = server.port
        self.app.base_url = self.url
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
        self._dir.cleanup()

    def __enter__(self) -> Simulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
