"""Placement and lifecycle rules, called through the services."""

import uuid

import pytest
from django.core import mail
from django.utils import timezone

from apps.audit.models import AuditLog
from apps.catalog.errors import InsufficientStock
from apps.catalog.models import Product
from apps.catalog.tests.factories import ProductFactory, vid
from apps.core.exceptions import PermissionDenied, ValidationError
from apps.core.models import OutboxEvent
from apps.orders import services
from apps.orders.errors import InvalidTransition, NotAcceptingOrders
from apps.orders.models import Order, OrderItem, OrderNumberSequence
from apps.orders.services import placement
from apps.orders.tasks import send_order_email
from apps.orders.tests.factories import ADDRESS, OrderFactory
from apps.organizations.models import Organization

pytestmark = pytest.mark.django_db


def place(user, organization, *lines, **extra):
    return services.order_place(
        user=user,
        organization=organization,
        items=[{"product": product.pk, "quantity": quantity} for product, quantity in lines],
        shipping_address=ADDRESS,
        **extra,
    )


def stock(product):
    return Product.objects.get(pk=product.pk).inventory_quantity


# --- placement: lines --------------------------------------------------------------


def test_placing_an_order_reserves_stock_snapshots_products_and_numbers_it(organization, user):
    # given
    mug = ProductFactory(organization=organization, name="Mug", sku="MUG-1", price_cents=1250, inventory_quantity=10)
    # when
    order = place(user, organization, (mug, 3), customer_notes="Gift wrap")
    # then
    assert order.status == Order.Status.PENDING
    assert order.order_number == 1001
    assert (order.user, order.customer_email, order.currency) == (user, user.email, "USD")
    assert order.billing_address == order.shipping_address == ADDRESS
    assert order.customer_notes == "Gift wrap"
    item = order.items.get()
    assert (item.product, item.quantity, item.unit_price_cents, item.total_cents) == (mug, 3, 1250, 3750)
    assert item.product_snapshot["name"] == "Mug"
    assert item.product_snapshot["sku"] == "MUG-1"
    assert item.product_snapshot["price_cents"] == 1250
    assert stock(mug) == 7


def test_duplicate_lines_are_merged(organization, user):
    mug = ProductFactory(organization=organization, inventory_quantity=10)

    order = place(user, organization, (mug, 2), (mug, 3))

    assert list(order.items.values_list("quantity", flat=True)) == [5]
    assert stock(mug) == 5


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        ([], "at least one"),
        ([("mug", 0)], "from 1 to 1000"),
        ([("mug", 1001)], "from 1 to 1000"),
        ([("mug", 600), ("mug", 600)], "duplicate lines"),
    ],
)
def test_invalid_lines_are_refused(organization, user, lines, message):
    products = {"mug": ProductFactory(organization=organization, inventory_quantity=5000)}

    with pytest.raises(ValidationError) as error:
        place(user, organization, *[(products[name], quantity) for name, quantity in lines])

    assert message in " ".join(error.value.details["items"])
    assert not Order.objects.exists()


def test_more_than_100_lines_are_refused(organization, user):
    products = ProductFactory.create_batch(101, organization=organization)

    with pytest.raises(ValidationError):
        place(user, organization, *[(product, 1) for product in products])


@pytest.mark.parametrize(
    "kind",
    ["draft", "archived", "deleted", "foreign", "unknown"],
)
def test_products_that_are_not_for_sale_here_are_refused_and_nothing_is_reserved(
    organization, other_organization, user, kind
):
    # given: a good line and a bad one
    good = ProductFactory(organization=organization, inventory_quantity=5)
    bad = {
        "draft": lambda: ProductFactory(organization=organization, status="draft"),
        "archived": lambda: ProductFactory(organization=organization, status="archived"),
        "deleted": lambda: ProductFactory(organization=organization, deleted_at=timezone.now()),
        "foreign": lambda: ProductFactory(organization=other_organization),
        "unknown": lambda: Product(pk="00000000-0000-4000-8000-000000000000"),
    }[kind]()
    # when
    with pytest.raises(ValidationError) as error:
        place(user, organization, (good, 1), (bad, 1))
    # then
    assert str(bad.pk) in error.value.details["items"][0]
    assert stock(good) == 5
    assert not Order.objects.exists()


