"""docker-compose.yml cannot be run here (no Docker engine); keep it consistent by test."""

from pathlib import Path

import yaml
from django.conf import settings

from olympus.celery import QUEUES

COMPOSE = yaml.safe_load((Path(__file__).resolve().parents[3] / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]


DEFAULT = {name for name, service in SERVICES.items() if not service.get("profiles")}
SCALE = {name for name, service in SERVICES.items() if "scale" in service.get("profiles", [])}


def test_the_stack_has_every_service_with_health_checks():
    assert {"postgres", "redis", "migrate", "web", "worker", "beat"} == DEFAULT
    for name in ("postgres", "redis", "web", "worker"):
        assert "healthcheck" in SERVICES[name], name


def test_app_services_get_their_settings_from_the_environment():
    for name in ("migrate", "web", "worker", "beat", "web-scaled", "worker-scaled"):
        env = SERVICES[name]["environment"]
        assert env["DJANGO_SETTINGS_MODULE"] == "olympus.settings.production"
        for variable in ("SECRET_KEY", "DATABASE_URL", "REDIS_URL", "ALLOWED_HOSTS"):
            assert variable in env, (name, variable)
        assert SERVICES[name]["depends_on"]["postgres"]["condition"] == "service_healthy"


def test_every_variable_given_to_an_app_service_is_one_olympus_reads():
    # A name the settings never read is silently ignored (the scale profile once set one):
    # each must be on the configuration page, which a docs test keeps equal to what is read.
    documented = (Path(__file__).resolve().parents[3] / "docs" / "configuration.md").read_text()
    for name in ("migrate", "web", "worker", "beat", "web-scaled", "worker-scaled"):
        for variable in SERVICES[name]["environment"]:
            assert f"`{variable}`" in documented, (name, variable)


def test_app_services_wait_for_the_one_shot_migration():
    for name in ("web", "worker", "beat"):
        assert SERVICES[name]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert "migrate" in " ".join(SERVICES["migrate"]["command"])


def test_worker_consumes_every_queue_the_celery_app_routes_to():
    command = SERVICES["worker"]["command"]
    queues = command[command.index("-Q") + 1].split(",")
    assert set(queues) == set(QUEUES)


def test_procfile_worker_consumes_every_queue():
    procfile = (Path(__file__).resolve().parents[3] / "Procfile").read_text()
    worker = next(line for line in procfile.splitlines() if line.startswith("worker:"))
    queues = worker.split(" -Q ")[1].split()[0].split(",")
    assert set(queues) == set(QUEUES)


def test_no_service_with_production_settings_seeds_demo_data():
    for name, service in SERVICES.items():
        env = service.get("environment") or {}
        if env.get("DJANGO_SETTINGS_MODULE") != "olympus.settings.production":
            continue
        command = service.get("command") or []
        command = command if isinstance(command, str) else " ".join(command)
        assert "seed_demo" not in command, name
        assert "createsuperuser" not in command, name  # the operator creates the first admin


def test_the_image_seeds_nothing():
    dockerfile = (Path(__file__).resolve().parents[3] / "Dockerfile").read_text()
    assert "seed_demo" not in dockerfile


def test_every_way_of_running_the_web_tier_uses_the_server_with_a_header_read_timeout():
    # issue 18: a sync server gave each slow client a whole worker; see test_slow_clients.py
    root = Path(__file__).resolve().parents[3]
    procfile = (root / "Procfile").read_text()
    web = next(line for line in procfile.splitlines() if line.startswith("web:"))
    dockerfile = (root / "Dockerfile").read_text()
    cmd = next(line for line in dockerfile.splitlines() if line.startswith("CMD"))
    for command in (web, cmd):
        assert "granian --interface wsgi" in command, command
        assert "--http1-header-read-timeout" in command, command
        assert "olympus.wsgi:application" in command, command
    assert SERVICES["web"]["environment"]["WEB_HEADER_READ_TIMEOUT_MS"]
    assert SERVICES["web"]["environment"]["DJANGO_SETTINGS_MODULE"] == "olympus.settings.production"


# --- the "scale" profile (issue 17, docs/scaling.md) ---------------------------------------------


def test_the_scale_profile_adds_two_web_replicas_two_workers_pgbouncer_a_replica_and_a_balancer():
    assert {"pgbouncer", "postgres-replica", "web-scaled", "worker-scaled", "lb"} == SCALE
    assert SERVICES["web-scaled"]["deploy"]["replicas"] == 2
    assert SERVICES["worker-scaled"]["deploy"]["replicas"] == 2
    for name in SCALE - {"lb"}:
        assert "healthcheck" in SERVICES[name], name


def test_there_is_one_beat_in_every_profile():
    beats = [name for name, service in SERVICES.items() if "beat" in " ".join(service.get("command") or [])]
    assert beats == ["beat"]
    assert not SERVICES["beat"].get("profiles")


def test_scaled_app_services_reach_the_primary_through_pgbouncer_in_transaction_mode():
    bouncer = SERVICES["pgbouncer"]["environment"]
    assert bouncer["POOL_MODE"] == "transaction"
    assert bouncer["DB_HOST"] == "postgres"
    for name in ("web-scaled", "worker-scaled"):
        env = SERVICES[name]["environment"]
        assert env["DATABASE_URL"] == f"postgresql://olympus:olympus@pgbouncer:{bouncer['LISTEN_PORT']}/olympus"
        # transaction pooling: no cursor may outlive its transaction
        assert env["DB_TRANSACTION_POOLER"] == "true"
        assert env["DATABASE_REPLICA_URLS"] == "postgresql://olympus:olympus@postgres-replica:5432/olympus"
        assert SERVICES[name]["depends_on"]["pgbouncer"]["condition"] == "service_healthy"
        assert SERVICES[name]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    command = SERVICES["worker-scaled"]["command"]
    assert set(command[command.index("-Q") + 1].split(",")) == set(QUEUES)


def test_the_replica_is_a_streaming_standby_of_postgres_with_the_role_the_primary_creates():
    replica = SERVICES["postgres-replica"]
    script = replica["command"][-1]
    assert "pg_basebackup -h postgres -U replicator" in script
    assert " -R " in script  # writes standby.signal and primary_conninfo: a standby, not a copy
    assert "hot_standby=on" in script
    assert replica["image"] == SERVICES["postgres"]["image"]  # physical replication needs one major version
    init = next(c for c in SERVICES["postgres"]["configs"] if c["source"] == "postgres-replication")
    assert init["target"].startswith("/docker-entrypoint-initdb.d/")
    content = COMPOSE["configs"]["postgres-replication"]["content"]
    assert "CREATE ROLE replicator WITH REPLICATION LOGIN" in content
    assert "host replication replicator" in content
    assert "postgres-replica-data" in COMPOSE["volumes"]


def test_the_balancer_spreads_requests_over_the_web_replicas_and_names_the_client():
    lb = SERVICES["lb"]
    assert lb["ports"] == ["8080:8080"]
    config = COMPOSE["configs"]["nginx-lb"]["content"]
    assert "server web-scaled:8000;" in config
    assert "proxy_set_header X-Forwarded-For" in config
    # one proxy appends X-Forwarded-For: the client address is the hop it wrote (NUM_PROXIES)
    assert SERVICES["web-scaled"]["environment"]["NUM_PROXIES"] == "1"


def test_the_database_servers_price_random_page_reads_as_olympus_connections_do():
    # Connections through PgBouncer cannot send the startup option: the servers set it themselves.
    expected = f"random_page_cost={settings.DB_RANDOM_PAGE_COST}"
    assert SERVICES["postgres"]["command"] == ["postgres", "-c", expected]
    assert f"-c {expected}" in SERVICES["postgres-replica"]["command"][-1]
