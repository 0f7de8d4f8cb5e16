import threading

import pytest
from django.db import connection, transaction

from apps.audit.models import AuditLog
from apps.catalog import services
from apps.catalog.errors import InsufficientStock
from apps.catalog.models import Product, ProductVariant
from apps.catalog.tests.factories import ProductFactory, vid
from apps.core.exceptions import NotFound, ValidationError
from apps.core.models import OutboxEvent

pytestmark = pytest.mark.django_db


def test_create_generates_a_unique_slug_and_takes_the_organization_currency(organization):
    organization.settings = {**organization.settings, "currency": "EUR"}
    organization.save()
    first = services.product_create(organization=organization, data={"name": "Blue Mug", "price_cents": 900})
    second = services.product_create(organization=organization, data={"name": "Blue Mug", "price_cents": 900})
    assert first.slug == "blue-mug"
    assert second.slug == "blue-mug-2"
    assert first.currency == "EUR"
    assert first.status == Product.Status.DRAFT
    assert first.published_at is None


def test_create_is_audited_and_announced(organization):
    product = services.product_create(organization=organization, data={"name": "Tea", "price_cents": 100})
    assert AuditLog.objects.filter(action="product.created", resource_id=str(product.id)).exists()
    assert OutboxEvent.objects.filter(event_type="product.created", organization_id=organization.id).exists()


def test_duplicate_sku_in_one_organization_conflicts(organization, other_organization):
    services.product_create(organization=organization, data={"name": "A", "price_cents": 1, "sku": "X-1"})
    with pytest.raises(ValidationError) as exc:
        services.product_create(organization=organization, data={"name": "B", "price_cents": 1, "sku": "X-1"})
    assert set(exc.value.details) == {"sku"}
    # another organization may use the same SKU
    services.product_create(organization=other_organization, data={"name": "B", "price_cents": 1, "sku": "X-1"})


def test_sku_of_a_deleted_product_can_be_reused(organization):
    old = services.product_create(organization=organization, data={"name": "A", "price_cents": 1, "sku": "R-1"})
    services.product_delete(product=old)
    services.product_create(organization=organization, data={"name": "A", "price_cents": 1, "sku": "R-1"})


def test_publish_sets_published_at_once(organization):
    product = ProductFactory(organization=organization, status="draft", published_at=None)
    published = services.product_publish(product=product)
    first = published.published_at
    services.product_archive(product=published)
    again = services.product_publish(product=published)
    assert first is not None
    assert again.published_at == first


def test_update_saves_and_audits_only_changes(organization):
    product = ProductFactory(organization=organization, price_cents=500)
    services.product_update(product=product, data={"price_cents": 700, "name": product.name})
    entry = AuditLog.objects.get(action="product.updated", resource_id=str(product.id))
    assert entry.old_values == {"price_cents": 500}
    assert entry.new_values == {"price_cents": 700}


def test_adjust_inventory_refuses_to_go_below_zero_without_backorder(organization):
    product = ProductFactory(organization=organization, inventory_quantity=3)
    with pytest.raises(InsufficientStock) as exc:
        services.product_adjust_inventory(product=product, delta=-4, reason="count")
    assert exc.value.details == {"available": {str(vid(product)): 3}}
    product.refresh_from_db()
    assert product.inventory_quantity == 3


def test_adjust_inventory_may_go_negative_on_backorder(organization):
    product = ProductFactory(organization=organization, inventory_quantity=1, allow_backorder=True)
    services.product_adjust_inventory(product=product, delta=-3, reason="preorders")
    product.refresh_from_db()
    assert product.inventory_quantity == -2
    entry = AuditLog.objects.get(action="product.inventory_adjusted")
    assert entry.new_values == {"inventory_quantity": -2, "reason": "preorders", "variant": str(vid(product))}


def test_zero_delta_is_invalid(organization):
    with pytest.raises(ValidationError):
        services.product_adjust_inventory(product=ProductFactory(organization=organization), delta=0, reason="x")


def test_bulk_update_is_all_or_nothing(organization, other_organization):
    mine = ProductFactory.create_batch(3, organization=organization, price_cents=100)
    foreign = ProductFactory(organization=other_organization)
    with pytest.raises(NotFound):
        services.product_bulk_update(
            organization_ids=[organization.id],
            ids=[p.id for p in mine] + [foreign.id],
            changes={"price_cents": 999},
        )
    assert set(Product.objects.filter(organization=organization).values_list("price_cents", flat=True)) == {100}


