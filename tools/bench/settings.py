"""Settings of the processes `make bench` starts: development settings plus the bench-only routes."""

from olympus.settings.dev import *  # noqa: F403

ROOT_URLCONF = "tools.bench.urls"
