"""Serve an aiohttp application from a background thread with its own event loop.

Used by the simulator and by the local host's API server (the local host may use the simulator
package; the simulator imports nothing from the product).
"""

from __future__ import annotations

import asyncio
import ssl
import threading
from collections.abc import Callable
from typing import Any

from aiohttp import web


class BackgroundServer:
    """`start()` returns once the socket listens (port 0 picks a free one); `stop()` shuts it down.
    `runner` builds the aiohttp runner for `app` (default: `web.AppRunner` without an access log)."""

    def __init__(
        self,
        app: web.Application,
        host: str,
        port: int,
        *,
        ssl_context: ssl.SSLContext | None = None,
        name: str,
        runner: Callable[[web.Application], web.BaseRunner] | None = None,
    ) -> None:
        self.app = app
        self.host = host
        self.port = port
        self.ssl_context = ssl_context
        self.name = name
        self.make_runner = runner or (lambda app: web.AppRunner(app, access_log=None))
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> BackgroundServer:
        ready = threading.Event()
        failure: list[BaseException] = []

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            asyncio.set_event_loop(loop)
            runner = self.make_runner(self.app)
            try:
                loop.run_until_complete(runner.setup())
                site = web.TCPSite(runner, self.host, self.port, ssl_context=self.ssl_context)
                loop.run_until_complete(site.start())
                server: Any = site._server
                sockets = server.sockets if server else []
                self.port = sockets[0].getsockname()[1]
            except BaseException as err:  # reported to start()'s caller
                failure.append(err)
                ready.set()
                return
            ready.set()
            loop.run_forever()
            loop.run_until_complete(runner.cleanup())
            loop.close()

        self._thread = threading.Thread(target=run, name=self.name, daemon=True)
        self._thread.start()
        ready.wait(30)
        if failure:
            raise failure[0]
        return self

    def stop(self) -> None:
        if self._loop and self._thread:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)