def test_bulk_update_changes_and_audits_each(organization):
    products = ProductFactory.create_batch(3, organization=organization, status="draft", published_at=None)
    updated = services.product_bulk_update(
        organization_ids=[organization.id], ids=[p.id for p in products], changes={"status": "active"}
    )
    assert {p.status for p in updated} == {"active"}
    assert all(p.published_at for p in updated)
    assert AuditLog.objects.filter(action="product.bulk_updated").count() == 3


def test_bulk_update_refuses_other_fields(organization):
    product = ProductFactory(organization=organization)
    with pytest.raises(ValidationError):
        services.product_bulk_update(organization_ids=[organization.id], ids=[product.id], changes={"name": "x"})


def test_stock_reserve_takes_all_lines_or_none(organization):
    plenty = ProductFactory(organization=organization, inventory_quantity=10)
    scarce = ProductFactory(organization=organization, inventory_quantity=1)
    with pytest.raises(InsufficientStock) as exc, transaction.atomic():
        services.stock_reserve(quantities={vid(plenty): 5, vid(scarce): 2})
    assert exc.value.details == {"available": {str(vid(scarce)): 1}}
    plenty.refresh_from_db()
    assert plenty.inventory_quantity == 10


def test_stock_release_returns_what_was_taken(organization):
    product = ProductFactory(organization=organization, inventory_quantity=4)
    untracked = ProductFactory(organization=organization, track_inventory=False, inventory_quantity=0)
    services.stock_reserve(quantities={vid(product): 3, vid(untracked): 5})
    services.stock_release(quantities={vid(product): 3, vid(untracked): 5})
    product.refresh_from_db()
    untracked.refresh_from_db()
    assert product.inventory_quantity == 4
    assert untracked.inventory_quantity == 0


@pytest.mark.django_db(transaction=True)
def test_concurrent_reservations_never_oversell(organization):
    # given: 5 in stock and 8 buyers of one each, racing in real transactions
    product = ProductFactory(organization=organization, inventory_quantity=5)
    variant_id = vid(product)
    results: list[str] = []
    barrier = threading.Barrier(8)

    def buy():
        try:
            barrier.wait()
            with transaction.atomic():
                services.stock_reserve(quantities={variant_id: 1})
            results.append("ok")
        except InsufficientStock:
            results.append("short")
        finally:
            connection.close()

    threads = [threading.Thread(target=buy) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # then
    product.refresh_from_db()
    assert results.count("ok") == 5
    assert results.count("short") == 3
    assert product.inventory_quantity == 0


@pytest.mark.django_db(transaction=True)
def test_reservations_of_the_same_products_listed_in_any_order_never_deadlock(organization):
    # given: 3 products and 4 buyers who each take all of them, listed in their own order, many times
    products = [vid(ProductFactory(organization=organization, inventory_quantity=1000)) for _ in range(3)]
    errors: list[BaseException] = []
    barrier = threading.Barrier(4)

    def buy(shift: int):
        try:
            barrier.wait()
            for _ in range(15):
                listed = products[shift % 3 :] + products[: shift % 3]
                if shift % 2:
                    listed.reverse()
                with transaction.atomic():
                    services.stock_reserve(quantities=dict.fromkeys(listed, 1))
                    connection.cursor().execute("SELECT pg_sleep(0.002)")  # hold the locks a moment
        except BaseException as exc:  # a deadlock would surface here (PostgreSQL aborts one side)
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=buy, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # then: every reservation went through, in full
    assert errors == []
    assert [ProductVariant.objects.get(pk=p).inventory_quantity for p in products] == [1000 - 60] * 3


@pytest.mark.django_db(transaction=True)
def test_stock_reserve_refuses_to_run_outside_a_transaction(organization):
    # Lines are taken one by one, so without the caller's transaction a short line
    # would leave the earlier ones taken.
    product = ProductFactory(organization=organization, inventory_quantity=3)
    with pytest.raises(RuntimeError):
        services.stock_reserve(quantities={vid(product): 1})
    product.refresh_from_db()
    assert product.inventory_quantity == 3
