"""A local Stripe for tests and `make run` demo mode: localstripe, plus the little it lacks.

localstripe (PyPI, GPL-3.0-or-later, a development dependency only) is a real,
stateful fake of Stripe's API: customers, payment methods, payment intents,
charges, refunds, invoices, subscriptions and signed webhook deliveries. It
has no Prices, Checkout Sessions or billing portal sessions, which Olympus
uses. This module adds the smallest version of each to localstripe's own
aiohttp application and runs it; nothing else of Stripe is imitated here.

Added (see README, "Billing"):

* ``POST /v1/prices``, ``GET /v1/prices[/{id}]`` (``lookup_keys`` filter):
  recurring prices. Each is also a localstripe Plan with the same id, so
  localstripe's subscriptions accept it.
* ``POST /v1/checkout/sessions``, ``GET /v1/checkout/sessions/{id}``
  (``mode=subscription``, one line item) and the hosted page
  ``/_config/checkout/{id}``: GET shows it, POST pays with a test card
  (4242…): the card becomes the customer's default, localstripe creates
  the subscription (and sends its own events), the session completes, a
  ``checkout.session.completed`` event is sent and the browser is redirected
  to ``success_url``.
* ``POST /v1/billing_portal/sessions`` and the page ``/_config/billing_portal/{id}``
  listing the customer's subscriptions with a link back to ``return_url``.
* ``charge.refunded`` events: localstripe records refunds without telling
  anyone; Stripe sends this event, so the extension does too.

Browser pages live under ``/_config/``, the one prefix localstripe serves
without an API key. The server listens on 127.0.0.1 only, prints
``{"port": N}`` once it listens (``--port 0`` picks a free port), keeps its
state in ``--data-file`` (or in memory only) instead of localstripe's fixed
``/tmp/localstripe.pickle``, registers ``--webhook-url``/``--webhook-secret`` as
a webhook endpoint, and exits when ``--parent-pid`` is gone.

    python -m tools.stripe_local --port 8420 --webhook-url http://127.0.0.1:8000/webhooks/stripe \\
        --webhook-secret whsec_... --data-file .data/localstripe.pickle
"""

from __future__ import annotations

import argparse
import asyncio
import html
import json
import logging
import os
import pickle
import socket
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from localstripe import resources, server
from localstripe.errors import UserError
from localstripe.resources import (
    Charge,
    Customer,
    Event,
    PaymentMethod,
    Plan,
    Product,
    Refund,
    StripeObject,
    Subscription,
    store,
    try_convert_to_int,
)
from localstripe.webhooks import register_webhook, schedule_webhook

TEST_CARD = "4242424242424242"
INTERVALS = ("day", "week", "month", "year")


# --- prices -------------------------------------------------------------------------------


