"""The tenant-isolation matrix: every tenant endpoint × every kind of caller → the expected status.

One table, one parametrized test. Later issues ADD ROWS here for their
endpoints (products, orders, webhooks, ...) instead of writing their own
isolation tests. Conventions:

- callers: ``owner``, ``admin``, ``member``, ``viewer`` of the organization,
  ``outsider`` (the owner of another organization) and ``anonymous``;
- a user of another organization gets 404 (no existence leak), a role without
  the permission gets 403, no credentials get 401;
- paths are templates filled from the ``world`` fixture: ``{org}``,
  ``{target}`` (a plain member's membership id), ``{invitation}`` (a pending
  invitation), ``{endpoint}`` / ``{delivery}`` (a webhook endpoint and one of
  its dead-lettered deliveries), and ``{foreign_membership}`` /
  ``{foreign_invitation}`` / ``{foreign_endpoint}`` / ``{foreign_delivery}``
  (rows of the other organization, reached through this organization's URL: 404).
  ``{foreign_org}`` is the other organization, named in a request body.
  Extend ``world`` with the ids your rows need.
"""

import pytest

from apps.catalog.tests.factories import ProductFactory, VariantFactory, vid
from apps.organizations.models import Membership
from apps.organizations.tests.factories import InvitationFactory, MembershipFactory

pytestmark = pytest.mark.django_db

CALLERS = ("owner", "admin", "member", "viewer", "outsider", "anonymous")
ORG = "/api/v1/organizations/{org}"


def row(name, method, path, expected, body=None, anonymous=401):
    """``expected``: statuses for owner, admin, member, viewer, outsider; ``anonymous`` (401 unless public).

    String values in ``body`` are templates filled from ``world`` like the path.
    """
    return name, method, path, body, dict(zip(CALLERS, (*expected, anonymous), strict=True))


PRODUCTS = "/api/v1/products"
BILLING = "/api/v1/billing"
CHECKOUT_BODY = {
    "organization": "{org}",
    "plan": "pro",
    "interval": "month",
    "success_url": "https://app.example.com/done",
    "cancel_url": "https://app.example.com/billing",
}
PORTAL_BODY = {"organization": "{org}", "return_url": "https://app.example.com/billing"}


