import pytest
from django.core.management import call_command

from apps.audit.models import AuditLog
from apps.catalog.models import Product, ProductVariant
from apps.catalog.tests.admin_forms import product_form_data
from apps.catalog.tests.factories import ProductFactory
from apps.organizations.tests.factories import MembershipFactory

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/catalog/product/"


def test_changelist_runs_constant_queries(admin_client, organization, django_assert_num_queries):
    ProductFactory.create_batch(100, organization=organization)
    # session, user, the bounded count of the live products (no second count of the whole table, no list of
    # every organization for the filter), the page with each product's stock summed in it
    with django_assert_num_queries(4):
        response = admin_client.get(f"{CHANGELIST}?all=")
    assert response.status_code == 200
    assert response.content.decode().count("/change/") >= 100


def test_soft_deleted_products_are_hidden_unless_asked_for(admin_client, organization):
    alive = ProductFactory(organization=organization, name="Alive Lamp")
    ProductFactory(organization=organization, name="Buried Lamp", deleted_at="2026-01-01T00:00:00Z")
    default = admin_client.get(CHANGELIST).content.decode()
    assert alive.name in default
    assert "Buried Lamp" not in default
    assert "Buried Lamp" in admin_client.get(f"{CHANGELIST}?deleted=yes").content.decode()


def test_search_by_name_and_sku(admin_client, organization):
    ProductFactory(organization=organization, name="Findable Kettle", sku="KT-1")
    ProductFactory(organization=organization, name="Other Thing", sku="OT-1")
    page = admin_client.get(f"{CHANGELIST}?q=KT-1").content.decode()
    assert "Findable Kettle" in page
    assert "Other Thing" not in page


def test_actions_go_through_audited_services(admin_client, organization):
    product = ProductFactory(organization=organization, status="draft", published_at=None, inventory_quantity=1)
    admin_client.post(CHANGELIST, {"action": "publish", "_selected_action": [str(product.id)]})
    admin_client.post(CHANGELIST, {"action": "restock_ten", "_selected_action": [str(product.id)]})
    product.refresh_from_db()
    assert product.status == Product.Status.ACTIVE
    assert product.inventory_quantity == 11
    actions = set(AuditLog.objects.filter(resource_id=str(product.id)).values_list("action", flat=True))
    assert {"product.active", "product.inventory_adjusted"} <= actions


def test_editing_a_product_in_the_admin_is_audited(admin_client, organization):
    product = ProductFactory(organization=organization, price_cents=100)
    url = f"{CHANGELIST}{product.id}/change/"
    data = {**product_form_data(admin_client, url), "price_cents": 250}
    response = admin_client.post(url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors if response.context else ""
    product.refresh_from_db()
    assert product.price_cents == 250
    assert AuditLog.objects.filter(action="product.updated", resource_id=str(product.id)).exists()


def test_variants_are_added_in_the_admin_through_the_audited_service(admin_client, organization):
    product = ProductFactory(organization=organization, sku="TEE-M")
    url = f"{CHANGELIST}{product.id}/change/"
    extra = {"sku": "TEE-L", "option_values": '{"size": "L"}', "price_cents": "1500", "position": "1"}
    response = admin_client.post(url, product_form_data(admin_client, url, {**extra, "track_inventory": "on"}))
    assert response.status_code == 302, response.context["adminform"].form.errors if response.context else ""
    large = ProductVariant.objects.get(product=product, sku="TEE-L")
    assert (large.option_values, large.price_cents, large.is_default) == ({"size": "L"}, 1500, False)
    assert AuditLog.objects.filter(action="product_variant.created", resource_id=str(large.id)).exists()
    # the changelist finds it by the new SKU
    assert product.name in admin_client.get(f"{CHANGELIST}?q=TEE-L").content.decode()


def test_staff_who_are_not_superusers_see_only_their_organizations(client, organization, other_organization):
    from django.contrib.auth.models import Permission

    staff = MembershipFactory(organization=organization, role="admin").user
    staff.is_staff = True
    staff.save()
    staff.user_permissions.add(*Permission.objects.filter(codename__in=["view_product", "change_product"]))
    ProductFactory(organization=organization, name="Our Product")
    ProductFactory(organization=other_organization, name="Their Product")
    client.force_login(staff)
    page = client.get(CHANGELIST).content.decode()
    assert "Our Product" in page
    assert "Their Product" not in page


def test_seed_demo_creates_a_browsable_catalog_once():
    call_command("seed_demo")
    count = Product.objects.count()
    call_command("seed_demo")
    assert Product.objects.count() == count
    assert count >= 30
    assert Product.objects.filter(status="active").count() > Product.objects.exclude(status="active").count() > 0
