"""docker-compose.yml cannot be run here (no Docker engine); keep it consistent by test."""

from pathlib import Path

import yaml

from olympus.celery import QUEUES

COMPOSE = yaml.safe_load((Path(__file__).resolve().parents[3] / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]


def test_the_stack_has_every_service_with_health_checks():
    assert set(SERVICES) == {"postgres", "redis", "migrate", "web", "worker", "beat"}
    for name in ("postgres", "redis", "web", "worker"):
        assert "healthcheck" in SERVICES[name], name


def test_app_services_get_their_settings_from_the_environment():
    for name in ("migrate", "web", "worker", "beat"):
        env = SERVICES[name]["environment"]
        assert env["DJANGO_SETTINGS_MODULE"] == "olympus.settings.production"
        for variable in ("SECRET_KEY", "DATABASE_URL", "REDIS_URL", "ALLOWED_HOSTS"):
            assert variable in env, (name, variable)
        assert SERVICES[name]["depends_on"]["postgres"]["condition"] == "service_healthy"


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
