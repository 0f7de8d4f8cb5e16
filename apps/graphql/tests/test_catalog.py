"""Catalog over GraphQL: visibility, REST's filters and search, cursor pages, the product mutations."""

from __future__ import annotations

import pytest

from apps.audit.models import AuditLog
from apps.catalog.models import Product, ProductVariant
from apps.catalog.tests.factories import ProductFactory, vid

pytestmark = pytest.mark.django_db

PRODUCTS = """
query($first: Int!, $after: String, $organization: String, $status: ProductStatus, $minPrice: BigInt,
      $maxPrice: BigInt, $inStock: Boolean, $sku: String, $search: String, $ordering: ProductOrdering) {
  products(first: $first, after: $after, organization: $organization, status: $status, minPrice: $minPrice,
           maxPrice: $maxPrice, inStock: $inStock, sku: $sku, search: $search, ordering: $ordering) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { node { id name status priceCents inStock inventoryQuantity trackInventory barcode allowBackorder } }
  }
}"""
PRODUCT = "query($id: UUID!) { product(id: $id) { id name status inventoryQuantity organization { slug } } }"
CREATE = """
mutation($input: CreateProductInput!) {
  createProduct(input: $input) { id name slug status priceCents currency inventoryQuantity organizationId }
}"""
UPDATE = """
mutation($id: UUID!, $input: UpdateProductInput!) { updateProduct(id: $id, input: $input) { id name priceCents } }"""
PUBLISH = "mutation($id: UUID!) { publishProduct(id: $id) { status publishedAt } }"
ARCHIVE = "mutation($id: UUID!) { archiveProduct(id: $id) { status } }"
ADJUST = """
mutation($id: UUID!, $delta: Int!, $reason: String!) {
  adjustInventory(id: $id, delta: $delta, reason: $reason) { inventoryQuantity inStock }
}"""


def _names(result) -> list[str]:
    assert result.errors == [], result.errors
    return [edge["node"]["name"] for edge in result.data["products"]["edges"]]


@pytest.fixture
def catalog(organization, other_organization):
    return {
        "active": ProductFactory(organization=organization, name="Blue kettle", price_cents=2500, sku="KET-1"),
        "draft": ProductFactory(organization=organization, name="Secret kettle", status=Product.Status.DRAFT),
        "archived": ProductFactory(organization=organization, name="Old toaster", status=Product.Status.ARCHIVED),
        "empty": ProductFactory(organization=organization, name="Empty mug", inventory_quantity=0, price_cents=500),
        "foreign": ProductFactory(organization=other_organization, name="Globex kettle", price_cents=9900),
    }


def test_anonymous_see_active_products_without_stock_figures(gql, catalog):
    result = gql(PRODUCTS, {"first": 10})

    assert sorted(_names(result)) == ["Blue kettle", "Empty mug", "Globex kettle"]
    node = result.data["products"]["edges"][0]["node"]
    assert node["inventoryQuantity"] is None
    assert node["trackInventory"] is None
    assert node["barcode"] is None
    assert node["allowBackorder"] is None
    assert isinstance(node["inStock"], bool)


def test_members_see_every_status_of_their_organization_and_its_stock(gql, catalog, viewer):
    result = gql(PRODUCTS, {"first": 10, "organization": "acme"}, user=viewer)

    assert sorted(_names(result)) == ["Blue kettle", "Empty mug", "Old toaster", "Secret kettle"]
    assert {edge["node"]["inventoryQuantity"] for edge in result.data["products"]["edges"]} == {0, 10}


def test_members_see_no_stock_figures_of_other_organizations(gql, catalog, viewer):
    result = gql(PRODUCTS, {"first": 10, "organization": "globex"}, user=viewer)

    [node] = [edge["node"] for edge in result.data["products"]["edges"]]
    assert node["name"] == "Globex kettle"
    assert node["inventoryQuantity"] is None


