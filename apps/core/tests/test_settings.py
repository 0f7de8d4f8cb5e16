"""Production settings: `check --deploy` is clean, and a missing secret fails fast."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

BASE_DIR = Path(__file__).resolve().parents[3]


def run_manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture
def production_env() -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith(("DJANGO_", "PYTEST_"))}
    env.update(
        DJANGO_SETTINGS_MODULE="olympus.settings.production",
        SECRET_KEY="prod-" + "k3y-Zq8xW1vN5mT9rB2cL7pH4sD6fG0jY" * 2,
        ALLOWED_HOSTS="shop.example.com",
        DATABASE_URL=settings.DATABASE_URL,
        REDIS_URL=settings.REDIS_URL,
        SENTRY_DSN="",
    )
    return env


def test_check_deploy_is_clean_with_production_variables(production_env):
    result = run_manage("check", "--deploy", "--fail-level", "WARNING", env=production_env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_missing_secret_key_fails_fast_with_a_clear_message(production_env):
    del production_env["SECRET_KEY"]
    result = run_manage("check", env=production_env)
    assert result.returncode != 0
    assert "SECRET_KEY not set" in result.stderr
    assert "Traceback" not in result.stderr.split("ImproperlyConfigured")[-1]


def test_production_refuses_embedded_services(production_env):
    del production_env["DATABASE_URL"]
    result = run_manage("check", env=production_env)
    assert result.returncode != 0
    assert "DATABASE_URL not set" in result.stderr


def test_sentry_starts_only_with_a_dsn(monkeypatch, settings):
    import sentry_sdk

    from apps.core import observability

    settings.SENTRY_DSN = ""
    assert observability.init_sentry() is False
    settings.SENTRY_DSN = "https://public@sentry.invalid/1"
    try:
        assert observability.init_sentry() is True
        assert sentry_sdk.get_client().is_active()
    finally:
        sentry_sdk.init(dsn=None)
