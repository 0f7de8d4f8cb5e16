"""The orders API: placement, Idempotency-Key, visibility, filters, transitions and query counts."""

import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from apps.accounts.tests.factories import UserFactory
from apps.catalog.models import Product, ProductVariant
from apps.catalog.tests.factories import ProductFactory, vid
from apps.orders.models import Order
from apps.orders.tests.factories import ADDRESS, OrderFactory
from apps.organizations.models import Organization

pytestmark = pytest.mark.django_db

URL = "/api/v1/orders/"


def body(organization, *lines, **extra):
    return {
        "organization": str(organization.pk),
        "items": [{"product": str(product.pk), "quantity": quantity} for product, quantity in lines],
        "shipping_address": ADDRESS,
        **extra,
    }


def ids(response):
    return {row["id"] for row in response.json()["results"]}


def stock(product):
    return Product.objects.get(pk=product.pk).inventory_quantity


# --- placement ---------------------------------------------------------------------------


def test_any_signed_in_user_places_an_order(api_client_for, organization, user):
    # given: a customer who is no member of the shop
    organization.settings = {"currency": "USD", "tax_rate_bps": 1000, "flat_shipping_cents": 500}
    organization.save()
    mug = ProductFactory(organization=organization, price_cents=1500, inventory_quantity=4)
    # when
    response = api_client_for(user).post(URL, body(organization, (mug, 2), customer_notes="Ring twice"), format="json")
    # then
    assert response.status_code == 201, response.content
    data = response.json()
    assert data["order_number"] == 1001
    assert data["status"] == "pending"
    assert data["customer"] == str(user.pk)
    assert (data["subtotal_cents"], data["tax_cents"], data["shipping_cents"], data["total_cents"]) == (
        3000,
        300,
        500,
        3800,
    )
    assert data["billing_address"]["city"] == "London"
    assert data["items"][0]["product_snapshot"]["price_cents"] == 1500
    assert "internal_notes" not in data
    assert stock(mug) == 2


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"items": []}, "items"),
        ({"items": [{"product": "not-a-uuid", "quantity": 1}]}, "items"),
        ({"items": [{"product": str(uuid.uuid4()), "quantity": 0}]}, "items"),
        ({"items": [{"product": str(uuid.uuid4()), "quantity": 1001}]}, "items"),
        ({"items": [{"product": str(uuid.uuid4()), "quantity": 1}] * 101}, "items"),
        ({"shipping_address": None}, "shipping_address"),
        ({"shipping_address": {**ADDRESS, "country": "Britain"}}, "shipping_address"),
        ({"shipping_address": {**ADDRESS, "planet": "Earth"}}, "shipping_address"),
        ({"billing_address": {"name": "No street"}}, "billing_address"),
        ({"organization": "acme"}, "organization"),
    ],
)
def test_invalid_bodies_are_validation_errors(api_client_for, organization, user, change, field):
    mug = ProductFactory(organization=organization)

    response = api_client_for(user).post(URL, {**body(organization, (mug, 1)), **change}, format="json")

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "VALIDATION_ERROR"
    assert field in response.json()["error"]["details"]
    assert not Order.objects.exists()


def test_a_product_of_another_organization_is_a_validation_error(
    api_client_for, organization, other_organization, user
):
    foreign = ProductFactory(organization=other_organization)

    response = api_client_for(user).post(URL, body(organization, (foreign, 1)), format="json")

    assert response.status_code == 400
    assert str(foreign.pk) in response.json()["error"]["details"]["items"][0]


def test_unknown_or_deleted_organization_is_404(api_client_for, organization, user):
    mug = ProductFactory(organization=organization)
    client = api_client_for(user)
    Organization.objects.filter(pk=organization.pk).update(deleted_at=timezone.now())

    deleted = client.post(URL, body(organization, (mug, 1)), format="json")
    unknown = client.post(URL, {**body(organization, (mug, 1)), "organization": str(uuid.uuid4())}, format="json")

    assert (deleted.status_code, unknown.status_code) == (404, 404)


def test_insufficient_stock_is_409_with_available_quantities_and_nothing_reserved(api_client_for, organization, user):
    plenty = ProductFactory(organization=organization, inventory_quantity=9)
    scarce = ProductFactory(organization=organization, inventory_quantity=1)

    response = api_client_for(user).post(URL, body(organization, (plenty, 2), (scarce, 2)), format="json")

    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "INSUFFICIENT_STOCK"
    assert error["details"] == {"available": {str(vid(scarce)): 1}}
    assert (stock(plenty), stock(scarce)) == (9, 1)


