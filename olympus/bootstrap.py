"""Start (or reuse) what a development process needs before Django reads its settings.

Settings only read the environment; they start nothing. Every entry point that
runs Olympus on a developer's machine calls :func:`ensure_services` first:
``manage.py``, ``make run`` (``olympus.launch``), the Celery app (when it
configures itself), WSGI/ASGI and the test run (``olympus.pytest_plugin``). It
starts the embedded PostgreSQL / Redis for whichever of ``DATABASE_URL`` /
``REDIS_URL`` is unset and exports their URLs, so child processes (granian
workers, Celery, pytest-xdist workers) inherit them and start nothing.

Under production settings it does nothing: there the URLs are required and a
missing one is reported by the settings themselves.
"""

from __future__ import annotations

import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
PRODUCTION_SETTINGS = "olympus.settings.production"


def _read_dotenv() -> None:
    """An ``.env`` beside manage.py may name the services (the settings read it the same way)."""
    import environ

    environ.Env.read_env(BASE_DIR / ".env", overwrite=False)


def ensure_services() -> list[str]:
    """Start or reuse the embedded servers for unset URLs; return which ones are embedded."""
    if os.environ.get("DJANGO_SETTINGS_MODULE") == PRODUCTION_SETTINGS:
        return []
    _read_dotenv()
    from olympus import embedded

    # WhiteNoise wants the static folder to exist even when it serves from the finders.
    (BASE_DIR / ".data" / "static").mkdir(parents=True, exist_ok=True)
    embedded.ensure(
        postgres=not os.environ.get("DATABASE_URL"),
        redis=not os.environ.get("REDIS_URL"),
    )
    return sorted(embedded.embedded_in_use())
