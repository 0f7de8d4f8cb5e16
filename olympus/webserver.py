"""The web server command: granian serving the WSGI app (issue 18).

Why granian: its HTTP/1 I/O runs on a Rust event loop, so a connection that
sends an incomplete request and holds it costs a socket, not a Python thread;
only complete requests reach the WSGI threads. Headers that do not arrive
within ``WEB_HEADER_READ_TIMEOUT_MS`` close the connection. A sync gunicorn
(the former server) gave each such connection a whole worker until its 60 s
timeout.

One function builds the command for ``make run`` (olympus/launch.py through the
Procfile), the Dockerfile/compose (same flags, spelled out there) and the tests
that start a real server.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

DEFAULTS = {
    "WEB_WORKERS": "2",
    "WEB_THREADS": "8",
    "WEB_HEADER_READ_TIMEOUT_MS": "5000",
}


def setting(name: str) -> str:
    return os.environ.get(name) or DEFAULTS[name]


def command(*, host: str, port: int, workers: int | None = None, threads: int | None = None) -> list[str]:
    granian = Path(sys.executable).with_name("granian")
    return [
        str(granian),
        "--interface",
        "wsgi",
        "--host",
        host,
        "--port",
        str(port),
        "--http",
        "1",
        "--workers",
        str(workers or setting("WEB_WORKERS")),
        "--blocking-threads",
        str(threads or setting("WEB_THREADS")),
        "--http1-header-read-timeout",
        setting("WEB_HEADER_READ_TIMEOUT_MS"),
        "--respawn-failed-workers",
        "--no-ws",
        "olympus.wsgi:application",
    ]
