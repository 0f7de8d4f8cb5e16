import uuid

import pytest
from django.utils import timezone

from apps.catalog.models import Product
from apps.catalog.selectors import ProductForSale, products_for_sale
from apps.catalog.tests.factories import ProductFactory

pytestmark = pytest.mark.django_db


def test_products_for_sale_are_the_organizations_live_products_among_the_ids(organization, other_organization):
    # given: one product of each kind the read must tell apart
    mug = ProductFactory(organization=organization, name="Mug", sku="MUG", price_cents=1250, attributes={"size": "L"})
    draft = ProductFactory(organization=organization, status=Product.Status.DRAFT)
    deleted = ProductFactory(organization=organization, deleted_at=timezone.now())
    theirs = ProductFactory(organization=other_organization)
    ProductFactory(organization=organization)  # not asked for
    # when
    found = products_for_sale(
        organization_id=organization.pk, product_ids=[mug.pk, draft.pk, deleted.pk, theirs.pk, uuid.uuid4()]
    )
    # then: ours and not deleted, whatever the status (the caller decides), with the snapshot fields parsed
    assert set(found) == {mug.pk, draft.pk}
    assert found[mug.pk] == ProductForSale(
        id=mug.pk,
        name="Mug",
        slug=mug.slug,
        sku="MUG",
        price_cents=1250,
        currency="USD",
        attributes={"size": "L"},
        status=Product.Status.ACTIVE,
    )
    assert found[draft.pk].status == Product.Status.DRAFT


def test_products_for_sale_of_no_ids_is_empty(organization):
    assert products_for_sale(organization_id=organization.pk, product_ids=[]) == {}
