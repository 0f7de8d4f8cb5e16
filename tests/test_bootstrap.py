"""One bootstrap starts the embedded services, from every entry point; production settings start nothing."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

BASE_DIR = Path(__file__).resolve().parent.parent


def _run(args: list[str], data_dir: Path, **env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL", "OLYMPUS_EMBEDDED"}}
    clean.pop("DJANGO_SETTINGS_MODULE", None)
    clean.update(env, OLYMPUS_DATA_DIR=str(data_dir))
    return subprocess.run(  # noqa: S603
        [sys.executable, *args], cwd=BASE_DIR, env=clean, capture_output=True, text=True, timeout=120, check=False
    )


@pytest.fixture
def data_dir(tmp_path):
    path = tmp_path / "data"
    yield path
    if path.exists():  # the last process out stops its servers; this catches one that did not
        _run(["-m", "olympus.embedded", "stop"], path)


def test_manage_py_starts_the_embedded_services_for_unset_urls(data_dir):

    result = _run(["manage.py", "check"], data_dir)

    assert result.returncode == 0, result.stderr
    assert (data_dir / "postgres" / "PG_VERSION").exists()
    assert (data_dir / "redis.rdb.settings").exists()


def test_the_celery_app_starts_them_when_it_first_reads_its_settings(data_dir):

    result = _run(["-c", "from olympus.celery import app; print(app.conf.broker_url)"], data_dir)

    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("redis+socket://")
    assert (data_dir / "postgres" / "PG_VERSION").exists()


def test_production_settings_start_nothing_and_name_what_is_missing(data_dir):
    production = {"DJANGO_SETTINGS_MODULE": "olympus.settings.production", "SECRET_KEY": ""}

    result = _run(["manage.py", "check"], data_dir, **production)

    assert result.returncode != 0
    assert "SECRET_KEY, DATABASE_URL, REDIS_URL not set" in result.stderr
    assert not data_dir.exists()