class Price(StripeObject):
    object = "price"
    _id_prefix = "price_"

    def __init__(
        self,
        currency: Any = None,
        unit_amount: Any = None,
        recurring: Any = None,
        product: Any = None,
        product_data: Any = None,
        lookup_key: Any = None,
        nickname: Any = None,
        metadata: Any = None,
        active: Any = True,
        transfer_lookup_key: Any = False,
        **kwargs: Any,
    ) -> None:
        if kwargs:
            raise UserError(400, "Unexpected " + ", ".join(kwargs.keys()))
        unit_amount = try_convert_to_int(unit_amount)
        recurring = recurring or {}
        interval_count = try_convert_to_int(recurring.get("interval_count", 1))
        valid = (
            isinstance(currency, str)
            and currency
            and isinstance(unit_amount, int)
            and unit_amount >= 0
            and recurring.get("interval") in INTERVALS
            and isinstance(interval_count, int)
            and (isinstance(product, str) or (isinstance(product_data, dict) and product_data.get("name")))
        )
        if not valid:
            raise UserError(400, "Bad request (only recurring prices are supported here)")
        holders = Price._by_lookup_key(lookup_key) if lookup_key else []
        if holders and transfer_lookup_key not in (True, "true"):
            raise UserError(400, f"A price with the lookup_key {lookup_key} already exists.")
        product_id = Product._api_retrieve(product).id if isinstance(product, str) else Product(**product_data).id

        super().__init__()
        for holder in holders:
            holder.lookup_key = None

        self.active = active not in (False, "false")
        self.currency = currency.lower()
        self.unit_amount = unit_amount
        self.recurring = {"interval": recurring["interval"], "interval_count": interval_count}
        self.type = "recurring"
        self.billing_scheme = "per_unit"
        self.product = product_id
        self.lookup_key = lookup_key
        self.nickname = nickname
        self.metadata = metadata or {}
        # localstripe's subscriptions are built on plans: one plan per price, same id.
        Plan(
            id=self.id,
            amount=unit_amount,
            currency=self.currency,
            interval=recurring["interval"],
            interval_count=interval_count,
            product=product_id,
            nickname=nickname,
        )

    @classmethod
    def _by_lookup_key(cls, lookup_key: str) -> list[Price]:
        return [value for key, value in store.items() if key.startswith("price:") and value.lookup_key == lookup_key]

    @classmethod
    def _api_update(cls, id: str, **data: Any) -> Price:
        raise UserError(405, "Method Not Allowed")

    @classmethod
    def _api_delete(cls, id: str) -> Any:
        raise UserError(405, "Method Not Allowed")

    @classmethod
    def _api_list_all(cls, url: str, lookup_keys: Any = None, active: Any = None, limit: Any = None, **kwargs: Any):
        if kwargs:
            raise UserError(400, "Unexpected " + ", ".join(kwargs.keys()))
        li = super()._api_list_all(url, limit=limit)
        if lookup_keys is not None:
            keys = lookup_keys if isinstance(lookup_keys, list) else [lookup_keys]
            li._list = [price for price in li._list if price.lookup_key in keys]
        if active is not None:
            li._list = [price for price in li._list if price.active == (active in (True, "true"))]
        return li


# --- checkout sessions --------------------------------------------------------------------


class CheckoutSession(StripeObject):
    object = "checkout.session"
    _id_prefix = "cs_test_"

    def __init__(
        self,
        mode: Any = None,
        customer: Any = None,
        line_items: Any = None,
        success_url: Any = None,
        cancel_url: Any = None,
        client_reference_id: Any = None,
        metadata: Any = None,
        subscription_data: Any = None,
        **kwargs: Any,
    ) -> None:
        if kwargs:
            raise UserError(400, "Unexpected " + ", ".join(kwargs.keys()))
        if mode != "subscription":
            raise UserError(500, "Not implemented (only mode=subscription)")
        if not (isinstance(customer, str) and customer.startswith("cus_")):
            raise UserError(400, "Bad request (a customer is required)")
        if not (isinstance(line_items, list) and len(line_items) == 1 and isinstance(line_items[0], dict)):
            raise UserError(500, "Not implemented (exactly one line item)")
        if not (isinstance(success_url, str) and isinstance(cancel_url, str)):
            raise UserError(400, "Bad request (success_url and cancel_url are required)")
        Customer._api_retrieve(customer)  # 404 if missing
        price = Price._api_retrieve(line_items[0].get("price") or "")
        quantity = try_convert_to_int(line_items[0].get("quantity", 1))

        super().__init__()

        self.mode = mode
        self.customer = customer
        self.client_reference_id = client_reference_id
        self.metadata = metadata or {}
        self.success_url = success_url
        self.cancel_url = cancel_url
        self.status = "open"
        self.payment_status = "unpaid"
        self.subscription = None
        self.currency = price.currency
        self.amount_total = price.unit_amount * quantity
        self.expires_at = self.created + 24 * 3600
        self.url = None  # set by the route, which knows the server's address
        self._price = price.id
        self._quantity = quantity
        self._subscription_metadata = dict((subscription_data or {}).get("metadata") or {})

    def _complete(self, card_number: str) -> None:
        if self.status != "open":
            raise UserError(400, "This Checkout Session is no longer open.")
        payment_method = PaymentMethod(
            type="card",
            card={"number": card_number, "exp_month": 12, "exp_year": time.gmtime().tm_year + 5, "cvc": "123"},
        )
        PaymentMethod._api_attach(payment_method.id, customer=self.customer)
        Customer._api_update(self.customer, invoice_settings={"default_payment_method": payment_method.id})
        subscription = Subscription(
            customer=self.customer,
            items=[{"plan": self._price, "quantity": self._quantity}],
            metadata=dict(self._subscription_metadata),
        )
        if subscription.status != "active":
            raise UserError(402, "Your card was declined.", {"code": "card_declined"})
        self.subscription = subscription.id
        self.status = "complete"
        self.payment_status = "paid"
        store[f"{self.object}:{self.id}"] = self  # persist the change
        schedule_webhook(Event("checkout.session.completed", self))