@pytest.mark.parametrize(
    ("variables", "expected"),
    [
        ({"minPrice": 2000, "maxPrice": 3000}, ["Blue kettle"]),
        ({"inStock": False}, ["Empty mug"]),
        ({"sku": "KET-1"}, ["Blue kettle"]),
        ({"status": "ARCHIVED"}, ["Old toaster"]),
        ({"organization": "no-such-organization"}, []),
        ({"search": "kettle"}, ["Blue kettle", "Secret kettle"]),
        ({"search": "ketle"}, ["Blue kettle", "Secret kettle"]),  # a typo still finds the name
        ({"ordering": "PRICE"}, ["Empty mug", "Blue kettle", "Secret kettle", "Old toaster"]),
    ],
)
def test_rest_filters_and_search(gql, catalog, member, variables, expected):
    result = gql(PRODUCTS, {"first": 10, "organization": "acme", **variables}, user=member)

    names = _names(result)
    if variables.get("search") or variables.get("ordering"):
        assert names[: len(expected)] == expected or sorted(names) == sorted(expected)
    else:
        assert sorted(names) == sorted(expected)


def test_ordering_by_price_puts_cheapest_first(gql, organization, member):
    for price in (300, 100, 200):
        ProductFactory(organization=organization, name=f"P{price}", price_cents=price)

    result = gql(PRODUCTS, {"first": 10, "ordering": "PRICE"}, user=member)

    assert _names(result) == ["P100", "P200", "P300"]


def test_invalid_filter_is_a_validation_error(gql, catalog):
    result = gql(PRODUCTS, {"first": 10, "search": "x" * 201})

    assert result.codes == ["VALIDATION_ERROR"]
    assert "search" in result.error["extensions"]["details"]


def test_cursor_pages_cover_every_product_once(gql, organization):
    ProductFactory.create_batch(7, organization=organization)
    seen, after = [], None

    while True:
        page = gql(PRODUCTS, {"first": 3, "after": after})
        seen += [edge["node"]["id"] for edge in page.data["products"]["edges"]]
        info = page.data["products"]["pageInfo"]
        if not info["hasNextPage"]:
            break
        after = info["endCursor"]

    assert len(seen) == len(set(seen)) == 7
    assert page.data["products"]["totalCount"] == 7


def test_search_pages_are_stable_across_cursors(gql, organization):
    for n in range(5):
        ProductFactory(organization=organization, name=f"Kettle {n}")

    first = gql(PRODUCTS, {"first": 2, "search": "kettle"})
    rest = gql(PRODUCTS, {"first": 10, "search": "kettle", "after": first.data["products"]["pageInfo"]["endCursor"]})

    names = _names(first) + _names(rest)
    assert sorted(names) == [f"Kettle {n}" for n in range(5)]


@pytest.mark.parametrize("first", [0, 101])
def test_first_is_capped_at_one_hundred(gql, first):
    result = gql(PRODUCTS, {"first": first})

    assert result.codes == ["VALIDATION_ERROR"]
    assert result.error["extensions"]["details"] == {"first": ["Must be between 1 and 100."]}


def test_nested_first_is_capped_too(gql, organization, member):
    result = gql("{ organizations { products(first: 101) { totalCount } } }", user=member)

    assert result.codes == ["VALIDATION_ERROR"]


@pytest.mark.parametrize("cursor", ["bm90IGEgY3Vyc29y", "b3JkZXJlZGN1cnNvcjpbMV0=", "%%%"])
def test_a_bad_cursor_is_a_validation_error(gql, organization, member, cursor):
    assert gql(PRODUCTS, {"first": 1, "after": cursor}).codes == ["VALIDATION_ERROR"]
    nested = "query($after: String) { organizations { products(after: $after) { totalCount } } }"
    assert gql(nested, {"after": cursor}, user=member).codes == ["VALIDATION_ERROR"]


def test_product_by_id(gql, catalog, member):
    result = gql(PRODUCT, {"id": str(catalog["draft"].pk)}, user=member)

    assert result.errors == []
    assert result.data["product"]["inventoryQuantity"] == 10
    assert result.data["product"]["organization"] == {"slug": "acme"}


def test_public_product_shows_no_organization_to_non_members(gql, catalog):
    result = gql(PRODUCT, {"id": str(catalog["active"].pk)})

    assert result.data["product"]["name"] == "Blue kettle"
    assert result.data["product"]["organization"] is None


@pytest.mark.parametrize("key", ["draft", "archived"])
def test_draft_and_archived_products_are_not_found_for_others(gql, catalog, outsider, key):
    result = gql(PRODUCT, {"id": str(catalog[key].pk)}, user=outsider)

    assert result.codes == ["NOT_FOUND"]
    assert result.error["message"] == "Product not found."


# --- mutations ----------------------------------------------------------------------------------------


