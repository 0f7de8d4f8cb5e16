"""The category tree: REST CRUD and move, refusals (409), the product filter with descendants, admin, GraphQL."""

import pytest

from apps.audit.models import AuditLog
from apps.catalog import services
from apps.catalog.models import Category, Product
from apps.catalog.tests.factories import ProductFactory, make_category
from apps.core.exceptions import Conflict, ValidationError
from apps.core.models import OutboxEvent

pytestmark = pytest.mark.django_db

URL = "/api/v1/categories/"


@pytest.fixture
def tree(organization):
    """Kitchen > Coffee > Espresso; Kitchen > Tea; Garden."""
    kitchen = make_category(organization, "Kitchen", position=1)
    coffee = make_category(organization, "Coffee", parent=kitchen)
    espresso = make_category(organization, "Espresso", parent=coffee)
    tea = make_category(organization, "Tea", parent=kitchen)
    garden = make_category(organization, "Garden", position=2)
    return {"kitchen": kitchen, "coffee": coffee, "espresso": espresso, "tea": tea, "garden": garden}


def _names(response):
    return [row["name"] for row in response.json()["results"]]


# --- services ------------------------------------------------------------------------------------


def test_the_tree_lists_depth_first_with_siblings_by_position_then_name(api_client, organization, tree):
    response = api_client.get(URL, {"organization": organization.slug})
    assert response.status_code == 200
    assert _names(response) == ["Kitchen", "Coffee", "Espresso", "Tea", "Garden"]
    rows = {row["name"]: row for row in response.json()["results"]}
    assert rows["Espresso"]["parent"] == str(tree["coffee"].pk)
    assert rows["Espresso"]["depth"] == 3
    assert rows["Kitchen"]["parent"] is None


def test_the_list_runs_constant_queries(api_client, organization, django_assert_num_queries):
    parent = None
    for n in range(30):  # one deep chain: depth does not change the count
        parent = make_category(organization, f"Level {n}", parent=parent)
    with django_assert_num_queries(2):  # the organization, the page (parents by a correlated lookup)
        response = api_client.get(URL, {"organization": str(organization.pk)})
    assert len(response.json()["results"]) == 30


def test_a_slug_is_unique_among_siblings_only(organization, tree):
    make_category(organization, "Beans", parent=tree["coffee"], slug="beans")
    make_category(organization, "Beans", parent=tree["tea"], slug="beans")  # another parent: fine
    with pytest.raises(Conflict):
        make_category(organization, "More beans", parent=tree["coffee"], slug="beans")


def test_another_organizations_parent_is_refused(organization, other_organization, tree):
    with pytest.raises(ValidationError):
        make_category(other_organization, "Stray", parent=tree["kitchen"])


def test_moving_carries_the_subtree_and_refuses_cycles(organization, tree):
    moved = services.category_move(category=tree["coffee"], parent_id=tree["garden"].pk)
    espresso = Category.objects.get(pk=tree["espresso"].pk)
    assert moved.parent_path == Category.objects.get(pk=tree["garden"].pk).path
    assert espresso.path.startswith(moved.path)
    assert espresso.depth == 3
    with pytest.raises(Conflict):
        services.category_move(category=moved, parent_id=espresso.pk)
    with pytest.raises(Conflict):
        services.category_move(category=moved, parent_id=moved.pk)
    to_root = services.category_move(category=moved, parent_id=None)
    assert to_root.depth == 1
    assert Category.objects.get(pk=espresso.pk).depth == 2


def test_deleting_needs_an_empty_category(organization, tree):
    with pytest.raises(Conflict):
        services.category_delete(category=tree["coffee"])  # has a subcategory
    product = ProductFactory(organization=organization, category=tree["espresso"])
    with pytest.raises(Conflict):
        services.category_delete(category=tree["espresso"])  # has a product
    services.product_delete(product=product)  # a soft-deleted product does not count
    services.category_delete(category=Category.objects.get(pk=tree["espresso"].pk))
    assert not Category.objects.filter(pk=tree["espresso"].pk).exists()
    assert Product.objects.get(pk=product.pk).category_id is None
    assert AuditLog.objects.filter(action="category.deleted").count() == 1
    assert OutboxEvent.objects.filter(event_type="category.deleted").count() == 1