MATRIX = [
    # organizations
    row("org-detail", "get", f"{ORG}/", (200, 200, 200, 200, 404)),
    row("org-update", "patch", f"{ORG}/", (200, 200, 403, 403, 404), {"name": "Renamed"}),
    row("org-delete", "delete", f"{ORG}/", (204, 403, 403, 403, 404)),
    # the owner is the last owner: leaving is refused
    row("org-leave", "post", f"{ORG}/leave/", (409, 204, 204, 204, 404)),
    # members
    row("members-list", "get", f"{ORG}/members/", (200, 200, 200, 200, 404)),
    row("member-detail", "get", f"{ORG}/members/{{target}}/", (200, 200, 200, 200, 404)),
    row("member-update", "patch", f"{ORG}/members/{{target}}/", (200, 200, 403, 403, 404), {"role": "viewer"}),
    row("member-remove", "delete", f"{ORG}/members/{{target}}/", (204, 204, 403, 403, 404)),
    row("foreign-member-detail", "get", f"{ORG}/members/{{foreign_membership}}/", (404, 404, 404, 404, 404)),
    row("foreign-member-remove", "delete", f"{ORG}/members/{{foreign_membership}}/", (404, 404, 403, 403, 404)),
    # invitations
    row("invitations-list", "get", f"{ORG}/invitations/", (200, 200, 403, 403, 404)),
    row(
        "invitation-create",
        "post",
        f"{ORG}/invitations/",
        (201, 201, 403, 403, 404),
        {"email": "fresh@example.com", "role": "viewer"},
    ),
    row("invitation-revoke", "delete", f"{ORG}/invitations/{{invitation}}/", (204, 204, 403, 403, 404)),
    row("foreign-invitation-revoke", "delete", f"{ORG}/invitations/{{foreign_invitation}}/", (404, 404, 403, 403, 404)),
    # audit log
    row("audit-logs-list", "get", f"{ORG}/audit-logs/", (200, 200, 403, 403, 404)),
    # products (reads of active products are public; drafts are the organization's)
    row("product-detail-active", "get", f"{PRODUCTS}/{{product}}/", (200, 200, 200, 200, 200), anonymous=200),
    row("product-detail-draft", "get", f"{PRODUCTS}/{{draft}}/", (200, 200, 200, 200, 404), anonymous=404),
    row(
        "product-create",
        "post",
        f"{PRODUCTS}/",
        (201, 201, 201, 403, 404),
        {"organization": "{org}", "name": "Matrix", "price_cents": 100},
    ),
    row("product-update", "patch", f"{PRODUCTS}/{{product}}/", (200, 200, 200, 403, 404), {"price_cents": 5}),
    row("product-delete", "delete", f"{PRODUCTS}/{{product}}/", (204, 204, 403, 403, 404)),
    row("product-publish", "post", f"{PRODUCTS}/{{draft}}/publish/", (200, 200, 200, 403, 404)),
    row("product-archive", "post", f"{PRODUCTS}/{{product}}/archive/", (200, 200, 200, 403, 404)),
    row(
        "product-adjust-inventory",
        "post",
        f"{PRODUCTS}/{{product}}/adjust-inventory/",
        (200, 200, 200, 403, 404),
        {"delta": 1, "reason": "matrix", "variant": "{variant}"},  # the product has two variants
    ),
    row(
        "product-bulk-update",
        "post",
        f"{PRODUCTS}/bulk-update/",
        (200, 200, 200, 403, 404),
        {"ids": ["{product}"], "changes": {"price_cents": 1}},
    ),
    # variants (reads follow the product's; writes need change_products; a product keeps one variant)
    row("variants-list", "get", f"{PRODUCTS}/{{product}}/variants/", (200, 200, 200, 200, 200), anonymous=200),
    row("variants-list-draft", "get", f"{PRODUCTS}/{{draft}}/variants/", (200, 200, 200, 200, 404), anonymous=404),
    row(
        "variant-create",
        "post",
        f"{PRODUCTS}/{{product}}/variants/",
        (201, 201, 201, 403, 404),
        {"option_values": {"size": "XL"}, "inventory_quantity": 3},
    ),
    row(
        "variant-detail",
        "get",
        f"{PRODUCTS}/{{product}}/variants/{{variant}}/",
        (200, 200, 200, 200, 200),
        anonymous=200,
    ),
    row(
        "variant-update",
        "patch",
        f"{PRODUCTS}/{{product}}/variants/{{variant}}/",
        (200, 200, 200, 403, 404),
        {"price_cents": 5},
    ),
    row("variant-delete", "delete", f"{PRODUCTS}/{{product}}/variants/{{extra_variant}}/", (204, 204, 204, 403, 404)),
    row(
        "variant-delete-last",
        "delete",
        f"{PRODUCTS}/{{draft}}/variants/{{draft_variant}}/",
        (409, 409, 409, 403, 404),
    ),
    row(
        "foreign-variant-update",
        "patch",
        f"{PRODUCTS}/{{foreign_draft}}/variants/{{foreign_variant}}/",
        (404, 404, 404, 404, 200),
        {"price_cents": 5},
    ),
    # another product's variant under this product's path: not found for everyone
    row(
        "variant-under-other-product",
        "patch",
        f"{PRODUCTS}/{{product}}/variants/{{foreign_variant}}/",
        (404, 404, 404, 404, 404),
        {"price_cents": 5},
    ),
    # the other organization's draft, reached by this organization's users (the outsider owns it)
    row(
        "foreign-product-update",
        "patch",
        f"{PRODUCTS}/{{foreign_draft}}/",
        (404, 404, 404, 404, 200),
        {"price_cents": 5},
    ),
    # analytics (owner, admin, member)
    row("analytics-daily", "get", f"{ORG}/analytics/daily/", (200, 200, 200, 403, 404)),
    row("analytics-summary", "get", f"{ORG}/analytics/summary/", (200, 200, 200, 403, 404)),
    # webhooks (owner, admin)
    row("webhooks-list", "get", f"{ORG}/webhooks/", (200, 200, 403, 403, 404)),
    row(
        "webhook-create",
        "post",
        f"{ORG}/webhooks/",
        (201, 201, 403, 403, 404),
        {"url": "https://hooks.example.com/in"},
    ),
    row("webhook-detail", "get", f"{ORG}/webhooks/{{endpoint}}/", (200, 200, 403, 403, 404)),
    row("webhook-update", "patch", f"{ORG}/webhooks/{{endpoint}}/", (200, 200, 403, 403, 404), {"description": "x"}),
    row("webhook-delete", "delete", f"{ORG}/webhooks/{{endpoint}}/", (204, 204, 403, 403, 404)),
    row("webhook-test", "post", f"{ORG}/webhooks/{{endpoint}}/test/", (202, 202, 403, 403, 404)),
    row("webhook-rotate-secret", "post", f"{ORG}/webhooks/{{endpoint}}/rotate-secret/", (200, 200, 403, 403, 404)),
    row(
        "webhook-replay",
        "post",
        f"{ORG}/webhooks/{{endpoint}}/replay/",
        (202, 202, 403, 403, 404),
        {"from": "2020-01-01T00:00:00Z", "to": "2030-01-01T00:00:00Z"},
    ),
    row("webhook-deliveries", "get", f"{ORG}/webhooks/{{endpoint}}/deliveries/", (200, 200, 403, 403, 404)),
    row(
        "webhook-delivery-detail",
        "get",
        f"{ORG}/webhooks/{{endpoint}}/deliveries/{{delivery}}/",
        (200, 200, 403, 403, 404),
    ),
    row(
        "webhook-delivery-replay",
        "post",
        f"{ORG}/webhooks/{{endpoint}}/deliveries/{{delivery}}/replay/",
        (202, 202, 403, 403, 404),
    ),
    row("foreign-webhook-detail", "get", f"{ORG}/webhooks/{{foreign_endpoint}}/", (404, 404, 403, 403, 404)),
    row(
        "foreign-webhook-deliveries",
        "get",
        f"{ORG}/webhooks/{{foreign_endpoint}}/deliveries/",
        (404, 404, 403, 403, 404),
    ),
    row(
        "foreign-webhook-delivery-detail",
        "get",
        f"{ORG}/webhooks/{{endpoint}}/deliveries/{{foreign_delivery}}/",
        (404, 404, 403, 403, 404),
    ),
    # billing (owner changes, admin reads; checkout and portal name the organization in the body)
    row("billing-plans", "get", f"{BILLING}/plans/", (200, 200, 200, 200, 200), anonymous=200),
    row("billing-overview", "get", f"{ORG}/billing/", (200, 200, 403, 403, 404)),
    # no subscription yet: the owner gets past the permission check to the rule
    row("billing-cancel", "post", f"{ORG}/billing/cancel", (409, 403, 403, 403, 404)),
    row("billing-resume", "post", f"{ORG}/billing/resume", (409, 403, 403, 403, 404)),
    row("billing-checkout", "post", f"{BILLING}/checkout", (201, 403, 403, 403, 404), CHECKOUT_BODY),
    row(
        "foreign-billing-checkout",
        "post",
        f"{BILLING}/checkout",
        (404, 404, 404, 404, 201),
        {**CHECKOUT_BODY, "organization": "{foreign_org}"},
    ),
    # no Stripe customer yet: the owner gets past the permission check to the rule
    row("billing-portal", "post", f"{BILLING}/portal", (409, 403, 403, 403, 404), PORTAL_BODY),
    row(
        "foreign-billing-portal",
        "post",
        f"{BILLING}/portal",
        (404, 404, 404, 404, 409),
        {**PORTAL_BODY, "organization": "{foreign_org}"},
    ),
]


