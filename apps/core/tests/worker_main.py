"""A real Celery worker for test_worker.py, with one extra handler to observe.

Run as ``python -m apps.core.tests.worker_main``; settings come from the environment.
"""

import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "olympus.settings.test")
django.setup()

from django.core.cache import cache  # noqa: E402

from apps.core import events  # noqa: E402
from olympus.celery import app  # noqa: E402

HANDLED_KEY = "worker-test:handled:{}"


@events.event_handler("test.worker-ping")
def remember(event) -> None:
    cache.set(HANDLED_KEY.format(event.id), os.getpid(), timeout=300)


if __name__ == "__main__":
    app.conf.task_always_eager = False
    app.worker_main(
        ["worker", "--pool=solo", "--loglevel=WARNING", "-Q", "default", "--without-mingle", "--without-gossip"]
    )