def test_member_creates_a_draft_product_through_the_service(gql, organization, member):
    variables = {"input": {"organizationId": str(organization.pk), "name": "Green Tea", "priceCents": 1299}}

    result = gql(CREATE, variables, user=member)

    assert result.errors == []
    created = result.data["createProduct"]
    assert created["slug"] == "green-tea"
    assert created["status"] == "DRAFT"
    assert created["currency"] == "USD"
    # the audit entry names the GraphQL caller and request, as REST's would
    entry = AuditLog.objects.get(action="product.created", resource_id=created["id"])
    assert entry.actor_id == member.pk
    assert entry.request_id == result.response["X-Request-ID"]


def test_amounts_beyond_32_bits_round_trip(gql, organization, owner):
    variables = {"input": {"organizationId": str(organization.pk), "name": "Yacht", "priceCents": 500_000_000_000}}

    assert gql(CREATE, variables, user=owner).data["createProduct"]["priceCents"] == 500_000_000_000


def test_create_reports_field_errors_with_graphql_names(gql, organization, member):
    variables = {"input": {"organizationId": str(organization.pk), "name": "X", "priceCents": -1, "currency": "usd"}}

    result = gql(CREATE, variables, user=member)

    assert result.codes == ["VALIDATION_ERROR"]
    assert set(result.error["extensions"]["details"]) == {"priceCents", "currency"}


def test_taken_sku_is_a_validation_error_on_sku(gql, catalog, organization, member):
    variables = {"input": {"organizationId": str(organization.pk), "name": "Y", "priceCents": 1, "sku": "KET-1"}}

    result = gql(CREATE, variables, user=member)

    assert result.codes == ["VALIDATION_ERROR"]
    assert "sku" in result.error["extensions"]["details"]


def test_viewer_may_not_create_products(gql, organization, viewer):
    variables = {"input": {"organizationId": str(organization.pk), "name": "X", "priceCents": 1}}

    assert gql(CREATE, variables, user=viewer).codes == ["FORBIDDEN"]


def test_outsider_creating_in_another_tenant_gets_not_found(gql, organization, outsider):
    variables = {"input": {"organizationId": str(organization.pk), "name": "X", "priceCents": 1}}

    assert gql(CREATE, variables, user=outsider).codes == ["NOT_FOUND"]


def test_update_publish_archive(gql, catalog, member):
    draft = catalog["draft"]

    updated = gql(UPDATE, {"id": str(draft.pk), "input": {"name": "Open kettle", "priceCents": 3100}}, user=member)
    published = gql(PUBLISH, {"id": str(draft.pk)}, user=member)
    archived = gql(ARCHIVE, {"id": str(draft.pk)}, user=member)

    assert updated.data["updateProduct"] == {"id": str(draft.pk), "name": "Open kettle", "priceCents": 3100}
    assert published.data["publishProduct"]["status"] == "ACTIVE"
    assert published.data["publishProduct"]["publishedAt"] is not None
    assert archived.data["archiveProduct"]["status"] == "ARCHIVED"


@pytest.mark.parametrize("mutation", [UPDATE, PUBLISH, ARCHIVE])
def test_viewer_may_not_change_products(gql, catalog, viewer, mutation):
    variables = {"id": str(catalog["draft"].pk), "input": {"name": "Nope"}}
    if mutation is not UPDATE:
        variables.pop("input")

    assert gql(mutation, variables, user=viewer).codes == ["FORBIDDEN"]


@pytest.mark.parametrize("key", ["draft", "active"])
def test_outsider_may_not_change_another_tenants_products(gql, catalog, outsider, key):
    result = gql(PUBLISH, {"id": str(catalog[key].pk)}, user=outsider)

    assert result.codes == ["NOT_FOUND"]


def test_adjust_inventory(gql, catalog, member):
    result = gql(ADJUST, {"id": str(catalog["empty"].pk), "delta": 5, "reason": "restock"}, user=member)

    assert result.data["adjustInventory"] == {"inventoryQuantity": 5, "inStock": True}


def test_adjust_inventory_below_zero_is_insufficient_stock(gql, catalog, member):
    product = catalog["active"]

    result = gql(ADJUST, {"id": str(product.pk), "delta": -11, "reason": "shrinkage"}, user=member)

    assert result.codes == ["INSUFFICIENT_STOCK"]
    assert result.error["extensions"]["details"] == {"available": {str(vid(product)): 10}}
    product.refresh_from_db()
    assert product.inventory_quantity == 10


