"""Slow clients cannot starve the web tier: 100 connections that send an incomplete request
and hold it, against the real web server process (olympus/webserver.py), while /live keeps
answering within a second; the header-read timeout then closes them. The server's own
refusals (414, 431, 400) come without an HTML page.
"""

import socket
import time
import urllib.request
import uuid

import pytest

from apps.core.tests.servers import WebServer

SLOW_CONNECTIONS = 100


@pytest.fixture(scope="module")
def web():
    # One worker process with two threads: fewer than the slow connections by far.
    server = WebServer(
        env={"WEB_HEADER_READ_TIMEOUT_MS": "3000", "PYTEST_XDIST_WORKER": f"slow-{uuid.uuid4().hex[:6]}"},
        workers=1,
        threads=2,
    ).start()
    yield server
    server.stop()


def live_seconds(web) -> float:
    started = time.monotonic()
    with urllib.request.urlopen(f"{web.base}/live", timeout=10) as response:  # noqa: S310 - loopback only
        assert response.status == 200
    return time.monotonic() - started


def raw(web, payload: bytes) -> bytes:
    """Send bytes as they are; the whole answer, read until the server closes the connection."""
    with socket.create_connection(("127.0.0.1", web.port), timeout=10) as sock:
        sock.sendall(payload)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
        return b"".join(chunks)


def test_live_answers_within_a_second_while_100_slow_clients_hold_connections(web):
    # given: 100 connections, each with an incomplete request (no blank line ends the headers)
    slow = []
    try:
        for _ in range(SLOW_CONNECTIONS):
            sock = socket.create_connection(("127.0.0.1", web.port), timeout=10)
            sock.sendall(b"GET /live HTTP/1.1\r\nHost: 127.0.0.1\r\n")
            slow.append(sock)
        # when: a client asks for /live again and again while they hold on
        latencies = [live_seconds(web) for _ in range(10)]
        # then: every answer within a second
        assert max(latencies) < 1.0, latencies
        # and the header-read timeout (3 s here) closes the slow connections: no answer, just EOF
        for sock in slow:
            sock.settimeout(20)
            assert sock.recv(1024) == b""
    finally:
        for sock in slow:
            sock.close()
    assert live_seconds(web) < 1.0


@pytest.mark.parametrize(
    ("payload", "status"),
    [
        (b"GET /" + b"a" * 100_000 + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", b"414"),
        (
            b"GET /live HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            + b"".join(b"X-Header-%d: y\r\n" % i for i in range(150))
            + b"\r\n",
            b"431",
        ),
        (b"NOT HTTP AT ALL\r\n\r\n", b"400"),
    ],
    ids=["uri-too-long", "too-many-headers", "not-http"],
)
def test_the_servers_own_refusals_have_a_status_and_no_html(web, payload, status):
    head, _, body = raw(web, payload).partition(b"\r\n\r\n")
    assert head.split(b"\r\n")[0].split(b" ")[1] == status
    assert b"content-length: 0" in head.lower()
    assert body == b""


def test_a_host_we_do_not_serve_gets_the_json_envelope_on_the_api(web):
    answer = raw(web, b"GET /api/v1/products/ HTTP/1.1\r\nHost: evil.example\r\nConnection: close\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 400")
    assert b'"code":"VALIDATION_ERROR"' in answer.replace(b" ", b"")
