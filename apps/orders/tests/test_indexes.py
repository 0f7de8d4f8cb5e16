"""The order, audit and admin lists are served by indexes on data of realistic shape (EXPLAIN, after ANALYZE).

Generated set-based (``INSERT … SELECT generate_series``, as the scale
benchmark does): one large tenant holding half the orders among many small
ones, customers with a few orders each, an audit entry per order. A
sequential scan in any of these plans means the list reads the whole table
at scale (the ``make bench-scale`` lists, docs/benchmarks.md).
"""

import re

import pytest
from django.contrib import admin
from django.db import connection, transaction
from django.test import RequestFactory
from django.utils import timezone

from apps.accounts.tests.factories import UserFactory
from apps.audit.models import AuditLog
from apps.catalog.models import Product
from apps.catalog.tests.factories import ProductFactory, copy_products
from apps.entitlements import usage_period_start
from apps.orders import selectors
from apps.orders.models import Order, OrderItem
from apps.organizations.tests.factories import OrganizationFactory

pytestmark = pytest.mark.django_db

ORDERS = 20_000


@pytest.fixture
def populated(organization):
    """``organization`` holds half of the orders; 39 others and 50 customers share the rest."""
    tenants = [organization, *OrganizationFactory.create_batch(39)]
    customers = UserFactory.create_batch(50)
    product = ProductFactory(organization=organization)
    copy_products(template=product, tenants=tenants, count=ORDERS)
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO orders_order (id, created_at, updated_at, organization_id, user_id, customer_email, "
            "order_number, status, payment_status, fulfillment_status, subtotal_cents, discount_cents, tax_cents, "
            "shipping_cents, total_cents, currency, shipping_address, billing_address, customer_notes, "
            "internal_notes, metadata, stripe_payment_intent_id, carrier, tracking_number, cancel_reason, emails_sent) "
            "SELECT gen_random_uuid(), now() - g * interval '1 minute', now(), "
            "CASE WHEN g %% 2 = 0 THEN %s::uuid ELSE (%s::uuid[])[1 + g %% 39] END, "
            "(%s::uuid[])[1 + g %% 50], 'c@example.com', 1000 + g, "
            "(ARRAY['pending','confirmed','shipped','delivered','cancelled'])[1 + g %% 5], 'pending', 'unfulfilled', "
            "1000, 0, 0, 0, 1000, 'USD', '{}', '{}', '', '', '{}', '', '', '', '', '{}' "
            "FROM generate_series(1, %s) AS g",
            [organization.pk, [t.pk for t in tenants[1:]], [c.pk for c in customers], ORDERS],
        )
        cursor.execute(
            "INSERT INTO orders_orderitem (id, created_at, updated_at, order_id, product_id, position, "
            "product_snapshot, quantity, unit_price_cents, total_cents, fulfilled_quantity) "
            "SELECT gen_random_uuid(), o.created_at, o.created_at, o.id, %s, 0, '{}', 1, 1000, 1000, 0 "
            "FROM orders_order o",
            [product.pk],
        )
        cursor.execute(
            "INSERT INTO audit_auditlog (id, created_at, organization_id, actor_id, user_agent, request_id, action, "
            "resource_type, resource_id) "
            "SELECT gen_random_uuid(), o.created_at, o.organization_id, o.user_id, '', '', 'order.created', "
            "'order', o.id::text FROM orders_order o"
        )
    return organization


LARGE_TABLES = ("orders_order", "orders_orderitem", "audit_auditlog", "catalog_product")


def scanned_whole(text: str) -> list[str]:
    """The large tables a plan reads sequentially (small lookup tables may be, at any size they have here)."""
    found = re.findall(r"Seq Scan on (\w+)", text)
    return [table for table in found if table in LARGE_TABLES or table.startswith("audit_auditlog_")]


def plan(queryset) -> str:
    with transaction.atomic(), connection.cursor() as cursor:
        # Statistics of the rows at hand, not of whatever earlier tests left behind.
        for table in ("orders_order", "orders_orderitem", "audit_auditlog", "catalog_product"):
            cursor.execute(f"ANALYZE {table}")
        return queryset.explain()


def changelist(model, **params):
    """The queryset of the admin changelist page of ``model`` for a superuser, as Django builds it."""
    request = RequestFactory().get("/", params)
    request.user = UserFactory(is_staff=True, is_superuser=True)
    model_admin = admin.site._registry[model]
    return model_admin.get_changelist_instance(request).get_queryset(request)[:100]


def test_a_members_order_list_walks_an_index(populated, member):
    queryset = selectors.order_list(user=member).order_by("-created_at", "-id")[:26]
    assert not scanned_whole(text := plan(queryset)), text


def test_a_customers_order_list_walks_an_index(populated):
    customer = Order.objects.filter(organization=populated).values_list("user", flat=True).first()
    queryset = selectors.order_list(user=UserFactory.build(pk=customer)).order_by("-created_at", "-id")[:26]
    assert not scanned_whole(text := plan(queryset)), text


def test_the_order_items_of_a_page_are_read_by_the_order_index(populated):
    page = list(Order.objects.filter(organization=populated).values_list("pk", flat=True)[:26])
    assert not scanned_whole(text := plan(OrderItem.objects.filter(order_id__in=page))), text


@pytest.mark.parametrize("params", [{}, {"status__exact": "shipped"}])
def test_the_orders_admin_changelist_walks_an_index(populated, params):
    assert not scanned_whole(text := plan(changelist(Order, **params))), text


def test_the_orders_admin_changelist_of_one_organization_walks_an_index(populated):
    assert not scanned_whole(text := plan(changelist(Order, organization__id__exact=str(populated.pk)))), text


def test_the_products_admin_changelist_walks_an_index(populated):
    assert not scanned_whole(text := plan(changelist(Product))), text


def test_the_audit_admin_changelist_walks_an_index(populated):
    assert not scanned_whole(text := plan(changelist(AuditLog))), text


def test_the_monthly_usage_count_walks_the_organization_index(populated):
    since = usage_period_start(organization=populated, now=timezone.now())
    assert not scanned_whole(text := plan(Order.objects.filter(organization=populated, created_at__gte=since))), text