def test_adjust_inventory_by_zero_is_a_validation_error(gql, catalog, member):
    result = gql(ADJUST, {"id": str(catalog["active"].pk), "delta": 0, "reason": "noop"}, user=member)

    assert result.codes == ["VALIDATION_ERROR"]
    assert result.error["extensions"]["details"] == {"delta": ["Must not be zero."]}


# --- parity with the design: productBySlug, deleteProduct, bulkUpdateProducts, compareAtPriceCents ------

BY_SLUG = """
query($organization: String!, $slug: String!) {
  productBySlug(organization: $organization, slug: $slug) { id name compareAtPriceCents inventoryQuantity }
}"""
DELETE = "mutation($id: UUID!) { deleteProduct(id: $id) }"
BULK = """
mutation($ids: [UUID!]!, $changes: BulkProductChangesInput!) {
  bulkUpdateProducts(ids: $ids, changes: $changes) { id status priceCents compareAtPriceCents organization { slug } }
}"""


@pytest.mark.parametrize("by", ["slug", "id"])
def test_product_by_slug_in_an_organization_named_by_slug_or_id(gql, catalog, organization, by):
    product = catalog["active"]
    Product.objects.filter(pk=product.pk).update(compare_at_price_cents=3000)
    key = organization.slug if by == "slug" else str(organization.pk)

    result = gql(BY_SLUG, {"organization": key, "slug": product.slug})

    assert result.errors == []
    assert result.data["productBySlug"] == {
        "id": str(product.pk),
        "name": "Blue kettle",
        "compareAtPriceCents": 3000,
        "inventoryQuantity": None,
    }


def test_product_by_slug_follows_visibility(gql, catalog, organization, other_organization, member, outsider):
    draft = catalog["draft"]
    # a member sees their draft with its stock; an outsider does not see it at all
    mine = gql(BY_SLUG, {"organization": "acme", "slug": draft.slug}, user=member)
    assert mine.data["productBySlug"]["inventoryQuantity"] == 10
    assert gql(BY_SLUG, {"organization": "acme", "slug": draft.slug}, user=outsider).codes == ["NOT_FOUND"]
    # a slug is looked up in the organization named, not in another one
    foreign = catalog["foreign"]
    assert gql(BY_SLUG, {"organization": "acme", "slug": foreign.slug}).codes == ["NOT_FOUND"]
    assert gql(BY_SLUG, {"organization": "no-such-org", "slug": draft.slug}).codes == ["NOT_FOUND"]


def test_admin_deletes_a_product_softly_and_it_vanishes(gql, catalog, admin):
    product = catalog["active"]

    result = gql(DELETE, {"id": str(product.pk)}, user=admin)

    assert result.errors == []
    assert result.data["deleteProduct"] == str(product.pk)
    assert Product.objects.get(pk=product.pk).deleted_at is not None
    assert gql(PRODUCT, {"id": str(product.pk)}, user=admin).codes == ["NOT_FOUND"]
    assert AuditLog.objects.filter(action="product.deleted", resource_id=str(product.pk), actor=admin).count() == 1


@pytest.mark.parametrize(
    ("role", "code"), [("member", "FORBIDDEN"), ("viewer", "FORBIDDEN"), ("outsider", "NOT_FOUND")]
)
def test_only_admins_delete_products(gql, catalog, request, role, code):
    product = catalog["active"]

    assert gql(DELETE, {"id": str(product.pk)}, user=request.getfixturevalue(role)).codes == [code]
    assert Product.objects.get(pk=product.pk).deleted_at is None


def test_bulk_update_changes_every_product_all_or_nothing(gql, catalog, member):
    ids = [str(catalog["active"].pk), str(catalog["draft"].pk)]
    changes = {"status": "ARCHIVED", "priceCents": 999, "compareAtPriceCents": 1999}

    result = gql(BULK, {"ids": ids, "changes": changes}, user=member)

    assert result.errors == []
    assert [row["id"] for row in result.data["bulkUpdateProducts"]] == sorted(ids)  # REST's order: by id
    assert {(r["status"], r["priceCents"], r["compareAtPriceCents"]) for r in result.data["bulkUpdateProducts"]} == {
        ("ARCHIVED", 999, 1999)
    }
    assert result.data["bulkUpdateProducts"][0]["organization"] == {"slug": "acme"}
    assert AuditLog.objects.filter(action="product.bulk_updated").count() == 2


