"""`make run`: bring the whole platform up in one terminal.

Starts (or reuses) the embedded PostgreSQL and Redis when their URLs are unset,
migrates, loads the demo data, then runs web (gunicorn), a Celery worker and
Celery beat under honcho. Ctrl-C stops the processes; the embedded servers stop
with the last process that uses them.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent


def _port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        return sock.connect_ex(("127.0.0.1", port)) != 0


def choose_port(preferred: int, attempts: int = 20) -> int:
    """The preferred port, or the next free one when another `make run` holds it."""
    for port in range(preferred, preferred + attempts):
        if _port_is_free(port):
            return port
    raise SystemExit(f"No free port in {preferred}..{preferred + attempts - 1}; set OLYMPUS_PORT.")


def main() -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "olympus.settings.dev")
    import django
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connections

    print("Olympus: preparing services…", flush=True)
    django.setup()  # settings start or reuse the embedded servers and export their URLs
    if settings.EMBEDDED_SERVICES:
        print(f"  embedded: {', '.join(settings.EMBEDDED_SERVICES)} (data under .data/)", flush=True)
    call_command("migrate", interactive=False, verbosity=1)
    call_command("sync_periodic_tasks")
    call_command("seed_demo")
    connections.close_all()

    port = choose_port(int(os.environ.get("OLYMPUS_PORT", "8000")))
    os.environ["OLYMPUS_PORT"] = str(port)
    base = f"http://127.0.0.1:{port}"
    print(
        "\nOlympus is starting:\n"
        f"  API docs  {base}/api/docs/   (ReDoc {base}/api/redoc/, schema {base}/api/schema/)\n"
        f"  Admin     {base}/admin/\n"
        f"  Health    {base}/health   (/ready, /live)\n"
        f"  Metrics   {base}/metrics\n"
        "Ctrl-C stops everything.\n",
        flush=True,
    )
    bin_dir = Path(sys.executable).parent
    honcho = bin_dir / "honcho"
    # The Procfile names gunicorn and celery: find them in this virtualenv.
    os.environ["PATH"] = f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"
    # Ctrl-C reaches honcho and its children through the terminal; we wait for
    # them to finish, then let the embedded servers stop (atexit in embedded).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    process = subprocess.Popen([str(honcho), "start", "-f", str(BASE_DIR / "Procfile")], cwd=BASE_DIR)  # noqa: S603

    stopping = False

    def forward(signum: int, frame: object) -> None:
        nonlocal stopping
        stopping = True
        process.send_signal(signal.SIGTERM)

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGHUP, forward)
    code = process.wait()
    print("Olympus stopped.", flush=True)
    # honcho exits non-zero when its processes were interrupted: that is a clean stop.
    return 0 if stopping or code in (0, 130, -signal.SIGINT) else code


if __name__ == "__main__":
    sys.exit(main())