def test_changing_the_position_reorders_the_siblings(organization, tree):
    services.category_update(category=tree["tea"], data={"position": -1})
    names = list(Category.objects.filter(organization=organization).order_by("path").values_list("name", flat=True))
    assert names == ["Kitchen", "Tea", "Coffee", "Espresso", "Garden"]


# --- REST ------------------------------------------------------------------------------------------


def test_members_create_update_move_and_delete_over_rest(api_client_for, owner, organization, tree):
    client = api_client_for(owner)
    created = client.post(
        URL, {"organization": str(organization.pk), "name": "Green Tea", "parent": str(tree["tea"].pk)}, format="json"
    )
    assert created.status_code == 201, created.json()
    body = created.json()
    assert (body["slug"], body["parent"], body["depth"]) == ("green-tea", str(tree["tea"].pk), 3)

    duplicate = client.post(
        URL, {"organization": str(organization.pk), "name": "Green", "slug": "green-tea", "parent": str(tree["tea"].pk)}
    )
    assert duplicate.status_code == 409

    patched = client.patch(f"{URL}{body['id']}/", {"description": "Sencha and more"}, format="json")
    assert patched.json()["description"] == "Sencha and more"

    moved = client.post(f"{URL}{body['id']}/move/", {"parent": None}, format="json")
    assert moved.status_code == 200
    assert moved.json()["parent"] is None

    cycle = client.post(f"{URL}{tree['kitchen'].pk}/move/", {"parent": str(tree["espresso"].pk)}, format="json")
    assert cycle.status_code == 409
    assert cycle.json()["error"]["code"] == "CONFLICT"

    non_empty = client.delete(f"{URL}{tree['kitchen'].pk}/")
    assert non_empty.status_code == 409
    assert client.delete(f"{URL}{body['id']}/").status_code == 204


def test_roles_and_tenants_over_rest(api_client_for, viewer, member, outsider, organization, tree):
    url = f"{URL}{tree['garden'].pk}/"
    assert api_client_for(viewer).patch(url, {"name": "Yard"}, format="json").status_code == 403
    assert api_client_for(outsider).patch(url, {"name": "Yard"}, format="json").status_code == 404
    assert api_client_for(member).delete(url).status_code == 403  # delete is admin+, as for products
    assert api_client_for(outsider).post(URL, {"organization": str(organization.pk), "name": "X"}).status_code == 404
    assert api_client_for(member).patch(url, {"name": "Yard"}, format="json").status_code == 200


def test_products_filter_by_category_with_its_descendants(api_client, organization, tree, django_assert_num_queries):
    in_kitchen = ProductFactory(organization=organization, category=tree["kitchen"])
    in_espresso = ProductFactory(organization=organization, category=tree["espresso"])
    in_tea = ProductFactory(organization=organization, category=tree["tea"])
    ProductFactory(organization=organization, category=tree["garden"])
    ProductFactory(organization=organization)

    def listed(category):
        response = api_client.get("/api/v1/products/", {"category": str(category.pk)})
        assert response.status_code == 200
        return {row["id"] for row in response.json()["results"]}

    assert listed(tree["kitchen"]) == {str(p.pk) for p in (in_kitchen, in_espresso, in_tea)}
    assert listed(tree["coffee"]) == {str(in_espresso.pk)}
    assert listed(tree["espresso"]) == {str(in_espresso.pk)}
    assert api_client.get("/api/v1/products/", {"category": "nope"}).status_code == 400
    row = api_client.get(f"/api/v1/products/{in_tea.pk}/").json()
    assert row["category"] == str(tree["tea"].pk)


def test_the_category_filter_is_one_query_whatever_the_depth(api_client, organization, django_assert_num_queries):
    parent = None
    for n in range(12):
        parent = make_category(organization, f"Level {n}", parent=parent)
        ProductFactory(organization=organization, category=parent)
    root = Category.objects.get(organization=organization, depth=1)
    api_client.get("/api/v1/products/", {"category": str(parent.pk)})  # warm the cache versions
    from django.core.cache import cache

    cache.clear()
    with django_assert_num_queries(1):  # the page (descendants by a path prefix inside it)
        response = api_client.get("/api/v1/products/", {"category": str(root.pk), "page_size": 100})
    assert len(response.json()["results"]) == 12


