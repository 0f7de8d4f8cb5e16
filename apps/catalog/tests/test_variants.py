"""Product variants through REST and the services: CRUD, the single-variant shortcuts, stock, search, the list."""

from collections import Counter

import pytest

from apps.audit.models import AuditLog
from apps.catalog import services
from apps.catalog.models import ProductVariant
from apps.catalog.serializers import ProductOutputSerializer
from apps.catalog.tests.factories import ProductFactory, VariantFactory, vid
from apps.core.exceptions import Conflict, ValidationError

pytestmark = pytest.mark.django_db

URL = "/api/v1/products/"


def variants_url(product, variant=None):
    return f"{URL}{product.pk}/variants/" + (f"{variant.pk if hasattr(variant, 'pk') else variant}/" if variant else "")


# --- the single-variant shortcuts ------------------------------------------------------------


def test_a_new_product_gets_its_default_variant_from_the_product_fields(api_client_for, member, organization):
    body = {
        "organization": str(organization.pk),
        "name": "Tee",
        "price_cents": 1200,
        "sku": "TEE",
        "inventory_quantity": 4,
        "allow_backorder": True,
    }
    response = api_client_for(member).post(URL, body, format="json")
    assert response.status_code == 201, response.content
    data = response.json()
    stock = (data["sku"], data["inventory_quantity"], data["allow_backorder"], data["in_stock"])
    assert stock == ("TEE", 4, True, True)
    (variant,) = data["variants"]
    assert variant["sku"] == "TEE"
    assert variant["is_default"] is True
    assert (variant["price_cents"], variant["effective_price_cents"]) == (None, 1200)
    stored = ProductVariant.objects.get(product_id=data["id"])
    assert (stored.sku, stored.inventory_quantity, stored.allow_backorder, stored.is_default) == ("TEE", 4, True, True)


def test_negative_stock_without_backorder_is_a_400_naming_the_field(api_client_for, member, organization):
    body = {"organization": str(organization.pk), "name": "Tee", "price_cents": 1200, "inventory_quantity": -1}
    response = api_client_for(member).post(URL, body, format="json")
    assert response.status_code == 400
    assert "inventory_quantity" in response.json()["error"]["details"]


