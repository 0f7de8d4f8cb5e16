"""A real Celery worker or beat on RabbitMQ for test_rabbitmq.py.

Run as ``python -m apps.core.tests.rabbitmq_main worker|beat``; the broker comes from
``TEST_CELERY_BROKER_URL``, the queue every task is routed to from ``RABBITMQ_TEST_QUEUE``
(it expires a minute after its last consumer leaves, so the shared broker keeps nothing).
"""

import os
import sys

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "olympus.settings.test")
django.setup()

from kombu import Exchange, Queue  # noqa: E402

from olympus.celery import app  # noqa: E402

if __name__ == "__main__":
    queue = os.environ["RABBITMQ_TEST_QUEUE"]
    app.conf.task_always_eager = False
    app.conf.task_queues = [Queue(queue, Exchange(queue, type="direct"), routing_key=queue, expires=60)]
    app.conf.task_default_queue = queue
    app.conf.task_routes = {"*": {"queue": queue}}
    if sys.argv[1] == "worker":
        arguments = ["worker", "--pool=solo", "-Q", queue, "--without-mingle", "--without-gossip"]
        app.worker_main([*arguments, "--without-heartbeat", "-n", f"rabbitmq-test-{os.getpid()}@%h"])
    else:
        schedule = os.path.join(os.environ["RABBITMQ_TEST_DIR"], "beat")
        app.start(["beat", "--scheduler", "apps.jobs.beat:DatabaseScheduler", "-s", schedule, "--pidfile="])