def test_bulk_update_with_another_tenants_product_changes_nothing(gql, catalog, member):
    ids = [str(catalog["active"].pk), str(catalog["foreign"].pk)]

    result = gql(BULK, {"ids": ids, "changes": {"priceCents": 1}}, user=member)

    assert result.codes == ["NOT_FOUND"]
    assert result.error["extensions"]["details"] == {"ids": [str(catalog["foreign"].pk)]}
    assert Product.objects.get(pk=catalog["active"].pk).price_cents == 2500


@pytest.mark.parametrize(
    ("variables", "field"),
    [
        ({"ids": [], "changes": {"priceCents": 1}}, "ids"),
        ({"changes": {}}, "changes"),
        ({"changes": {"priceCents": -1}}, "changes"),
    ],
)
def test_bulk_update_validates_like_rest(gql, catalog, member, variables, field):
    variables = {"ids": [str(catalog["active"].pk)], **variables}

    result = gql(BULK, variables, user=member)

    assert result.codes == ["VALIDATION_ERROR"]
    assert field in result.error["extensions"]["details"]


def test_viewer_may_not_bulk_update(gql, catalog, viewer):
    result = gql(BULK, {"ids": [str(catalog["active"].pk)], "changes": {"priceCents": 1}}, user=viewer)

    assert result.codes == ["FORBIDDEN"]


VARIANT_FIELDS = "id sku optionValues priceCents effectivePriceCents inventoryQuantity isDefault inStock"


def test_variant_mutations_go_through_the_services(gql, organization, member):
    product = ProductFactory(organization=organization, price_cents=1000, sku="CAP")
    created = gql(
        f'mutation($p: UUID!) {{ createVariant(productId: $p, input: {{sku: "CAP-L", optionValues: {{size: "L"}}, '
        f"priceCents: 1200, inventoryQuantity: 3}}) {{ {VARIANT_FIELDS} }} }}",
        {"p": str(product.pk)},
        user=member,
    )
    assert created.errors == [], created.errors
    variant = created.data["createVariant"]
    assert (variant["optionValues"], variant["effectivePriceCents"], variant["isDefault"]) == (
        {"size": "L"},
        1200,
        False,
    )
    updated = gql(
        f"mutation($p: UUID!, $v: UUID!) {{ updateVariant(productId: $p, id: $v, input: {{priceCents: null}}) "
        f"{{ {VARIANT_FIELDS} }} }}",
        {"p": str(product.pk), "v": variant["id"]},
        user=member,
    )
    assert updated.errors == [], updated.errors
    assert updated.data["updateVariant"]["effectivePriceCents"] == 1000
    adjusted = gql(
        'mutation($p: UUID!, $v: UUID!) { adjustInventory(id: $p, delta: 2, reason: "count", variantId: $v) '
        "{ inventoryQuantity variants { sku inventoryQuantity } } }",
        {"p": str(product.pk), "v": variant["id"]},
        user=member,
    )
    assert adjusted.errors == [], adjusted.errors
    assert adjusted.data["adjustInventory"]["inventoryQuantity"] == 10 + 5
    ambiguous = gql(
        'mutation($p: UUID!) { adjustInventory(id: $p, delta: 1, reason: "x") { id } }',
        {"p": str(product.pk)},
        user=member,
    )
    assert ambiguous.codes == ["MULTIPLE_VARIANTS"]
    deleted = gql(
        "mutation($p: UUID!, $v: UUID!) { deleteVariant(productId: $p, id: $v) }",
        {"p": str(product.pk), "v": variant["id"]},
        user=member,
    )
    assert deleted.data["deleteVariant"] == variant["id"]
    last = gql(
        "mutation($p: UUID!, $v: UUID!) { deleteVariant(productId: $p, id: $v) }",
        {"p": str(product.pk), "v": str(vid(product))},
        user=member,
    )
    assert last.codes == ["CONFLICT"]
    assert ProductVariant.objects.filter(product=product).count() == 1


def test_a_viewer_may_not_change_variants(gql, organization, viewer):
    product = ProductFactory(organization=organization)
    result = gql(
        'mutation($p: UUID!) { createVariant(productId: $p, input: {optionValues: {size: "L"}}) { id } }',
        {"p": str(product.pk)},
        user=viewer,
    )
    assert result.codes == ["FORBIDDEN"]
