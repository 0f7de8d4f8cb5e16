"""Production settings: `check --deploy` is clean, and a missing secret fails fast."""

from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import pytest
from django.conf import settings
from django.db import connection

from apps.core.tests.production_env import database_url_of, production_environment, run_manage


@pytest.fixture
def production_env(django_db_setup, django_db_blocker) -> dict[str, str]:
    """Production settings against this test run's (migrated) database."""
    with django_db_blocker.unblock():
        database_url = database_url_of(settings.DATABASE_URL, connection.settings_dict["NAME"])
    return production_environment(database_url=database_url, redis_url=settings.REDIS_URL)


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


def _startup_options(env: dict[str, str], options: str) -> str:
    """The startup options the settings send when DATABASE_URL carries ``options``."""
    parts = urlsplit(env["DATABASE_URL"])
    query = urlencode([*parse_qsl(parts.query), ("options", options)])
    env = {**env, "DATABASE_URL": urlunsplit(parts._replace(query=query))}
    code = "from django.conf import settings; print(settings.DATABASES['default']['OPTIONS']['options'])"
    result = run_manage("shell", "-v", "0", "-c", code, env=env)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip().splitlines()[-1]


def test_startup_options_from_the_database_url_keep_the_planner_page_cost(production_env):
    # a URL's own startup options and the page cost are both sent
    assert _startup_options(production_env, "-c search_path=public") == "-c search_path=public -c random_page_cost=1.1"
    # a page cost the URL sets itself wins
    assert _startup_options(production_env, "-c random_page_cost=2") == "-c random_page_cost=2"