def test_products_in_another_currency_are_refused(organization, user):
    dollars = ProductFactory(organization=organization, currency="USD")
    euros = ProductFactory(organization=organization, currency="EUR")

    with pytest.raises(ValidationError) as error:
        place(user, organization, (dollars, 1), (euros, 1))

    assert "EUR, USD" in error.value.details["items"][0]


def test_a_suspended_organization_takes_no_orders(organization, user):
    mug = ProductFactory(organization=organization)
    Organization.objects.filter(pk=organization.pk).update(status="suspended")
    organization.refresh_from_db()

    with pytest.raises(NotAcceptingOrders):
        place(user, organization, (mug, 1))


# --- placement: stock ------------------------------------------------------------------


def test_insufficient_stock_lists_what_is_available_and_reserves_nothing(organization, user):
    # given
    plenty = ProductFactory(organization=organization, inventory_quantity=50)
    scarce = ProductFactory(organization=organization, inventory_quantity=2)
    # when
    with pytest.raises(InsufficientStock) as error:
        place(user, organization, (plenty, 5), (scarce, 3))
    # then
    assert error.value.http_status == 409
    assert error.value.details == {"available": {str(vid(scarce)): 2}}
    assert (stock(plenty), stock(scarce)) == (50, 2)
    assert not Order.objects.exists()
    assert not OutboxEvent.objects.filter(event_type="order.created").exists()
    assert not AuditLog.objects.filter(action="order.created").exists()


def test_untracked_and_backorder_products_never_run_short(organization, user):
    untracked = ProductFactory(organization=organization, track_inventory=False, inventory_quantity=0)
    backorder = ProductFactory(organization=organization, allow_backorder=True, inventory_quantity=1)

    place(user, organization, (untracked, 5), (backorder, 3))

    assert (stock(untracked), stock(backorder)) == (0, -2)


def test_placement_is_atomic_when_a_late_step_fails(organization, user, monkeypatch):
    # given: the last step, after every write, fails
    mug = ProductFactory(organization=organization, inventory_quantity=10)

    def broken(event):
        raise RuntimeError("outbox unavailable")

    monkeypatch.setattr(placement, "relay_after_commit", broken)  # where order_place looks it up
    # when
    with pytest.raises(RuntimeError):
        place(user, organization, (mug, 4))
    # then: no order, no items, no audit entry, no stock taken, no number used
    assert not Order.objects.exists()
    assert not OrderItem.objects.exists()
    assert not AuditLog.objects.filter(action="order.created").exists()
    assert stock(mug) == 10
    assert not OrderNumberSequence.objects.filter(organization=organization).exists()


# --- placement: totals, numbers, audit and events -----------------------------------------------


@pytest.mark.parametrize(
    ("subtotal", "bps", "tax"),
    [(10_000, 825, 825), (5_997, 825, 495), (200, 25, 1), (196, 25, 0), (0, 825, 0), (1, 5_000, 1)],
)
def test_tax_is_rounded_half_up_once_per_order(subtotal, bps, tax):
    totals = services.order_totals(subtotal_cents=subtotal, settings={"tax_rate_bps": bps, "flat_shipping_cents": 0})
    assert totals.tax_cents == tax


