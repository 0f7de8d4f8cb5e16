"""Tenant isolation over GraphQL: one table, one row per path into Acme's data.

Acme (``organization``) has secrets: a draft and an archived product, an order
placed by one of its customers (with internal notes), its members' emails and
its billing email. Each row is a document that reaches for them through one
path of root and nested fields. For the ``outsider`` (the owner of Globex)
and for ``anonymous`` callers, none of the secrets may appear anywhere in the
response, and the row's error codes are the REST ones (NOT_FOUND, never
FORBIDDEN: no existence leak). The same document sent by Acme's owner does
reveal at least one secret, which shows that the row really reaches the data.

The outsider is also a customer of Acme: their own order is theirs to read,
with the snapshot of what they bought, but neither Acme's organization nor
the product as it is now (withdrawn to draft and renamed since the sale).
"""

from __future__ import annotations

import json

import pytest

from apps.accounts.tests.factories import UserFactory
from apps.catalog.models import Product
from apps.catalog.tests.factories import ProductFactory, vid
from apps.orders.tests.factories import OrderFactory
from apps.organizations.models import Organization

pytestmark = pytest.mark.django_db

SECRET_NOTE = "acme-internal-note-7f3a"
SECRET_BILLING = "billing-7f3a@acme.test"
SECRET_SKU = "SECRET-SKU-7f3a"

PRODUCT_FIELDS = "id name status inventoryQuantity variants { id sku inventoryQuantity }"
ORDER_FIELDS = "id orderNumber customerEmail internalNotes items { productSnapshot product { id name } }"
ORGANIZATION_FIELDS = f"""
  id slug billingEmail members {{ email }}
  products(first: 100) {{ edges {{ node {{ {PRODUCT_FIELDS} }} }} }}
  orders(first: 100) {{ edges {{ node {{ {ORDER_FIELDS} }} }} }}
"""


def row(name, document, *, outsider=(), anonymous=None, owner_sees=True):
    """``outsider``/``anonymous``: the error codes expected (anonymous defaults to the outsider's)."""
    return pytest.param(document, set(outsider), set(outsider if anonymous is None else anonymous), owner_sees, id=name)


