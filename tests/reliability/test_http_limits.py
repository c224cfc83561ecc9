"""The local server on the wire: what its HTTP parser refuses, oversized and slow requests all get the API's
error envelope (or a closed connection), bounded by `local.http_limits.ServerLimits`, and never echo or log
the request's bytes. Raw sockets, because an HTTP client would refuse to send most of this."""

from __future__ import annotations

import json
import logging
import socket
import time
from collections.abc import Iterator
from typing import Any

import pytest
from structlog.testing import capture_logs

from local.http_limits import ServerLimits
from local.server import LocalServer
from local.stack import LocalStack
from simulator import EstateConfig

KEY = "test-key"
SECRET = "sEcReT-fUnCtIoN-kEy-5c1f9e0b7d"  # a function key a client got wrong
LIMITS = ServerLimits(max_body_bytes=64 * 1024, head_timeout=1.0, body_timeout=1.5)


@pytest.fixture(scope="module")
def server(request: pytest.FixtureRequest) -> Iterator[LocalServer]:
    """The API on the local engine behind a server with short timeouts (one stack for the module)."""
    stack = LocalStack(vms=6, sessions=1, time_scale=600.0, estate_config=EstateConfig(), api_key=KEY).start()
    request.addfinalizer(stack.stop)
    bounded = LocalServer(stack.api, stack.engine.client, api_key=KEY, limits=LIMITS).start()
    yield bounded
    bounded.stop()


def connect(server: LocalServer) -> socket.socket:
    sock = socket.create_connection((server.host, server.port), timeout=5)
    sock.settimeout(5)
    return sock


def read_until_closed(sock: socket.socket) -> bytes:
    received = b""
    while chunk := sock.recv(65536):
        received += chunk
    return received


def exchange(server: LocalServer, raw: bytes) -> bytes:
    """Send `raw`, read until the server closes the connection."""
    with connect(server) as sock:
        sock.sendall(raw)
        return read_until_closed(sock)


def read_response(sock: socket.socket) -> tuple[int, dict[str, str], bytes]:
    """One answer off a keep-alive connection."""
    received = b""
    while b"\r\n\r\n" not in received:
        chunk = sock.recv(65536)
        assert chunk, f"closed before an answer: {received!r}"
        received += chunk
    head, body = received.split(b"\r\n\r\n", 1)
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, v in (line.split(":", 1) for line in lines)}
    while len(body) < int(headers.get("content-length", "0")):
        body += sock.recv(65536)
    return int(status_line.split()[1]), headers, body


def envelope(answer: bytes) -> tuple[int, dict[str, str], dict[str, Any]]:
    """Status, headers and the error envelope of a complete answer; fails unless it is the JSON envelope."""
    head, body = answer.split(b"\r\n\r\n", 1)
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, v in (line.split(":", 1) for line in lines)}
    assert headers["content-type"] == "application/json", answer[:300]
    document = json.loads(body)
    assert set(document) == {"error"} and set(document["error"]) == {"code", "message"}, document
    return int(status_line.split()[1]), headers, document["error"]


def get(path: str, *headers: bytes) -> bytes:
    return (
        b"GET " + path.encode() + b" HTTP/1.1\r\nHost: localhost\r\n" + b"".join(h + b"\r\n" for h in headers) + b"\r\n"
    )


