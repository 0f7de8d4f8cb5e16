import uuid

import pytest
from django.utils import timezone

from apps.catalog.models import Product
from apps.catalog.selectors import VariantForSale, variants_for_sale
from apps.catalog.tests.factories import ProductFactory, VariantFactory, vid

pytestmark = pytest.mark.django_db


def test_variants_for_sale_are_the_organizations_live_variants_among_the_ids(organization, other_organization):
    # given: one product of each kind the read must tell apart
    mug = ProductFactory(organization=organization, name="Mug", sku="MUG", price_cents=1250, attributes={"size": "L"})
    draft = ProductFactory(organization=organization, status=Product.Status.DRAFT)
    deleted = ProductFactory(organization=organization, deleted_at=timezone.now())
    theirs = ProductFactory(organization=other_organization)
    ProductFactory(organization=organization)  # not asked for
    # when
    by_variant, by_product = variants_for_sale(
        organization_id=organization.pk,
        variant_ids=[vid(mug), vid(draft), vid(deleted), vid(theirs), uuid.uuid4()],
    )
    # then: ours and not deleted, whatever the status (the caller decides), with the snapshot fields parsed
    assert set(by_variant) == {vid(mug), vid(draft)}
    assert by_product == {}
    assert by_variant[vid(mug)] == VariantForSale(
        id=vid(mug),
        product_id=mug.pk,
        name="Mug",
        slug=mug.slug,
        sku="MUG",
        option_values={},
        price_cents=1250,
        currency="USD",
        attributes={"size": "L"},
        status=Product.Status.ACTIVE,
    )
    assert by_variant[vid(draft)].status == Product.Status.DRAFT


def test_a_product_id_finds_its_only_variant_and_a_variant_price_overrides(organization):
    single = ProductFactory(organization=organization, price_cents=500)
    several = ProductFactory(organization=organization, price_cents=500)
    large = VariantFactory(product=several, option_values={"size": "L"}, price_cents=700, sku="L-1")
    by_variant, by_product = variants_for_sale(
        organization_id=organization.pk, variant_ids=[large.pk], product_ids=[single.pk, several.pk]
    )
    assert set(by_product) == {single.pk}  # several variants: the caller must name one
    assert by_product[single.pk].id == vid(single)
    assert by_variant[large.pk].price_cents == 700
    assert by_variant[large.pk].option_values == {"size": "L"}


def test_variants_for_sale_of_no_ids_is_empty(organization):
    assert variants_for_sale(organization_id=organization.pk, variant_ids=[]) == ({}, {})