def test_a_product_takes_only_a_category_of_its_organization(
    api_client_for, owner, organization, other_organization, tree
):
    foreign = make_category(other_organization, "Theirs")
    product = ProductFactory(organization=organization)
    client = api_client_for(owner)
    refused = client.patch(f"/api/v1/products/{product.pk}/", {"category": str(foreign.pk)}, format="json")
    assert refused.status_code == 400
    assert "category" in refused.json()["error"]["details"]
    accepted = client.patch(f"/api/v1/products/{product.pk}/", {"category": str(tree["tea"].pk)}, format="json")
    assert accepted.json()["category"] == str(tree["tea"].pk)
    cleared = client.patch(f"/api/v1/products/{product.pk}/", {"category": None}, format="json")
    assert cleared.json()["category"] is None


# --- GraphQL -------------------------------------------------------------------------------------


def test_graphql_categories_category_and_product_category(api_client, organization, tree):
    ProductFactory(organization=organization, category=tree["espresso"], name="Lever")
    query = """query($org: String!, $id: UUID!, $cat: UUID!) {
      categories(organization: $org) { edges { node { name depth parentId } } }
      category(id: $id) { name parentId organizationId }
      products(category: $cat) { edges { node { name category { name slug parentId } } } }
    }"""
    variables = {"org": organization.slug, "id": str(tree["espresso"].pk), "cat": str(tree["kitchen"].pk)}
    body = api_client.post("/graphql", {"query": query, "variables": variables}, format="json").json()
    assert "errors" not in body, body
    data = body["data"]
    assert [e["node"]["name"] for e in data["categories"]["edges"]] == [
        "Kitchen",
        "Coffee",
        "Espresso",
        "Tea",
        "Garden",
    ]
    assert data["category"]["parentId"] == str(tree["coffee"].pk)
    assert data["products"]["edges"][0]["node"]["category"] == {
        "name": "Espresso",
        "slug": "espresso",
        "parentId": str(tree["coffee"].pk),
    }


# --- admin ---------------------------------------------------------------------------------------


ADMIN = "/admin/catalog/category/"


def test_admin_shows_the_tree_indented_in_constant_queries(admin_client, organization, tree, django_assert_num_queries):
    for n in range(20):
        make_category(organization, f"Extra {n}", parent=tree["garden"])
    # session, user, a LIMITed count, the page (no organization list for a superuser)
    with django_assert_num_queries(4):
        page = admin_client.get(ADMIN)
    text = page.content.decode()
    assert "— — Espresso" in text
    assert text.index("Kitchen") < text.index("— Coffee") < text.index("— — Espresso") < text.index("Garden")


def test_admin_adds_moves_and_deletes_through_the_services(admin_client, organization, tree):
    response = admin_client.post(
        f"{ADMIN}add/",
        {"organization": str(organization.pk), "parent": str(tree["tea"].pk), "name": "Oolong", "position": 0},
    )
    assert response.status_code == 302, response.context["adminform"].form.errors if response.context else ""
    oolong = Category.objects.get(name="Oolong")
    assert oolong.parent_path == tree["tea"].path
    response = admin_client.post(
        f"{ADMIN}{oolong.pk}/change/",
        {"organization": str(organization.pk), "parent": "", "name": "Oolong", "slug": "oolong", "position": 0},
    )
    assert response.status_code == 302
    assert Category.objects.get(pk=oolong.pk).depth == 1
    assert AuditLog.objects.filter(action="category.moved", resource_id=str(oolong.pk)).exists()
    admin_client.post(ADMIN, {"action": "delete_empty", "_selected_action": [str(tree["kitchen"].pk), str(oolong.pk)]})
    assert Category.objects.filter(pk=tree["kitchen"].pk).exists()  # not empty: refused
    assert not Category.objects.filter(pk=oolong.pk).exists()