def test_patching_sku_or_stock_on_a_product_writes_its_only_variant(api_client_for, member, organization):
    product = ProductFactory(organization=organization, sku="OLD")
    body = {"sku": "NEW", "track_inventory": False}
    response = api_client_for(member).patch(f"{URL}{product.pk}/", body, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["sku"] == "NEW"
    variant = ProductVariant.objects.get(product=product)
    assert (variant.sku, variant.track_inventory) == ("NEW", False)
    assert AuditLog.objects.filter(action="product_variant.updated", resource_id=str(variant.pk)).exists()


def test_product_level_stock_writes_on_several_variants_name_the_variant(api_client_for, member, organization):
    product = ProductFactory(organization=organization)
    VariantFactory(product=product)
    client = api_client_for(member)
    response = client.patch(f"{URL}{product.pk}/", {"inventory_quantity": 3}, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "MULTIPLE_VARIANTS"
    adjust = client.post(f"{URL}{product.pk}/adjust-inventory/", {"delta": 1, "reason": "x"}, format="json")
    assert adjust.status_code == 400
    assert adjust.json()["error"]["code"] == "MULTIPLE_VARIANTS"
    # naming the variant works
    body = {"delta": 5, "reason": "delivery", "variant": str(vid(product))}
    adjust = client.post(f"{URL}{product.pk}/adjust-inventory/", body, format="json")
    assert adjust.status_code == 200, adjust.content
    assert ProductVariant.objects.get(pk=vid(product)).inventory_quantity == 15
    # a variant of another product is not found
    body["variant"] = str(vid(ProductFactory(organization=organization)))
    assert client.post(f"{URL}{product.pk}/adjust-inventory/", body, format="json").status_code == 404


# --- variant CRUD --------------------------------------------------------------------------------


def test_variant_crud(api_client_for, member, organization):
    product = ProductFactory(organization=organization, price_cents=1000, sku="TEE-M", inventory_quantity=2)
    client = api_client_for(member)
    created = client.post(
        variants_url(product),
        {"sku": "TEE-L", "option_values": {"size": "L"}, "price_cents": 1200, "inventory_quantity": 5, "position": 1},
        format="json",
    )
    assert created.status_code == 201, created.content
    large = created.json()
    assert (large["effective_price_cents"], large["is_default"], large["in_stock"]) == (1200, False, True)
    listed = client.get(variants_url(product)).json()
    assert [v["sku"] for v in listed] == ["TEE-M", "TEE-L"]
    detail = client.get(f"{URL}{product.pk}/").json()
    assert detail["inventory_quantity"] == 7  # all tracked variants together
    assert detail["sku"] == "TEE-M"  # the default's

    patched = client.patch(variants_url(product, large["id"]), {"price_cents": None, "is_default": True}, format="json")
    assert patched.status_code == 200, patched.content
    assert (patched.json()["effective_price_cents"], patched.json()["is_default"]) == (1000, True)
    assert ProductVariant.objects.filter(product=product, is_default=True).get().sku == "TEE-L"

    assert client.delete(variants_url(product, large["id"])).status_code == 204
    # the other one becomes the default, and the last one stays
    last = ProductVariant.objects.get(product=product)
    assert last.is_default
    refused = client.delete(variants_url(product, last))
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "CONFLICT"
    actions = set(AuditLog.objects.filter(resource_type="product_variant").values_list("action", flat=True))
    assert {"product_variant.created", "product_variant.updated", "product_variant.deleted"} <= actions


def test_variant_rules(organization, other_organization):
    product = ProductFactory(organization=organization, sku="MUG")
    VariantFactory(product=product, option_values={"color": "red"}, sku="MUG-RED")
    with pytest.raises(Conflict):  # same options twice in one product
        services.variant_create(product=product, data={"option_values": {"color": "red"}})
    red = {"sku": "MUG-RED", "option_values": {"color": "red"}}
    with pytest.raises(ValidationError) as exc:  # a SKU is unique in the organization
        services.variant_create(product=ProductFactory(organization=organization), data=red)
    assert "sku" in exc.value.details
    # another organization may use it
    services.variant_create(product=ProductFactory(organization=other_organization), data=red)
    for bad in ({"color": 1}, ["red"], {"": "x"}):
        with pytest.raises(ValidationError):
            services.variant_create(product=product, data={"option_values": bad})
    with pytest.raises(ValidationError):  # negative stock only on backorder
        services.variant_create(product=product, data={"option_values": {"color": "blue"}, "inventory_quantity": -1})


def test_a_deleted_products_skus_are_free_again(organization):
    old = ProductFactory(organization=organization, sku="REUSE")
    services.product_delete(product=old)
    assert ProductVariant.objects.get(product=old).deleted_at is not None
    again = services.variant_create(
        product=ProductFactory(organization=organization), data={"sku": "REUSE", "option_values": {"size": "M"}}
    )
    assert again.sku == "REUSE"


def test_public_readers_see_variants_without_stock_figures(api_client, organization):
    product = ProductFactory(organization=organization)
    VariantFactory(product=product, option_values={"size": "L"})
    (row,) = api_client.get(f"{URL}?organization={organization.slug}").json()["results"]
    assert len(row["variants"]) == 2
    assert all("inventory_quantity" not in v and "in_stock" in v for v in row["variants"])
    detail = api_client.get(variants_url(product)).json()
    assert all("inventory_quantity" not in v for v in detail)


# --- search and filters ----------------------------------------------------------------------------


def test_search_and_the_sku_filter_find_any_variants_sku(api_client, organization, django_capture_on_commit_callbacks):
    product = ProductFactory(organization=organization, name="Linen Shirt", sku="SHIRT-S")
    VariantFactory(product=product, sku="SHIRT-XL", option_values={"size": "XL"})
    ProductFactory(organization=organization, name="Other", sku="OTHER-1")
    for query in ("search=SHIRT-XL", "sku=SHIRT-XL", "search=SHIRT-S"):
        rows = api_client.get(f"{URL}?{query}").json()["results"]
        assert [r["id"] for r in rows] == [str(product.pk)], query
    # a SKU change reaches the search
    # (one organization's list: cross-tenant lists refresh on a timer, not on a write)
    search = f"{URL}?organization={organization.slug}&search=ZQ-77"
    assert api_client.get(search).json()["results"] == []
    with django_capture_on_commit_callbacks(execute=True):  # the cached lists are dropped on commit
        services.variant_update(variant=ProductVariant.objects.get(sku="SHIRT-XL"), data={"sku": "ZQ-77"})
    assert [r["id"] for r in api_client.get(search).json()["results"]] == [str(product.pk)]


def test_in_stock_filter_counts_any_variant(api_client, organization):
    empty = ProductFactory(organization=organization, inventory_quantity=0)
    VariantFactory(product=empty, inventory_quantity=0)
    stocked = ProductFactory(organization=organization, inventory_quantity=0)
    VariantFactory(product=stocked, inventory_quantity=2)
    assert {r["id"] for r in api_client.get(f"{URL}?in_stock=true").json()["results"]} == {str(stocked.pk)}
    assert {r["id"] for r in api_client.get(f"{URL}?in_stock=false").json()["results"]} == {str(empty.pk)}


# --- the list: one query for the page, whatever the number of variants --------------------------------


@pytest.mark.parametrize("variants", [1, 4])
def test_the_list_costs_the_same_queries_whatever_the_variants(
    api_client_for, member, organization, django_assert_num_queries, variants
):
    for product in ProductFactory.create_batch(30, organization=organization):
        for n in range(variants - 1):
            VariantFactory(product=product, option_values={"size": str(n)})
    client = api_client_for(member)
    # the session and user, the member's organizations, the organization filter (resolved once), the page
    with django_assert_num_queries(4):
        response = client.get(f"{URL}?page_size=100&organization={organization.slug}")
    rows = response.json()["results"]
    assert len(rows) == 30
    assert all(len(row["variants"]) == variants for row in rows)


def test_list_rows_with_variants_match_the_serializer(api_client_for, member, organization, other_organization):
    mine = ProductFactory(organization=organization, price_cents=900)
    VariantFactory(product=mine, option_values={"color": "red", "size": "M"}, price_cents=1100, position=2)
    VariantFactory(product=mine, option_values={"color": "blue"}, track_inventory=False, inventory_quantity=0)
    theirs = ProductFactory(organization=other_organization)
    VariantFactory(product=theirs)
    rows = {r["id"]: r for r in api_client_for(member).get(URL).json()["results"]}
    context = {"member_of": frozenset({organization.id})}
    for product in (mine, theirs):
        assert rows[str(product.id)] == ProductOutputSerializer(product, context=context).data


def test_a_variant_change_refreshes_the_cached_list(api_client, organization, django_capture_on_commit_callbacks):
    product = ProductFactory(organization=organization, sku="A-1")
    url = f"{URL}?organization={organization.slug}"
    assert api_client.get(url).json()["results"][0]["variants"][0]["sku"] == "A-1"
    with django_capture_on_commit_callbacks(execute=True):
        services.variant_update(variant=ProductVariant.objects.get(product=product), data={"sku": "A-2"})
    assert api_client.get(url).json()["results"][0]["variants"][0]["sku"] == "A-2"


@pytest.mark.parametrize("variants", [1, 6])
def test_the_variants_list_costs_the_same_queries_whatever_their_number(
    api_client_for, member, organization, django_assert_num_queries, variants
):
    product = ProductFactory(organization=organization)
    for n in range(variants - 1):
        VariantFactory(product=product, option_values={"size": str(n)})
    client = api_client_for(member)
    # the session and user, the member's organizations, the product, the variants
    with django_assert_num_queries(4):
        response = client.get(variants_url(product))
    assert len(response.json()) == variants


def test_the_demo_catalog_has_products_in_several_variants():
    from django.core.management import call_command

    call_command("seed_demo")
    counts = Counter(ProductVariant.objects.values_list("product_id", flat=True))
    assert max(counts.values()) >= 3
    assert ProductVariant.objects.filter(option_values__has_key="size").exists()
    assert ProductVariant.objects.filter(option_values__has_key="color", inventory_quantity__gt=0).exists()