def test_totals_add_subtotal_tax_and_flat_shipping(organization, user):
    # given: 8.25 % tax and 4.99 shipping
    organization.settings = {"currency": "USD", "tax_rate_bps": 825, "flat_shipping_cents": 499}
    organization.save()
    mug = ProductFactory(organization=organization, price_cents=1999)
    lamp = ProductFactory(organization=organization, price_cents=2)
    # when
    order = place(user, organization, (mug, 3), (lamp, 1))
    # then: 59.97 + 0.02 = 59.99; tax 4.949175 → 4.95 once (not per line); total 59.99 + 4.95 + 4.99
    assert (order.subtotal_cents, order.discount_cents, order.tax_cents, order.shipping_cents) == (5999, 0, 495, 499)
    assert order.total_cents == 6993


def test_order_numbers_are_sequential_per_organization_and_failed_placements_use_none(
    organization, other_organization, user
):
    mug = ProductFactory(organization=organization, inventory_quantity=3)
    lamp = ProductFactory(organization=other_organization)

    first = place(user, organization, (mug, 1))
    with pytest.raises(InsufficientStock):
        place(user, organization, (mug, 5))
    second = place(user, organization, (mug, 1))
    elsewhere = place(user, other_organization, (lamp, 1))

    assert (first.order_number, second.order_number, elsewhere.order_number) == (1001, 1002, 1001)


def test_placement_is_audited_and_announced(organization, user):
    mug = ProductFactory(organization=organization, price_cents=700)

    order = place(user, organization, (mug, 2))

    entry = AuditLog.objects.get(action="order.created")
    assert (entry.resource_id, entry.organization_id, entry.actor_id) == (str(order.pk), organization.pk, user.pk)
    assert entry.new_values["items"] == [
        {"product": str(mug.pk), "variant": str(vid(mug)), "quantity": 2, "unit_price_cents": 700}
    ]
    event = OutboxEvent.objects.get(event_type="order.created")
    assert event.organization_id == organization.pk
    assert event.payload["order_id"] == str(order.pk)
    assert event.payload["total_cents"] == 1400


def test_the_number_in_the_row_audit_entry_and_event_is_the_one_taken(organization, user):
    # given: the number is written by SQL from the counter row, after the counter update
    mug = ProductFactory(organization=organization)
    # when
    orders = [place(user, organization, (mug, 1)) for _ in range(3)]
    # then: each order's row, audit entry and event carry its own number, and so does the object returned
    for order, expected in zip(orders, (1001, 1002, 1003), strict=True):
        assert order.order_number == Order.objects.get(pk=order.pk).order_number == expected
        entry = AuditLog.objects.get(action="order.created", resource_id=str(order.pk))
        assert entry.new_values["order_number"] == expected
        event = OutboxEvent.objects.get(event_type="order.created", payload__order_id=str(order.pk))
        assert event.payload["order_number"] == expected


# --- the lifecycle ------------------------------------------------------------------------

GRAPH = {
    "draft": set(),
    "pending": {"confirm", "cancel"},
    "confirmed": {"process", "cancel", "refund"},
    "processing": {"ship", "cancel", "refund"},
    "shipped": {"deliver", "refund"},
    "delivered": {"refund"},
    "cancelled": set(),
    "refunded": set(),
}
TARGETS = {
    "confirm": "confirmed",
    "process": "processing",
    "ship": "shipped",
    "deliver": "delivered",
    "cancel": "cancelled",
    "refund": "refunded",
}
ARGUMENTS = {"ship": {"carrier": "UPS", "tracking_number": "1Z999"}}


@pytest.mark.parametrize("transition", sorted(TARGETS))
@pytest.mark.parametrize("status", sorted(GRAPH))
def test_transitions_follow_the_graph(organization, status, transition):
    # given
    order = OrderFactory(organization=organization, status=status)
    service = services.TRANSITION_SERVICES[transition]
    # when / then
    if transition in GRAPH[status]:
        result = service(order=order, **ARGUMENTS.get(transition, {}))
        assert result.status == TARGETS[transition]
        assert Order.objects.get(pk=order.pk).status == TARGETS[transition]
    else:
        with pytest.raises(InvalidTransition) as error:
            service(order=order, **ARGUMENTS.get(transition, {}))
        assert error.value.code == "INVALID_TRANSITION"
        assert error.value.http_status == 409
        assert error.value.details == {"status": status, "transition": transition, "allowed": sorted(GRAPH[status])}
        assert Order.objects.get(pk=order.pk).status == status