MATRIX = [
    # --- product lists and lookups
    row("products", f"{{ products(first: 100) {{ edges {{ node {{ {PRODUCT_FIELDS} }} }} }} }}"),
    row(
        "products-of-acme-by-slug-and-status",
        f'{{ d: products(organization: "acme", status: DRAFT) {{ edges {{ node {{ {PRODUCT_FIELDS} }} }} }}'
        f' a: products(organization: "{{acme_id}}", status: ARCHIVED) {{ edges {{ node {{ id }} }} }} }}',
    ),
    row("products-search", '{ products(search: "secret") { edges { node { id name } } } }'),
    row("product-draft", '{ product(id: "{draft}") { id name } }', outsider=["NOT_FOUND"]),
    row("product-archived", '{ product(id: "{archived}") { id name } }', outsider=["NOT_FOUND"]),
    row(
        "public-product-to-its-organization",
        f'{{ product(id: "{{active}}") {{ id organization {{ {ORGANIZATION_FIELDS} }} }} }}',
    ),
    row(
        "public-products-to-their-organization",
        f"{{ products(first: 100) {{ edges {{ node {{ organization {{ {ORGANIZATION_FIELDS} }} }} }} }} }}",
    ),
    # --- organizations
    row(
        "organization-by-slug", f'{{ organization(slug: "acme") {{ {ORGANIZATION_FIELDS} }} }}', outsider=["NOT_FOUND"]
    ),
    row(
        "organization-by-id",
        f'{{ organization(id: "{{acme_id}}") {{ {ORGANIZATION_FIELDS} }} }}',
        outsider=["NOT_FOUND"],
        anonymous=["UNAUTHORIZED"],
    ),
    row(
        "my-organizations-and-everything-below",
        f"{{ organizations {{ {ORGANIZATION_FIELDS} }} }}",
        anonymous=["UNAUTHORIZED"],
    ),
    # --- orders
    row(
        "orders",
        f"{{ orders(first: 100) {{ edges {{ node {{ {ORDER_FIELDS} organization {{ {ORGANIZATION_FIELDS} }} }} }} }} }}",  # noqa: E501
        anonymous=["UNAUTHORIZED"],
    ),
    row(
        "orders-of-acme",
        f'{{ orders(organization: "{{acme_id}}") {{ edges {{ node {{ {ORDER_FIELDS} }} }} }} }}',
        anonymous=["UNAUTHORIZED"],
    ),
    row(
        "orders-search-acme-customer",
        '{ orders(search: "{customer_email}") { edges { node { id customerEmail } } } }',
        anonymous=["UNAUTHORIZED"],
    ),
    row(
        "order",
        f'{{ order(id: "{{order}}") {{ {ORDER_FIELDS} user {{ email }} }} }}',
        outsider=["NOT_FOUND"],
        anonymous=["UNAUTHORIZED"],
    ),
    row(
        "my-own-order-at-acme-to-its-organization-and-hidden-product",
        f'{{ order(id: "{{outsider_order}}") {{ id organization {{ {ORGANIZATION_FIELDS} }} items {{ product {{ {PRODUCT_FIELDS} }} }} }} }}',  # noqa: E501
        anonymous=["UNAUTHORIZED"],
        owner_sees=True,
    ),
    row(
        "daily-metrics-of-acme",
        '{ dailyMetrics(organizationId: "{acme_id}") { day orderCount topProducts { productId name } } }',
        outsider=["NOT_FOUND"],
        anonymous=["UNAUTHORIZED"],
        owner_sees=False,  # the numbers carry no secret of the table; NOT_FOUND is the rule
    ),
    # --- writes answer NOT_FOUND and leak nothing
    row(
        "publish-draft",
        'mutation { publishProduct(id: "{draft}") { id name } }',
        outsider=["NOT_FOUND"],
        anonymous=["UNAUTHORIZED"],
    ),
    row(
        "adjust-inventory",
        'mutation { adjustInventory(id: "{draft}", delta: 1, reason: "x") { id name inventoryQuantity } }',
        outsider=["NOT_FOUND"],
        anonymous=["UNAUTHORIZED"],
    ),
    # --- variants: the draft's, reached through its product
    row(
        "variants-of-draft",
        '{ product(id: "{draft}") { variants { id sku inventoryQuantity } } }',
        outsider=["NOT_FOUND"],
    ),
    row(
        "create-variant-on-draft",
        'mutation { createVariant(productId: "{draft}", input: {optionValues: {size: "XL"}}) { id sku } }',
        outsider=["NOT_FOUND"],
        anonymous=["UNAUTHORIZED"],
        owner_sees=False,
    ),
    row(
        "update-variant-of-draft",
        'mutation { updateVariant(productId: "{draft}", id: "{draft_variant}", input: {priceCents: 1}) { id sku } }',
        outsider=["NOT_FOUND"],
        anonymous=["UNAUTHORIZED"],
    ),
    row(
        "update-draft-variant-through-my-product",
        'mutation { updateVariant(productId: "{theirs}", id: "{draft_variant}", input: {priceCents: 1}) { sku } }',
        outsider=["NOT_FOUND"],
        anonymous=["UNAUTHORIZED"],
        owner_sees=False,
    ),
    row(
        "delete-variant-of-draft",
        'mutation { deleteVariant(productId: "{draft}", id: "{draft_variant}") }',
        outsider=["NOT_FOUND"],
        anonymous=["UNAUTHORIZED"],
        owner_sees=False,
    ),
    row(
        "update-acme",
        'mutation { updateOrganization(id: "{acme_id}", input: {name: "Mine"}) { id billingEmail } }',
        outsider=["NOT_FOUND"],
        anonymous=["UNAUTHORIZED"],
        owner_sees=True,
    ),
    row(
        "invite-to-acme",
        'mutation { inviteMember(organizationId: "{acme_id}", email: "spy@globex.test") { id } }',
        outsider=["NOT_FOUND"],
        anonymous=["UNAUTHORIZED"],
        owner_sees=False,
    ),
    row(
        "create-product-in-acme",
        'mutation { createProduct(input: {organizationId: "{acme_id}", name: "Spy", priceCents: 1}) { id } }',
        outsider=["NOT_FOUND"],
        anonymous=["UNAUTHORIZED"],
        owner_sees=False,
    ),
    row(
        "confirm-acme-order",
        f'mutation {{ confirmOrder(id: "{{order}}") {{ {ORDER_FIELDS} }} }}',
        outsider=["NOT_FOUND"],
        anonymous=["UNAUTHORIZED"],
    ),
]


