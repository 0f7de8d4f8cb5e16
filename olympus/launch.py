"""`make run`: bring the whole platform up in one terminal.

Starts (or reuses) the embedded PostgreSQL and Redis when their URLs are unset,
and a local Stripe (localstripe, see ``tools/stripe_local.py``) when
``STRIPE_SECRET_KEY`` is unset, migrates, loads the demo data, then runs web
(granian), a Celery worker and Celery beat under olympus/supervisor.py, which restarts
one that crashes. Ctrl-C stops the processes; the embedded servers stop with the last
process that uses them.
"""

from __future__ import annotations

import importlib.util
import json
import os
import socket
import subprocess
import sys
import threading
from pathlib import Path

from olympus import local_secrets

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


# Demo mode (no STRIPE_SECRET_KEY): the local Stripe's keys and webhook secret are this checkout's own,
# generated on first start under .data/ (olympus.local_secrets); nothing in the repository signs for it.
def demo_stripe_settings() -> dict[str, str]:
    values = local_secrets.load_or_create()
    return {
        "STRIPE_SECRET_KEY": values["STRIPE_SECRET_KEY"],
        "STRIPE_PUBLISHABLE_KEY": "pk_test_olympus_demo",  # not a secret
        "STRIPE_WEBHOOK_SECRET": values["STRIPE_WEBHOOK_SECRET"],
    }


def start_demo_stripe(*, web_port: int) -> subprocess.Popen | None:
    """Without STRIPE_SECRET_KEY, run a local Stripe (localstripe + tools/stripe_local.py) for the demo.

    It keeps its state in .data/localstripe.pickle, delivers its signed webhooks
    to this server's /webhooks/stripe, and stops with us. The variables it
    needs are exported so web, worker and beat talk to it, never to Stripe.
    """
    import environ

    environ.Env.read_env(BASE_DIR / ".env", overwrite=False)  # a key in .env means real Stripe
    if os.environ.get("STRIPE_SECRET_KEY"):
        return None
    if importlib.util.find_spec("localstripe") is None:
        print("  stripe:   no STRIPE_SECRET_KEY and no localstripe: billing endpoints answer 503", flush=True)
        return None
    from olympus.embedded import data_dir

    data_dir().mkdir(parents=True, exist_ok=True)
    demo = demo_stripe_settings()
    port = choose_port(int(os.environ.get("OLYMPUS_STRIPE_PORT", "8420")))
    process = subprocess.Popen(  # noqa: S603 - our own module, fixed arguments
        [
            sys.executable,
            "-m",
            "tools.stripe_local",
            "--port",
            str(port),
            "--data-file",
            str(data_dir() / "localstripe.pickle"),
            "--webhook-url",
            f"http://127.0.0.1:{web_port}/webhooks/stripe",
            "--webhook-secret",
            demo["STRIPE_WEBHOOK_SECRET"],
            "--parent-pid",
            str(os.getpid()),
        ],
        cwd=BASE_DIR,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    line = process.stdout.readline()
    try:
        url = json.loads(line)["url"]
    except (ValueError, KeyError):
        process.kill()
        raise SystemExit(f"The local Stripe did not start: {line}{process.stdout.read()}") from None

    def forward_output() -> None:
        for output in process.stdout:
            print(f"stripe   | {output}", end="", flush=True)

    threading.Thread(target=forward_output, daemon=True).start()
    os.environ.update({**demo, "STRIPE_API_BASE": url})
    return process


def main() -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "olympus.settings.dev")
    port = choose_port(int(os.environ.get("OLYMPUS_PORT", "8000")))
    os.environ["OLYMPUS_PORT"] = str(port)
    base = f"http://127.0.0.1:{port}"
    os.environ.setdefault("SITE_URL", base)  # emailed links open this server's own pages
    demo_stripe = start_demo_stripe(web_port=port)  # reads .env first: its values win
    local_secrets.export_to_environment()  # SECRET_KEY for web, worker and beat: this checkout's own
    import django
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connections

    from olympus.bootstrap import ensure_services

    print("Olympus: preparing services…", flush=True)
    embedded = ensure_services()  # start or reuse the embedded servers; children inherit their URLs
    if embedded:
        print(f"  embedded: {', '.join(embedded)} (data under .data/)", flush=True)
    django.setup()
    call_command("migrate", interactive=False, verbosity=1)
    call_command("sync_periodic_tasks")
    call_command("seed_demo")
    if demo_stripe is not None:
        call_command("billing_sync_prices")  # the plans' prices, created once at the local Stripe
    connections.close_all()

    stripe_line = (
        f"  Stripe    local demo server at {settings.STRIPE_API_BASE} (checkout pays with card 4242 4242 4242 4242)\n"
        if demo_stripe is not None
        else ""
    )
    print(
        "\nOlympus is starting:\n"
        f"  API docs  {base}/api/docs/   (ReDoc {base}/api/redoc/, schema {base}/api/schema/)\n"
        f"  Admin     {base}/admin/\n"
        f"  Health    {base}/health   (/ready, /live)\n"
        f"  Metrics   {base}/metrics\n"
        f"{stripe_line}"
        "Ctrl-C stops everything.\n",
        flush=True,
    )
    bin_dir = Path(sys.executable).parent
    # The Procfile names granian and celery: find them in this virtualenv.
    os.environ["PATH"] = f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"
    code = run_processes()
    if demo_stripe is not None:
        demo_stripe.terminate()
        demo_stripe.wait(timeout=10)
    print("Olympus stopped.", flush=True)
    return code


def run_processes() -> int:
    """Web, worker and beat from the Procfile, supervised (issue 18, olympus/supervisor.py).

    A process that crashes or is killed is restarted with a message while the
    others keep running; Ctrl-C, SIGTERM or SIGHUP stop them all. The embedded
    servers stop after that, with the last process that uses them.
    """
    from olympus.supervisor import Supervisor, read_procfile

    return Supervisor(read_procfile(BASE_DIR / "Procfile"), cwd=BASE_DIR).run()


if __name__ == "__main__":
    sys.exit(main())