def test_status_cannot_be_assigned_directly(organization):
    order = OrderFactory(organization=organization)
    with pytest.raises(AttributeError):
        order.status = Order.Status.DELIVERED


def test_each_transition_sets_its_facts(organization):
    mug = ProductFactory(organization=organization)
    order = OrderFactory(organization=organization, status="pending", lines=[(mug, 3)])

    order = services.order_confirm(order=order)
    assert order.confirmed_at is not None
    order = services.order_process(order=order)
    order = services.order_ship(order=order, carrier="DHL", tracking_number=" JD0001 ")
    assert (order.carrier, order.tracking_number, order.fulfillment_status) == ("DHL", "JD0001", "fulfilled")
    assert order.shipped_at is not None
    assert list(order.items.values_list("fulfilled_quantity", flat=True)) == [3]
    order = services.order_deliver(order=order)
    assert (order.delivered_at is not None, order.fulfillment_status) == (True, "delivered")
    order = services.order_refund(order=order, reason="Broken on arrival")
    assert (order.payment_status, order.cancel_reason) == ("refunded", "Broken on arrival")
    assert order.refunded_at is not None


def test_ship_needs_a_carrier_and_a_tracking_number(organization):
    order = OrderFactory(organization=organization, status="processing")

    with pytest.raises(ValidationError) as error:
        services.order_ship(order=order, carrier=" ", tracking_number="")

    assert set(error.value.details) == {"carrier", "tracking_number"}


def test_transitions_are_audited_and_announced(organization, member):
    order = OrderFactory(organization=organization, status="pending")

    services.order_confirm(order=order, actor=member)
    services.order_cancel(order=order, actor=member, reason="Out of season")

    entries = list(AuditLog.objects.filter(resource_id=str(order.pk)).order_by("created_at"))
    assert [e.action for e in entries] == ["order.confirmed", "order.cancelled"]
    assert entries[0].actor_id == member.pk
    assert entries[0].old_values["status"] == "pending"
    assert entries[0].new_values["status"] == "confirmed"
    events = OutboxEvent.objects.filter(payload__order_id=str(order.pk)).order_by("created_at")
    assert [(e.event_type, e.payload["previous_status"]) for e in events] == [
        ("order.confirmed", "pending"),
        ("order.cancelled", "confirmed"),
    ]
    assert events[1].payload["reason"] == "Out of season"


@pytest.mark.parametrize("transition", ["cancel", "refund"])
def test_cancel_and_refund_return_stock_once(organization, user, transition):
    # given: a placed (and, for a refund, confirmed) order holding 3 of 10
    mug = ProductFactory(organization=organization, inventory_quantity=10)
    order = place(user, organization, (mug, 3))
    if transition == "refund":
        services.order_confirm(order=order)
    assert stock(mug) == 7
    # when
    services.TRANSITION_SERVICES[transition](order=order)
    # then: back to 10, and a second attempt changes nothing
    assert stock(mug) == 10
    order.refresh_from_db()
    assert order.stock_returned_at is not None
    assert order.fulfillment_status == "restocked"
    with pytest.raises(InvalidTransition):
        services.TRANSITION_SERVICES[transition](order=order)
    assert stock(mug) == 10


def test_stock_already_returned_is_not_returned_again(organization, user):
    mug = ProductFactory(organization=organization, inventory_quantity=10)
    order = OrderFactory(organization=organization, status="delivered", stock_returned_at=timezone.now())
    order.items.create(
        product=mug, quantity=4, unit_price_cents=mug.price_cents, total_cents=mug.price_cents * 4, product_snapshot={}
    )

    services.order_refund(order=order)

    assert stock(mug) == 10