@pytest.fixture
def world(organization, owner, member, outsider, other_organization):
    Organization.objects.filter(pk=organization.pk).update(billing_email=SECRET_BILLING)
    active = ProductFactory(organization=organization, name="Public kettle")
    draft = ProductFactory(organization=organization, name="Secret draft", status=Product.Status.DRAFT, sku=SECRET_SKU)
    archived = ProductFactory(organization=organization, name="Secret archived", status=Product.Status.ARCHIVED)
    hidden_later = ProductFactory(organization=organization, name="Secret withdrawn")
    customer = UserFactory(email="acme-customer-7f3a@example.com")
    order = OrderFactory(organization=organization, user=customer, internal_notes=SECRET_NOTE, lines=[(active, 1)])
    outsider_order = OrderFactory(organization=organization, user=outsider, lines=[(hidden_later, 1)])
    # Withdrawn after the sale: the customer keeps the snapshot, not a view of the product as it is now.
    Product.objects.filter(pk=hidden_later.pk).update(status=Product.Status.DRAFT, name="Secret renamed draft")
    theirs = ProductFactory(organization=other_organization, name="Globex kettle")
    OrderFactory(organization=other_organization, user=outsider)
    ids = {
        "acme_id": organization.pk,
        "active": active.pk,
        "draft": draft.pk,
        "draft_variant": vid(draft),
        "theirs": theirs.pk,
        "archived": archived.pk,
        "order": order.pk,
        "outsider_order": outsider_order.pk,
        "customer_email": customer.email,
    }
    secrets = [
        str(draft.pk),
        str(archived.pk),
        str(order.pk),
        "Secret draft",
        "Secret renamed draft",
        "Secret archived",
        SECRET_NOTE,
        SECRET_BILLING,
        SECRET_SKU,
        customer.email,
        owner.email,
        member.email,
    ]
    return {"ids": ids, "secrets": secrets}


def _fill(document: str, ids: dict) -> str:
    for name, value in ids.items():
        document = document.replace(f"{{{name}}}", str(value))
    return document


def _leaks(result, secrets) -> list[str]:
    text = json.dumps(result.body)
    return [secret for secret in secrets if secret in text]


@pytest.mark.parametrize(("document", "outsider_codes", "anonymous_codes", "owner_sees"), MATRIX)
def test_other_tenants_see_nothing_of_acme(
    gql, world, outsider, owner, document, outsider_codes, anonymous_codes, owner_sees
):
    document = _fill(document, world["ids"])

    as_outsider = gql(document, user=outsider)
    as_anonymous = gql(document)

    assert _leaks(as_outsider, world["secrets"]) == [], as_outsider.body
    assert set(as_outsider.codes) == outsider_codes, as_outsider.body
    assert "FORBIDDEN" not in as_outsider.codes
    assert _leaks(as_anonymous, world["secrets"]) == [], as_anonymous.body
    assert set(as_anonymous.codes) <= anonymous_codes | {"UNAUTHORIZED"}, as_anonymous.body
    if owner_sees:
        # the control: the same path does lead to Acme's secrets for Acme's owner
        as_owner = gql(document, user=owner)
        assert _leaks(as_owner, world["secrets"]), as_owner.body
