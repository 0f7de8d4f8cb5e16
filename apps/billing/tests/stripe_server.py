"""Start tools.stripe_local (localstripe + our small extension) as a real local Stripe for tests.

One server per pytest(-xdist) worker, on a free 127.0.0.1 port, in memory
only; it exits with the worker. Helpers here act as Stripe's other side: a
customer paying on the hosted checkout page, a webhook signed the way Stripe
signs it, a receiver for localstripe's own signed deliveries.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import requests
import stripe

BASE_DIR = Path(__file__).resolve().parents[3]


@dataclass
class LocalStripe:
    url: str
    process: subprocess.Popen

    @classmethod
    def start(cls) -> LocalStripe:
        process = subprocess.Popen(  # noqa: S603 - our own module, fixed arguments
            [sys.executable, "-m", "tools.stripe_local", "--port", "0", "--quiet", "--parent-pid", str(os.getpid())],
            cwd=BASE_DIR,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        line = process.stdout.readline()
        try:
            url = json.loads(line)["url"]
        except (ValueError, KeyError) as exc:
            process.kill()
            raise RuntimeError(f"localstripe did not start: {line}{process.stdout.read()}") from exc
        # Keep draining its output so it never blocks on a full pipe.
        threading.Thread(target=lambda: [None for _ in process.stdout], daemon=True).start()
        return cls(url=url, process=process)

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()

    def client(self) -> stripe.StripeClient:
        return stripe.StripeClient("sk_test_olympus", base_addresses={"api": self.url}, max_network_retries=0)

    def pay_checkout(self, checkout_url: str, card: str = "4242424242424242") -> requests.Response:
        """What the customer does on Stripe's hosted page: pay with a test card (303 to success_url)."""
        return requests.post(checkout_url, data={"card": card}, allow_redirects=False, timeout=10)

    def register_webhook(self, name: str, url: str, secret: str) -> None:
        response = requests.post(f"{self.url}/_config/webhooks/{name}", data={"url": url, "secret": secret}, timeout=5)
        response.raise_for_status()


def signed(payload: dict[str, Any] | str, secret: str, timestamp: int | None = None) -> tuple[bytes, str]:
    """A body and its ``Stripe-Signature`` header, signed with the stripe library's own scheme."""
    body = payload if isinstance(payload, str) else json.dumps(payload)
    header = stripe.WebhookSignature.generate_signature_header(body, secret, timestamp=timestamp)
    return body.encode(), header


def event_for(obj: Any, event_type: str, *, event_id: str | None = None, created: int | None = None) -> dict[str, Any]:
    """A Stripe event envelope around an object read from (local)stripe, as Stripe would send it."""
    data = obj.to_dict(recursive=True, for_json=True) if isinstance(obj, stripe.StripeObject) else obj
    created = created or int(time.time())
    return {
        "id": event_id or f"evt_test_{event_type.replace('.', '_')}_{data['id']}_{created}_{time.monotonic_ns()}",
        "object": "event",
        "api_version": "2017-08-15",
        "created": created,
        "livemode": False,
        "type": event_type,
        "data": {"object": data},
    }


@dataclass
class WebhookReceiver:
    """A local HTTP endpoint that records what localstripe delivers (body and headers, untouched)."""

    deliveries: list[dict[str, Any]] = field(default_factory=list)
    server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}/webhooks/stripe"

    def start(self) -> WebhookReceiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                receiver.deliveries.append({"body": body, "signature": self.headers.get("Stripe-Signature")})
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()

    def wait_for(self, predicate: Any, *, timeout: float = 10.0) -> list[dict[str, Any]]:
        """Deliveries whose parsed event satisfies ``predicate``, once at least one arrived (or timeout)."""
        deadline = time.monotonic() + timeout
        while True:
            found = [d for d in list(self.deliveries) if predicate(json.loads(d["body"]))]
            if found or time.monotonic() > deadline:
                return found
            time.sleep(0.05)


def confirm_payment(stripe: LocalStripe, intent_id: str, card: str = "4242424242424242") -> Any:
    """What Stripe.js does in the customer's browser: attach a card to the PaymentIntent and confirm it."""
    client = stripe.client()
    method = client.v1.payment_methods.create(
        params={"type": "card", "card": {"number": card, "exp_month": 12, "exp_year": 2031, "cvc": "123"}}
    )
    client.v1.payment_intents.update(intent_id, params={"payment_method": method.id})
    try:
        client.v1.payment_intents.confirm(intent_id)
    except Exception as exc:  # a declined card: Stripe answers 402 and the intent needs another method
        if getattr(exc, "http_status", None) != 402:
            raise
    return client.v1.payment_intents.retrieve(intent_id)