def test_anonymous_users_cannot_place_orders(api_client, organization):
    mug = ProductFactory(organization=organization)

    response = api_client.post(URL, body(organization, (mug, 1)), format="json")

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "UNAUTHORIZED"


# --- Idempotency-Key ------------------------------------------------------------------------


def test_same_idempotency_key_and_body_replays_the_first_response(api_client_for, organization, user):
    # given
    mug = ProductFactory(organization=organization, inventory_quantity=5)
    client = api_client_for(user)
    payload = body(organization, (mug, 2))
    # when
    first = client.post(URL, payload, format="json", HTTP_IDEMPOTENCY_KEY="checkout-42")
    again = client.post(URL, payload, format="json", HTTP_IDEMPOTENCY_KEY="checkout-42")
    # then
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json() == first.json()
    assert again.content == first.content  # byte for byte, keys in the same order
    assert (first["Idempotent-Replayed"], again["Idempotent-Replayed"]) == ("false", "true")
    assert Order.objects.count() == 1
    assert stock(mug) == 3


def test_same_idempotency_key_with_another_body_is_422(api_client_for, organization, user):
    mug = ProductFactory(organization=organization, inventory_quantity=5)
    client = api_client_for(user)
    client.post(URL, body(organization, (mug, 1)), format="json", HTTP_IDEMPOTENCY_KEY="k")

    response = client.post(URL, body(organization, (mug, 2)), format="json", HTTP_IDEMPOTENCY_KEY="k")

    assert response.status_code == 422
    assert response.json()["error"]["code"] == "IDEMPOTENCY_KEY_REUSED"
    assert Order.objects.count() == 1


def test_a_refused_placement_is_replayed_too(api_client_for, organization, user):
    # given: the first try finds no stock
    mug = ProductFactory(organization=organization, inventory_quantity=0)
    client = api_client_for(user)
    payload = body(organization, (mug, 1))
    first = client.post(URL, payload, format="json", HTTP_IDEMPOTENCY_KEY="k")
    # when: stock arrives and the client retries with the same key
    ProductVariant.objects.filter(product=mug).update(inventory_quantity=10)
    again = client.post(URL, payload, format="json", HTTP_IDEMPOTENCY_KEY="k")
    # then: the first answer stands (a new key places the order)
    assert (first.status_code, again.status_code) == (409, 409)
    assert again.json() == first.json()
    assert client.post(URL, payload, format="json", HTTP_IDEMPOTENCY_KEY="k2").status_code == 201


def test_without_a_key_each_post_places_an_order(api_client_for, organization, user):
    mug = ProductFactory(organization=organization, inventory_quantity=5)
    client = api_client_for(user)

    client.post(URL, body(organization, (mug, 1)), format="json")
    client.post(URL, body(organization, (mug, 1)), format="json")

    assert Order.objects.count() == 2


def test_keys_belong_to_their_user(api_client_for, organization, user):
    mug = ProductFactory(organization=organization, inventory_quantity=5)
    payload = body(organization, (mug, 1))

    api_client_for(user).post(URL, payload, format="json", HTTP_IDEMPOTENCY_KEY="k")
    response = api_client_for(UserFactory()).post(URL, payload, format="json", HTTP_IDEMPOTENCY_KEY="k")

    assert response.status_code == 201
    assert response["Idempotent-Replayed"] == "false"
    assert Order.objects.count() == 2


def test_an_overlong_key_is_a_validation_error(api_client_for, organization, user):
    mug = ProductFactory(organization=organization)

    response = api_client_for(user).post(
        URL, body(organization, (mug, 1)), format="json", HTTP_IDEMPOTENCY_KEY="x" * 256
    )

    assert response.status_code == 400
    assert "Idempotency-Key" in response.json()["error"]["details"]


# --- reading -----------------------------------------------------------------------------------


@pytest.fixture
def orders(organization, other_organization, user, outsider):
    """Two orders of the shop (one by ``user``), one of ``user`` elsewhere, one foreign."""
    return {
        "mine_here": OrderFactory(organization=organization, user=user, internal_notes="Fragile"),
        "theirs_here": OrderFactory(organization=organization),
        "mine_elsewhere": OrderFactory(organization=other_organization, user=user),
        "foreign": OrderFactory(organization=other_organization, user=outsider),
    }


