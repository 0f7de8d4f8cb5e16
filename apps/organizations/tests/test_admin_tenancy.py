"""The admin as a tenant-aware door: staff who are not superusers see and change only their organizations'
rows, with their role in that organization (the same service checks as REST), and rule errors are messages.
"""

import pytest
from django.contrib.auth.models import Permission
from django.contrib.messages import get_messages

from apps.accounts.tests.factories import UserFactory
from apps.audit.services import record
from apps.billing.tests.factories import InvoiceFactory, SubscriptionFactory
from apps.catalog.models import Product
from apps.catalog.tests.factories import ProductFactory
from apps.orders.tests.factories import OrderFactory
from apps.organizations.tests.factories import InvitationFactory, MembershipFactory, OrganizationFactory
from apps.webhooks.tests.factories import WebhookDeliveryFactory, WebhookEndpointFactory

pytestmark = pytest.mark.django_db

TENANT_APPS = ["audit", "billing", "catalog", "orders", "organizations", "webhooks", "jobs", "core"]


def _staff(organization, role):
    """A staff member (all admin model permissions, not a superuser) with ``role`` in ``organization``."""
    user = UserFactory(is_staff=True, is_superuser=False)
    user.user_permissions.set(Permission.objects.filter(content_type__app_label__in=TENANT_APPS))
    MembershipFactory(organization=organization, user=user, role=role)
    return user


@pytest.fixture
def rows(organization, other_organization):
    """One row of every tenant model in each organization, named after it."""
    made = {}
    for org in (organization, other_organization):
        tag = org.slug
        endpoint = WebhookEndpointFactory(organization=org, url=f"https://{tag}.example.com/hook")
        made[tag] = {
            "product": ProductFactory(organization=org, name=f"{tag}-product", sku=f"{tag}-sku"),
            "order": OrderFactory(organization=org, user=None, customer_email=f"buyer@{tag}.example.com"),
            "endpoint": endpoint,
            "delivery": WebhookDeliveryFactory(endpoint=endpoint, organization=org, event_type=f"{tag}.event"),
            "invitation": InvitationFactory(organization=org, email=f"invitee@{tag}.example.com"),
            "subscription": SubscriptionFactory(organization=org, stripe_subscription_id=f"sub_{tag}"),
            "invoice": InvoiceFactory(organization=org, stripe_invoice_id=f"in_{tag}"),
        }
        record(action=f"{tag}.audited", resource_type="organization", resource_id=org.pk, organization=org)
    return made


CHANGELISTS = [
    ("/admin/audit/auditlog/", "{tag}.audited"),
    ("/admin/webhooks/webhookendpoint/", "https://{tag}.example.com/hook"),
    ("/admin/webhooks/webhookdelivery/", "{tag}.event"),
    ("/admin/organizations/organization/", "/admin/organizations/organization/{org_id}/change/"),
    ("/admin/organizations/invitation/", "invitee@{tag}.example.com"),
    ("/admin/billing/subscription/", "sub_{tag}"),
    ("/admin/billing/invoice/", "in_{tag}"),
    ("/admin/catalog/product/", "{tag}-product"),
    ("/admin/orders/order/", "buyer@{tag}.example.com"),
]


@pytest.mark.parametrize(("url", "marker"), CHANGELISTS)
def test_staff_see_only_their_organizations_rows(client, rows, organization, other_organization, url, marker):
    # given
    client.force_login(_staff(organization, "admin"))

    # when
    response = client.get(url)

    # then
    assert response.status_code == 200
    page = response.content.decode()
    assert marker.format(tag="acme", org_id=organization.pk) in page
    assert marker.format(tag="globex", org_id=other_organization.pk) not in page


def test_staff_see_only_their_organizations_members(client, organization, other_organization):
    stranger = MembershipFactory(organization=other_organization, role="member").user
    client.force_login(_staff(organization, "admin"))

    page = client.get("/admin/organizations/membership/").content.decode()

    assert "Acme" in page
    assert stranger.email not in page


