"""A real Celery worker for test_worker.py; pool, queue and visibility timeout come from the environment.

Run as ``python -m apps.jobs.tests.worker_main``.
"""

import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "olympus.settings.test")
django.setup()

from apps.jobs.tests import worker_tasks  # noqa: E402, F401 - registers the test tasks
from olympus.celery import app  # noqa: E402

if __name__ == "__main__":
    app.conf.task_always_eager = False
    # The visibility timeout comes from settings (CELERY_VISIBILITY_TIMEOUT), and with it how often
    # kombu looks for messages of dead workers (every second for a 2 s timeout).
    pool = os.environ.get("JOBS_TEST_POOL", "solo")
    arguments = ["worker", f"--pool={pool}", "--loglevel=WARNING", "-Q", os.environ["JOBS_TEST_QUEUE"]]
    arguments += ["--without-mingle", "--without-gossip", "--without-heartbeat", "-n", f"jobs-test-{os.getpid()}@%h"]
    if pool == "prefork":
        arguments.append("--concurrency=1")
    app.worker_main(arguments)
