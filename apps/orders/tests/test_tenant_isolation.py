"""Tenant-isolation rows for the orders endpoints, in the style of
``apps/organizations/tests/test_tenant_isolation.py`` (to be folded into that matrix).

Callers: ``owner``, ``admin``, ``member``, ``viewer`` of the organization,
``outsider`` (the owner of another organization), ``customer`` (a signed-in
user who belongs to no organization and placed the shop's orders) and
``anonymous``. Another organization's user gets 404, a role without the
permission 403, no credentials 401. Placing an order is open to every
signed-in user: the shop is public.

Path templates are filled from ``world``: ``{pending}``, ``{confirmed}``,
``{processing}``, ``{shipped}``, ``{delivered}`` (the customer's orders in each
status) and ``{foreign}`` (a pending order of the other organization).
"""

import pytest

from apps.accounts.tests.factories import UserFactory
from apps.catalog.tests.factories import ProductFactory
from apps.orders.tests.factories import ADDRESS, OrderFactory

pytestmark = pytest.mark.django_db

CALLERS = ("owner", "admin", "member", "viewer", "outsider", "customer", "anonymous")
ORDERS = "/api/v1/orders"
SHIP = {"carrier": "UPS", "tracking_number": "1Z0001"}


def row(name, method, path, expected, body=None):
    """``expected``: statuses for owner, admin, member, viewer, outsider, customer (anonymous is always 401)."""
    return name, method, path, body, dict(zip(CALLERS, (*expected, 401), strict=True))


MATRIX = [
    row("orders-list", "get", f"{ORDERS}/", (200, 200, 200, 200, 200, 200)),
    row("order-place", "post", f"{ORDERS}/", (201, 201, 201, 201, 201, 201), "placement"),
    row("order-detail", "get", f"{ORDERS}/{{pending}}/", (200, 200, 200, 200, 404, 200)),
    row("order-update", "patch", f"{ORDERS}/{{pending}}/", (200, 200, 200, 403, 404, 403), {"internal_notes": "n"}),
    row("order-confirm", "post", f"{ORDERS}/{{pending}}/confirm/", (200, 200, 200, 403, 404, 403)),
    row("order-process", "post", f"{ORDERS}/{{confirmed}}/process/", (200, 200, 200, 403, 404, 403)),
    row("order-ship", "post", f"{ORDERS}/{{processing}}/ship/", (200, 200, 200, 403, 404, 403), SHIP),
    row("order-deliver", "post", f"{ORDERS}/{{shipped}}/deliver/", (200, 200, 200, 403, 404, 403)),
    # the customer may cancel their own pending order
    row("order-cancel", "post", f"{ORDERS}/{{pending}}/cancel/", (200, 200, 200, 403, 404, 200)),
    row("order-cancel-confirmed", "post", f"{ORDERS}/{{confirmed}}/cancel/", (200, 200, 200, 403, 404, 409)),
    row("order-refund", "post", f"{ORDERS}/{{delivered}}/refund/", (200, 200, 200, 403, 404, 403)),
    # billing: the customer pays; members with change_orders refund a Stripe payment through Stripe (202)
    row("order-payment", "post", f"{ORDERS}/{{pending}}/payment/", (403, 403, 403, 403, 404, 200)),
    row(
        "order-refund-stripe", "post", f"{ORDERS}/{{paid}}/refund/", (202, 202, 202, 403, 404, 403), {"amount_cents": 1}
    ),
    row("foreign-order-payment", "post", f"{ORDERS}/{{foreign}}/payment/", (404, 404, 404, 404, 200, 404)),
    row("foreign-order-detail", "get", f"{ORDERS}/{{foreign}}/", (404, 404, 404, 404, 200, 404)),
    row("foreign-order-confirm", "post", f"{ORDERS}/{{foreign}}/confirm/", (404, 404, 404, 404, 200, 404)),
]


def paid_order(stripe, world):
    """A confirmed order of the customer, paid through the local Stripe (as the billing webhooks leave it)."""
    from apps.billing.services import on_payment_intent, order_payment_intent
    from apps.billing.tests.stripe_server import confirm_payment
    from apps.orders.models import Order

    order = Order.objects.get(pk=world["ids"]["pending"])
    payment, _ = order_payment_intent(user=world["users"]["customer"], order=order)
    intent = confirm_payment(stripe, payment.stripe_payment_intent_id)
    on_payment_intent(intent.to_dict())
    return order.pk


@pytest.fixture
def world(organization, owner, admin, member, viewer, outsider, other_organization):
    customer = UserFactory()
    product = ProductFactory(organization=organization, inventory_quantity=100)
    orders = {
        status: OrderFactory(organization=organization, user=customer, status=status, lines=[(product, 1)])
        for status in ("pending", "confirmed", "processing", "shipped", "delivered")
    }
    orders["foreign"] = OrderFactory(organization=other_organization, user=outsider, status="pending")
    return {
        "users": {
            "owner": owner,
            "admin": admin,
            "member": member,
            "viewer": viewer,
            "outsider": outsider,
            "customer": customer,
        },
        "ids": {name: order.pk for name, order in orders.items()},
        "placement": {
            "organization": str(organization.pk),
            "items": [{"product": str(product.pk), "quantity": 1}],
            "shipping_address": ADDRESS,
        },
    }


@pytest.mark.parametrize(
    ("method", "path", "body", "caller", "expected"),
    [
        pytest.param(method, path, body, caller, statuses[caller], id=f"{name}-{caller}")
        for name, method, path, body, statuses in MATRIX
        for caller in CALLERS
    ],
)
def test_tenant_isolation(world, api_client, api_client_for, request, method, path, body, caller, expected):
    client = api_client if caller == "anonymous" else api_client_for(world["users"][caller])
    if "/payment/" in path or "{paid}" in path:  # billing rows talk to the local Stripe
        stripe = request.getfixturevalue("stripe_api")
        if "{paid}" in path:
            world["ids"]["paid"] = paid_order(stripe, world)
    url = path.format(**world["ids"])
    if body == "placement":
        body = world["placement"]

    response = getattr(client, method)(url, body, format="json") if body else getattr(client, method)(url)

    assert response.status_code == expected, response.content
    if expected >= 400:
        assert response.json()["error"]["code"] in {"UNAUTHORIZED", "FORBIDDEN", "NOT_FOUND", "INVALID_TRANSITION"}