@pytest.mark.parametrize("url", ["/admin/catalog/product/", "/admin/orders/order/"])
def test_the_by_organization_filter_lists_only_their_organizations(client, rows, organization, url):
    # given: staff of two organizations (one would hide the filter), not of Globex
    staff = _staff(organization, "admin")
    MembershipFactory(organization=OrganizationFactory(name="Initech", slug="initech"), user=staff, role="viewer")
    client.force_login(staff)

    # when
    response = client.get(url)

    # then
    changelist = response.context["cl"]
    spec = next(spec for spec in changelist.filter_specs if spec.title == "organization")
    choices = [str(choice["display"]) for choice in spec.choices(changelist)]
    assert choices == ["All", "Acme", "Initech"]


def test_another_organizations_row_has_no_detail_page(client, rows, organization):
    client.force_login(_staff(organization, "owner"))
    theirs = rows["globex"]["product"]

    response = client.get(f"/admin/catalog/product/{theirs.pk}/change/", follow=True)

    assert "globex-product" not in response.content.decode()
    assert any("doesn’t exist" in str(m) or "doesn't exist" in str(m) for m in get_messages(response.wsgi_request))


def test_superusers_see_every_organization(client, rows, staff_user):
    client.force_login(staff_user)

    page = client.get("/admin/webhooks/webhookendpoint/").content.decode()

    assert "https://acme.example.com/hook" in page
    assert "https://globex.example.com/hook" in page


def test_a_viewer_cannot_publish_with_the_admin_action(client, organization):
    # given: a draft product and a staff member who is only a viewer of its organization
    product = ProductFactory(organization=organization, status="draft", published_at=None)
    client.force_login(_staff(organization, "viewer"))

    # when
    response = client.post(
        "/admin/catalog/product/", {"action": "publish", "_selected_action": [str(product.pk)]}, follow=True
    )

    # then: refused like REST's 403, said as a message
    assert response.status_code == 200
    product.refresh_from_db()
    assert product.status == "draft"
    assert any("permission" in str(m).lower() for m in get_messages(response.wsgi_request))


def test_a_member_may_publish_with_the_admin_action(client, organization):
    product = ProductFactory(organization=organization, status="draft", published_at=None)
    client.force_login(_staff(organization, "member"))

    client.post("/admin/catalog/product/", {"action": "publish", "_selected_action": [str(product.pk)]})

    product.refresh_from_db()
    assert product.status == "active"


# --- rule errors are messages, never a 500 ---------------------------------------------------------


@pytest.mark.parametrize("action", ["publish", "archive", "soft_delete", "restock_ten"])
def test_product_actions_on_a_soft_deleted_product_are_messages(admin_client, organization, action):
    product = ProductFactory(organization=organization, deleted_at="2026-01-01T00:00:00Z", inventory_quantity=1)

    response = admin_client.post(
        "/admin/catalog/product/?deleted=yes", {"action": action, "_selected_action": [str(product.pk)]}, follow=True
    )

    assert response.status_code == 200
    assert any("not found" in str(m).lower() for m in get_messages(response.wsgi_request))
    assert Product.objects.get(pk=product.pk).inventory_quantity == 1


def _form_data(client, url):
    form = client.get(url).context["adminform"].form
    data = {name: form.initial.get(name, "") for name in form.fields}
    data.update(attributes="{}", compare_at_price_cents="")
    return {k: ("on" if v is True else v) for k, v in data.items() if v is not False and v is not None}


def test_saving_a_soft_deleted_product_is_a_message(admin_client, organization):
    product = ProductFactory(organization=organization, price_cents=100, deleted_at="2026-01-01T00:00:00Z")
    url = f"/admin/catalog/product/{product.pk}/change/"
    data = _form_data(admin_client, url)
    data["price_cents"] = 999

    response = admin_client.post(url, data, follow=True)

    assert response.status_code == 200
    assert any("not found" in str(m).lower() for m in get_messages(response.wsgi_request))
    assert Product.objects.get(pk=product.pk).price_cents == 100


def test_a_duplicate_sku_in_the_product_form_is_an_error_not_a_500(admin_client, organization):
    ProductFactory(organization=organization, sku="TAKEN")
    product = ProductFactory(organization=organization, sku="MINE")
    url = f"/admin/catalog/product/{product.pk}/change/"
    data = _form_data(admin_client, url)
    data["sku"] = "TAKEN"

    response = admin_client.post(url, data, follow=True)

    assert response.status_code == 200
    assert Product.objects.get(pk=product.pk).sku == "MINE"
    page = response.content.decode()
    messages = [str(m) for m in get_messages(response.wsgi_request)]
    assert "sku" in " ".join(messages).lower() or "already exists" in page