def test_customers_see_only_their_own_orders_without_internal_notes(api_client_for, user, orders):
    client = api_client_for(user)

    listed = client.get(URL)
    detail = client.get(f"{URL}{orders['mine_here'].pk}/")

    assert ids(listed) == {str(orders["mine_here"].pk), str(orders["mine_elsewhere"].pk)}
    assert detail.status_code == 200
    assert "internal_notes" not in detail.json()
    assert "internal_notes" not in listed.json()["results"][0]
    assert client.get(f"{URL}{orders['theirs_here'].pk}/").status_code == 404


def test_members_see_their_organizations_orders_with_internal_notes(api_client_for, viewer, orders):
    client = api_client_for(viewer)

    listed = client.get(URL)
    detail = client.get(f"{URL}{orders['mine_here'].pk}/").json()

    assert ids(listed) == {str(orders["mine_here"].pk), str(orders["theirs_here"].pk)}
    assert detail["internal_notes"] == "Fragile"
    assert len(detail["items"]) == 0
    assert client.get(f"{URL}{orders['foreign'].pk}/").status_code == 404


def test_detail_lists_items_in_order(api_client_for, organization, member):
    mug, lamp = ProductFactory.create_batch(2, organization=organization)
    order = OrderFactory(organization=organization, lines=[(mug, 1), (lamp, 3)])

    data = api_client_for(member).get(f"{URL}{order.pk}/").json()

    assert [(i["product"], i["quantity"]) for i in data["items"]] == [(str(mug.pk), 1), (str(lamp.pk), 3)]


def test_unknown_order_is_404(api_client_for, member):
    response = api_client_for(member).get(f"{URL}{uuid.uuid4()}/")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "NOT_FOUND"


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("status=shipped", {"shipped"}),
        ("payment_status=captured", {"captured"}),
        ("organization={org}", {"old", "shipped", "captured", "by_ada"}),
        ("organization={other}", set()),
        ("user={ada}", {"by_ada"}),
        ("created_before={cutoff}", {"old"}),
        ("created_after={cutoff}", {"shipped", "captured", "by_ada"}),
        ("search=4242", {"captured"}),
        ("search=%234242", {"captured"}),
        ("search=ada%40example", {"by_ada"}),
    ],
)
def test_filters(api_client_for, organization, other_organization, member, query, expected):
    # given
    ada = UserFactory(email="ada@example.com")
    now = timezone.now()
    orders = {
        "old": OrderFactory(organization=organization, created_at=now - timedelta(days=10)),
        "shipped": OrderFactory(organization=organization, status="shipped"),
        "captured": OrderFactory(organization=organization, payment_status="captured", order_number=4242),
        "by_ada": OrderFactory(organization=organization, user=ada),
    }
    cutoff = (now - timedelta(days=1)).isoformat().replace("+00:00", "Z")
    url = f"{URL}?" + query.format(org=organization.pk, other=other_organization.pk, ada=ada.pk, cutoff=cutoff)
    # when
    response = api_client_for(member).get(url)
    # then
    assert response.status_code == 200, response.content
    assert ids(response) == {str(orders[name].pk) for name in expected}


def test_invalid_filters_are_validation_errors(api_client_for, member):
    response = api_client_for(member).get(f"{URL}?status=lost&created_after=yesterday")
    assert response.status_code == 400
    assert set(response.json()["error"]["details"]) == {"status", "created_after"}


def test_ordering_and_cursor_pagination(api_client_for, organization, member):
    for total in (300, 100, 200):
        OrderFactory(organization=organization, subtotal_cents=total, total_cents=total)
    client = api_client_for(member)

    first = client.get(f"{URL}?ordering=total_cents&page_size=2").json()
    second = client.get(first["next"]).json()

    assert [row["total_cents"] for row in first["results"]] == [100, 200]
    assert [row["total_cents"] for row in second["results"]] == [300]


@pytest.mark.parametrize("count", [2, 30])
def test_list_costs_the_same_queries_for_any_page(
    api_client_for, organization, member, django_assert_num_queries, count
):
    # given: orders with several items each
    products = ProductFactory.create_batch(3, organization=organization)
    for _ in range(count):
        OrderFactory(organization=organization, lines=[(p, 1) for p in products])
    client = api_client_for(member)
    # when / then: user, memberships, one list query
    with django_assert_num_queries(3):
        response = client.get(f"{URL}?page_size=100")
    assert len(response.json()["results"]) == count
    assert response.json()["results"][0]["item_count"] == 3