def test_stock_of_deleted_products_is_returned_too(organization, user):
    mug = ProductFactory(organization=organization, inventory_quantity=5)
    order = place(user, organization, (mug, 2))
    Product.objects.filter(pk=mug.pk).update(deleted_at=timezone.now())

    services.order_cancel(order=order)

    assert stock(mug) == 5


def test_a_customer_may_cancel_only_their_own_pending_order(organization, user):
    pending = OrderFactory(organization=organization, user=user, status="pending")
    confirmed = OrderFactory(organization=organization, user=user, status="confirmed")
    someone_elses = OrderFactory(organization=organization, status="pending")

    assert services.order_cancel(order=pending, actor=user, by_customer=True).status == "cancelled"
    with pytest.raises(InvalidTransition) as error:
        services.order_cancel(order=confirmed, actor=user, by_customer=True)
    assert error.value.details["allowed"] == []
    with pytest.raises(PermissionDenied):
        services.order_cancel(order=someone_elses, actor=user, by_customer=True)


def test_update_changes_only_staff_fields_and_is_audited(organization, member):
    order = OrderFactory(organization=organization, internal_notes="")

    services.order_update(
        order=order, actor=member, data={"internal_notes": "VIP", "metadata": {"crm": 7}, "total_cents": 1}
    )

    order.refresh_from_db()
    assert (order.internal_notes, order.metadata, order.total_cents) == ("VIP", {"crm": 7}, 2000)
    entry = AuditLog.objects.get(action="order.updated")
    assert entry.new_values == {"internal_notes": "VIP", "metadata": {"crm": 7}}


# --- customer emails ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "transition", "subject"),
    [
        ("pending", "confirm", "is confirmed"),
        ("processing", "ship", "is on its way"),
        ("confirmed", "cancel", "was cancelled"),
    ],
)
def test_customer_is_emailed_once_on_confirm_ship_and_cancel(
    organization, user, django_capture_on_commit_callbacks, status, transition, subject
):
    # given
    mug = ProductFactory(organization=organization, name="Blue Mug", price_cents=1234)
    order = OrderFactory(organization=organization, user=user, status=status, lines=[(mug, 1)])
    # when: the transition commits, the outbox relays the event, the email task runs
    with django_capture_on_commit_callbacks(execute=True):
        services.TRANSITION_SERVICES[transition](order=order, **ARGUMENTS.get(transition, {}))
    # then
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == [user.email]
    assert subject in message.subject
    assert f"#{order.order_number}" in message.subject
    assert "Blue Mug" in message.body
    assert "12.34 USD" in message.body
    html = message.alternatives[0][0]
    assert "Blue Mug" in html
    if transition == "ship":
        assert "1Z999" in message.body
    # a redelivered event or a retried task sends nothing more
    assert send_order_email.delay(str(order.pk), Order.objects.get(pk=order.pk).emails_sent[0]).get() is False
    assert len(mail.outbox) == 1


def test_no_email_for_processing_delivered_or_refunded(organization, user, django_capture_on_commit_callbacks):
    order = OrderFactory(organization=organization, user=user, status="confirmed")

    with django_capture_on_commit_callbacks(execute=True):
        services.order_process(order=order)
    with django_capture_on_commit_callbacks(execute=True):
        services.order_refund(order=order)

    assert mail.outbox == []


def test_customers_whose_account_is_gone_are_not_emailed(organization):
    order = OrderFactory(organization=organization, user=None, customer_email="gone@example.com", status="confirmed")

    assert services.order_email_send(order_id=order.pk, kind="confirmed") is False
    assert mail.outbox == []


def test_order_emails_go_to_the_emails_queue():
    from olympus.celery import app

    options = app.amqp.router.route(dict(send_order_email._get_exec_options()), send_order_email.name)

    assert options["queue"].name == "emails"


