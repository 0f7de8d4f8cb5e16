"""One rulebook, three doors: the same action by the same actor gives the same outcome on REST, GraphQL and
the admin (where the door offers it).

Each row is an action: how to set it up, how each door asks for it, and what each actor should get. An
allowed action must make the same state change, write its audit entry and its outbox event whichever door
asked; a refused one must leave everything as it was and give the same error code (the admin, which has no
codes, shows an error message for a refusal and has no such row for NOT_FOUND).

Actors: the organization's owner, admin, member and viewer; the customer (who placed the order, a member of
nothing); an outsider (owner of another organization). In the admin: a staff member whose role in the
organization is viewer or member (they get what that role gets), a staff member of another organization
(NOT_FOUND) and a superuser (allowed everywhere).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.contrib.auth.models import Permission
from django.contrib.messages import constants as message_levels
from django.contrib.messages import get_messages
from django.urls import reverse

from apps.accounts.tests.factories import UserFactory
from apps.audit.models import AuditLog
from apps.billing.models import Payment, Refund
from apps.billing.tests.helpers import deliver
from apps.billing.tests.stripe_server import confirm_payment
from apps.catalog.models import Category, Product, ProductImage
from apps.catalog.tests.factories import ProductFactory, make_category
from apps.core.models import OutboxEvent
from apps.orders import services as order_services
from apps.orders.models import Order
from apps.orders.tests.factories import ADDRESS
from apps.organizations.models import Invitation, Membership
from apps.organizations.tests.factories import MembershipFactory
from apps.reviews import services as review_services
from apps.webhooks.models import WebhookEndpoint

pytestmark = pytest.mark.django_db

OK = "ok"
ALL_FEATURES = {"webhooks": True, "analytics": True, "graphql": True}
GQL_ADDRESS = {"name": "Ada", "line1": "1 Road", "city": "London", "postalCode": "SW1", "country": "GB"}


# --- the world every row starts from -------------------------------------------------------------------


@dataclass
class World:
    organization: Any
    users: dict[str, Any]
    product: Any = None
    draft: Any = None
    order: Any = None
    target: Any = None
    extra: dict[str, Any] = field(default_factory=dict)


@pytest.fixture
def world(organization, other_organization):
    organization.features = dict(ALL_FEATURES)
    organization.save(update_fields=["features", "updated_at"])
    users = {
        role: MembershipFactory(organization=organization, role=role).user
        for role in ("owner", "admin", "member", "viewer")
    }
    users["customer"] = UserFactory()
    users["outsider"] = MembershipFactory(organization=other_organization, role="owner").user
    for role in ("viewer", "member"):
        users[f"staff_{role}"] = _staff(organization, role)
    users["staff_outsider"] = _staff(other_organization, "owner")
    users["superuser"] = UserFactory(is_staff=True, is_superuser=True)
    product = ProductFactory(organization=organization, status="active", inventory_quantity=10, price_cents=1000)
    return World(organization=organization, users=users, product=product)


def _staff(organization, role):
    user = UserFactory(is_staff=True, is_superuser=False)
    user.user_permissions.set(Permission.objects.filter(content_type__app_label__in=["catalog", "orders", "reviews"]))
    MembershipFactory(organization=organization, user=user, role=role)
    return user


def _pending_order(world: World) -> Order:
    return order_services.order_place(
        user=world.users["customer"],
        organization=world.organization,
        items=[{"product": world.product.pk, "quantity": 1}],
        shipping_address=ADDRESS,
    )


# --- the doors ---------------------------------------------------------------------------------------


def rest_outcome(response) -> str:
    if response.status_code < 300:
        return OK
    return response.json()["error"]["code"]


def gql_outcome(response) -> str:
    errors = response.json().get("errors") or []
    return errors[0]["extensions"]["code"] if errors else OK


def admin_outcome(response, world: World) -> str:
    levels = [message.level for message in get_messages(response.wsgi_request)]
    text = " ".join(str(m) for m in get_messages(response.wsgi_request))
    if "doesn’t exist" in text or "must be selected" in text or "None of the selected" in text:
        return "NOT_FOUND"
    if message_levels.ERROR in levels:
        return "REFUSED"
    return OK


ADMIN_CODES = {OK: OK, "NOT_FOUND": "NOT_FOUND"}  # any other refusal is an error message in the admin


def admin_post_action(client, model_url: str, action: str, pk: Any):
    return client.post(model_url, {"action": action, "_selected_action": [str(pk)]}, follow=True)


def admin_post_transition(client, order: Order, name: str):
    return client.post(reverse("admin:orders_order_transition", args=[order.pk, name]), follow=True)


# --- the actions -------------------------------------------------------------------------------------


@dataclass
class Action:
    name: str
    setup: Callable[[World], None]
    expected: dict[str, str]  # actor -> OK or the error code
    done: Callable[[World, Any], bool]  # the state change happened (given the actor)
    audit: str | None = None
    event: str | None = None
    rest: Callable[[Any, World], Any] | None = None
    graphql: tuple[str, Callable[[World], dict[str, Any]]] | None = None
    admin: Callable[[Any, World], Any] | None = None
    door_expected: dict[tuple[str, str], str] = field(default_factory=dict)  # (door, actor) -> outcome
    needs_stripe: bool = False


STAFF = {"owner": OK, "admin": OK, "member": OK, "viewer": "FORBIDDEN"}
ORDER_STAFF = {**STAFF, "customer": "FORBIDDEN", "outsider": "NOT_FOUND"}
PRODUCT_STAFF = {**STAFF, "customer": "NOT_FOUND", "outsider": "NOT_FOUND"}
MEMBER_ADMINS = {
    "owner": OK,
    "admin": OK,
    "member": "FORBIDDEN",
    "viewer": "FORBIDDEN",
    "customer": "NOT_FOUND",
    "outsider": "NOT_FOUND",
}


def _set(attribute: str, make: Callable[[World], Any]) -> Callable[[World], None]:
    def setup(world: World) -> None:
        setattr(world, attribute, make(world))

    return setup


def _confirmed_order(world: World) -> Order:
    return order_services.order_confirm(order=_pending_order(world))


def _status(world: World, status: str) -> bool:
    world.target.refresh_from_db()
    return world.target.status == status


def _no_features(*names: str) -> Callable[[World], None]:
    def setup(world: World) -> None:
        world.organization.features = {**ALL_FEATURES, **dict.fromkeys(names, False)}
        world.organization.save(update_fields=["features", "updated_at"])
        world.target = world.organization

    return setup


def _paid_order(world: World) -> Order:
    order = _pending_order(world)
    world.extra["customer_client"].post(f"/api/v1/orders/{order.pk}/payment/")
    stripe_api = world.extra["stripe_api"]
    intent = confirm_payment(stripe_api, Payment.objects.get(order=order).stripe_payment_intent_id)
    deliver(world.extra["client"], world.extra["capture"], intent, "payment_intent.succeeded")
    order.refresh_from_db()
    world.extra["intent"] = intent
    return order


def _stripe_refunded(world: World, actor: Any) -> bool:
    charge = world.extra["stripe_api"].client().v1.charges.retrieve(world.extra["intent"].latest_charge.id)
    return bool(charge.refunded) and Refund.objects.filter(payment__order=world.target).exists()


ACTIONS = [
    Action(
        name="place order",
        setup=lambda world: None,
        expected=dict.fromkeys(("owner", "admin", "member", "viewer", "customer", "outsider"), OK),
        done=lambda world, actor: Order.objects.filter(user=actor, organization=world.organization).exists(),
        audit="order.created",
        event="order.created",
        rest=lambda client, world: client.post(
            "/api/v1/orders/",
            {
                "organization": str(world.organization.pk),
                "items": [{"product": str(world.product.pk), "quantity": 1}],
                "shipping_address": ADDRESS,
            },
            format="json",
        ),
        graphql=(
            "mutation($input: PlaceOrderInput!) { placeOrder(input: $input) { status } }",
            lambda world: {
                "input": {
                    "organizationId": str(world.organization.pk),
                    "items": [{"productId": str(world.product.pk), "quantity": 1}],
                    "shippingAddress": GQL_ADDRESS,
                }
            },
        ),
    ),
    Action(
        name="confirm",
        setup=_set("target", _pending_order),
        expected=ORDER_STAFF,
        done=lambda world, actor: _status(world, "confirmed"),
        audit="order.confirmed",
        event="order.confirmed",
        rest=lambda client, world: client.post(f"/api/v1/orders/{world.target.pk}/confirm/"),
        graphql=("mutation($id: UUID!) { confirmOrder(id: $id) { status } }", lambda w: {"id": str(w.target.pk)}),
        admin=lambda client, world: admin_post_transition(client, world.target, "confirm"),
    ),
    Action(
        name="cancel (customer: own pending order; staff)",
        setup=_set("target", _pending_order),
        expected={**ORDER_STAFF, "customer": OK},
        done=lambda world, actor: _status(world, "cancelled"),
        audit="order.cancelled",
        event="order.cancelled",
        rest=lambda client, world: client.post(f"/api/v1/orders/{world.target.pk}/cancel/", {"reason": "x"}),
        graphql=(
            'mutation($id: UUID!) { cancelOrder(id: $id, reason: "x") { status } }',
            lambda w: {"id": str(w.target.pk)},
        ),
        admin=lambda client, world: admin_post_transition(client, world.target, "cancel"),
    ),
    Action(
        name="cancel a confirmed order (customer may not)",
        setup=_set("target", _confirmed_order),
        expected={**ORDER_STAFF, "customer": "INVALID_TRANSITION"},
        done=lambda world, actor: _status(world, "cancelled"),
        audit="order.cancelled",
        event="order.cancelled",
        rest=lambda client, world: client.post(f"/api/v1/orders/{world.target.pk}/cancel/", {"reason": "x"}),
        graphql=(
            'mutation($id: UUID!) { cancelOrder(id: $id, reason: "x") { status } }',
            lambda w: {"id": str(w.target.pk)},
        ),
        admin=lambda client, world: admin_post_transition(client, world.target, "cancel"),
    ),
    Action(
        name="refund an order not paid online",
        setup=_set("target", _confirmed_order),
        expected=ORDER_STAFF,
        done=lambda world, actor: _status(world, "refunded"),
        audit="order.refunded",
        event="order.refunded",
        rest=lambda client, world: client.post(f"/api/v1/orders/{world.target.pk}/refund/", {"reason": "x"}),
        graphql=("mutation($id: UUID!) { refundOrder(id: $id) { status } }", lambda w: {"id": str(w.target.pk)}),
        admin=lambda client, world: admin_post_transition(client, world.target, "refund"),
    ),
    Action(
        name="refund an order paid through Stripe (localstripe)",
        setup=_set("target", _paid_order),
        expected=ORDER_STAFF,
        done=_stripe_refunded,
        audit="payment.refund_requested",
        rest=lambda client, world: client.post(f"/api/v1/orders/{world.target.pk}/refund/", {"reason": "x"}),
        graphql=("mutation($id: UUID!) { refundOrder(id: $id) { status } }", lambda w: {"id": str(w.target.pk)}),
        admin=lambda client, world: admin_post_transition(client, world.target, "refund"),
        needs_stripe=True,
    ),
    Action(
        name="publish a product",
        setup=_set("target", lambda w: ProductFactory(organization=w.organization, status="draft", published_at=None)),
        expected=PRODUCT_STAFF,
        done=lambda world, actor: _status(world, "active"),
        audit="product.active",
        event="product.status_changed",
        rest=lambda client, world: client.post(f"/api/v1/products/{world.target.pk}/publish/"),
        graphql=("mutation($id: UUID!) { publishProduct(id: $id) { status } }", lambda w: {"id": str(w.target.pk)}),
        admin=lambda client, world: admin_post_action(client, "/admin/catalog/product/", "publish", world.target.pk),
    ),
    Action(
        name="archive a product",
        setup=_set("target", lambda w: ProductFactory(organization=w.organization, status="active")),
        expected=PRODUCT_STAFF,
        done=lambda world, actor: _status(world, "archived"),
        audit="product.archived",
        event="product.status_changed",
        rest=lambda client, world: client.post(f"/api/v1/products/{world.target.pk}/archive/"),
        graphql=("mutation($id: UUID!) { archiveProduct(id: $id) { status } }", lambda w: {"id": str(w.target.pk)}),
        admin=lambda client, world: admin_post_action(client, "/admin/catalog/product/", "archive", world.target.pk),
    ),
    Action(
        name="adjust inventory",
        setup=_set("target", lambda w: ProductFactory(organization=w.organization, inventory_quantity=1)),
        expected=PRODUCT_STAFF,
        done=lambda world, actor: Product.objects.get(pk=world.target.pk).inventory_quantity == 11,
        audit="product.inventory_adjusted",
        event="product.inventory_adjusted",
        rest=lambda client, world: client.post(
            f"/api/v1/products/{world.target.pk}/adjust-inventory/", {"delta": 10, "reason": "restock"}
        ),
        graphql=(
            'mutation($id: UUID!) { adjustInventory(id: $id, delta: 10, reason: "restock") { inventoryQuantity } }',
            lambda w: {"id": str(w.target.pk)},
        ),
        admin=lambda client, world: admin_post_action(
            client, "/admin/catalog/product/", "restock_ten", world.target.pk
        ),
    ),
    Action(
        name="delete a product",
        setup=_set("target", lambda w: ProductFactory(organization=w.organization, status="active")),
        expected={**PRODUCT_STAFF, "member": "FORBIDDEN"},
        done=lambda world, actor: Product.objects.get(pk=world.target.pk).deleted_at is not None,
        audit="product.deleted",
        event="product.deleted",
        rest=lambda client, world: client.delete(f"/api/v1/products/{world.target.pk}/"),
        graphql=("mutation($id: UUID!) { deleteProduct(id: $id) }", lambda w: {"id": str(w.target.pk)}),
    ),
    Action(
        name="bulk-update products",
        setup=_set("target", lambda w: ProductFactory(organization=w.organization, price_cents=1000)),
        expected=PRODUCT_STAFF,
        done=lambda world, actor: Product.objects.get(pk=world.target.pk).price_cents == 1234,
        audit="product.bulk_updated",
        event="product.updated",
        rest=lambda client, world: client.post(
            "/api/v1/products/bulk-update/",
            {"ids": [str(world.target.pk)], "changes": {"price_cents": 1234}},
            format="json",
        ),
        graphql=(
            "mutation($ids: [UUID!]!) { bulkUpdateProducts(ids: $ids, changes: {priceCents: 1234}) { priceCents } }",
            lambda w: {"ids": [str(w.target.pk)]},
        ),
    ),
    Action(
        name="change a member's role",
        setup=_set("target", lambda w: MembershipFactory(organization=w.organization, role="member")),
        expected=MEMBER_ADMINS,
        done=lambda world, actor: Membership.objects.get(pk=world.target.pk).role == "viewer",
        audit="membership.updated",
        event="organization.member_updated",
        rest=lambda client, world: client.patch(
            f"/api/v1/organizations/{world.organization.pk}/members/{world.target.pk}/", {"role": "viewer"}
        ),
    ),
    Action(
        name="invite a member",
        setup=lambda world: None,
        expected=MEMBER_ADMINS,
        done=lambda world, actor: Invitation.objects.filter(email="new@example.com").exists(),
        audit="invitation.created",
        event="organization.invitation_created",
        rest=lambda client, world: client.post(
            f"/api/v1/organizations/{world.organization.pk}/invitations/", {"email": "new@example.com"}
        ),
        graphql=(
            'mutation($org: UUID!) { inviteMember(organizationId: $org, email: "new@example.com") { email } }',
            lambda w: {"org": str(w.organization.pk)},
        ),
    ),
    Action(
        name="create a webhook endpoint (plan feature: webhooks)",
        setup=_no_features("webhooks"),
        expected={
            "owner": "FEATURE_NOT_IN_PLAN",
            "admin": "FEATURE_NOT_IN_PLAN",
            "member": "FORBIDDEN",
            "viewer": "FORBIDDEN",
            "customer": "NOT_FOUND",
            "outsider": "NOT_FOUND",
        },
        done=lambda world, actor: WebhookEndpoint.objects.exists(),
        rest=lambda client, world: client.post(
            f"/api/v1/organizations/{world.organization.pk}/webhooks/", {"url": "https://hooks.example.com/in"}
        ),
    ),
    Action(
        name="read analytics (plan feature: analytics)",
        setup=_no_features("analytics"),
        expected={
            "owner": "FEATURE_NOT_IN_PLAN",
            "admin": "FEATURE_NOT_IN_PLAN",
            "member": "FEATURE_NOT_IN_PLAN",
            "viewer": "FORBIDDEN",
            "customer": "NOT_FOUND",
            "outsider": "NOT_FOUND",
        },
        done=lambda world, actor: False,  # a read changes nothing; the outcome is the answer
        rest=lambda client, world: client.get(f"/api/v1/organizations/{world.organization.pk}/analytics/summary/"),
        graphql=(
            "query($org: UUID!) { dailyMetrics(organizationId: $org) { day } }",
            lambda w: {"org": str(w.organization.pk)},
        ),
    ),
    Action(
        name="act as a member over GraphQL (plan feature: graphql)",
        setup=lambda world: (
            _no_features("graphql")(world),
            setattr(world, "target", ProductFactory(organization=world.organization, status="draft")),
        ),
        expected=PRODUCT_STAFF,
        # REST and the admin do not sell GraphQL: there the same members may publish.
        door_expected={("graphql", role): "FEATURE_NOT_IN_PLAN" for role in ("owner", "admin", "member", "viewer")},
        done=lambda world, actor: _status(world, "active"),
        audit="product.active",
        event="product.status_changed",
        rest=lambda client, world: client.post(f"/api/v1/products/{world.target.pk}/publish/"),
        graphql=("mutation($id: UUID!) { publishProduct(id: $id) { status } }", lambda w: {"id": str(w.target.pk)}),
        admin=lambda client, world: admin_post_action(client, "/admin/catalog/product/", "publish", world.target.pk),
    ),
]


def _category_with_new_parent(world: World) -> Category:
    world.extra["parent"] = make_category(world.organization, "New parent")
    return make_category(world.organization, "Moving")


def _admin_move(client, world: World):
    return client.post(
        f"/admin/catalog/category/{world.target.pk}/change/",
        {"parent": str(world.extra["parent"].pk), "name": "Moving", "slug": "moving", "description": "", "position": 0},
        follow=True,
    )


def _pending_review(world: World):
    return review_services.review_create(user=world.users["customer"], product_id=world.product.pk, data={"rating": 4})


ACTIONS += [
    Action(
        name="create a category",
        setup=lambda world: None,
        expected=PRODUCT_STAFF,
        done=lambda world, actor: Category.objects.filter(name="Made here").exists(),
        audit="category.created",
        event="category.created",
        rest=lambda client, world: client.post(
            "/api/v1/categories/", {"organization": str(world.organization.pk), "name": "Made here"}
        ),
    ),
    Action(
        name="move a category",
        setup=_set("target", _category_with_new_parent),
        expected=PRODUCT_STAFF,
        # (siblings sorted by name shift each other's paths: read both afresh)
        done=lambda world, actor: (
            Category.objects.get(pk=world.target.pk).parent_path
            == Category.objects.get(pk=world.extra["parent"].pk).path
        ),
        audit="category.moved",
        event="category.moved",
        rest=lambda client, world: client.post(
            f"/api/v1/categories/{world.target.pk}/move/", {"parent": str(world.extra["parent"].pk)}
        ),
        admin=_admin_move,
    ),
    Action(
        name="delete an empty category",
        setup=_set("target", lambda w: make_category(w.organization, "Empty")),
        expected={**PRODUCT_STAFF, "member": "FORBIDDEN"},
        done=lambda world, actor: not Category.objects.filter(pk=world.target.pk).exists(),
        audit="category.deleted",
        event="category.deleted",
        rest=lambda client, world: client.delete(f"/api/v1/categories/{world.target.pk}/"),
        admin=lambda client, world: admin_post_action(
            client, "/admin/catalog/category/", "delete_empty", world.target.pk
        ),
    ),
    Action(
        name="approve a review (moderate_reviews)",
        setup=_set("target", _pending_review),
        expected=MEMBER_ADMINS,
        done=lambda world, actor: _status(world, "approved"),
        audit="review.approved",
        event="review.approved",
        rest=lambda client, world: client.post(f"/api/v1/reviews/{world.target.pk}/approve/"),
        graphql=(
            "mutation($id: UUID!) { moderateReview(id: $id, status: APPROVED) { status } }",
            lambda w: {"id": str(w.target.pk)},
        ),
        admin=lambda client, world: admin_post_action(client, "/admin/reviews/review/", "approve", world.target.pk),
    ),
]


def _product_image(world: World) -> ProductImage:
    # An image given as a URL (no file to store or remove): what the doors decide is the same as for an upload.
    return ProductImage.objects.create(
        organization=world.organization, product=world.product, external_url="https://img.example.com/a.png"
    )


ACTIONS += [
    Action(
        name="delete a product image",
        setup=_set("target", _product_image),
        expected=PRODUCT_STAFF,
        done=lambda world, actor: not ProductImage.objects.filter(pk=world.target.pk).exists(),
        audit="product.image_deleted",
        event="product.updated",
        rest=lambda client, world: client.delete(f"/api/v1/products/{world.product.pk}/images/{world.target.pk}/"),
        graphql=(
            "mutation($p: UUID!, $i: UUID!) { deleteProductImage(productId: $p, imageId: $i) { id } }",
            lambda w: {"p": str(w.product.pk), "i": str(w.target.pk)},
        ),
        admin=lambda client, world: admin_post_action(
            client, "/admin/catalog/productimage/", "delete_through_service", world.target.pk
        ),
    ),
]

API_ACTORS = ("owner", "admin", "member", "viewer", "customer", "outsider")
ADMIN_ACTORS = {"staff_viewer": "viewer", "staff_member": "member", "staff_outsider": "outsider", "superuser": None}


def _cases():
    for action in ACTIONS:
        for door in ("rest", "graphql", "admin"):
            if getattr(action, door) is None:
                continue
            actors = ADMIN_ACTORS if door == "admin" else API_ACTORS
            for actor in actors:
                yield pytest.param(action, door, actor, id=f"{action.name}|{door}|{actor}")


def _expected(action: Action, door: str, actor: str) -> str:
    if door == "admin":
        role = ADMIN_ACTORS[actor]
        outcome = OK if role is None else action.door_expected.get((door, role), action.expected[role])
        return ADMIN_CODES.get(outcome, "REFUSED")
    return action.door_expected.get((door, actor), action.expected[actor])


@pytest.mark.parametrize(("action", "door", "actor"), list(_cases()))
def test_every_door_gives_the_same_outcome(
    request, action, door, actor, world, api_client_for, client, django_capture_on_commit_callbacks
):
    # given
    if action.needs_stripe:
        world.extra.update(
            stripe_api=request.getfixturevalue("stripe_api"),
            client=client,
            capture=django_capture_on_commit_callbacks,
            customer_client=api_client_for(world.users["customer"]),
        )
    action.setup(world)
    user = world.users[actor]
    audits_before = AuditLog.objects.filter(action=action.audit).count() if action.audit else 0
    events_before = OutboxEvent.objects.filter(event_type=action.event).count() if action.event else 0
    expected = _expected(action, door, actor)

    # when
    if door == "rest":
        outcome = rest_outcome(action.rest(api_client_for(user), world))
    elif door == "graphql":
        query, variables = action.graphql
        response = api_client_for(user).post("/graphql", {"query": query, "variables": variables(world)}, format="json")
        outcome = gql_outcome(response)
    else:
        client.force_login(user)
        outcome = admin_outcome(action.admin(client, world), world)

    # then: the same answer, and the same effects
    assert outcome == expected
    changed = action.done(world, user)
    audits = AuditLog.objects.filter(action=action.audit).count() - audits_before if action.audit else 0
    published = OutboxEvent.objects.filter(event_type=action.event).count() - events_before if action.event else 0
    if outcome == OK:
        assert changed
        assert audits == (1 if action.audit else 0)
        assert published == (1 if action.event else 0)
    else:
        assert not changed
        assert audits == 0
        assert published == 0
