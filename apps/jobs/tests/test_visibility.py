"""The broker's at-least-once bounds hold together (issue 18): a message whose worker died is
handed out again after the visibility timeout, which only works if no live task or retry
outlasts it."""

import subprocess
import sys
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parents[3]

PRINT_SETTINGS = """
import json, django
django.setup()
from django.conf import settings
print(json.dumps({
    "time_limit": settings.CELERY_TASK_TIME_LIMIT,
    "soft_time_limit": settings.CELERY_TASK_SOFT_TIME_LIMIT,
    "transport": settings.CELERY_BROKER_TRANSPORT_OPTIONS,
    "retry_backoff_max": settings.CELERY_RETRY_BACKOFF_MAX,
}))
"""


def production_defaults(**env: str) -> dict:
    """The values a deployment gets with nothing set (production settings, fresh process)."""
    import json
    import os

    environment = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "olympus.settings.production",
        "SECRET_KEY": "x" * 60,
        "ALLOWED_HOSTS": "localhost",
        **env,
    }
    for name in ("CELERY_VISIBILITY_TIMEOUT", "CELERY_TASK_TIME_LIMIT", "CELERY_TASK_SOFT_TIME_LIMIT"):
        if name not in env:
            environment.pop(name, None)
    done = subprocess.run(  # noqa: S603
        [sys.executable, "-c", PRINT_SETTINGS], cwd=BASE_DIR, env=environment, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_no_task_or_retry_outlasts_the_visibility_timeout_and_dead_messages_come_back_soon():
    values = production_defaults()
    visibility = values["transport"]["visibility_timeout"]
    assert values["soft_time_limit"] < values["time_limit"] < visibility <= 600
    assert values["retry_backoff_max"] < visibility
    # kombu scans for expired messages every interval * throttle seconds
    scan = values["transport"]["unacked_restore_interval"] * values["transport"]["unacked_restore_throttle"]
    assert scan <= 10
    # bounded waits on the broker too
    assert values["transport"]["socket_timeout"] <= 1
    assert values["transport"]["socket_connect_timeout"] <= 1


def test_a_longer_time_limit_moves_the_visibility_timeout_with_it():
    values = production_defaults(CELERY_TASK_TIME_LIMIT="900")
    assert values["time_limit"] < values["transport"]["visibility_timeout"]
    assert values["soft_time_limit"] < values["time_limit"]
