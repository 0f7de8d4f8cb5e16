"""A webhook receiver for the bench, in a process of its own (``python -m tools.bench.webhook_receiver``).

HTTP/1.1 with keep-alive, as any production server; answers every POST ``200 ok``. Prints its port on the
first line of stdout; ``GET /counts`` answers the POST requests and the TCP connections that carried them.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Receiver(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out as two writes: without TCP_NODELAY the body waits for the client's delayed ACK
    # (about 40 ms) on a kept-alive connection, as with any server that does not set it.
    disable_nagle_algorithm = True

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")
        server: CountingServer = self.server  # type: ignore[assignment]
        with server.lock:
            server.requests += 1
            if not getattr(self, "counted", False):
                self.counted = True
                server.connections += 1

    def do_GET(self) -> None:  # noqa: N802
        server: CountingServer = self.server  # type: ignore[assignment]
        body = json.dumps({"requests": server.requests, "connections": server.connections}).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)
        self.close_connection = True

    def log_message(self, *args: object) -> None:
        pass


class CountingServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), Receiver)
        self.lock = threading.Lock()
        self.requests = 0
        self.connections = 0


def main() -> None:
    server = CountingServer()
    print(server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