def fill(value, ids):
    """Fill ``{name}`` templates in a request body from the world's ids."""
    if isinstance(value, str):
        return value.format(**ids)
    if isinstance(value, list):
        return [fill(v, ids) for v in value]
    if isinstance(value, dict):
        return {k: fill(v, ids) for k, v in value.items()}
    return value


@pytest.fixture
def world(organization, owner, admin, member, viewer, outsider, other_organization):
    from apps.webhooks.tests.factories import WebhookDeliveryFactory, WebhookEndpointFactory

    target = MembershipFactory(organization=organization, role="member")
    product = ProductFactory(organization=organization)
    draft = ProductFactory(organization=organization, status="draft", published_at=None)
    foreign_draft = ProductFactory(organization=other_organization, status="draft", published_at=None)
    endpoint = WebhookEndpointFactory(organization=organization)
    foreign_endpoint = WebhookEndpointFactory(organization=other_organization)
    return {
        "users": {"owner": owner, "admin": admin, "member": member, "viewer": viewer, "outsider": outsider},
        "ids": {
            "org": organization.pk,
            "target": target.pk,
            "invitation": InvitationFactory(organization=organization).pk,
            "foreign_membership": Membership.objects.get(organization=other_organization, user=outsider).pk,
            "foreign_invitation": InvitationFactory(organization=other_organization).pk,
            "product": product.pk,
            "variant": vid(product),
            "extra_variant": VariantFactory(product=product).pk,
            "draft": draft.pk,
            "draft_variant": vid(draft),
            "foreign_draft": foreign_draft.pk,
            "foreign_variant": vid(foreign_draft),
            "endpoint": endpoint.pk,
            "delivery": WebhookDeliveryFactory(endpoint=endpoint, status="failed").pk,
            "foreign_endpoint": foreign_endpoint.pk,
            "foreign_delivery": WebhookDeliveryFactory(endpoint=foreign_endpoint, status="failed").pk,
            "foreign_org": other_organization.pk,
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
    if "/billing" in path:  # billing rows talk to the local Stripe (a real server, started once per worker)
        request.getfixturevalue("stripe_prices")
    client = api_client if caller == "anonymous" else api_client_for(world["users"][caller])
    url = path.format(**world["ids"])
    body = fill(body, world["ids"])

    response = getattr(client, method)(url, body, format="json") if body else getattr(client, method)(url)

    assert response.status_code == expected, response.content
    if expected >= 400:
        assert response.json()["error"]["code"] in {"UNAUTHORIZED", "FORBIDDEN", "NOT_FOUND", "CONFLICT"}
