"""The admin speaks to people: money as money, audit changes as rows, memberships by name, honest messages."""

import re

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from apps.audit.admin import RESOURCE_TYPES
from apps.audit.display import change_rows
from apps.audit.models import AuditLog
from apps.audit.services import record
from apps.catalog.tests.factories import ProductFactory
from apps.core.money import format_money
from apps.orders.models import Order
from apps.orders.tests.factories import OrderFactory
from apps.organizations.models import Membership

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(client, staff_user):
    client.force_login(staff_user)
    return client


@pytest.mark.parametrize(
    ("cents", "currency", "shown"),
    [(9450, "USD", "94.50 USD"), (5, "EUR", "0.05 EUR"), (-120, "GBP", "-1.20 GBP"), (500, "JPY", "500 JPY")],
)
def test_money_is_formatted_from_integer_cents(cents, currency, shown):
    assert format_money(cents, currency) == shown


def test_product_list_shows_the_price_as_money(staff_client, organization):
    ProductFactory(organization=organization, price_cents=9450, currency="USD", name="Espresso cup")

    body = staff_client.get(reverse("admin:catalog_product_changelist")).content.decode()

    assert "94.50 USD" in body
    assert "9450" not in body
    assert "price cents" not in body.lower()


def test_order_page_shows_amounts_as_money(staff_client, organization):
    order = OrderFactory(organization=organization)

    body = staff_client.get(reverse("admin:orders_order_change", args=[order.pk])).content.decode()

    assert format_money(order.total_cents, order.currency) in body
    assert "total cents" not in body.lower()


def test_audit_changes_are_rows_of_field_before_after(staff_client, organization):
    # given
    record(
        action="product.updated",
        resource_type="product",
        resource_id=organization.pk,
        organization=organization,
        old_values={"price_cents": 9450, "status": "draft"},
        new_values={"price_cents": 9900, "status": "active"},
    )
    entry = AuditLog.objects.get(action="product.updated")
    # when
    body = staff_client.get(reverse("admin:audit_auditlog_change", args=[entry.pk])).content.decode()
    # then
    assert re.search(r"<th scope='row'>price cents</th><td>9450</td><td>9900</td>", body)
    assert re.search(r"<th scope='row'>status</th><td>draft</td><td>active</td>", body)
    assert "{&#x27;" not in body
    assert "{'" not in body


def test_change_rows_cover_added_and_removed_fields():
    assert change_rows({"a": 1}, {"b": True}) == [("b", "—", "yes"), ("a", "1", "—")]


def test_audit_resource_type_filter_offers_every_type_the_services_record(staff_client):
    recorded = set()
    for path in __import__("pathlib").Path(__file__).resolve().parents[2].rglob("*.py"):
        if "tests" not in path.parts and "migrations" not in path.parts:
            recorded |= set(re.findall(r'resource_type="([a-z_]+)"', path.read_text()))

    body = staff_client.get(reverse("admin:audit_auditlog_changelist")).content.decode()

    assert recorded
    assert recorded <= set(RESOURCE_TYPES)
    for name in RESOURCE_TYPES:
        assert f"resource_type={name}" in body


def test_membership_reads_as_person_in_organization_as_role(staff_client, organization, admin):
    membership = Membership.objects.select_related("user", "organization").get(user=admin)

    assert str(membership) == f"{admin.email} in {organization.name} as Admin"
    body = staff_client.get(reverse("admin:organizations_membership_change", args=[membership.pk])).content.decode()
    assert f"{admin.email} in {organization.name} as Admin" in body


def test_transition_with_unsaved_edits_warns_and_keeps_them(staff_client, organization):
    # given: the change page of a pending order, with notes typed but not saved
    order = OrderFactory(organization=organization, status="pending", internal_notes="")
    url = reverse("admin:orders_order_transition", args=[order.pk, "confirm"])
    # when: the "Confirm" button submits the change form
    response = staff_client.post(url, {"internal_notes": "Call the customer first", "metadata": "{}"})
    # then: nothing happened, the page says why and still holds what was typed
    assert response.status_code == 200
    body = response.content.decode()
    assert "unsaved changes" in body
    assert "Call the customer first" in body
    order.refresh_from_db()
    assert (order.status, order.internal_notes) == ("pending", "")


def test_transition_without_edits_still_runs(staff_client, organization):
    order = OrderFactory(organization=organization, status="pending", internal_notes="kept")
    url = reverse("admin:orders_order_transition", args=[order.pk, "confirm"])

    response = staff_client.post(url, {"internal_notes": "kept", "metadata": "{}"})

    assert response.status_code == 302
    assert Order.objects.get(pk=order.pk).status == "confirmed"


def test_bulk_action_that_changed_nothing_says_so_neutrally(staff_client, organization):
    order = OrderFactory(organization=organization, status="delivered")

    response = staff_client.post(
        reverse("admin:orders_order_changelist"),
        {"action": "deliver_orders", "_selected_action": [order.pk]},
        follow=True,
    )

    messages = [(m.level_tag, m.message) for m in get_messages(response.wsgi_request)]
    assert ("info", "Mark delivered: no order was changed.") in messages
