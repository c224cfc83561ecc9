"""The storm's load generator: N copies of one request, C at a time, over keep-alive HTTP/1.1 connections.

It runs in a process of its own (`bench.storm` starts it), as Azure Monitor's Action Groups call from outside. On
a machine of 2 cores it shares the CPU with the server it measures, and in a closed loop its own time per
request is part of every latency it records (a copy's answer waits in the socket until the client reads it).
So the default client (`raw`) is lean: one `asyncio.Protocol` per connection, the request's bytes built
once, each answer read by its `Content-Length` (an answer without one, chunked, is refused). `aiohttp` is the
aiohttp client that measured the storm until 2026-12-07, kept to compare with.

A copy's latency is from just before its request is written (before the connection is opened, for the first
on a connection) to when its whole answer has been read. A `Connection: close` answer closes the connection; the
next copy opens another.

    python -m bench.load < request.json   # {"method", "url", "key", "body", "copies", "concurrency", "client"}

prints one JSON line: {"latencies" (seconds), "statuses" ({code: count}), "instances" (the `instance_id`s
answered), "elapsed" (seconds)}.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from typing import Any
from urllib.parse import urlsplit

CLIENTS = ("raw", "aiohttp")


class _Connection(asyncio.Protocol):
    """One keep-alive connection: `exchange(request)` writes a request and returns its answer's status, body and
    whether the server closes the connection after it."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.waiter: asyncio.Future[tuple[int, bytes, bool]] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        if self.waiter is None or self.waiter.done():
            return
        end = self.buffer.find(b"\r\n\r\n")
        if end < 0:
            return
        head = bytes(self.buffer[:end]).lower()
        lines = head.split(b"\r\n")
        fields = dict(line.split(b":", 1) for line in lines[1:] if b":" in line)
        if b"content-length" not in fields:
            self.waiter.set_exception(RuntimeError(f"an answer without Content-Length: {lines[0]!r}"))
            return
        total = end + 4 + int(fields[b"content-length"])
        if len(self.buffer) < total:
            return
        body = bytes(self.buffer[end + 4 : total])
        del self.buffer[:total]
        closes = fields.get(b"connection", b"").strip() == b"close"
        self.waiter.set_result((int(lines[0].split()[1]), body, closes))

    def connection_lost(self, exc: Exception | None) -> None:
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(ConnectionError(f"the server closed the connection before its answer ({exc})"))

    async def exchange(self, request: bytes) -> tuple[int, bytes, bool]:
        assert self.transport is not None
        self.waiter = asyncio.get_running_loop().create_future()
        self.transport.write(request)
        return await self.waiter


def _request_bytes(method: str, url: str, key: str, body: bytes) -> bytes:
    parts = urlsplit(url)
    head = [f"{method} {parts.path or '/'}{'?' + parts.query if parts.query else ''} HTTP/1.1", f"Host: {parts.netloc}"]
    head += [f"x-functions-key: {key}", "Content-Type: application/json", f"Content-Length: {len(body)}"]
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


class _Tally:
    def __init__(self, method: str) -> None:
        self.method = method
        self.latencies: list[float] = []
        self.statuses: dict[str, int] = {}
        self.instances: set[str] = set()

    def add(self, started: float, status: int, payload: bytes) -> None:
        self.latencies.append(time.perf_counter() - started)
        self.statuses[str(status)] = self.statuses.get(str(status), 0) + 1
        if self.method == "POST" and status < 300:
            self.instances.add(str(json.loads(payload).get("instance_id", "")))

    def result(self, elapsed: float) -> dict[str, Any]:
        statuses, instances = self.statuses, sorted(self.instances)
        return {"latencies": self.latencies, "statuses": statuses, "instances": instances, "elapsed": elapsed}


async def load_raw(method: str, url: str, key: str, body: bytes, copies: int, concurrency: int) -> dict[str, Any]:
    parts = urlsplit(url)
    if parts.scheme != "http" or not parts.hostname:
        raise ValueError(f"the raw client speaks plain HTTP to a host: {url}")
    host, port = parts.hostname, parts.port or 80
    request = _request_bytes(method, url, key, body)
    loop = asyncio.get_running_loop()
    tally = _Tally(method)
    left = [copies]

    async def client() -> None:
        connection: _Connection | None = None
        try:
            while left[0] > 0:
                left[0] -= 1
                started = time.perf_counter()
                if connection is None:
                    _, connection = await loop.create_connection(_Connection, host, port)
                status, payload, closes = await connection.exchange(request)
                tally.add(started, status, payload)
                if closes:
                    assert connection.transport is not None
                    connection.transport.close()
                    connection = None
        finally:
            if connection is not None and connection.transport is not None:
                connection.transport.close()

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(concurrency)))
    return tally.result(time.perf_counter() - started)


async def load_aiohttp(method: str, url: str, key: str, body: bytes, copies: int, concurrency: int) -> dict[str, Any]:
    import aiohttp

    tally = _Tally(method)
    left = [copies]
    headers = {"x-functions-key": key, "Content-Type": "application/json"}
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector, headers=headers) as session:

        async def client() -> None:
            while left[0] > 0:
                left[0] -= 1
                started = time.perf_counter()
                async with session.request(method, url, data=body if method == "POST" else None) as answer:
                    payload = await answer.read()
                tally.add(started, answer.status, payload)

        started = time.perf_counter()
        await asyncio.gather(*(client() for _ in range(concurrency)))
        return tally.result(time.perf_counter() - started)


def main() -> int:
    request = json.loads(sys.stdin.read())
    load = {"raw": load_raw, "aiohttp": load_aiohttp}[request.get("client", "raw")]
    arguments = (request["method"], request["url"], request["key"], request["body"].encode())
    result = asyncio.run(load(*arguments, request["copies"], request["concurrency"]))
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