class BillingPortalSession(StripeObject):
    object = "billing_portal.session"
    _id_prefix = "bps_"

    def __init__(self, customer: Any = None, return_url: Any = None, **kwargs: Any) -> None:
        if kwargs:
            raise UserError(400, "Unexpected " + ", ".join(kwargs.keys()))
        if not (isinstance(customer, str) and isinstance(return_url, str)):
            raise UserError(400, "Bad request (customer and return_url are required)")
        Customer._api_retrieve(customer)
        super().__init__()
        self.customer = customer
        self.return_url = return_url
        self.url = None


# --- routes -------------------------------------------------------------------------------


def _base_url(request: web.Request) -> str:
    return str(request.url.origin())


async def _data(request: web.Request) -> dict[str, Any]:
    data = await server.get_post_data(request) or {}
    data.pop("expand", None)
    return data


async def price_create(request: web.Request) -> web.Response:
    return server.json_response(Price._api_create(**await _data(request))._export())


async def price_retrieve(request: web.Request) -> web.Response:
    return server.json_response(Price._api_retrieve(request.match_info["id"])._export())


async def price_list(request: web.Request) -> web.Response:
    query = server.unflatten_data(request.query)
    query.pop("expand", None)
    return server.json_response(Price._api_list_all("/v1/prices", **query)._export())


async def checkout_create(request: web.Request) -> web.Response:
    session = CheckoutSession._api_create(**await _data(request))
    session.url = f"{_base_url(request)}/_config/checkout/{session.id}"
    return server.json_response(session._export())


async def checkout_retrieve(request: web.Request) -> web.Response:
    return server.json_response(CheckoutSession._api_retrieve(request.match_info["id"])._export())


PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{title}</title></head>
<body style="font-family: sans-serif; max-width: 32rem; margin: 3rem auto; line-height: 1.5">
<p style="color: #b45309">localstripe — a local test server, not Stripe. No real money moves.</p>
{body}</body></html>"""


async def checkout_page(request: web.Request) -> web.Response:
    session = CheckoutSession._api_retrieve(request.match_info["id"])
    price = Price._api_retrieve(session._price)
    product = Product._api_retrieve(price.product)
    amount = f"{session.amount_total / 100:.2f} {session.currency.upper()} / {price.recurring['interval']}"
    if session.status != "open":
        body = f"<h1>Paid</h1><p><a href='{html.escape(session.success_url)}'>Continue</a></p>"
    else:
        body = (
            f"<h1>Subscribe to {html.escape(product.name)}</h1><p><strong>{html.escape(amount)}</strong></p>"
            f"<form method='post'><label>Test card <input name='card' value='{TEST_CARD}' size='20'></label> "
            "<button type='submit'>Pay</button></form>"
            f"<p><a href='{html.escape(session.cancel_url)}'>Cancel</a></p>"
        )
    return web.Response(text=PAGE.format(title="Checkout", body=body), content_type="text/html")


async def checkout_pay(request: web.Request) -> web.Response:
    session = CheckoutSession._api_retrieve(request.match_info["id"])
    form = await request.post()
    session._complete(str(form.get("card") or TEST_CARD).replace(" ", ""))
    raise web.HTTPSeeOther(session.success_url.replace("{CHECKOUT_SESSION_ID}", session.id))


async def portal_create(request: web.Request) -> web.Response:
    session = BillingPortalSession._api_create(**await _data(request))
    session.url = f"{_base_url(request)}/_config/billing_portal/{session.id}"
    return server.json_response(session._export())


async def portal_page(request: web.Request) -> web.Response:
    session = BillingPortalSession._api_retrieve(request.match_info["id"])
    subscriptions = Subscription._api_list_all(None, customer=session.customer, status="all")._list
    rows = "".join(
        f"<li>{html.escape(sub.id)}: {html.escape(sub.status)}"
        f"{' (cancels at period end)' if sub.cancel_at_period_end else ''}</li>"
        for sub in subscriptions
    )
    body = (
        f"<h1>Billing portal</h1><ul>{rows or '<li>No subscription</li>'}</ul>"
        f"<p><a href='{html.escape(session.return_url)}'>Return</a></p>"
    )
    return web.Response(text=PAGE.format(title="Billing portal", body=body), content_type="text/html")


def _send_charge_refunded() -> None:
    """Stripe announces refunds with ``charge.refunded``; localstripe does not, so wrap Refund creation."""
    original = Refund.__init__

    def __init__(self: Refund, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        schedule_webhook(Event("charge.refunded", Charge._api_retrieve(self.charge)))

    Refund.__init__ = __init__


# The local pages: no script at all, inline styles only; the checkout form posts here and is redirected
# to the shop's success URL (form-action covers redirects in Chromium).
PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; "
    "form-action 'self' http: https:; base-uri 'none'; frame-ancestors 'none'",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Embedder-Policy": "require-corp",
    "Cross-Origin-Resource-Policy": "same-origin",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


@web.middleware
async def page_headers(request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]) -> Any:
    response = await handler(request)
    if response.content_type == "text/html":
        response.headers.update(PAGE_HEADERS)
    return response


def build_app() -> web.Application:
    app = server.app
    app.middlewares.append(page_headers)
    app.router.add_post("/v1/prices", price_create)
    app.router.add_get("/v1/prices", price_list)
    app.router.add_get("/v1/prices/{id}", price_retrieve)
    app.router.add_post("/v1/checkout/sessions", checkout_create)
    app.router.add_get("/v1/checkout/sessions/{id}", checkout_retrieve)
    app.router.add_get("/_config/checkout/{id}", checkout_page)
    app.router.add_post("/_config/checkout/{id}", checkout_pay)
    app.router.add_post("/v1/billing_portal/sessions", portal_create)
    app.router.add_get("/_config/billing_portal/{id}", portal_page)
    _send_charge_refunded()
    return app


# --- persistence and lifetime ----------------------------------------------------------------


def _persist_to(path: str | None) -> None:
    """localstripe pickles its whole store to a fixed /tmp file on every write; use ours, or none."""

    def dump(self: Any) -> None:
        if path:
            tmp = f"{path}.tmp"
            with open(tmp, "wb") as fh:
                pickle.dump(dict(self), fh, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(tmp, path)

    def load(self: Any) -> None:
        if path and os.path.exists(path):
            with open(path, "rb") as fh:
                data = pickle.load(fh)  # noqa: S301 - our own file, written by this process
            dict.clear(self)
            dict.update(self, data)

    resources.Store.dump_to_disk = dump
    resources.Store.try_load_from_disk = load


async def _exit_with_parent(parent_pid: int) -> None:
    while True:
        await asyncio.sleep(1)
        try:
            os.kill(parent_pid, 0)
        except ProcessLookupError:
            logging.getLogger("tools.stripe_local").info("parent %s is gone; stopping", parent_pid)
            os._exit(0)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="localstripe with Prices, Checkout and portal sessions")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8420, help="0 picks a free port")
    parser.add_argument("--data-file", default="", help="keep state here across restarts (default: memory only)")
    parser.add_argument("--webhook-url", default="")
    parser.add_argument("--webhook-secret", default="")
    parser.add_argument("--parent-pid", type=int, default=0, help="exit when this process is gone")
    parser.add_argument("--quiet", action="store_true", help="no access log")
    args = parser.parse_args(argv)

    _persist_to(args.data_file or None)
    store.try_load_from_disk()
    app = build_app()
    if args.webhook_url:
        register_webhook("olympus", args.webhook_url, args.webhook_secret, None)
    if args.parent_pid:

        async def watch(app: web.Application) -> None:
            app["parent_watch"] = asyncio.ensure_future(_exit_with_parent(args.parent_pid))

        app.on_startup.append(watch)

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((args.host, args.port))
    port = sock.getsockname()[1]
    print(json.dumps({"port": port, "url": f"http://{args.host}:{port}"}), flush=True)

    access_log = None
    if not args.quiet:
        access_log = logging.getLogger("aiohttp.access")
        access_log.setLevel(logging.INFO)
        access_log.addHandler(logging.StreamHandler(sys.stdout))
    web.run_app(app, sock=sock, access_log=access_log, print=None, handle_signals=True)


if __name__ == "__main__":
    main()