class TestParserRefusals:
    """What aiohttp's parser refuses is answered with the envelope, a stable code, and none of the request's bytes."""

    @pytest.mark.parametrize(
        ("raw", "quoted"),
        [
            (get("/api/health", b"X-Note: before\x00after"), b"before"),
            (get("/api/health", b"X-Note before-after"), b"before-after"),  # no colon
            (b"G\x01T /api/health HTTP/1.1\r\nHost: localhost\r\n\r\n", b"G\x01T"),
            (
                b"POST /api/failovers HTTP/1.1\r\nHost: localhost\r\nContent-Length: 12abc\r\n\r\n",
                b"12abc",
            ),
            (
                b"POST /api/failovers HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\nzz-chunk\r\n",
                b"zz-chunk",
            ),
        ],
        ids=["nul-in-a-header", "header-without-colon", "bad-method", "bad-content-length", "bad-chunk-size"],
    )
    def test_malformed_requests_get_400_without_their_bytes(
        self, server: LocalServer, raw: bytes, quoted: bytes
    ) -> None:
        answer = exchange(server, raw)
        status, _, error = envelope(answer)
        assert (status, error["code"]) == (400, "MalformedRequest")
        assert quoted not in answer

    def test_a_100_kb_header_gets_431(self, server: LocalServer) -> None:
        answer = exchange(server, get("/api/health", b"X-Big: " + b"q" * 100_000))
        status, _, error = envelope(answer)
        assert (status, error["code"]) == (431, "HeaderTooLarge")
        assert str(LIMITS.max_field_bytes) in error["message"]
        assert b"qqqq" not in answer

    def test_too_many_header_fields_get_431(self, server: LocalServer) -> None:
        fields = [f"X-F{i}: v".encode() for i in range(LIMITS.max_headers + 1)]
        status, _, error = envelope(exchange(server, get("/api/health", *fields)))
        assert (status, error["code"]) == (431, "HeaderTooLarge")

    def test_a_closed_stderr_does_not_turn_a_refusal_into_a_500(
        self, server: LocalServer, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Logging configured while stderr was another stream, since closed (a test's capture, a detached console):
        the refusal's log line must not fail the answer (it was a 500 InternalError)."""
        import io
        import sys

        from failover.logs import configure_logging

        earlier = io.StringIO()
        monkeypatch.setattr(sys, "stderr", earlier)
        configure_logging("INFO")
        monkeypatch.undo()
        earlier.close()
        try:
            fields = [f"X-F{i}: v".encode() for i in range(LIMITS.max_headers + 1)]
            status, _, error = envelope(exchange(server, get("/api/health", *fields)))
            assert (status, error["code"]) == (431, "HeaderTooLarge")
        finally:
            configure_logging("INFO")

    @pytest.mark.parametrize(
        "key_line",
        [
            b"x-functions-key: " + SECRET.encode() + b"\x01",  # a control character in the value
            b"x-functions-key " + SECRET.encode(),  # no colon
            b"x-functions-key: " + SECRET.encode() + b"\x00" + b"k" * 9000,  # NUL and over the field limit
        ],
        ids=["control-char", "no-colon", "oversized"],
    )
    def test_a_malformed_key_header_is_neither_answered_nor_logged(
        self, server: LocalServer, key_line: bytes, caplog: pytest.LogCaptureFixture
    ) -> None:
        caplog.set_level(logging.DEBUG)
        with capture_logs() as events:
            answer = exchange(server, get("/api/plans", key_line))
            time.sleep(0.1)  # the server thread logs after it answered
        status, _, error = envelope(answer)
        assert status in (400, 431), answer[:200]
        assert SECRET.encode() not in answer
        assert SECRET not in caplog.text
        assert SECRET not in repr(events)
        assert {"event": "http.request_refused", "status": status, "code": error["code"]}.items() <= next(
            e for e in events if e["event"] == "http.request_refused"
        ).items()

    def test_a_well_formed_request_after_the_refusals_is_answered(self, server: LocalServer) -> None:
        with connect(server) as sock:
            sock.sendall(get("/api/health"))
            status, _, body = read_response(sock)
        assert status == 200 and json.loads(body)["status"] == "ok"


class TestBodies:
    """A body over the limit or slower than the body timeout gets the envelope, and the connection is closed."""

    def test_a_declared_body_over_the_limit_gets_413_and_the_connection_closes(self, server: LocalServer) -> None:
        size = 10 * LIMITS.max_body_bytes
        head = (
            b"POST /api/failovers HTTP/1.1\r\nHost: localhost\r\nx-functions-key: " + KEY.encode() + b"\r\n"
            b"Content-Type: application/json\r\nContent-Length: " + str(size).encode() + b"\r\n\r\n"
        )
        with connect(server) as sock:
            sock.sendall(head + b"{" + b" " * 1000)  # the rest never comes
            started = time.monotonic()
            answer = read_until_closed(sock)
            closed_after = time.monotonic() - started
        status, headers, error = envelope(answer)
        assert (status, error["code"]) == (413, "PayloadTooLarge")
        assert headers["connection"] == "close"
        assert closed_after < 3.0

    def test_a_chunked_body_over_the_limit_gets_413(self, server: LocalServer) -> None:
        chunk = b"x" * 16 * 1024
        body = (f"{len(chunk):x}".encode() + b"\r\n" + chunk + b"\r\n") * 5 + b"0\r\n\r\n"
        head = (
            b"POST /api/failovers HTTP/1.1\r\nHost: localhost\r\nx-functions-key: " + KEY.encode() + b"\r\n"
            b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
        )
        with connect(server) as sock:
            sock.sendall(head + body)
            status, headers, raw = read_response(sock)
        assert (status, json.loads(raw)["error"]["code"]) == (413, "PayloadTooLarge")
        assert headers["connection"] == "close"

    def test_a_body_that_trickles_gets_408(self, server: LocalServer) -> None:
        head = (
            b"POST /api/failovers HTTP/1.1\r\nHost: localhost\r\nx-functions-key: " + KEY.encode() + b"\r\n"
            b"Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{"
        )
        with connect(server) as sock:
            sock.sendall(head)
            started = time.monotonic()
            answer = read_until_closed(sock)
            waited = time.monotonic() - started
        status, _, error = envelope(answer)
        assert (status, error["code"]) == (408, "RequestTimeout")
        assert LIMITS.body_timeout <= waited < LIMITS.body_timeout + 2.0

    def test_a_slow_body_within_the_body_timeout_is_answered(self, server: LocalServer) -> None:
        """The head deadline stops once the head is in: a body slower than it but within its own bound is read."""
        body = json.dumps({"plan": "no-such-plan", "mode": "planned"}).encode()
        head = (
            b"POST /api/failovers HTTP/1.1\r\nHost: localhost\r\nx-functions-key: " + KEY.encode() + b"\r\n"
            b"Content-Type: application/json\r\nContent-Length: " + str(len(body)).encode() + b"\r\n\r\n"
        )
        with connect(server) as sock:
            sock.sendall(head + body[:5])
            time.sleep(LIMITS.head_timeout + 0.2)
            sock.sendall(body[5:])
            status, _, raw = read_response(sock)
        assert status == 404, raw
        assert json.loads(raw)["error"]["code"]


class TestSlowClients:
    """A connection has `head_timeout` to deliver each request head; trickling bytes does not extend it."""

    def test_a_head_that_trickles_is_closed_with_408(self, server: LocalServer) -> None:
        started = time.monotonic()  # before connecting: the server's clock starts when it accepts the connection
        with connect(server) as sock:
            closed_after = None
            for byte in get("/api/health", b"X-Slow: " + b"s" * 200):
                try:
                    sock.send(bytes([byte]))
                except OSError:
                    break
                sock.settimeout(0.2)
                try:
                    answer = read_until_closed(sock)
                except TimeoutError:
                    continue
                closed_after = time.monotonic() - started
                break
        assert closed_after is not None, "the connection was never closed"
        assert LIMITS.head_timeout <= closed_after < LIMITS.head_timeout + 1.5
        status, headers, error = envelope(answer)
        assert (status, error["code"]) == (408, "RequestTimeout")
        assert headers["connection"] == "close"

    def test_an_idle_connection_is_closed_without_an_answer(self, server: LocalServer) -> None:
        """An answer nobody asked for would be read as the answer to the client's next request."""
        started = time.monotonic()  # before connecting: the server's clock starts when it accepts the connection
        with connect(server) as sock:
            assert read_until_closed(sock) == b""
            assert LIMITS.head_timeout <= time.monotonic() - started < LIMITS.head_timeout + 5  # a loaded machine

    def test_keep_alive_requests_each_get_the_full_head_timeout(self, server: LocalServer) -> None:
        with connect(server) as sock:
            for _ in range(3):  # 3 x 0.7 s: longer than one head timeout, shorter than each gap
                time.sleep(0.7 * LIMITS.head_timeout)
                sock.sendall(get("/api/health"))
                status, _, _ = read_response(sock)
                assert status == 200