def test_detail_costs_a_constant_number_of_queries(api_client_for, organization, member, django_assert_num_queries):
    products = ProductFactory.create_batch(20, organization=organization)
    order = OrderFactory(organization=organization, lines=[(p, 1) for p in products])
    client = api_client_for(member)

    # user, memberships, the order, its items
    with django_assert_num_queries(4):
        response = client.get(f"{URL}{order.pk}/")

    assert len(response.json()["items"]) == 20


# --- transitions ---------------------------------------------------------------------------------


def test_members_move_an_order_along_its_lifecycle(api_client_for, organization, member, user):
    # given
    mug = ProductFactory(organization=organization, inventory_quantity=5)
    order_id = api_client_for(user).post(URL, body(organization, (mug, 2)), format="json").json()["id"]
    client = api_client_for(member)
    # when / then
    for name, data, status in [
        ("confirm", None, "confirmed"),
        ("process", None, "processing"),
        ("ship", {"carrier": "UPS", "tracking_number": "1Z1"}, "shipped"),
        ("deliver", None, "delivered"),
        ("refund", {"reason": "Damaged"}, "refunded"),
    ]:
        response = client.post(f"{URL}{order_id}/{name}/", data, format="json")
        assert response.status_code == 200, response.content
        assert response.json()["status"] == status
    assert response.json()["payment_status"] == "refunded"
    assert stock(mug) == 5


def test_a_disallowed_transition_is_409_listing_the_allowed_ones(api_client_for, organization, member):
    order = OrderFactory(organization=organization, status="pending")

    response = api_client_for(member).post(f"{URL}{order.pk}/deliver/")

    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "INVALID_TRANSITION"
    assert error["details"] == {"status": "pending", "transition": "deliver", "allowed": ["cancel", "confirm"]}


def test_ship_requires_carrier_and_tracking_number(api_client_for, organization, member):
    order = OrderFactory(organization=organization, status="processing")

    response = api_client_for(member).post(f"{URL}{order.pk}/ship/", {"carrier": "UPS"}, format="json")

    assert response.status_code == 400
    assert set(response.json()["error"]["details"]) == {"tracking_number"}
    assert Order.objects.get(pk=order.pk).status == "processing"


def test_viewers_cannot_change_orders(api_client_for, organization, viewer):
    order = OrderFactory(organization=organization, status="pending")

    response = api_client_for(viewer).post(f"{URL}{order.pk}/confirm/")

    assert response.status_code == 403
    assert Order.objects.get(pk=order.pk).status == "pending"


def test_customer_cancels_their_own_pending_order_and_gets_stock_back(api_client_for, organization, user):
    mug = ProductFactory(organization=organization, inventory_quantity=5)
    client = api_client_for(user)
    order_id = client.post(URL, body(organization, (mug, 2)), format="json").json()["id"]

    response = client.post(f"{URL}{order_id}/cancel/", {"reason": "Changed my mind"}, format="json")

    assert response.status_code == 200
    assert (response.json()["status"], response.json()["cancel_reason"]) == ("cancelled", "Changed my mind")
    assert stock(mug) == 5


def test_customer_cannot_cancel_a_confirmed_order_nor_confirm_their_own(api_client_for, organization, user):
    confirmed = OrderFactory(organization=organization, user=user, status="confirmed")
    pending = OrderFactory(organization=organization, user=user, status="pending")
    client = api_client_for(user)

    cancel = client.post(f"{URL}{confirmed.pk}/cancel/")
    confirm = client.post(f"{URL}{pending.pk}/confirm/")

    assert cancel.status_code == 409
    assert cancel.json()["error"]["details"]["allowed"] == []
    assert confirm.status_code == 403


def test_members_edit_internal_notes_and_customers_cannot(api_client_for, organization, member, user):
    order = OrderFactory(organization=organization, user=user)

    edited = api_client_for(member).patch(f"{URL}{order.pk}/", {"internal_notes": "Call first"}, format="json")
    refused = api_client_for(user).patch(f"{URL}{order.pk}/", {"internal_notes": "Me too"}, format="json")

    assert edited.status_code == 200
    assert edited.json()["internal_notes"] == "Call first"
    assert refused.status_code == 403
    assert Order.objects.get(pk=order.pk).internal_notes == "Call first"
