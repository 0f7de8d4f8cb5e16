"""Reviews: one per customer and product, verified purchases, moderation, and the rating kept exactly."""

import threading

import pytest
from django.db import connection

from apps.accounts.tests.factories import UserFactory
from apps.audit.models import AuditLog
from apps.catalog.models import Product
from apps.catalog.tests.factories import ProductFactory
from apps.core.exceptions import Conflict, NotFound, PermissionDenied
from apps.orders.models import Order
from apps.orders.tests.factories import OrderFactory
from apps.organizations import services as organization_services
from apps.organizations.tests.factories import MembershipFactory
from apps.reviews import services
from apps.reviews.models import Review

pytestmark = pytest.mark.django_db


@pytest.fixture
def product(organization):
    return ProductFactory(organization=organization, name="Kettle")


def _review(user, product, rating=4, **fields):
    return services.review_create(user=user, product_id=product.pk, data={"rating": rating, **fields})


def _figures(product):
    product = Product.objects.get(pk=product.pk)
    return product.rating_count, product.rating_sum, product.rating_average


# --- services ------------------------------------------------------------------------------------------


def test_one_review_per_customer_and_product(user, product):
    _review(user, product)
    with pytest.raises(Conflict):
        _review(user, product, rating=1)
    assert Review.objects.filter(user=user).count() == 1


def test_verified_needs_a_delivered_order_with_the_product(organization, product):
    buyer, shipped_only, stranger = UserFactory(), UserFactory(), UserFactory()
    OrderFactory(organization=organization, user=buyer, status=Order.Status.DELIVERED, lines=[(product, 1)])
    OrderFactory(organization=organization, user=shipped_only, status=Order.Status.SHIPPED, lines=[(product, 1)])
    assert _review(buyer, product).verified is True
    assert _review(shipped_only, product).verified is False
    assert _review(stranger, product).verified is False


def test_only_approved_reviews_count_and_every_move_keeps_the_figures_exact(organization, owner, product):
    first, second = _review(UserFactory(), product, rating=5), _review(UserFactory(), product, rating=2)
    assert _figures(product) == (0, 0, None)  # pending reviews do not count

    services.review_moderate(review=first, status="approved", actor=owner)
    services.review_moderate(review=second, status="approved", actor=owner)
    assert _figures(product) == (2, 7, 3.5)

    services.review_moderate(review=second, status="approved", actor=owner)  # the same decision twice: no change
    assert _figures(product) == (2, 7, 3.5)

    services.review_moderate(review=second, status="rejected", actor=owner)
    assert _figures(product) == (1, 5, 5.0)

    # the author edits an approved review: out of the figures until approved again
    services.review_update(user=first.user, review=first, data={"rating": 3})
    assert Review.objects.get(pk=first.pk).status == "pending"
    assert _figures(product) == (0, 0, None)
    services.review_moderate(review=first, status="approved", actor=owner)
    assert _figures(product) == (1, 3, 3.0)
    assert AuditLog.objects.filter(action="review.approved").count() == 3


def test_moderation_needs_the_permission(organization, owner, member, viewer, outsider, product):

    review = _review(UserFactory(), product)
    for actor in (member, viewer):
        with pytest.raises(PermissionDenied):
            services.review_moderate(review=review, status="approved", actor=actor)
    with pytest.raises(NotFound):
        services.review_moderate(review=review, status="approved", actor=outsider)
    # a member granted the permission may moderate
    organization_services.membership_update(
        actor=owner, membership=member.memberships.get(organization=organization), permissions=["moderate_reviews"]
    )
    assert services.review_moderate(review=review, status="approved", actor=member).status == "approved"


@pytest.mark.django_db(transaction=True)
def test_concurrent_approvals_and_rejections_keep_the_figures_exact(organization, owner, product):
    reviews = [_review(UserFactory(), product, rating=1 + n % 5) for n in range(8)]
    errors = []

    def flip(review, decisions):
        try:
            for decision in decisions:
                services.review_moderate(review=review, status=decision, actor=None)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [
        threading.Thread(target=flip, args=(review, ["approved", "rejected", "approved"] * 2)) for review in reviews
    ] + [threading.Thread(target=flip, args=(review, ["approved"])) for review in reviews]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    approved = Review.objects.filter(product=product, status="approved")
    assert _figures(product)[:2] == (approved.count(), sum(r.rating for r in approved))
    assert approved.count() == 8