# --- variants ----------------------------------------------------------------------------------------


def test_a_variant_is_sold_at_its_own_price_and_its_stock_is_taken_and_given_back(organization, user):
    from apps.catalog.models import ProductVariant
    from apps.catalog.tests.factories import VariantFactory

    tee = ProductFactory(organization=organization, name="Tee", sku="TEE-M", price_cents=1000, inventory_quantity=5)
    large = VariantFactory(
        product=tee, sku="TEE-L", option_values={"size": "L"}, price_cents=1300, inventory_quantity=4
    )
    order = services.order_place(
        user=user,
        organization=organization,
        items=[
            {"variant": large.pk, "quantity": 2},
            {"variant": vid(tee), "quantity": 1},
            {"variant": large.pk, "quantity": 1},
        ],
        shipping_address=ADDRESS,
    )
    lines = {item.variant_id: item for item in order.items.all()}
    assert set(lines) == {large.pk, vid(tee)}  # duplicate lines of a variant merged
    item = lines[large.pk]
    assert (item.product_id, item.quantity, item.unit_price_cents, item.total_cents) == (tee.pk, 3, 1300, 3900)
    assert item.product_snapshot["sku"] == "TEE-L"
    assert item.product_snapshot["option_values"] == {"size": "L"}
    assert item.product_snapshot["variant_id"] == str(large.pk)
    assert lines[vid(tee)].unit_price_cents == 1000  # the product's price
    assert order.subtotal_cents == 3900 + 1000
    assert ProductVariant.objects.get(pk=large.pk).inventory_quantity == 1
    services.order_cancel(order=order)
    assert ProductVariant.objects.get(pk=large.pk).inventory_quantity == 4
    assert ProductVariant.objects.get(pk=vid(tee)).inventory_quantity == 5


def test_a_product_with_several_variants_must_be_ordered_by_variant(organization, user):
    from apps.catalog.tests.factories import VariantFactory

    tee = ProductFactory(organization=organization)
    VariantFactory(product=tee)
    with pytest.raises(ValidationError) as error:
        services.order_place(
            user=user, organization=organization, items=[{"product": tee.pk, "quantity": 1}], shipping_address=ADDRESS
        )
    assert error.value.code == "VARIANT_REQUIRED"
    assert str(tee.pk) in error.value.details["items"][0]


def test_lines_naming_products_with_several_variants_are_all_reported_with_constant_queries(organization, user):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from apps.catalog.tests.factories import VariantFactory

    products = [ProductFactory(organization=organization) for _ in range(3)]
    for product in products:
        VariantFactory(product=product)
    unknown = uuid.uuid4()

    def place(lines):
        with CaptureQueriesContext(connection) as queries, pytest.raises(ValidationError) as error:
            services.order_place(user=user, organization=organization, items=lines, shipping_address=ADDRESS)
        return error.value, len(queries)

    one, one_queries = place([{"product": products[0].pk, "quantity": 1}])
    every, every_queries = place(
        [{"product": p.pk, "quantity": 1} for p in products] + [{"product": unknown, "quantity": 1}]
    )

    assert one.code == every.code == "VARIANT_REQUIRED"
    assert [str(p.pk) in line for p, line in zip(products, every.details["items"], strict=False)] == [True] * 3
    assert f"Product {unknown} is not available" in every.details["items"][3]
    assert every_queries == one_queries  # one question for every ambiguous line, not one per line


def test_another_organizations_variant_is_not_available(organization, other_organization, user):
    theirs = ProductFactory(organization=other_organization)
    with pytest.raises(ValidationError) as error:
        services.order_place(
            user=user,
            organization=organization,
            items=[{"variant": vid(theirs), "quantity": 1}],
            shipping_address=ADDRESS,
        )
    assert error.value.code == "VALIDATION_ERROR"
    assert "not available" in error.value.details["items"][0]
