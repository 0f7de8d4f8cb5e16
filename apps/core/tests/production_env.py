"""A production-settings environment for ``manage.py`` subprocesses in tests."""

import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

BASE_DIR = Path(__file__).resolve().parents[3]


def database_url_of(database_url: str, name: str) -> str:
    """``database_url`` pointed at the database ``name`` (e.g. this test run's own)."""
    parts = urlsplit(database_url)
    return urlunsplit(parts._replace(path=f"/{name}"))


def production_environment(*, database_url: str, redis_url: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith(("DJANGO_", "PYTEST_"))}
    env.update(
        DJANGO_SETTINGS_MODULE="olympus.settings.production",
        SECRET_KEY="prod-" + "k3y-Zq8xW1vN5mT9rB2cL7pH4sD6fG0jY" * 2,
        ALLOWED_HOSTS="shop.example.com",
        DATABASE_URL=database_url,
        REDIS_URL=redis_url,
        SENTRY_DSN="",
    )
    env.pop("OLYMPUS_ALLOW_DEMO_SEED", None)
    return env


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