# --- REST ------------------------------------------------------------------------------------------


def _url(product):
    return f"/api/v1/products/{product.pk}/reviews/"


def test_rest_write_read_and_moderate(
    api_client, api_client_for, user, owner, product, django_capture_on_commit_callbacks
):
    customer = api_client_for(user)
    created = customer.post(_url(product), {"rating": 5, "title": "Great", "body": "Boils fast."}, format="json")
    assert created.status_code == 201, created.json()
    review_id = created.json()["id"]
    assert created.json()["status"] == "pending"
    assert customer.post(_url(product), {"rating": 3}, format="json").status_code == 409
    assert customer.post(_url(product), {"rating": 6}, format="json").status_code == 400

    assert api_client.get(_url(product)).json()["results"] == []  # pending: not public
    assert [r["id"] for r in customer.get(_url(product)).json()["results"]] == [review_id]  # but the author sees it

    staff = api_client_for(owner)
    queue = staff.get(f"/api/v1/organizations/{product.organization_id}/reviews/", {"status": "pending"})
    assert [r["id"] for r in queue.json()["results"]] == [review_id]
    with django_capture_on_commit_callbacks(execute=True):  # cached product reads are dropped on commit
        assert staff.post(f"/api/v1/reviews/{review_id}/approve/").json()["status"] == "approved"
    assert [r["id"] for r in api_client.get(_url(product)).json()["results"]] == [review_id]
    detail = api_client.get(f"/api/v1/products/{product.pk}/").json()
    assert (detail["rating_average"], detail["rating_count"]) == (5.0, 1)

    with django_capture_on_commit_callbacks(execute=True):
        edited = customer.patch(f"/api/v1/reviews/{review_id}/", {"rating": 4}, format="json")
    assert edited.json()["status"] == "pending"
    assert api_client.get(f"/api/v1/products/{product.pk}/").json()["rating_count"] == 0


def test_rest_refusals(api_client, api_client_for, user, viewer, outsider, product):
    assert api_client.post(_url(product), {"rating": 5}, format="json").status_code == 401
    review = _review(user, product)
    assert api_client_for(viewer).post(f"/api/v1/reviews/{review.pk}/approve/").status_code == 403
    assert api_client_for(outsider).post(f"/api/v1/reviews/{review.pk}/approve/").status_code == 404
    assert api_client_for(user).post(f"/api/v1/reviews/{review.pk}/approve/").status_code == 404
    assert api_client_for(outsider).patch(f"/api/v1/reviews/{review.pk}/", {"rating": 1}).status_code == 404
    queue = api_client_for(viewer).get(f"/api/v1/organizations/{product.organization_id}/reviews/")
    assert queue.status_code == 403
    queue = api_client_for(outsider).get(f"/api/v1/organizations/{product.organization_id}/reviews/")
    assert queue.status_code == 404
    draft = ProductFactory(organization=product.organization, status="draft")
    assert api_client_for(user).post(_url(draft), {"rating": 5}, format="json").status_code == 404


def test_the_rest_list_runs_constant_queries(api_client, product, django_assert_num_queries):
    for _ in range(30):
        review = _review(UserFactory(full_name="Ada"), product)
        services.review_moderate(review=review, status="approved")
    with django_assert_num_queries(2):  # the product, the page (with authors)
        response = api_client.get(_url(product), {"page_size": 100})
    assert len(response.json()["results"]) == 30
    assert response.json()["results"][0]["author"] == "Ada"


