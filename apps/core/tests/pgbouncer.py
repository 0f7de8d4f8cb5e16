"""A real PgBouncer in transaction mode in front of the test database (Debian package ``pgbouncer``)."""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

BINARY_CANDIDATES = ("pgbouncer", "/usr/sbin/pgbouncer")
# Two server connections for every client: consecutive transactions of one client land on
# whichever is free, as in production, so session state left outside a transaction shows.
POOL_SIZE = 2


def binary() -> str | None:
    for candidate in BINARY_CANDIDATES:
        found = shutil.which(candidate)
        if found:
            return found
    return None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _run_as() -> str | None:
    """PgBouncer refuses to run as root: as root, run it as the embedded PostgreSQL's user (or nobody)."""
    if os.geteuid() != 0:
        return None
    for name in ("embedded_postgres", "nobody"):
        with contextlib.suppress(KeyError):
            pwd.getpwnam(name)
            return name
    return None


@contextlib.contextmanager
def running_pgbouncer(params: dict[str, Any]) -> Iterator[tuple[str, int]]:
    """PgBouncer (transaction pooling) in front of the server of psycopg connection ``params``; yields host, port."""
    path = binary()
    assert path is not None
    root = Path(tempfile.mkdtemp(prefix="olybouncer"))
    port = _free_port()
    target = " ".join(
        f"{key}={params[name]}"
        for key, name in (("host", "host"), ("port", "port"), ("user", "user"), ("password", "password"))
        if params.get(name)
    )
    (root / "pgbouncer.ini").write_text(
        "[databases]\n"
        f"* = {target}\n"
        "[pgbouncer]\n"
        "listen_addr = 127.0.0.1\n"
        f"listen_port = {port}\n"
        "unix_socket_dir =\n"
        "auth_type = any\n"
        "pool_mode = transaction\n"
        f"default_pool_size = {POOL_SIZE}\n"
        "max_client_conn = 200\n"
        "ignore_startup_parameters = extra_float_digits,options\n"
        f"logfile = {root / 'pgbouncer.log'}\n"
        f"pidfile = {root / 'pgbouncer.pid'}\n"
    )
    user = _run_as()
    if user is not None:
        entry = pwd.getpwnam(user)
        os.chown(root, entry.pw_uid, entry.pw_gid)
        os.chown(root / "pgbouncer.ini", entry.pw_uid, entry.pw_gid)
    process = subprocess.Popen(  # noqa: S603 - the Debian binary and our own config file
        [path, str(root / "pgbouncer.ini")], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, user=user
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
                break
            if process.poll() is not None or time.monotonic() > deadline:
                log = (root / "pgbouncer.log").read_text() if (root / "pgbouncer.log").exists() else ""
                raise RuntimeError(f"pgbouncer did not start: {process.stderr.read() if process.stderr else ''}{log}")
            time.sleep(0.05)  # polling for the listening socket, with a deadline
        yield "127.0.0.1", port
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        shutil.rmtree(root, ignore_errors=True)
