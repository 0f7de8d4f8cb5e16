"""Per-checkout development secrets (``olympus.local_secrets``): generated once under .data/, reused,
never the repository's; development settings sign with them."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from olympus import local_secrets

BASE_DIR = Path(__file__).resolve().parents[3]


def test_first_use_generates_private_random_secrets_and_later_uses_reuse_them(tmp_path):
    first = local_secrets.load_or_create(tmp_path)
    again = local_secrets.load_or_create(tmp_path)

    assert first == again
    assert set(first) == {"SECRET_KEY", "STRIPE_SECRET_KEY", "STRIPE_WEBHOOK_SECRET"}
    assert len(first["SECRET_KEY"]) >= 50
    assert first["STRIPE_WEBHOOK_SECRET"].startswith("whsec_")
    assert first["STRIPE_SECRET_KEY"].startswith("sk_test_")
    path = tmp_path / local_secrets.FILE_NAME
    assert json.loads(path.read_text()) == first
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_two_checkouts_get_different_secrets(tmp_path):
    one = local_secrets.load_or_create(tmp_path / "one")
    two = local_secrets.load_or_create(tmp_path / "two")

    assert all(one[name] != two[name] for name in one)


def test_processes_starting_together_agree_on_one_set(tmp_path):
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda _: local_secrets.load_or_create(tmp_path), range(16)))

    assert all(result == results[0] for result in results)


def test_a_key_added_later_is_generated_and_the_old_ones_kept(tmp_path):
    (tmp_path / local_secrets.FILE_NAME).write_text(json.dumps({"SECRET_KEY": "kept-" + "x" * 50}))

    values = local_secrets.load_or_create(tmp_path)

    assert values["SECRET_KEY"] == "kept-" + "x" * 50
    assert values["STRIPE_WEBHOOK_SECRET"].startswith("whsec_")


def _dev_setting(tmp_path: Path, name: str, **env: str) -> str:
    """A setting as ``olympus.settings.dev`` computes it in a fresh process with its data under ``tmp_path``."""
    environment = {
        **{k: v for k, v in os.environ.items() if k not in {"SECRET_KEY", "DJANGO_SETTINGS_MODULE"}},
        "OLYMPUS_DATA_DIR": str(tmp_path),
        # URLs set: the settings start no embedded server (nothing connects at import).
        "DATABASE_URL": "postgres://nobody@127.0.0.1:1/none",
        "REDIS_URL": "redis://127.0.0.1:1/0",
        "DJANGO_SETTINGS_MODULE": "olympus.settings.dev",
        **env,
    }
    code = f"from django.conf import settings; print(settings.{name})"
    result = subprocess.run(  # noqa: S603
        [sys.executable, "-c", code], cwd=BASE_DIR, env=environment, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_development_signs_with_the_checkout_key_which_is_nowhere_in_the_repository(tmp_path):
    key = _dev_setting(tmp_path, "SECRET_KEY")

    assert key == json.loads((tmp_path / local_secrets.FILE_NAME).read_text())["SECRET_KEY"]
    assert _dev_setting(tmp_path, "SECRET_KEY") == key  # reused on the next start
    tracked = subprocess.run(  # noqa: S603
        ["git", "grep", "-l", "-F", key[:24]],
        cwd=BASE_DIR,
        capture_output=True,
        text=True,
        check=False,  # noqa: S607
    )
    assert tracked.stdout == ""


def test_a_secret_key_from_the_environment_wins(tmp_path):
    assert _dev_setting(tmp_path, "SECRET_KEY", SECRET_KEY="from-the-environment-" + "y" * 40).startswith(
        "from-the-environment-"
    )