# --- GraphQL -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("rows", [1, 6])
def test_graphql_product_reviews_paginate_in_constant_queries(
    api_client, organization, django_assert_num_queries, rows
):
    products = ProductFactory.create_batch(rows, organization=organization)
    for product in products:
        for _ in range(3):
            services.review_moderate(review=_review(UserFactory(), product), status="approved")
        _review(UserFactory(), product)  # pending: not shown
    query = """{ products(first: 10) { edges { node { name ratingAverage ratingCount
        reviews(first: 2) {
          totalCount edges { cursor node { rating author verified } } pageInfo { hasNextPage }
        } } } } }"""
    with django_assert_num_queries(2):  # the products page; every product's review page (windowed, authors joined)
        body = api_client.post("/graphql", {"query": query}, format="json").json()
    assert "errors" not in body, body
    nodes = [edge["node"] for edge in body["data"]["products"]["edges"]]
    assert len(nodes) == rows
    assert all(len(node["reviews"]["edges"]) == 2 and node["reviews"]["totalCount"] == 3 for node in nodes)
    assert all(node["reviews"]["pageInfo"]["hasNextPage"] for node in nodes)
    assert all(node["ratingCount"] == 3 for node in nodes)


REVIEW_PRODUCT = 'mutation($p: UUID!) { reviewProduct(productId: $p, input: {rating: 4, title: "Nice"}) { id status } }'


def test_graphql_review_and_moderate(api_client_for, user, owner, viewer, product):
    review = (
        api_client_for(user)
        .post(
            "/graphql",
            {
                "query": REVIEW_PRODUCT,
                "variables": {"p": str(product.pk)},
            },
            format="json",
        )
        .json()["data"]["reviewProduct"]
    )
    assert review["status"] == "PENDING"
    moderate = "mutation($id: UUID!) { moderateReview(id: $id, status: APPROVED) { status } }"
    refused = api_client_for(viewer).post(
        "/graphql", {"query": moderate, "variables": {"id": review["id"]}}, format="json"
    )
    assert refused.json()["errors"][0]["extensions"]["code"] in {"FORBIDDEN", "FEATURE_NOT_IN_PLAN"}
    product.organization.features = {"graphql": True}
    product.organization.save(update_fields=["features"])
    done = api_client_for(owner).post("/graphql", {"query": moderate, "variables": {"id": review["id"]}}, format="json")
    assert done.json()["data"]["moderateReview"]["status"] == "APPROVED"


# --- admin ---------------------------------------------------------------------------------------------


def test_admin_moderates_through_the_service(admin_client, user, product):
    review = _review(user, product, rating=5)
    admin_client.post("/admin/reviews/review/", {"action": "approve", "_selected_action": [str(review.pk)]})
    assert Review.objects.get(pk=review.pk).status == "approved"
    assert _figures(product)[:2] == (1, 5)


def test_admin_staff_see_only_their_organizations_reviews(client, organization, other_organization, user):
    from django.contrib.auth.models import Permission

    staff = MembershipFactory(organization=organization, role="admin").user
    staff.is_staff = True
    staff.save()
    staff.user_permissions.add(*Permission.objects.filter(content_type__app_label="reviews"))
    _review(user, ProductFactory(organization=organization), title="Ours")
    _review(user, ProductFactory(organization=other_organization), title="Theirs")
    client.force_login(staff)
    page = client.get("/admin/reviews/review/").content.decode()
    assert "Ours" in page
    assert "Theirs" not in page


def test_seed_demo_adds_a_category_tree_and_reviews_once():
    from django.core.management import call_command
    from django.db.models import Sum

    from apps.catalog.models import Category

    call_command("seed_demo")
    counts = (Category.objects.count(), Review.objects.count())
    call_command("seed_demo")
    assert (Category.objects.count(), Review.objects.count()) == counts
    assert Category.objects.filter(depth=2).exists()
    assert Product.objects.filter(category__isnull=False).count() >= 30
    approved = Review.objects.filter(status="approved")
    assert approved.exists()
    assert Review.objects.filter(status="pending").exists()
    assert Review.objects.filter(verified=True).exists()
    totals = Product.objects.aggregate(count=Sum("rating_count"), total=Sum("rating_sum"))
    assert (totals["count"], totals["total"]) == (approved.count(), approved.aggregate(s=Sum("rating"))["s"])
