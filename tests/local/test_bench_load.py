"""The storm's load generator (`bench.load`) against an aiohttp server on loopback: every copy answered and
counted, the request as sent, keep-alive kept and `Connection: close` honoured, both clients agreeing."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from bench.load import load_aiohttp, load_raw

ROOT = Path(__file__).resolve().parents[2]
Load = Callable[..., Awaitable[dict[str, Any]]]
ALERTS = "/api/alerts?x=1"


class Recorder:
    """An alerts-like route: 202 with an instance id, or 400 for a body that is not the alert; every `close_every`-th
    answer closes its connection. It records what arrived and on how many connections."""

    def __init__(self, close_every: int = 0) -> None:
        self.close_every = close_every
        self.requests: list[tuple[str, str, str | None, bytes]] = []
        self.connections: set[int] = set()

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        self.requests.append((request.method, request.path_qs, request.headers.get("x-functions-key"), body))
        assert request.transport is not None
        self.connections.add(id(request.transport))
        answer = (
            web.json_response({"instance_id": "run-1"}, status=202)
            if request.method == "GET" or body == b'{"alert": 1}'
            else web.json_response({"error": {"code": "BadRequest"}}, status=400)
        )
        if self.close_every and len(self.requests) % self.close_every == 0:
            answer.force_close()
        return answer


async def _against(
    recorder: Recorder, load: Load, method: str, body: bytes, copies: int, concurrency: int, path: str = ALERTS
) -> Any:
    app = web.Application()
    app.router.add_route("*", "/api/alerts", recorder.handle)
    app.router.add_get("/chunked", _chunked)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        url = f"http://127.0.0.1:{port}{path}"
        return await asyncio.wait_for(load(method, url, "k3y", body, copies, concurrency), 30)
    finally:
        await runner.cleanup()


async def _chunked(request: web.Request) -> web.StreamResponse:
    answer = web.StreamResponse()
    answer.enable_chunked_encoding()
    await answer.prepare(request)
    await answer.write(b"{}")
    await answer.write_eof()
    return answer


@pytest.mark.parametrize("load", [load_raw, load_aiohttp], ids=["raw", "aiohttp"])
def test_every_copy_is_sent_as_given_and_counted(load: Load) -> None:
    recorder = Recorder()
    result = asyncio.run(_against(recorder, load, "POST", b'{"alert": 1}', 50, 4))
    assert result["statuses"] == {"202": 50} and result["instances"] == ["run-1"]
    assert len(result["latencies"]) == 50 and all(latency > 0 for latency in result["latencies"])
    assert result["elapsed"] >= max(result["latencies"])
    assert recorder.requests == [("POST", "/api/alerts?x=1", "k3y", b'{"alert": 1}')] * 50
    assert len(recorder.connections) == 4  # keep-alive: one connection for each client in flight


@pytest.mark.parametrize("load", [load_raw, load_aiohttp], ids=["raw", "aiohttp"])
def test_refusals_are_counted_and_name_no_instance(load: Load) -> None:
    result = asyncio.run(_against(Recorder(), load, "POST", b'{"alert": 2}', 10, 3))
    assert result["statuses"] == {"400": 10} and result["instances"] == []


def test_a_connection_the_server_closes_is_replaced() -> None:
    recorder = Recorder(close_every=5)
    result = asyncio.run(_against(recorder, load_raw, "GET", b"", 40, 2))
    assert result["statuses"] == {"202": 40} and len(recorder.requests) == 40
    assert len(recorder.connections) >= 40 // 5  # a new connection after each closing answer


def test_an_answer_without_content_length_is_refused() -> None:
    with pytest.raises(RuntimeError, match="without Content-Length"):
        asyncio.run(_against(Recorder(), load_raw, "GET", b"", 1, 1, path="/chunked"))


def test_the_raw_client_refuses_what_it_cannot_speak() -> None:
    with pytest.raises(ValueError, match="plain HTTP"):
        asyncio.run(load_raw("GET", "https://127.0.0.1:1/api/health", "", b"", 1, 1))


def test_the_process_reads_its_request_on_stdin_and_prints_one_json_line() -> None:
    request = {"method": "GET", "url": "http://127.0.0.1:1/x", "key": "", "body": "", "copies": 1, "concurrency": 1}
    done = subprocess.run(
        [sys.executable, "-m", "bench.load"], input=json.dumps({**request, "client": "raw"}), cwd=ROOT,
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode != 0 and "ConnectionRefusedError" in done.stderr  # nothing listens on port 1
